"""Ending the tasks a component owns: cancelled, waited for with a deadline, and named when they will not end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task], deadline: float, owner: str) -> list[asyncio.Task]:
    """Cancel ``tasks`` and wait at most ``deadline`` seconds for them; returns (and logs by name) those still running.

    A task still running after its cancel has swallowed it (or is stuck in a ``finally``): it would hang
    whoever closes the event loop, so it is worth an error line naming it.
    """
    tasks = [t for t in tasks if not t.done()]
    for t in tasks:
        t.cancel()
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    for t in pending:
        log.error("%s: task %r still running %.1f s after its cancel", owner, t.get_name(), deadline)
    return list(pending)


def cancel_requested() -> bool:
    """Whether the running task has been asked to stop.  A library that catches the ``CancelledError``
    and raises its own error instead (redis-py does while it reconnects) leaves this as the only sign;
    a retry loop checks it before trying again."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
