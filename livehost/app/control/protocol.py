"""The control protocol, client side: sending a command to a channel and reading its answer.

* ``livehost:control:<id>``: a stream of commands, each with ``action``,
  ``user``, ``args`` (JSON) and ``sent`` (unix seconds); the channel answers
  each one in ``livehost:control:<id>:results`` (``id`` = the command's
  stream id, ``ok``, ``detail``).
* ``livehost:actions``: every command carried out, with its user, for the audit page.

Commands older than :data:`COMMAND_MAX_AGE` seconds when the channel reads
them are refused, not replayed.  Anyone who can write to the Redis can
command a channel: keep Redis private.
"""

from __future__ import annotations

import json
import time
from typing import Any

from livehost.core import keys
from livehost.core.store import as_texts

COMMAND_MAX_AGE = 30.0
STREAM_MAX = 10_000

#: what a channel's runner does itself (the session may not exist yet)
RUNNER_ACTIONS = ("start", "stop")
#: what a running session does (see :mod:`.commands`)
SESSION_ACTIONS = ("pause", "resume", "takeover", "release", "skip", "pin", "unpin", "say", "comment")
ACTIONS = (*RUNNER_ACTIONS, *SESSION_ACTIONS)


async def send_command(client: Any, channel: str, action: str, *, by: str, args: dict[str, Any] | None = None,
                       check: bool = True) -> str:
    """Queue a command for a channel from user ``by``; returns its stream id (to find its result)."""
    if check and action not in ACTIONS:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    if not by:
        raise ValueError("user: every command names the user who gave it")
    entry = {"action": action, "user": by, "args": json.dumps(args or {}, ensure_ascii=False), "sent": str(time.time())}
    sid = await client.xadd(keys.control(channel), entry, maxlen=STREAM_MAX, approximate=True)
    return sid.decode() if isinstance(sid, bytes) else sid


async def wait_result(client: Any, channel: str, command_id: str, timeout: float = 5.0) -> dict[str, str] | None:
    """The channel's answer to a command, or None if it did not answer in time."""
    deadline = time.monotonic() + timeout
    # an answer is written after its command, so its id is not older than the command's millisecond (it may be
    # the same id: the two streams number apart); read from just before that millisecond
    last = f"{int(command_id.split('-')[0]) - 1}-0"
    while time.monotonic() < deadline:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        got = await client.xread({keys.results(channel): last}, block=left, count=100)
        for _stream, entries in got or ():
            for sid, fields in entries:
                last = sid
                row = as_texts(fields)
                if row.get("id") == command_id:
                    return row
    return None


def record_action(client: Any, channel: str, action: str, *, user: str, ok: bool, detail: str, args: str = "{}",
                  id: str = "") -> Any:
    """Append one action to the audit stream ``livehost:actions`` (returns the client's xadd: await it, or a pipe)."""
    return client.xadd(keys.ACTIONS, {"id": id, "ok": "1" if ok else "0", "detail": detail, "action": action,
                                      "user": user, "channel": channel, "args": args, "wall_time": str(time.time())},
                       maxlen=STREAM_MAX, approximate=True)
