"""`livehost audit verify | export | key` on what a real demo run recorded, before and after tampering."""

import json
import os
import subprocess
import sys

import pytest

from livehost.core import keys
from livehost.core.store import Store

pytestmark = pytest.mark.integration


def _cli(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "livehost", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_a_demo_run_verifies_exports_and_a_changed_sentence_is_named(livehost_home, tmp_path):
    env = {**os.environ, "LIVEHOST_HOME": str(livehost_home)}
    run = _cli(env, "demo", "--duration", "8", "--fast", "--no-console", "--quiet", "--output", str(tmp_path / "d.flv"))
    assert run.returncode == 0, run.stderr[-2000:]
    ok = _cli(env, "audit", "verify", "--channel", "demo")
    assert ok.returncode == 0 and "demo: OK" in ok.stdout and "signed checkpoints" in ok.stdout, ok.stdout + ok.stderr
    key = _cli(env, "audit", "key")
    assert key.stdout.startswith("-----BEGIN PUBLIC KEY-----") and "# key id " in key.stdout
    (tmp_path / "merchant.pem").write_text(key.stdout.split("# key id")[0])
    exported = _cli(env, "audit", "export", "--channel", "demo", "--out", str(tmp_path / "bundle"))
    assert exported.returncode == 0, exported.stderr
    checked = _cli({**env, "LIVEHOST_HOME": str(tmp_path / "auditor")}, "audit", "verify", "--bundle",
                   str(tmp_path / "bundle"), "--key", str(tmp_path / "merchant.pem"))
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr

    # someone with access to Redis changes what the host said
    store = Store(None, livehost_home)
    r = store.sync()
    rows = r.xrange(keys.chain("demo"))
    sid, fields = next((s, f) for s, f in rows if f[b"kind"] == b"spoken")
    body = json.loads(fields[b"body"])
    # a spoken link says what catalog it was checked against and what backs the numbers it states
    assert len(body["catalog_version"]) >= 12 and "backing" in body
    spoken = [json.loads(f[b"body"]) for _s, f in rows if f[b"kind"] == b"spoken"]
    assert any("<-" in b["backing"] for b in spoken), [b["text"] for b in spoken]
    assert {b["author"] for b in spoken} <= {"template", "operator"} and all(b["author"] for b in spoken)  # who wrote it
    body["text"] = "全场一折，今天免费送！"
    edited = {**{k.decode(): v.decode() for k, v in fields.items()},
              "body": json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))}
    r.delete(keys.chain("demo"))
    for s, f in rows:
        r.xadd(keys.chain("demo"), edited if s == sid else f, id=s)
    store.close()
    broken = _cli(env, "audit", "verify", "--json")
    report = json.loads(broken.stdout.splitlines()[0])
    assert broken.returncode == 1 and not report["ok"]
    assert report["broken"]["id"] == sid.decode() and "edited" in report["broken"]["why"]
    refused = _cli(env, "audit", "export", "--channel", "demo", "--out", str(tmp_path / "b2"))
    assert refused.returncode != 0 and "is broken" in refused.stderr
