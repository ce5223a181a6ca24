"""The demo channel pushed to a real nginx-rtmp server, read back with PyAV, and faults."""

import asyncio
import json
import time

import numpy as np
import pytest

from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.core.audit import read_audit
from livehost.core.store import Store
from tests.env import store_from_env
from tests.integration.readback import BackgroundReader

pytestmark = pytest.mark.integration


def _mouth_probe(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the host's mouth can be, idle motion included."""
    from streaming.avatar import Avatar2D

    x0, y0, x1, y1 = Avatar2D(width, height).mouth_box(0)
    pad = 12
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _session(channel: str, url: str, store: Store) -> ChannelSession:
    config = build_config({"id": channel, "size": "360x640", "voice": {"engine": "espeak"}, "output": {"url": url}})
    return ChannelSession(config, store)


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _check_accounted(entries, planned) -> None:
    """Every planned script sentence was spoken in order, none skipped; every cut one was replayed."""
    spoken = [e.source_id for e in entries if e.source == "script" and not e.cut]
    assert spoken, "nothing was spoken"
    assert spoken == list(planned)[: len(spoken)], "script sentences skipped, repeated or out of order"
    for i, e in enumerate(entries):
        if e.cut and e.reason != "stopped":  # replayed later: in full, or until the channel stopped
            again = [r for r in entries[i + 1 :] if r.source_id == e.source_id and r.pts_start > e.pts_start]
            assert again, f"cut sentence {e.source_id} ({e.text!r}) was never replayed"


async def test_push_to_rtmp_reads_back_h264_aac_aligned_with_speech(rtmp_server, livehost_home):
    url = rtmp_server.url("ch1")
    store = store_from_env()
    session = _session("ch1", url, store)
    run = asyncio.create_task(session.run(duration=13))
    await _wait_for(lambda: session.output.state == "live", 20, "the push to go live")
    reader = BackgroundReader(url, seconds=9, mouth_box=_mouth_probe(360, 640))
    stats = await run
    rb = await asyncio.to_thread(reader.join, 30)
    entries = read_audit(store.sync(), "ch1")
    store.close()

    assert rb.error is None, rb.error
    assert (rb.video_codec, rb.audio_codec) == ("h264", "aac")
    assert (rb.width, rb.height) == (360, 640)
    # the implicit AI label (GB 45438) as the RTMP server received it, in onMetaData
    aigc = json.loads(rb.metadata["AIGC"])
    assert aigc["Label"] == "1" and aigc["ContentProducer"] == "livehost" and aigc["ProduceID"].startswith("ch1:")
    assert rb.metadata["livehost_channel"] == "ch1" and aigc["ProduceID"] == f"ch1:{rb.metadata['livehost_session']}"
    assert rb.audio_rate == 48000
    assert abs(rb.fps() - 25) < 0.01
    gaps = np.diff(rb.keyframes)
    assert len(gaps) >= 2 and np.allclose(gaps, 2.0, atol=0.001), f"keyframes at {rb.keyframes}"
    # one media clock for both streams: the mouth moves with the voice, within one frame
    assert len(rb.video_pts) > 100 and max(rb.mouth) > 50, "no speaking mouth in the read-back"
    assert abs(rb.lip_sync_lag()) <= 1, f"picture off the voice by {rb.lip_sync_lag()} frames"
    assert abs((rb.audio_start + len(rb.pcm) / 48000) - (rb.video_pts[-1] + 1 / 25)) < 0.2

    # speech energy exactly where the audit log says a sentence was spoken
    window = (rb.video_pts[0] + 0.2, rb.video_pts[-1] - 0.2)
    said = [e for e in entries if not e.cut and window[0] < e.pts_start / 48000 and e.pts_end / 48000 < window[1]]
    assert said, f"no complete sentence inside the read window {window}"
    for e in said:
        assert rb.rms(e.pts_start / 48000 + 0.05, e.pts_end / 48000 - 0.05) > 0.03, e.text
    assert stats.frames_dropped == 0
    _check_accounted(entries, session.planner.planned)


@pytest.mark.parametrize("fps", [5, 12])
async def test_a_low_frame_rate_push_goes_live_at_once(rtmp_server, livehost_home, fps):
    # the relay once probed the frame rate from frames: at 15 fps and below that outlasted the hang watchdog,
    # and the push reconnected forever without a byte reaching the server
    store = store_from_env()
    config = build_config({"id": f"low{fps}", "size": "160x288", "fps": fps, "voice": {"engine": "espeak"},
                           "output": {"url": rtmp_server.url(f"low{fps}")}})
    stats = await ChannelSession(config, store).run(duration=6)
    store.close()
    assert stats.reconnects == 0 and stats.frames_dropped == 0 and stats.frames_sent == 6 * fps


async def test_rtmp_server_killed_and_restarted_reconnects_and_replays(rtmp_server, livehost_home):
    url = rtmp_server.url("ch2")
    store = store_from_env()
    session = _session("ch2", url, store)
    run = asyncio.create_task(session.run(duration=24))
    await _wait_for(lambda: session.output.state == "live", 20, "the push to go live")
    # a loaded machine may take seconds to speak the first sentence: kill the server once one was spoken and the
    # next is on air, not after a fixed time (then the outage could cut the first one and the end its replay)
    await _wait_for(lambda: session.ledger.spoken >= 1, 30, "a first sentence spoken")
    await asyncio.sleep(0.8)
    rtmp_server.kill()
    await _wait_for(lambda: session.output.state == "down", 5, "the outage to be noticed")
    await asyncio.sleep(2.5)
    rtmp_server.start()
    await _wait_for(lambda: session.output.state == "live", 15, "the reconnect")
    reader = BackgroundReader(url, seconds=4)
    await run
    rb = await asyncio.to_thread(reader.join, 30)
    entries = read_audit(store.sync(), "ch2")
    store.close()

    assert session.output.reconnects >= 1
    assert rb.error is None and len(rb.video_pts) > 25, "no video after the reconnect"
    assert any(e.cut and e.reason == "outage" for e in entries), "the sentence in flight was not marked cut"
    _check_accounted(entries, session.planner.planned)


async def test_rtmp_server_frozen_is_detected_and_treated_as_outage(rtmp_server, livehost_home):
    url = rtmp_server.url("ch3")
    store = store_from_env()
    session = _session("ch3", url, store)
    run = asyncio.create_task(session.run(duration=30))
    await _wait_for(lambda: session.output.state == "live", 20, "the push to go live")
    await asyncio.sleep(4)
    frozen_at = time.time()
    rtmp_server.freeze()
    try:
        # frozen until noticed (a loaded machine fills the socket buffers slower), at least 8 s
        await _wait_for(lambda: session.output.state == "down", 40, "the frozen server to be detected")
    finally:
        detected = time.time()
        await asyncio.sleep(max(0.0, frozen_at + 8 - time.time()))
        thawed_at = time.time()
        rtmp_server.thaw()
    print(f"frozen server detected after {detected - frozen_at:.2f}s")
    await _wait_for(lambda: session.output.state == "live", 20, "the reconnect after thaw")
    await run
    entries = read_audit(store.sync(), "ch3")
    store.close()

    first_down = session.output.down_events[0]
    assert first_down[0] < thawed_at, "the freeze was only noticed after the server came back"
    assert "not accepting" in first_down[1] or "not reading" in first_down[1]
    assert any(e.cut and e.reason == "outage" for e in entries)
    _check_accounted(entries, session.planner.planned)
