"""Operator controls: pause, takeover, release, skip, say, comment; over Redis as the console sends them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from livehost.audit import read_audit
from livehost.config import build_config
from livehost.control import ACTIONS_KEY, CHANNELS_KEY, PerMinute, execute, send_command, state_key, wait_result
from livehost.session import ChannelSession
from livehost.store import Store
from tests.integration.test_show_session import T0, At, FixedTts, _entries, _session, _t, _write_catalog  # noqa: F401

pytestmark = pytest.mark.integration


async def test_takeover_silences_the_host_and_shows_the_holding_card_until_release(tmp_path, livehost_home):
    store = Store()
    session = _session(tmp_path, store)
    holding = []

    class Watch:
        def on_frame(self, stage, frame):
            if stage == "encode":
                holding.append((session.now(), session.render._shown_holding is not None, session.state))

    take = At(session, T0 + timedelta(seconds=3.3), lambda: execute(session, "takeover", {"message": "马上回来"}))
    free = At(session, T0 + timedelta(seconds=8.0), lambda: execute(session, "release", {}))
    session.pipeline.stages[-1]._observers += [take, free, Watch()]
    await session.run(duration=14)
    heard = read_audit(store.sync(), "show")  # cut sentences included, with where they were cut
    store.close()

    t_take, t_free = (take.done_at - T0).total_seconds(), (free.done_at - T0).total_seconds()
    frame = 1 / session.config.fps
    # nothing is heard between takeover and release: the sentence in flight was cut within a frame
    overlap = [(_t(e), e.pts_end / 48000, e.text) for e in heard
               if _t(e) < t_free and e.pts_end / 48000 > t_take + 2 * frame]
    assert not overlap, overlap
    assert any(e.cut and e.reason == "takeover" for e in heard)  # t=3.3 s: a 1 s sentence was in flight
    assert any(_t(e) >= t_free and not e.cut for e in heard)  # talking again after release
    during = [(h, s) for t, h, s in holding if t_take + 0.1 < (t - T0).total_seconds() < t_free - 0.1]
    assert during and all(h and s == "takeover" for h, s in during)
    after = [h for t, h, s in holding if (t - T0).total_seconds() > t_free + 0.2]
    assert after and not any(after)


async def test_pause_and_resume_and_skip(tmp_path, livehost_home):
    store = Store()
    session = _session(tmp_path, store)
    pause = At(session, T0 + timedelta(seconds=3.0), lambda: execute(session, "pause", {}))
    resume = At(session, T0 + timedelta(seconds=7.0), lambda: execute(session, "resume", {}))
    skipped = []
    skip = At(session, T0 + timedelta(seconds=9.0), lambda: skipped.append(session._cursor.sku) or execute(session, "skip", {}))
    session.pipeline.stages[-1]._observers += [pause, resume, skip]
    await session.run(duration=16)
    entries = _entries(store, "show")
    store.close()
    t_pause, t_resume, t_skip = ((x.done_at - T0).total_seconds() for x in (pause, resume, skip))
    # the sentence on air finishes (1 s sentences), then nothing until resume
    assert not [e for e in entries if t_pause + 1.0 < _t(e) < t_resume], [(_t(e), e.text) for e in entries]
    assert any(_t(e) >= t_resume for e in entries)
    later = [e for e in entries if _t(e) > t_skip + 1.5]
    assert later and later[0].sku != skipped[0]


async def test_commands_over_redis_and_the_published_state(tmp_path, livehost_home):
    store = Store()
    config = build_config({
        "id": "ctl", "catalog": str(_write_catalog(tmp_path / "catalog.json")), "size": "160x288",
        "voice": {"engine": "espeak"}, "output": {"url": str(tmp_path / "out.flv"), "realtime": True},
    })
    session = ChannelSession(config, store, tts=FixedTts())
    run = asyncio.create_task(session.run(duration=60))
    client = store.aio()
    try:
        for _ in range(100):
            state = {k.decode(): v.decode() for k, v in (await client.hgetall(state_key("ctl"))).items()}
            if state.get("state") == "live" and float(state.get("fps") or 0) > 0:
                break
            await asyncio.sleep(0.1)
        assert state["state"] == "live" and state["product_sku"] in ("TOTE", "MAT")
        assert 0 < await client.ttl(state_key("ctl")) <= 10
        assert await client.zscore(CHANNELS_KEY, "ctl") is not None

        async def command(action, **args):
            sid = await send_command(client, "ctl", action, by="olga", args=args, check=False)
            result = await wait_result(client, "ctl", sid, timeout=5)
            assert result is not None, f"no answer to {action}"
            return result

        r = await command("comment", user="amy", text="how much is it?")
        assert r["ok"] == "1" and r["detail"] == "answer (price)"
        for _ in range(30):
            if float((await client.hget(state_key("ctl"), "comments_per_minute")) or 0) > 0:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the comment did not show in comments_per_minute")
        r = await command("say", text="Only 1 dollar today!")
        assert r["ok"] == "0" and "gate rejected" in r["detail"]
        r = await command("say", text="Thanks for watching, everyone.")
        assert r["ok"] == "1"
        r = await command("pause")
        assert r["ok"] == "1"
        await asyncio.sleep(1.2)
        assert (await client.hget(state_key("ctl"), "state")) == b"paused"
        await command("takeover", message="back soon")
        await asyncio.sleep(1.2)
        assert (await client.hget(state_key("ctl"), "state")) == b"takeover"
        await command("release")
        r = await command("dance")
        assert r["ok"] == "0" and "action: 'dance'" in r["detail"]
        with pytest.raises(ValueError, match="user"):
            await send_command(client, "ctl", "stop", by="")
        with pytest.raises(ValueError, match="action: 'dance'"):
            await send_command(client, "ctl", "dance", by="olga")
        await command("stop")
        await asyncio.wait_for(run, 15)
        actions = [{k.decode(): v.decode() for k, v in f.items()} for _i, f in await client.xrange(ACTIONS_KEY)]
        assert [a["action"] for a in actions] == ["comment", "say", "say", "pause", "takeover", "release", "dance", "stop"]
        assert all(a["user"] == "olga" and a["channel"] == "ctl" for a in actions)
        assert json.loads(actions[0]["args"]) == {"user": "amy", "text": "how much is it?"}
    finally:
        if not run.done():
            session.request_stop()
            await asyncio.wait_for(run, 15)
        await client.aclose()
        store.close()


def test_per_minute_rate_from_a_running_counter():
    rate = PerMinute()
    assert rate.update(0, 100.0) == 0.0
    assert rate.update(10, 130.0) == 20.0  # 10 in 30 s
    assert rate.update(40, 160.0) == 40.0  # 40 in the last 60 s
    assert rate.update(40, 250.0) == 0.0  # older samples fall out of the minute
