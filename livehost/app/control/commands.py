"""What each control command does to a running session (a short detail back; ValueError for bad input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livehost.app.control.protocol import ACTIONS, SESSION_ACTIONS
from livehost.app.session import ChannelSession
from livehost.core.speech import QueueFull


def _say(session: ChannelSession, args: dict[str, Any]) -> str:
    text = str(args.get("text") or "").strip()
    if not text:
        raise ValueError("text: nothing to say")
    try:
        handle = session.say(text, lang=args.get("lang") or None)  # a refusal is a ValueError naming the rule
    except QueueFull as e:  # an operator ahead of the host: refused, not an error of the channel
        raise ValueError(f"say: {e}; try again once the host has said some of them") from None
    return f"queued {handle.speech.source_id}"


def _comment(session: ChannelSession, args: dict[str, Any]) -> str:
    user, text = str(args.get("user") or "").strip(), str(args.get("text") or "").strip()
    if not user or not text:
        raise ValueError("comment: user and text are both required")
    triaged = session.comment(user, text)
    return f"{triaged.action.value} ({triaged.intent.value})"


def _takeover(session: ChannelSession, args: dict[str, Any]) -> str:
    session.takeover(str(args.get("message") or "").strip() or None)
    return "host silenced, holding card shown"


def _skip(session: ChannelSession, args: dict[str, Any]) -> str:
    skipped = session.skip_product()
    return f"skipped {skipped}" if skipped else "nothing to skip"


def _pin(session: ChannelSession, args: dict[str, Any]) -> str:
    sku = str(args.get("sku") or "").strip()
    if not sku:
        raise ValueError("sku: which product to pin")
    session.pin_product(sku)
    return f"pinned {sku}"


def _simple(method: str, detail: str) -> Callable[[ChannelSession, dict[str, Any]], str]:
    def run(session: ChannelSession, args: dict[str, Any]) -> str:
        getattr(session, method)()
        return detail
    return run


#: action -> what it does to the session
COMMANDS: dict[str, Callable[[ChannelSession, dict[str, Any]], str]] = {
    "pause": _simple("pause", "paused"),
    "resume": _simple("resume", "resumed"),
    "takeover": _takeover,
    "release": _simple("release", "released"),
    "skip": _skip,
    "pin": _pin,
    "unpin": _simple("unpin", "unpinned"),
    "say": _say,
    "comment": _comment,
}
assert tuple(COMMANDS) == SESSION_ACTIONS, "the protocol's action list and the commands are out of step"


def execute(session: ChannelSession, action: str, args: dict[str, Any]) -> str:
    """Carry out one command on the session; returns a short detail, raises ValueError for bad input."""
    run = COMMANDS.get(action)
    if run is None:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    return run(session, args)
