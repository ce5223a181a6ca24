"""RTMP relay: a child process that copies an FLV stream from stdin to an RTMP URL.

PyAV cannot time out a blocked RTMP write, so the push lives in its own
process: the channel encodes, writes FLV bytes into this process's stdin,
and watches the acknowledgements this process prints, ``ack <dts in ms>``,
one per video packet once the server's TCP stack has acknowledged every
byte of it.  If they stop, the channel kills this process and reconnects.

Why TCP acknowledgements and not "the write returned": a server that hangs
without closing its socket keeps its kernel accepting data until its
receive buffer is full, and then the sender's kernel buffers megabytes more
before a write blocks; on a local link that is over 10 s of 2.5 Mb/s
video.  The bytes acknowledged by the peer (``TCP_INFO``) stop moving
within about two seconds of the hang, so the channel sees the freeze long
before any write would block.

Exit status: 0 at end of input, 3 when the connection failed or broke.
"""

from __future__ import annotations

import collections
import fcntl
import os
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Callable

# struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, 24 u32 fields, then
# u64 pacing_rate, max_pacing_rate, bytes_acked (Linux 4.1+).
_TCP_INFO_LEN = 128
_BYTES_ACKED_AT = 120
_SIOCOUTQ = 0x5411  # bytes in the send queue not yet acknowledged by the peer


class _StdinReader:
    # os.read returns what is available; a buffered reader would wait for a full
    # buffer and delay the start of the stream by seconds.
    def read(self, n: int) -> bytes:
        return os.read(0, n)


class Delivery:
    """Counts what the peer acknowledged on one TCP socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def find(cls) -> Delivery | None:
        """The process's one connected TCP socket (the one FFmpeg opened), if there is exactly one."""
        found, seen = [], set()
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                st = os.fstat(fd)
                # the listing's own fd number gets reused by our dups: count each socket once
                if not stat.S_ISSOCK(st.st_mode) or st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
                sock = socket.socket(fileno=os.dup(fd))
            except OSError:
                continue
            try:
                if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
                    sock.getpeername()
                    found.append(sock)
                    continue
            except OSError:
                pass
            sock.close()
        if len(found) != 1:
            for s in found:
                s.close()
            return None
        probe = cls(found[0])
        try:
            probe.acked()
        except OSError:
            return None
        return probe

    def acked(self) -> int:
        info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
        if len(info) < _BYTES_ACKED_AT + 8:
            raise OSError("TCP_INFO has no bytes_acked on this kernel")
        return struct.unpack_from("=Q", info, _BYTES_ACKED_AT)[0]

    def written(self) -> int:
        """Everything handed to the socket so far, in the same count as :meth:`acked`."""
        outq = struct.unpack("=i", fcntl.ioctl(self.sock.fileno(), _SIOCOUTQ, b"\0\0\0\0"))[0]
        return self.acked() + outq


class AckReporter:
    """Prints ``ack <ms>`` for each video packet once the peer has all of its bytes."""

    def __init__(self, delivery: Delivery | None, emit: Callable[[int], None], period: float = 0.02) -> None:
        self.delivery = delivery
        self.emit = emit
        self.period = period
        self._marks: collections.deque[tuple[int, int]] = collections.deque(maxlen=4096)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="acks", daemon=True)
        if delivery is not None:
            self._thread.start()

    def sent(self, ms: int) -> None:
        """A video packet was handed to the socket.  Called from the muxing thread."""
        if self.delivery is None:
            self.emit(ms)  # no TCP view: the best we know is that the write returned
            return
        with self._lock:
            self._marks.append((self.delivery.written(), ms))

    def _watch(self) -> None:
        delivery = self.delivery
        assert delivery is not None  # the thread is started only with one
        while not self._stop.wait(self.period):
            acked = delivery.acked()
            last = None
            with self._lock:
                while self._marks and self._marks[0][0] <= acked:
                    last = self._marks.popleft()[1]
            if last is not None:
                self.emit(last)

    def close(self) -> None:
        self._stop.set()


def relay(url: str) -> int:
    import av

    # no probing beyond the header: at a low frame rate, guessing the fps from frames outlasts the hang watchdog
    source = av.open(_StdinReader(), "r", format="flv", container_options={"analyzeduration": "0", "fpsprobesize": "0"})
    try:
        sink = av.open(url, "w", format="flv")
    except (OSError, av.FFmpegError) as e:
        print(f"relay: cannot open {url}: {e}", file=sys.stderr)
        return 3
    # the channel's tags (the AIGC label, channel and session ids) go on in the pushed onMetaData
    sink.metadata.update({k: v for k, v in source.metadata.items() if k not in ("encoder", "duration", "filesize")})
    streams = {s.index: sink.add_stream_from_template(s) for s in source.streams}
    out_lock = threading.Lock()

    def emit(ms: int) -> None:
        with out_lock:
            sys.stdout.write(f"ack {ms}\n")
            sys.stdout.flush()

    reporter: AckReporter | None = None
    try:
        for packet in source.demux():
            if packet.dts is None:
                continue
            is_video = packet.stream.type == "video"
            packet.stream = streams[packet.stream.index]
            sink.mux(packet)
            if reporter is None:  # FFmpeg connects on the first write
                reporter = AckReporter(Delivery.find(), emit)
            if is_video:
                reporter.sent(int(packet.dts * packet.time_base * 1000))
    except (OSError, av.FFmpegError) as e:
        print(f"relay: push to {url} failed: {e}", file=sys.stderr)
        return 3
    finally:
        try:
            sink.close()
        except (OSError, av.FFmpegError):
            pass
        if reporter is not None:
            time.sleep(2 * reporter.period)  # let the last acknowledgements out
            reporter.close()
    return 0


if __name__ == "__main__":
    sys.exit(relay(sys.argv[1]))
