"""Run one measurement in a fresh spawned process, so that its peak memory (``ru_maxrss``) is its own.

A plain process, not a pool worker: pool workers are daemons, which may not start the parsing child
(``products.feeds.child``) that livehost's reader uses for a large file.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def _call_into(fn: Callable[..., Any], args: tuple, send: Any) -> None:
    send.send(fn(*args))
    send.close()


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` (a module-level function; arguments and result picklable) in a new spawned process."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_call_into, args=(fn, args, send))
    proc.start()
    send.close()
    try:
        return receive.recv()
    finally:
        proc.join()
