"""Operator controls: pause, takeover, release, skip, say, comment; over Redis as the console sends them."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta

import pytest
from PIL import Image

from livehost.app.config import ConfigError, build_config
from livehost.app.control.commands import execute
from livehost.app.control.protocol import send_command, wait_result
from livehost.app.runner import ChannelRunner
from livehost.app.session import ChannelSession
from livehost.core import keys
from livehost.core.audit import read_audit
from livehost.core.metrics import PerMinute
from livehost.core.tasks import cancel_and_wait
from tests.env import store_from_env
from tests.integration.test_show_session import T0, At, FixedTts, _entries, _session, _t, _write_catalog  # noqa: F401

pytestmark = pytest.mark.integration


async def test_takeover_silences_the_host_and_shows_the_holding_card_until_release(tmp_path, livehost_home):
    store = store_from_env()
    session = _session(tmp_path, store)
    holding = []

    class Watch:
        def on_frame(self, stage, frame):
            if stage == "encode":
                holding.append((session.now(), session.render.shown_holding is not None, session.state))

    take = At(session, T0 + timedelta(seconds=3.3), lambda: execute(session, "takeover", {"message": "马上回来"}))
    free = At(session, T0 + timedelta(seconds=8.0), lambda: execute(session, "release", {}))
    for observer in (take, free, Watch()):
        session.pipeline.add_observer(observer)
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
    store = store_from_env()
    session = _session(tmp_path, store)
    pause = At(session, T0 + timedelta(seconds=3.0), lambda: execute(session, "pause", {}))
    resume = At(session, T0 + timedelta(seconds=7.0), lambda: execute(session, "resume", {}))
    skipped = []
    skip = At(session, T0 + timedelta(seconds=9.0), lambda: skipped.append(session.planner.cursor.sku) or execute(session, "skip", {}))
    for observer in (pause, resume, skip):
        session.pipeline.add_observer(observer)
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
    store = store_from_env()
    config = build_config({
        "id": "ctl", "tenant": "acme", "catalog": str(_write_catalog(tmp_path / "catalog.json")), "size": "160x288",
        "voice": {"engine": "espeak"}, "output": {"url": str(tmp_path / "out.flv"), "realtime": True},
    })
    runner = ChannelRunner(config, store, lambda c, s: ChannelSession(c, s, tts=FixedTts()))
    plane = asyncio.create_task(runner.control_plane())
    client = store.aio()

    async def state(until=None, timeout=10.0):
        for _ in range(int(timeout * 10)):
            got = {k.decode(): v.decode() for k, v in (await client.hgetall(keys.state("ctl"))).items()}
            if until is None or until(got):
                return got
            await asyncio.sleep(0.1)
        pytest.fail(f"channel state never matched; last {got}")

    async def command(action, **args):
        sid = await send_command(client, "ctl", action, by="olga", args=args, check=False)
        result = await wait_result(client, "ctl", sid, timeout=5)
        assert result is not None, f"no answer to {action}"
        return result

    try:
        got = await state(lambda s: s.get("state") == "stopped")  # published before any run
        assert got["tenant"] == "acme"
        r = await command("pause")
        assert r["ok"] == "0" and "ctl is stopped" in r["detail"]
        assert (await command("start"))["ok"] == "1"
        got = await state(lambda s: s.get("state") == "live" and float(s.get("fps") or 0) > 0)
        assert got["product_sku"] in ("TOTE", "MAT") and got["tenant"] == "acme"
        assert 0 < await client.ttl(keys.state("ctl")) <= 10
        assert await client.zscore(keys.CHANNELS, "ctl") is not None
        for _ in range(30):  # the preview: a JPEG of the picture, scaled to PREVIEW_WIDTH at most
            jpeg = await client.get(keys.frame("ctl"))
            if jpeg:
                break
            await asyncio.sleep(0.1)
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and image.size == (160, 288)
        assert image.convert("L").getextrema()[1] > 100  # a picture, not a blank
        assert await client.xlen(keys.history("ctl")) >= 1
        assert got["av_offset_ms"] != "" and abs(float(got["av_offset_ms"])) < 200

        r = await command("comment", user="amy", text="how much is it?")
        assert r["ok"] == "1" and r["detail"] == "answer (price)"
        got = await state(lambda s: float(s.get("comments_per_minute") or 0) > 0, timeout=3)
        comments = json.loads(await client.get(keys.comments("ctl")))
        assert comments[-1]["user"] == "amy" and comments[-1]["intent"] == "price"
        r = await command("say", text="Only 1 dollar today!")
        assert r["ok"] == "0" and "gate rejected" in r["detail"]
        r = await command("say", text="Thanks for watching, everyone.")
        assert r["ok"] == "1"
        r = await command("pin", sku="NOPE")
        assert r["ok"] == "0" and "sku: 'NOPE'" in r["detail"]
        other = "MAT" if got["product_sku"] == "TOTE" else "TOTE"
        assert (await command("pin", sku=other))["ok"] == "1"
        await state(lambda s: s.get("product_sku") == other and s.get("pinned") == other, timeout=10)
        await command("unpin")
        r = await command("pause")
        assert r["ok"] == "1"
        await state(lambda s: s.get("state") == "paused", timeout=3)
        await command("takeover", message="back soon")
        await state(lambda s: s.get("state") == "takeover", timeout=3)
        await command("release")
        r = await command("dance")
        assert r["ok"] == "0" and "action: 'dance'" in r["detail"]
        with pytest.raises(ValueError, match="user"):
            await send_command(client, "ctl", "stop", by="")
        with pytest.raises(ValueError, match="action: 'dance'"):
            await send_command(client, "ctl", "dance", by="olga")
        await command("stop")
        await asyncio.wait_for(runner.wait_ended(), 15)
        assert runner.stopped_by == "olga" and runner.last_stats.frames_sent > 0
        await state(lambda s: s.get("state") == "stopped" and "fps" in s and s["fps"] == "0")
        assert (await command("start"))["ok"] == "1"  # a stopped channel starts again
        await state(lambda s: s.get("state") == "live")
        assert runner.runs == 2
        await command("stop")
        await asyncio.wait_for(runner.wait_ended(), 15)
        actions = [{k.decode(): v.decode() for k, v in f.items()} for _i, f in await client.xrange(keys.ACTIONS)]
        assert [a["action"] for a in actions] == ["pause", "start", "comment", "say", "say", "pin", "pin", "unpin",
                                                  "pause", "takeover", "release", "dance", "stop", "start", "stop"]
        assert all(a["user"] == "olga" and a["channel"] == "ctl" for a in actions)
        assert json.loads(actions[2]["args"]) == {"user": "amy", "text": "how much is it?"}
    finally:
        await runner.close()
        await cancel_and_wait([plane], 5.0, "control plane")
        await client.aclose()
        store.close()


async def test_a_channel_that_cannot_be_built_shows_as_failed_with_its_error(tmp_path, livehost_home):
    store = store_from_env()
    config = build_config({"id": "bad", "catalog": str(tmp_path / "missing.json"), "size": "160x288",
                           "output": {"url": str(tmp_path / "out.flv")}})
    runner = ChannelRunner(config, store)
    with pytest.raises(ConfigError, match="missing.json"):
        runner.start()
    assert runner.state == "failed" and "missing.json" in runner.last_error
    plane = asyncio.create_task(runner.control_plane())
    client = store.aio()
    try:
        for _ in range(50):
            got = {k.decode(): v.decode() for k, v in (await client.hgetall(keys.state("bad"))).items()}
            if got:
                break
            await asyncio.sleep(0.1)
        assert got["state"] == "failed" and "missing.json" in got["last_error"]
        sid = await send_command(client, "bad", "start", by="olga")
        r = await wait_result(client, "bad", sid)
        assert r["ok"] == "0" and "missing.json" in r["detail"]
    finally:
        await cancel_and_wait([plane], 5.0, "control plane")
        await client.aclose()
        store.close()


def test_per_minute_rate_from_a_running_counter():
    rate = PerMinute()
    assert rate.update(0, 100.0) == 0.0
    assert rate.update(10, 130.0) == 20.0  # 10 in 30 s
    assert rate.update(40, 160.0) == 40.0  # 40 in the last 60 s
    assert rate.update(40, 250.0) == 0.0  # older samples fall out of the minute
