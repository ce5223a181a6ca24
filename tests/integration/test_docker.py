"""docker/: what can be checked without a container runtime (none on these machines).

The Dockerfiles pass hadolint, the compose file validates against the
Compose Specification schema and names only files that exist, and the
image's entry point and health check run here, outside a container, in
front of a real fleet (an RTMP channel with a chat relay, an OBS channel
with real OBS): every metric the Grafana dashboard queries is in /metrics.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from streaming.chat.relay import sign
from tests.integration.rtmp_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
BIN = Path(sys.executable).parent


def test_dockerfiles_pass_hadolint():
    files = [DOCKER / "Dockerfile", DOCKER / "Dockerfile.gpu", DOCKER / "rtmp" / "Dockerfile"]
    done = subprocess.run([str(BIN / "hadolint"), "--failure-threshold", "info", *map(str, files)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for f in files[:2]:
        text = f.read_text()
        assert "docker/install.sh" in text and "USER 10001" in text and "HEALTHCHECK" in text, f


def test_compose_file_follows_the_compose_spec_and_names_files_that_exist():
    compose = DOCKER / "compose.yaml"
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    spec = yaml.safe_load(compose.read_text())
    services = spec["services"]
    assert set(services) == {"redis", "rtmp", "livehost", "prometheus", "grafana"}
    for name, service in services.items():
        build = service.get("build")
        if build:
            dockerfile = build["dockerfile"].replace("${LIVEHOST_DOCKERFILE:-Dockerfile}", "Dockerfile")
            assert (DOCKER / build["context"] / dockerfile).is_file(), (name, dockerfile)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), (name, source)
            else:
                assert source in spec["volumes"], (name, source)
    assert "--appendonly" in services["redis"]["command"]  # persistence
    env = services["livehost"]["environment"]
    assert env["LIVEHOST_REDIS_URL"].startswith("redis://redis:")
    prometheus = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    (job,) = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["livehost:8080"] and job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"] == env["LIVEHOST_METRICS_TOKEN_FILE"]
    fleet = yaml.safe_load((DOCKER / "fleet.yaml").read_text())
    assert fleet["channels"][0]["output"]["url"].startswith("rtmp://rtmp:1935/")


def _dashboard_metrics() -> set[str]:
    dash = json.loads((DOCKER / "grafana" / "dashboards" / "livehost.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 15
    return {m for e in exprs for m in re.findall(r"\blivehost_[a-z_]+", e)}


def _health(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(DOCKER / "healthcheck.py")], env={**os.environ, "LIVEHOST_HEALTH_URL": url},
                          capture_output=True, text=True, timeout=10)


def _http(url: str, token: str | None = None, body: bytes | None = None, headers: dict | None = None):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={**(headers or {}),
                                                               **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_entry_point_health_check_and_every_dashboard_metric_live(tmp_path, rtmp_server, obs_studio):
    port, hook = free_port(), free_port()
    fleet = {"console": {"host": "127.0.0.1", "port": port}, "channels": [
        {"id": "rtmp1", "size": "360x640", "voice": {"engine": "espeak"}, "output": {"url": rtmp_server.url("d1")},
         "chat": [{"platform": "webhook", "secret_env": "HOOK_SECRET", "listen": f"127.0.0.1:{hook}"}]},
        {"id": "obs1", "size": "360x640", "voice": {"engine": "espeak"}, "output": {"obs": {
            "websocket": obs_studio.url, "password_env": "OBS_PW", "feed": f"udp://127.0.0.1:{free_port()}"}}},
    ]}
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    token_file = tmp_path / "run" / "metrics-token"
    token_file.parent.mkdir()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "LIVEHOST_HOME": str(tmp_path / "home"),
           "LIVEHOST_METRICS_TOKEN_FILE": str(token_file), "HOOK_SECRET": "hk", "OBS_PW": obs_studio.password}
    env.pop("LIVEHOST_REDIS_URL", None)
    health = f"http://127.0.0.1:{port}/healthz"
    proc = subprocess.Popen(["sh", str(DOCKER / "entrypoint.sh"), "serve", "--config", str(tmp_path / "fleet.yaml")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            checked = _health(health)
            if checked.returncode == 0 and "'on_air': 2" in checked.stdout:
                break
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            assert time.monotonic() < deadline, f"never healthy: {checked.stdout}"
            time.sleep(1)
        token = token_file.read_text().strip()
        assert token.startswith("lh_") and oct(token_file.stat().st_mode)[-3:] == "644"

        now = time.time()
        good = json.dumps({"id": "c1", "kind": "comment", "user": "ann", "text": "hello", "time": now - 0.5}).encode()
        bad = json.dumps({"id": "c2", "kind": "comment", "user": "bob"}).encode()
        for body, status in ((good, 200), (bad, 400)):
            got, text = _http(f"http://127.0.0.1:{hook}/chat/webhook", body=body,
                              headers={"X-Livehost-Signature": sign(body, "hk"), "Content-Type": "application/json"})
            assert got == status, text

        wanted = _dashboard_metrics()
        deadline = time.monotonic() + 60
        while True:
            status, text = _http(f"http://127.0.0.1:{port}/metrics", token)
            assert status == 200, text
            missing = sorted(m for m in wanted if not re.search(rf"^{m}\{{", text, re.M))
            if not missing:
                break
            assert time.monotonic() < deadline, f"metrics the dashboard queries and /metrics lacks: {missing}"
            time.sleep(1)
        assert _http(f"http://127.0.0.1:{port}/metrics")[0] == 401  # still needs the token
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert "made a viewer token for Prometheus" in out
    assert obs_studio.password not in out and token not in out
    down = _health(health)
    assert down.returncode == 1 and down.stdout.startswith("unhealthy")
