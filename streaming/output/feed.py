"""The program as MPEG-TS over UDP: what OBS's media source reads.

UDP has no connection: OBS may start, restart or stop reading at any time
and livehost never waits for it.  Datagrams carry up to seven 188-byte
transport packets (1316 bytes, what players and OBS expect); the muxer
flushes every packet and all of it is sent at once, so a frame leaves when
it is encoded.  A send the
kernel refuses (buffer full) drops that datagram and is counted; whether
OBS really showed the frames is what the OBS director watches.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import socket

from livehost.core.states import OutputState
from streaming.output.encoder import EncodeSettings, Segment
from streaming.output.sinks import Output

log = logging.getLogger(__name__)

TS_PACKET = 188
DATAGRAM = 7 * TS_PACKET


def parse_udp(url: str) -> tuple[str, int]:
    m = re.fullmatch(r"udp://(\[[0-9A-Fa-f:]+\]|[^/\s:]+):(\d{1,5})/?", url)
    if not m:
        raise ValueError(f"{url!r} is not udp://HOST:PORT")
    return m.group(1).strip("[]"), int(m.group(2))


class _Datagrams:
    """A file-like target for the muxer: whole 1316-byte datagrams out, the rest kept for the next write."""

    def __init__(self, sock: socket.socket, address: tuple) -> None:
        self.sock, self.address = sock, address
        self.pending = bytearray()
        self.sent = self.dropped = 0

    def write(self, data: bytes) -> int:
        self.pending += data
        whole = len(self.pending) - len(self.pending) % TS_PACKET  # the muxer flushed a packet: all of it goes now
        for i in range(0, whole, DATAGRAM):
            self._send(bytes(self.pending[i:min(i + DATAGRAM, whole)]))
        del self.pending[:whole]
        return len(data)

    def _send(self, datagram: bytes) -> None:
        try:
            self.sock.sendto(datagram, self.address)
            self.sent += 1
        except OSError as e:  # buffer full, or an ICMP error from the last send: the reader is not there
            if e.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED, errno.EWOULDBLOCK):
                raise
            self.dropped += 1

    def flush(self) -> None:
        pass


class UdpFeedOutput(Output):
    """Encode the program into MPEG-TS and send it to ``udp://HOST:PORT``."""

    DELIVERED_WHEN_WRITTEN = True  # nothing acknowledges UDP: what OBS shows is the OBS director's to watch

    def __init__(self, url: str, settings: EncodeSettings) -> None:
        super().__init__(settings)
        self.url = url
        self.host, self.port = parse_udp(url)
        self._sock: socket.socket | None = None
        self._target: _Datagrams | None = None

    @property
    def datagrams_dropped(self) -> int:
        return self._target.dropped if self._target else 0

    async def start(self) -> None:
        infos = await asyncio.get_running_loop().getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self._sock, self._target = sock, _Datagrams(sock, address)
        segment = await asyncio.to_thread(Segment, self._target, self.settings, format="mpegts",
                                          options={"flush_packets": "1"})
        with self._lock:
            self._segment = segment
        self._set_state(OutputState.LIVE)
        log.info("program feed: MPEG-TS to %s", self.url)

    async def close(self) -> None:
        segment = self._take_segment()
        if segment is not None:
            try:
                await asyncio.to_thread(segment.close)
            except OSError as e:
                log.debug("closing the feed: %r", e)
        if self._sock is not None:
            self._sock.close()
        self._set_state(OutputState.CLOSED)
