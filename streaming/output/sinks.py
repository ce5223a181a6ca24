"""Outputs: where encoded media goes (a file, or an RTMP server through a relay process).

An output is called from the encode worker thread with :meth:`Output.send`
and reports, on the event loop, its link state and how far the media was
actually delivered (``acked_pts``), so the channel can tell what was really
said on air.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from livehost.core.frames import MediaFrame
from livehost.core.states import OutputState
from streaming.output.encoder import EncodeSettings, Segment

log = logging.getLogger(__name__)

StateListener = Callable[[OutputState, str], None]  # (state, reason)


class Output:
    """Base: link state, delivery tracking and listeners."""

    def __init__(self, settings: EncodeSettings) -> None:
        self.settings = settings
        self.state = OutputState.CONNECTING
        self.reason = ""
        self.acked_pts = 0
        self.bytes_out = 0
        self.reconnects = 0
        self._loss: int | None = None
        self._listeners: list[StateListener] = []
        self._lock = threading.Lock()  # guards the segment between the loop and the encode thread
        self._segment: Segment | None = None
        # may this process push now?  (the channel's lease: livehost.core.lease)  None: always
        self.fence: Callable[[], bool] | None = None
        self.fenced = 0  # frames not pushed because the fence said no

    def add_listener(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def _set_state(self, state: OutputState, reason: str = "") -> None:
        if state == self.state:
            return
        log.info("output %s -> %s %s", self.state, state, reason)
        self.state, self.reason = state, reason
        for listener in self._listeners:
            listener(state, reason)

    @property
    def av_offset(self) -> float | None:
        """Audio ahead of video in the current segment, seconds (None while no segment is open)."""
        segment = self._segment
        return segment.av_offset if segment is not None else None

    def take_loss(self) -> int | None:
        """The pts from which media was lost since the last call, if any."""
        loss, self._loss = self._loss, None
        return loss

    @property
    def up(self) -> bool:
        return self.state.up

    #: an output with no acknowledgements (a file, a UDP feed) counts media as delivered once it is written
    DELIVERED_WHEN_WRITTEN = False

    def send(self, frame: MediaFrame) -> bool:
        """Encode and hand one frame on.  Worker thread.  ``False`` if dropped."""
        if self.fence is not None and not self.fence():
            if not self.fenced:
                log.error("output: the channel's lease is not ours now; nothing more is pushed")
            self.fenced += 1
            return False
        with self._lock:
            segment = self._segment
            if segment is None:
                return False
            before = segment.bytes_out
            segment.write(frame)
            self.bytes_out += segment.bytes_out - before
        if self.DELIVERED_WHEN_WRITTEN:
            self.acked_pts = frame.pts + len(frame.audio)
        return True

    def _take_segment(self) -> Segment | None:
        """The open segment, detached (the encode thread writes nothing more into it)."""
        with self._lock:
            segment, self._segment = self._segment, None
        return segment

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class FileOutput(Output):
    DELIVERED_WHEN_WRITTEN = True

    def __init__(self, path: str, settings: EncodeSettings, *, finish: Callable[[Path], None] | None = None) -> None:
        """``finish``: called (in a worker thread) on the complete file after it is closed, e.g. to sign it."""
        super().__init__(settings)
        self.path = Path(path)
        self.finish = finish

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._segment = Segment(str(self.path), self.settings)
        self._set_state(OutputState.LIVE)

    async def close(self) -> None:
        segment = self._take_segment()
        if segment is not None:
            await asyncio.to_thread(segment.close)
            if self.finish is not None:
                try:
                    await asyncio.to_thread(self.finish, self.path)
                except Exception as e:  # noqa: BLE001 - the recording itself is complete: keep it, say what failed
                    log.error("output %s: %s", self.path, e)
                    self.reason = str(e)
        self._set_state(OutputState.CLOSED)


class _PipeFile:
    """File-like target for PyAV that forwards bytes to the relay's stdin without blocking.

    Called from the encode thread; the bytes are written by the event loop
    into the subprocess transport, whose buffer size the watchdog bounds.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, stdin: asyncio.StreamWriter) -> None:
        self._loop, self._stdin = loop, stdin
        self.closed = False

    def write(self, data: bytes) -> int:
        if not self.closed:
            chunk = bytes(data)
            self._loop.call_soon_threadsafe(self._forward, chunk)
        return len(data)

    def _forward(self, chunk: bytes) -> None:
        if not self.closed and not self._stdin.is_closing():
            self._stdin.write(chunk)

    def flush(self) -> None:
        pass


