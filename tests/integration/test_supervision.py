"""A human on duty: a supervised platform's channel holds when nobody is there, and talks again when someone is."""

import asyncio
import json
import shutil
import time

import pytest

from livehost.app import profiles
from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.app.supervision import beat
from livehost.core import keys
from tests.env import store_from_env

pytestmark = pytest.mark.integration


@pytest.fixture
def supervised(tmp_path, monkeypatch):
    folder = tmp_path / "platforms"
    shutil.copytree(profiles.HERE, folder)
    (folder / "watched.yaml").write_text(
        "platform: watched\nversion: '2026-12-07'\n"
        "supervisor_required: {value: true, source: 'https://example.org/rule', date: '2026-01-01'}\n"
        "unattended_minutes: {value: 0.05, source: 'https://example.org/rule', date: '2026-01-01'}\n")
    monkeypatch.setattr(profiles, "HERE", folder)
    profiles.load.cache_clear()
    yield
    profiles.load.cache_clear()


async def _until(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_nobody_on_duty_holds_the_channel_and_an_operator_releases_it(supervised, tmp_path, livehost_home):
    store = store_from_env()
    config = build_config({"id": "sup", "platform": "watched", "size": "160x288", "voice": {"engine": "espeak"},
                           "output": {"url": str(tmp_path / "o.flv")}})
    session = ChannelSession(config, store)
    session.supervision.every = 0.2
    run = asyncio.create_task(session.run(duration=None))
    client = store.aio()
    try:
        await _until(lambda: session.ledger.spoken >= 1 or session.ledger.now_speaking, "talk")
        assert session.state != "takeover"  # the start counts as someone on duty
        await _until(lambda: session.state == "takeover", "the hold when nobody is on duty")
        assert session.supervision.status()["unattended"] and "nobody on duty" in session.last_error
        await beat(client, "sup", "ann")
        await _until(lambda: session.state == "live", "the release when ann is back")
        # an operator's own takeover is not ended by presence
        session.takeover("my break")
        await beat(client, "sup", "ann")
        await asyncio.sleep(0.6)
        assert session.state == "takeover"
        session.release()
    finally:
        session.request_stop()
        await asyncio.wait_for(run, 30)
        await client.aclose()
    events = [json.loads(f[b"body"]) for _s, f in store.sync().xrange(keys.chain("sup")) if f[b"kind"] == b"supervision"]
    store.close()
    assert [e["event"] for e in events] == ["unattended", "attended"] and events[1]["user"] == "ann"


def test_a_supervised_platform_needs_the_store(supervised):
    from livehost.core.config import ConfigError

    with pytest.raises(ConfigError, match="requires a human supervisor"):
        ChannelSession(build_config({"platform": "watched", "voice": {"engine": "espeak"}}))
