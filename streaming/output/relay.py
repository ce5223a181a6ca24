"""RTMP relay: a child process that copies an FLV stream from stdin to an RTMP URL.

PyAV cannot time out a blocked RTMP write, so the push lives in its own
process: the channel encodes, writes FLV bytes into this process's stdin,
and watches the acknowledgements it prints (``ack <dts in ms>`` after each
video packet is handed to the socket).  If they stop, the channel kills
this process and reconnects.

Exit status: 0 at end of input, 3 when the connection failed or broke.
"""

from __future__ import annotations

import os
import sys


class _StdinReader:
    # os.read returns what is available; a buffered reader would wait for a full
    # buffer and delay the start of the stream by seconds.
    def read(self, n: int) -> bytes:
        return os.read(0, n)


def relay(url: str) -> int:
    import av

    source = av.open(_StdinReader(), "r", format="flv", container_options={"analyzeduration": "0"})
    try:
        sink = av.open(url, "w", format="flv")
    except (OSError, av.FFmpegError) as e:
        print(f"relay: cannot open {url}: {e}", file=sys.stderr)
        return 3
    streams = {s.index: sink.add_stream_from_template(s) for s in source.streams}
    out = sys.stdout
    try:
        for packet in source.demux():
            if packet.dts is None:
                continue
            is_video = packet.stream.type == "video"
            packet.stream = streams[packet.stream.index]
            sink.mux(packet)
            if is_video:
                out.write(f"ack {int(packet.dts * packet.time_base * 1000)}\n")
                out.flush()
    except (OSError, av.FFmpegError) as e:
        print(f"relay: push to {url} failed: {e}", file=sys.stderr)
        return 3
    finally:
        try:
            sink.close()
        except (OSError, av.FFmpegError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(relay(sys.argv[1]))
