"""Timestamp boundaries a 24-hour stream crosses: RTMP's 24-bit millisecond field and MPEG-TS's 33-bit clock.

A channel on air for 4 h 39 min passes 0xFFFFFF ms, where RTMP moves its timestamps to the extended field; one on
air for 26.5 h passes 2^33 ticks of 90 kHz, where MPEG-TS timestamps wrap to 0.  Rather than wait, the channel's
media clock starts a few seconds before each boundary; what was pushed is read back (from nginx-rtmp, and from the
.ts file) and must stay continuous and in sync across it.
"""

import asyncio

import numpy as np
import pytest

from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.core.clock import SAMPLE_RATE
from tests.integration.readback import BackgroundReader, decode
from tests.integration.test_channel_rtmp import _mouth_probe, _wait_for

pytestmark = pytest.mark.integration

RTMP_EXTENDED = 0xFFFFFF / 1000  # seconds: the last timestamp the 24-bit field holds
TS_WRAP = 2**33 / 90_000  # seconds: MPEG-TS pts/dts wrap to 0 here
FPS = 25
W, H = 360, 640


def _origin(seconds: float) -> int:
    """The pts (samples) of a frame boundary just before ``seconds``."""
    spf = SAMPLE_RATE // FPS
    return int(seconds * SAMPLE_RATE) // spf * spf


def _config(channel: str, url: str, **output) -> dict:
    return {"id": channel, "size": f"{W}x{H}", "fps": FPS, "voice": {"engine": "espeak"}, "disclose": False,
            "output": {"url": url, **output}}


def _continuous(times: list[float], step: float, what: str) -> None:
    d = np.diff(times)
    assert len(d) > 50, f"{what}: only {len(times)} timestamps read back"
    assert np.allclose(d, step, atol=1e-3), f"{what}: gaps or jumps {sorted(set(np.round(d, 4)))[:5]}...{d.max():.4f}"


def _ts_pts(path) -> list[int]:
    """The raw 33-bit pts of every PES packet in an MPEG-TS file (what a player reads before any unwrapping)."""
    data = open(path, "rb").read()
    found = []
    for off in range(0, len(data) - 187, 188):
        pkt = data[off:off + 188]
        if pkt[0] != 0x47 or not pkt[1] & 0x40:  # sync byte; payload unit start
            continue
        pos = 4
        if pkt[3] & 0x20:  # adaptation field
            pos += 1 + pkt[4]
        pes = pkt[pos:]
        if pes[:3] != b"\x00\x00\x01" or len(pes) < 14 or not pes[7] & 0x80:
            continue
        p = pes[9:14]
        found.append(((p[0] >> 1) & 7) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1)
    return found


async def test_rtmp_push_stays_continuous_and_in_sync_across_the_extended_timestamp(rtmp_server, livehost_home):
    url = rtmp_server.url("wrap")
    session = ChannelSession(build_config(_config("wrap", url)), None, clock_origin=_origin(RTMP_EXTENDED - 4))
    run = asyncio.create_task(session.run(duration=13))
    await _wait_for(lambda: session.output.state == "live", 20, "the push to go live")
    reader = BackgroundReader(url, seconds=10, mouth_box=_mouth_probe(W, H))
    stats = await run
    rb = await asyncio.to_thread(reader.join, 30)

    assert rb.error is None, rb.error
    assert stats.reconnects == 0 and stats.frames_dropped == 0
    assert rb.video_pts[0] < RTMP_EXTENDED - 1 and rb.video_pts[-1] > RTMP_EXTENDED + 3, \
        f"read back {rb.video_pts[0]:.2f}..{rb.video_pts[-1]:.2f} s, not across {RTMP_EXTENDED} s"
    _continuous(rb.video_pts, 1 / FPS, "video read back from nginx-rtmp")
    # the voice runs to where the picture ends, without a gap: decoded samples fill the span
    assert abs(rb.audio_start + len(rb.pcm) / SAMPLE_RATE - (rb.video_pts[-1] + 1 / FPS)) < 0.1
    assert max(rb.mouth) > 50, "no speaking mouth in the read-back"
    assert abs(rb.lip_sync_lag()) <= 1, f"picture off the voice by {rb.lip_sync_lag()} frames"


async def test_mpegts_file_stays_continuous_and_in_sync_across_the_33_bit_wrap(tmp_path, livehost_home):
    path = tmp_path / "wrap.ts"
    session = ChannelSession(build_config(_config("wrapts", str(path), realtime=False)), None,
                             clock_origin=_origin(TS_WRAP - 6))
    stats = await session.run(duration=12)
    assert stats.frames_sent == 12 * FPS

    raw = _ts_pts(path)
    assert raw[0] > 2**33 - 7 * 90_000 and raw[-1] < 7 * 90_000, "the file's timestamps did not wrap"
    rb = decode(str(path), mouth_box=_mouth_probe(W, H))
    # a player unwraps: the picture is one continuous run of frames through the wrap
    _continuous(rb.video_pts, 1 / FPS, "video of the .ts file")
    assert len(rb.video_pts) == 12 * FPS
    assert abs(rb.audio_start - rb.video_pts[0]) < 0.03, "audio and video start apart"
    assert abs(rb.audio_start + len(rb.pcm) / SAMPLE_RATE - (rb.video_pts[-1] + 1 / FPS)) < 0.05
    assert max(rb.mouth) > 50 and abs(rb.lip_sync_lag()) <= 1, f"picture off the voice by {rb.lip_sync_lag()} frames"
