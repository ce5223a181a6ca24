"""`livehost serve` from a fleet file, and the console's command-line behaviour."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from livehost.app.config import ConfigError
from livehost.app.fleet import load_fleet
from tests.integration.test_console_browser import Demo, _free_port
from tests.integration.test_show_session import _write_catalog


def _cli(env, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "livehost", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


def _api(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_serve_runs_the_fleet_files_channels_with_the_console(tmp_path):
    env = {**os.environ, "LIVEHOST_HOME": str(tmp_path / "home")}
    env.pop("LIVEHOST_REDIS_URL", None)
    catalog = _write_catalog(tmp_path / "catalog.json")
    (tmp_path / "b.yaml").write_text(f"catalog: {catalog}\nsize: 160x288\noutput: {{url: {tmp_path / 'b.flv'}}}\n")
    port = _free_port()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        f"console: {{port: {port}}}\n"
        "channels:\n"
        f"  - {{id: shop-a, tenant: acme, catalog: {catalog}, size: 160x288, voice: {{engine: espeak}},"
        f" output: {{url: {tmp_path / 'a.flv'}}}}}\n"
        "  - {config: b.yaml, id: shop-b, tenant: beta, autostart: false}\n")
    added = _cli(env, "user", "add", "ops", "--role", "operator", "--tenant", "beta", "--no-password", "--token")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    proc = subprocess.Popen([sys.executable, "-m", "livehost", "serve", "--config", str(fleet)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                got = _api(base + "/api/channels", token)
                if got["channels"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("serve never answered: " + (proc.stdout.read() if proc.poll() is not None else ""))
            time.sleep(0.3)
        assert [(c["id"], c["state"], c["tenant"]) for c in got["channels"]] == [("shop-b", "stopped", "beta")]
        req = urllib.request.Request(base + "/api/channels/shop-b/start", method="POST", data=b"{}",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.loads(r.read())["ok"] is True
        deadline = time.monotonic() + 30
        while _api(base + "/api/channels/shop-b", token)["state"] != "live":
            assert time.monotonic() < deadline, "shop-b did not go live"
            time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as e:
            _api(base + "/api/channels/shop-a", token)
        assert e.value.code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, out
    assert "console at http://127.0.0.1:" in out and "shop-a stopped after" in out and "shop-b stopped after" in out
    assert (tmp_path / "b.flv").stat().st_size > 0


def test_demo_says_so_when_the_console_port_is_taken(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "LIVEHOST_HOME": str(tmp_path / "home")}
        r = _cli(env, "demo", "--duration", "1", "--output", str(tmp_path / "x.flv"), "--console-port", str(port))
    assert r.returncode == 2
    assert f"console: cannot listen on 127.0.0.1:{port}" in r.stderr and "--console-port" in r.stderr


def test_demo_prints_the_first_start_hint_and_runs_without_a_console_on_request(tmp_path):
    demo = Demo(tmp_path, _free_port())
    try:
        demo.wait_for(r"livehost user add admin --role admin")
    finally:
        assert demo.stop() == 0
    env = {**os.environ, "LIVEHOST_HOME": str(tmp_path / "home2")}
    r = _cli(env, "demo", "--duration", "1", "--fast", "--quiet", "--no-console", "--size", "160x288",
             "--output", str(tmp_path / "y.flv"))
    assert r.returncode == 0, r.stderr
    assert "console at" not in r.stdout and "demo stopped after" in r.stdout


@pytest.mark.parametrize("text, message", [
    ("channels: {id: x}", "channels = {'id': 'x'}: expected a list"),
    ("channels:\n  - {id: 'bad id!'}", "channels[0]: invalid channel config"),
    ("channels:\n  - {id: a}\n  - {id: a}", "channels[1].id = 'a': used by another channel"),
    ("channels:\n  - {id: a, autostart: maybe}", "channels[0].autostart = 'maybe'"),
    ("console: {port: 99999}", "console.port = 99999"),
    ("consoel: {}", "unknown key(s) consoel"),
    ("channels:\n  - {config: missing.yaml}", "channels[0]: config: cannot read"),
])
def test_fleet_file_errors_name_the_field(tmp_path, text, message):
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_fleet(path)
    assert message in str(e.value)


def _post(url, token):
    req = urllib.request.Request(url, method="POST", data=b"{}",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_the_demo_stopped_from_the_console_can_be_started_again_there(tmp_path):
    port = _free_port()
    env = {**os.environ, "LIVEHOST_HOME": str(tmp_path / "home")}
    added = _cli(env, "user", "add", "olga", "--role", "operator", "--no-password", "--token")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    demo = Demo(tmp_path, port)
    base = f"http://127.0.0.1:{port}/api/channels/demo"
    try:
        demo.wait_for(r"console at http://")

        def state():
            try:
                return _api(base, token)["state"]
            except (urllib.error.URLError, ConnectionError):
                return None

        def until(wanted, timeout=60.0):
            deadline = time.monotonic() + timeout
            while state() != wanted:
                assert time.monotonic() < deadline, f"the demo never became {wanted} (last: {state()})"
                time.sleep(0.3)

        until("live")
        assert _post(base + "/stop", token)["ok"] is True
        demo.wait_for(r"demo stopped from the console by olga")
        until("stopped")
        assert demo.proc.poll() is None  # the process stays up for a start from the console
        assert _post(base + "/start", token)["ok"] is True
        until("live")
    finally:
        assert demo.stop() == 0
    assert any("demo stopped after" in line for line in demo.lines), demo.lines[-20:]
