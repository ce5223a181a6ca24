"""The UDP program feed: whole transport packets per datagram, decodable as sent, never blocked by a missing reader."""

import io
import socket

import av
import numpy as np

from livehost.core.frames import MediaFrame
from streaming.output.encoder import EncodeSettings
from streaming.output.feed import DATAGRAM, TS_PACKET, UdpFeedOutput, parse_udp

W, H, FPS = 64, 48, 25


def _frame(i: int) -> MediaFrame:
    picture = np.full((H * 3 // 2, W), 16 + (i * 7) % 200, np.uint8)
    audio = (np.sin(np.arange(1920) / 10) * 8000).astype(np.int16)
    return MediaFrame(pts=i * 1920, index=i, audio=audio, picture=picture)


async def test_feed_sends_whole_ts_packets_that_decode():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.settimeout(2)
    port = rx.getsockname()[1]
    out = UdpFeedOutput(f"udp://127.0.0.1:{port}", EncodeSettings(W, H, FPS, 300, 64, 1, "ultrafast"))
    await out.start()
    for i in range(50):
        assert out.send(_frame(i))
    await out.close()
    datagrams = []
    try:
        while True:
            datagrams.append(rx.recv(65536))
    except TimeoutError:
        pass
    rx.close()
    assert datagrams and all(len(d) % TS_PACKET == 0 and len(d) <= DATAGRAM for d in datagrams)
    assert all(d[i] == 0x47 for d in datagrams for i in range(0, len(d), TS_PACKET))  # sync bytes
    container = av.open(io.BytesIO(b"".join(datagrams)), format="mpegts")
    kinds = {s.type for s in container.streams}
    frames = sum(1 for _ in container.decode(video=0))
    container.close()
    assert kinds == {"video", "audio"} and frames >= 45
    assert out.acked_pts == 50 * 1920 and out.datagrams_dropped == 0


async def test_nobody_listening_costs_nothing():
    port = socket.socket()  # a port nobody reads UDP on
    port.bind(("127.0.0.1", 0))
    out = UdpFeedOutput(f"udp://127.0.0.1:{port.getsockname()[1]}", EncodeSettings(W, H, FPS, 300, 64, 1, "ultrafast"))
    port.close()
    await out.start()
    assert all(out.send(_frame(i)) for i in range(30))
    await out.close()
    assert out.state == "closed"


def test_parse_udp():
    assert parse_udp("udp://127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_udp("udp://[::1]:9000/") == ("::1", 9000)
