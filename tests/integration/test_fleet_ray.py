"""A fleet on a real two-node Ray cluster on this machine: four channels pushing to a real nginx-rtmp.  The serving
process is killed and started again (the channels stay on air, and it attaches to them); one channel is moved by
hand; then one node's processes are killed: its channels are back on air from the other node within 30 s, with no
sentence said twice but the one that was cut, and never two publishers on one stream key."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from livehost.core import keys
from livehost.core.store import Store

pytestmark = pytest.mark.integration

RAY = str(Path(sys.executable).with_name("ray"))
CHANNELS = [f"ch{i}" for i in range(4)]


def _ray(*args: str, env: dict) -> None:
    done = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _free_port() -> int:
    from tests.integration.rtmp_server import free_port

    return free_port()


def _node_pids(resource: str) -> list[int]:
    """The processes of the node offering ``resource``: its raylet and everything under it."""
    import psutil

    raylets = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] and "raylet" in p.info["cmdline"][0]
               and any(resource in part for part in p.info["cmdline"])]
    assert len(raylets) == 1, raylets
    return [raylets[0].pid, *(c.pid for c in raylets[0].children(recursive=True))]


@pytest.fixture
def ray_cluster(tmp_path):
    if not Path(RAY).exists():
        pytest.fail("the fleet tests need Ray (pip install 'livehost[fleet]')")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="lhray", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
           # a dead node is noticed in ~3 s instead of ~15 s
           "RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3",
           "RAY_health_check_initial_delay_ms": "1000"}
    _ray("start", "--head", f"--port={port}", "--num-cpus=2", '--resources={"node_a": 8}', "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}", env=env)
    try:
        _ray("start", f"--address=127.0.0.1:{port}", "--num-cpus=2", '--resources={"node_b": 8}', "--disable-usage-stats",
             env=env)
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_nodes_channels_come_back_on_air_from_the_other_node(ray_cluster, rtmp_server, tmp_path):
    address, env = ray_cluster
    redis_home = tmp_path / "redis"
    store = Store(None, redis_home)  # the Redis every node reaches (one machine: a unix socket)
    fleet = tmp_path / "fleet.yaml"
    lines = ["channels:"]
    for ch in CHANNELS:
        lines += [f"  - id: {ch}", "    size: 160x288", "    fps: 15", "    voice: {engine: espeak}", "    disclose: false",
                  "    lease: {ttl_seconds: 4}", f"    output: {{url: '{rtmp_server.url(ch)}'}}"]
    fleet.write_text("\n".join(lines) + "\n")
    serve_env = {**env, "LIVEHOST_HOME": str(tmp_path / "home"), "LIVEHOST_REDIS_URL": f"unix://{store.unix_socket}"}
    out: list[str] = []

    def start_serve() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "livehost", "serve", "--config", str(fleet), "--cluster", address,
                                 "--no-console"], env=serve_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True).start()
        return proc

    serve = start_serve()
    most = {ch: 0 for ch in CHANNELS}
    watching = threading.Event()
    watching.set()

    def watch() -> None:
        while watching.is_set():
            for ch in CHANNELS:
                most[ch] = max(most[ch], rtmp_server.publishers(ch))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    r = store.sync()
    try:
        deadline = time.monotonic() + 120
        while not all(rtmp_server.publishers(ch) == 1 for ch in CHANNELS):
            assert serve.poll() is None and time.monotonic() < deadline, "".join(out)[-3000:]
            time.sleep(0.5)
        watcher.start()
        time.sleep(4)
        # the serving process dies: the channels stay on air in their hosts, and the next one attaches to them
        serve.kill()
        serve.wait(10)
        time.sleep(2)
        assert all(rtmp_server.publishers(ch) == 1 for ch in CHANNELS), "a channel went off air with serve"
        out.clear()
        serve = start_serve()
        deadline = time.monotonic() + 60
        while sum("attached" in line for line in out) < len(CHANNELS):
            assert serve.poll() is None and time.monotonic() < deadline, "".join(out)[-3000:]
            time.sleep(0.3)
        time.sleep(3)
        for ch in CHANNELS:  # never restarted: one run each, on air all along
            assert json.loads(r.get(keys.placement(ch)))["runs"] == 1 and rtmp_server.publishers(ch) == 1, ch
        placed = {ch: json.loads(r.get(keys.placement(ch))) for ch in CHANNELS}
        on_b = [ch for ch in CHANNELS if "node_b" in placed[ch]["node"]["resources"]]
        assert on_b and len(on_b) < len(CHANNELS), placed  # spread over both nodes

        # an operator moves a channel of node A to node B (what POST /api/channels/{id}/move asks)
        mover = next(ch for ch in CHANNELS if ch not in on_b)
        node_b = placed[on_b[0]]["node"]["id"]
        asked_at = time.time()
        r.xadd(keys.MOVES, {"channel": mover, "to": node_b[:12], "by": "ann"})
        deadline = time.monotonic() + 40
        while json.loads(r.get(keys.placement(mover)))["node"]["id"] != node_b:
            assert time.monotonic() < deadline, "".join(out)[-3000:]
            time.sleep(0.3)
        while rtmp_server.publishers(mover) != 1:
            assert time.monotonic() < deadline, "the moved channel is not back on air"
            time.sleep(0.2)
        moved = [f for _s, f in r.xrange(keys.ACTIONS) if f[b"action"] == b"move"]
        assert moved and moved[-1][b"user"] == b"ann" and moved[-1][b"ok"] == b"1", moved
        while not [f for _s, f in r.xrange(keys.audit(mover)) if f[b"source"] == b"script" and f[b"cut"] == b"false"
                   and float(f[b"wall_time"]) > asked_at + 1]:
            assert time.monotonic() < deadline + 20, "the moved channel says nothing"
            time.sleep(0.3)
        texts = [f[b"text"] for _s, f in r.xrange(keys.audit(mover)) if f[b"source"] == b"script" and f[b"cut"] == b"false"]
        assert len(texts) == len(set(texts)), "a sentence was said twice across the move"
        on_b.append(mover)

        killed_at = time.time()
        for pid in _node_pids("node_b"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(rtmp_server.publishers(ch) for ch in on_b):  # the dead node's streams end
            assert time.monotonic() < deadline, "the dead node's streams are still published"
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while not all(rtmp_server.publishers(ch) == 1 for ch in CHANNELS):
            assert time.monotonic() < deadline, f"not back on air within 30 s: {''.join(out)[-3000:]}"
            time.sleep(0.2)
        back_after = time.time() - killed_at
        def spoken_after(ch):
            return [f for _s, f in r.xrange(keys.audit(ch)) if f[b"source"] == b"script" and f[b"cut"] == b"false"
                    and float(f[b"wall_time"]) >= killed_at]

        deadline = time.monotonic() + 40
        while not all(spoken_after(ch) for ch in on_b):  # the moved channels talk again
            assert time.monotonic() < deadline, "a moved channel says nothing"
            time.sleep(0.5)
        for ch in on_b:
            where = json.loads(r.get(keys.placement(ch)))
            assert "node_a" in where["node"]["resources"] and where["restarted"], where
            shown = r.hget(keys.state(ch), "where").decode()  # the console's "Runs on"
            assert "(node_a)" in shown and where["node"]["id"][:8] in shown, shown
            said = [f for _s, f in r.xrange(keys.audit(ch)) if f[b"source"] == b"script"]
            before = [f for f in said if float(f[b"wall_time"]) < killed_at]
            after = [f for f in said if float(f[b"wall_time"]) >= killed_at]
            assert before and after, (ch, len(before), len(after))
            # the sentence cut by the node's death was never logged as spoken; nothing spoken is said again
            assert not {f[b"text"] for f in before if f[b"cut"] == b"false"} & {f[b"text"] for f in after}, ch
        print(f"moved {on_b} back on air {back_after:.1f} s after the node died")
    finally:
        watching.clear()
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            serve.kill()
        store.close()
    assert all(n == 1 for n in most.values()), most  # never two publishers on one key
