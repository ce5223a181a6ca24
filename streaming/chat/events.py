"""One event type for every platform's room: comments, gifts, likes, follows, joins, super chats."""

from __future__ import annotations

import enum
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_TEXT = 500  # characters of a comment kept (platforms cap theirs lower)
MAX_NAME = 64


class Kind(str, enum.Enum):
    COMMENT = "comment"
    SUPERCHAT = "superchat"  # a paid comment: answered like a comment, thanked like a gift
    GIFT = "gift"
    LIKE = "like"
    FOLLOW = "follow"
    JOIN = "join"


class EventError(ValueError):
    """A pushed or relayed event that cannot be used; the message names the field and value."""


@dataclass(frozen=True, slots=True)
class ChatEvent:
    platform: str
    room: str
    id: str  # the platform's id for the event: duplicates are dropped by it
    user_id: str
    user: str  # display name
    kind: Kind
    text: str = ""
    gift: str = ""  # gift name (or "bits", "super chat"...)
    count: int = 1  # gifts in the batch, likes in the tap
    value: float = 0.0  # what it is worth, in ``currency``
    currency: str = ""
    platform_time: float | None = None  # unix seconds, as the platform stamped it
    received: float = field(default_factory=time.time)  # unix seconds, when it reached us

    @property
    def lag(self) -> float | None:
        """Seconds from the platform's stamp to our receipt (None without a stamp)."""
        return None if self.platform_time is None else max(0.0, self.received - self.platform_time)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.room}:{self.id}"

    def as_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "room": self.room, "id": self.id, "user_id": self.user_id, "user": self.user,
                "kind": self.kind.value, "text": self.text, "gift": self.gift, "count": self.count, "value": self.value,
                "currency": self.currency, "platform_time": self.platform_time, "received": self.received}


def clean_text(value: Any, name: str, limit: int = MAX_TEXT) -> str:
    """A text field as a string without control characters or lone surrogates, at most ``limit`` characters."""
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise EventError(f"{name}: {value!r}: expected text")
    text = str(value).encode("utf-8", "replace").decode("utf-8")  # lone surrogates become '?'
    text = "".join(c if c.isprintable() or c == " " else " " for c in text)
    return " ".join(text.split())[:limit]


def count_field(value: Any, name: str, default: int = 1, limit: int = 1_000_000) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EventError(f"{name}: {value!r}: expected a whole number")
    try:
        n = int(value) if not isinstance(value, float) else (int(value) if value.is_integer() else -1)
    except ValueError:
        raise EventError(f"{name}: {value!r}: expected a whole number") from None
    if not 0 <= n <= limit:
        raise EventError(f"{name}: {value!r}: expected 0 to {limit}")
    return n


def money_field(value: Any, name: str, limit: float = 1e7) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EventError(f"{name}: {value!r}: expected an amount")
    try:
        v = float(value)
    except ValueError:
        raise EventError(f"{name}: {value!r}: expected an amount") from None
    if not math.isfinite(v) or not 0 <= v <= limit:
        raise EventError(f"{name}: {value!r}: expected 0 to {limit:g}")
    return v


def time_field(value: Any, name: str) -> float | None:
    """A platform time in seconds or milliseconds since the epoch (told apart by size)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EventError(f"{name}: {value!r}: expected a unix time")
    try:
        t = float(value)
    except ValueError:
        raise EventError(f"{name}: {value!r}: expected a unix time") from None
    if not math.isfinite(t) or t <= 0:
        raise EventError(f"{name}: {value!r}: expected a unix time")
    if t > 1e11:
        t /= 1000.0  # milliseconds
    if t > 4e9:
        raise EventError(f"{name}: {value!r}: expected a unix time")
    return t


def iso_time(value: Any) -> float | None:
    """An RFC 3339 time ("2026-11-28T12:00:00.5Z") as unix seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Deduper:
    """Remembers the last ``size`` event keys: platforms resend, and a reconnect may replay."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