class RtmpOutput(Output):
    """Push to an RTMP URL through a relay process, reconnecting with backoff.

    Backoff starts at 0.5 s, grows x1.5, capped at 15 s, and resets once a
    connection has stayed up.  A relay that stops acknowledging for
    ``hang_timeout`` seconds while media is pending (a frozen server) is
    killed and treated as a dropped connection.
    """

    # at most 1.5 s between tries: back on air within 2 s of the server's return, however long it was gone
    # (bench/flapping_rtmp.py measured up to 15 s with a 15 s cap); one handshake every 1.5 s hammers no server
    BACKOFF_START, BACKOFF_FACTOR, BACKOFF_CAP = 0.5, 1.5, 1.5

    def __init__(self, url: str, settings: EncodeSettings, *, hang_timeout: float = 2.0, max_buffer: int = 4 << 20) -> None:
        super().__init__(settings)
        self.url = url
        self.hang_timeout = hang_timeout
        self.max_buffer = max_buffer
        self.down_events: list[tuple[float, str]] = []  # (wall time, reason) of each outage, for telemetry
        self._task: asyncio.Task | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._pipe: _PipeFile | None = None
        self._last_ack = 0.0
        self._written_pts = 0

    def send(self, frame: MediaFrame) -> bool:
        sent = super().send(frame)
        if sent:
            self._written_pts = frame.pts
        return sent

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"rtmp:{self.url}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
            self._task = None
        await self._teardown(graceful=True)
        self._set_state(OutputState.CLOSED)

    async def _supervise(self) -> None:
        delay = self.BACKOFF_START
        while True:
            started = time.monotonic()
            reason = await self._connect_and_watch()
            self._mark_down(reason)
            if time.monotonic() - started > 10:
                delay = self.BACKOFF_START  # the link had been healthy: start over
            log.warning("rtmp %s down (%s); reconnecting in %.1fs", self.url, reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * self.BACKOFF_FACTOR, self.BACKOFF_CAP)
            self.reconnects += 1

    def _mark_down(self, reason: str) -> None:
        self._loss = self.acked_pts if self._loss is None else min(self._loss, self.acked_pts)
        self.down_events.append((time.time(), reason))
        self._set_state(OutputState.DOWN, reason)

    async def _connect_and_watch(self) -> str:
        self._set_state(OutputState.CONNECTING, self.reason)
        if self.fence is not None and not self.fence():
            return "the channel's lease is not ours: not connecting"  # never a second publisher on the stream key
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streaming.output.relay", self.url,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal is for the channel, not the relay
        )
        self._proc = proc
        stdin, stderr = proc.stdin, proc.stderr
        assert stdin is not None and stderr is not None  # pipes
        self._pipe = _PipeFile(asyncio.get_running_loop(), stdin)
        segment = await asyncio.to_thread(Segment, self._pipe, self.settings, format="flv")
        with self._lock:
            self._segment = segment
        self._last_ack = time.monotonic()
        acks = asyncio.create_task(self._read_acks(proc), name="rtmp-acks")
        try:
            while True:
                if proc.returncode is not None or acks.done():
                    await proc.wait()
                    err = (await stderr.read()).decode(errors="replace").strip().splitlines()
                    return f"relay exited ({err[-1] if err else proc.returncode})"
                pending = self._written_pts > self.acked_pts
                silent = time.monotonic() - self._last_ack
                if pending and silent > self.hang_timeout:
                    return f"server not accepting data for {silent:.1f}s"
                buffered = stdin.transport.get_write_buffer_size()
                if buffered > self.max_buffer:
                    return f"relay not reading ({buffered} bytes buffered)"
                await asyncio.sleep(0.1)
        finally:
            acks.cancel()
            await asyncio.wait([acks], timeout=1)
            await self._teardown(graceful=False)

    async def _read_acks(self, proc: asyncio.subprocess.Process) -> None:
        stdout = proc.stdout
        assert stdout is not None  # a pipe
        while line := await stdout.readline():
            parts = line.split()
            if len(parts) == 2 and parts[0] == b"ack":
                self.acked_pts = max(self.acked_pts, int(parts[1]) * 48)
                self._last_ack = time.monotonic()
                if self.state is not OutputState.LIVE:
                    self._set_state(OutputState.LIVE)

    async def _teardown(self, *, graceful: bool) -> None:
        segment = self._take_segment()
        pipe, proc = self._pipe, self._proc
        self._pipe = self._proc = None
        if segment is not None:
            if not graceful and pipe is not None:
                pipe.closed = True  # the relay is gone or frozen: its trailer goes nowhere
            try:
                await asyncio.to_thread(segment.close)
            except Exception as e:  # noqa: BLE001 - a broken container must not stop the channel
                log.debug("closing segment: %r", e)
        if proc is None:
            return
        if graceful and proc.returncode is None:
            assert proc.stdin is not None  # a pipe (_connect_and_watch)
            proc.stdin.close()
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                pass
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
