"""A reader's parsing half in a child Python process, streamed back in batches: two cores for one import.

An import is CPU-bound Python: parse the feed, map each item, validate it,
store it.  For a large file the parsing runs in a child interpreter
(``python -m MODULE ARGS...``, a module that imports the standard library
only, so it starts in a few tens of milliseconds) that writes the parsed
items to its stdout in pickled batches while this process maps, validates
and stores them.  What the caller sees is the same as parsing in-process:

* the items arrive in order, and a :class:`FeedError` the child raises is
  raised here, with its message, after the items read before it;
* the pipe holds about 64 KiB, so the child runs at most a batch or two
  ahead and waits while this process is busy: memory stays flat;
* a consumer that stops early closes the pipe: the child ends on the broken
  pipe, and is terminated (then killed) after :data:`DEADLINE` if not;
* a child that dies any other way is a :class:`FeedError` naming its exit
  status and last stderr line.

:func:`worth_it` decides per file: files of :data:`MIN_BYTES` or more when
two CPUs are available.  ``LIVEHOST_FEED_CHILD=0`` turns the child off,
``=1`` uses it for any file, ``auto`` (the default) decides by size.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from products.feeds.errors import FeedError

MIN_BYTES = 4 << 20  # below this (about 5,000 items), starting a process gains little
BATCH = 256  # items per pickled message
DEADLINE = 5.0  # seconds a child gets to end after its last message, or after a terminate
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the products package


def worth_it(size: int, setting: str = "auto") -> bool:
    """Whether a file of ``size`` bytes should be parsed in a child process (see the module docstring).

    ``setting`` (``LIVEHOST_FEED_CHILD``): ``auto``, ``1`` (always) or ``0`` (never).
    """
    if setting == "0":
        return False
    if setting == "1":
        return True
    if setting != "auto":
        raise FeedError(f"LIVEHOST_FEED_CHILD = {setting!r}: expected auto, 0 or 1")
    return size >= MIN_BYTES and _cpus() >= 2 and bool(sys.executable)  # an embedded Python may have none


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def stream_from_child(module: str, *args: str, what: str) -> Iterator[Any]:
    """Yield what ``python -m module args...`` sends through :func:`serve`, in order (module docstring)."""
    env = dict(os.environ)  # the child inherits this process's environment, plus where to find this package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryFile() as stderr:
        try:
            proc = subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=stderr, env=env)
        except OSError as e:
            raise FeedError(f"{what}: cannot start the parsing process ({sys.executable!r}): {e.strerror or e}") from None
        stdout = proc.stdout
        assert stdout is not None  # stdout=PIPE
        try:
            while True:
                try:
                    kind, payload = pickle.load(stdout)
                except EOFError:
                    code = proc.wait(timeout=DEADLINE)
                    stderr.seek(0)
                    last = stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]
                    raise FeedError(f"{what}: the parsing process ended early (exit status {code})"
                                    + (f": {last[0]}" if last else "")) from None
                if kind == "items":
                    yield from payload
                elif kind == "error":
                    raise FeedError(payload)
                else:  # "end"
                    proc.wait(timeout=DEADLINE)
                    return
        finally:
            stdout.close()
            _end(proc)


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve(items: Iterable[Any], batch: int = BATCH) -> None:
    """The child's side: ``items`` to stdout in pickled batches, then the end, or the :class:`FeedError`."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C in a terminal: the parent reports it, this just ends
    out = sys.stdout.buffer

    def send(message: tuple[str, Any]) -> None:
        pickle.dump(message, out, pickle.HIGHEST_PROTOCOL)
        out.flush()

    chunk: list[Any] = []
    end: tuple[str, str | None]
    try:
        try:
            for item in items:
                chunk.append(item)
                if len(chunk) == batch:
                    send(("items", chunk))
                    chunk = []
            end = ("end", None)
        except FeedError as e:
            end = ("error", str(e))
        if chunk:
            send(("items", chunk))  # the items read before an error come first, as in-process
        send(end)
    except BrokenPipeError:
        os._exit(0)  # the parent stopped reading: nothing more to do, and nothing to flush
