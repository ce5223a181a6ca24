"""Comment triage: which viewer comments the host answers, greets, ignores or blocks.

Every comment is :func:`~scripts_gen.text.normalize`-d (full-width, zero-width, homoglyph
and traditional Chinese tricks undone), :func:`~scripts_gen.intents.classify`-ed into an
:class:`~scripts_gen.intents.Intent`, and then decided by :class:`Triage`:

=================  ==========================================================  =====
intent             action                                                      value
=================  ==========================================================  =====
INJECTION          BLOCK: never answered, never repeated                         0
ABUSE              BLOCK                                                         0
ARE_YOU_HUMAN      ANSWER (truthfully, later); skips rate limit and flood mode  10
PRICE              ANSWER                                                        6
STOCK              ANSWER                                                        5
HOW_TO_BUY         ANSWER                                                        5
SPEC               ANSWER (IGNORE during a flood)                                4
SHIPPING           ANSWER (IGNORE during a flood)                                4
AFTER_SALES        ANSWER (IGNORE during a flood)                                3
GREETING           GREET: batched, see :meth:`Triage.take_greetings`             1
OFF_TOPIC          IGNORE                                                        0
=================  ==========================================================  =====

``value`` is what answering is worth; it is fixed per intent (no age discount, so the
order is deterministic) and 0 for comments that will not be answered.  The answer queue
serves the most valuable first, the oldest among equals, and drops the least valuable
(then oldest) when full.  When a comment hits several shopping intents the most valuable
wins (``链接在哪，多少钱`` is PRICE).

All memories are bounded (users, recent texts, greetings, flood window), so a 24-hour
stream keeps a flat footprint.
"""

from __future__ import annotations

import enum
import functools
import re
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from scripts_gen.intents import Intent, classify_phrase
from scripts_gen.text import normalize

__all__ = ["Action", "Comment", "Triage", "Triaged", "VALUES", "FLOOD_KEEP"]


class Action(str, enum.Enum):
    ANSWER = "answer"
    GREET = "greet"
    IGNORE = "ignore"
    BLOCK = "block"


#: What answering a comment of each intent is worth (see the module docstring).
VALUES: dict[Intent, float] = {
    Intent.ARE_YOU_HUMAN: 10.0,
    Intent.HEALTH: 4.0,
    Intent.PRICE: 6.0,
    Intent.STOCK: 5.0,
    Intent.HOW_TO_BUY: 5.0,
    Intent.SPEC: 4.0,
    Intent.SHIPPING: 4.0,
    Intent.AFTER_SALES: 3.0,
    Intent.GREETING: 1.0,
}

#: Answered even during a flood.
FLOOD_KEEP = frozenset({Intent.ARE_YOU_HUMAN, Intent.PRICE, Intent.STOCK, Intent.HOW_TO_BUY})


@dataclass(frozen=True)
class Comment:
    user: str
    text: str
    at: float  # seconds on the caller's monotonic clock
    id: str = ""


@dataclass(frozen=True)
class Triaged:
    comment: Comment
    normalized: str
    intent: Intent
    action: Action
    value: float  # what answering is worth (VALUES); 0 when it will not be answered
    reason: str


class _User:
    __slots__ = ("times", "recent", "last")

    def __init__(self, per_user: int) -> None:
        self.times: deque[float] = deque(maxlen=per_user + 1)  # enough to see per_user + 1 in a window
        self.recent: deque[tuple[str, float]] = deque(maxlen=8)  # (duplicate key, time)
        self.last = 0.0


_COUNTER = {Action.ANSWER: "answered_queued", Action.GREET: "greeted", Action.IGNORE: "ignored", Action.BLOCK: "blocked"}
# the members the per-comment path compares with, looked up once (an Enum attribute is a descriptor call)
_ANSWER, _GREET, _IGNORE, _BLOCK = Action.ANSWER, Action.GREET, Action.IGNORE, Action.BLOCK
_OFF_TOPIC, _INJECTION, _ABUSE = Intent.OFF_TOPIC, Intent.INJECTION, Intent.ABUSE
_HUMAN, _GREETING = Intent.ARE_YOU_HUMAN, Intent.GREETING
_KEY_STRIP = re.compile(r"[\s\W_]+")


@functools.lru_cache(maxsize=8192)
def _dup_key(normalized: str) -> str:
    """Punctuation and spaces do not make a comment new: 多少钱? == 多 少 钱."""
    return _KEY_STRIP.sub("", normalized) or normalized


def _arrival(t: Triaged) -> float:
    return t.comment.at


def _s(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


class Triage:
    """Decides, comment by comment, what the host answers, greets, ignores or blocks.

    ``add`` is O(max_queue) at worst; all memories are bounded:

    * users (rate limit and own repeats): pruned after ``max(per_user_window, dup_window,
      max_age)`` of silence and capped at :attr:`MAX_USERS` (least recently active dropped);
    * recent texts (duplicates from anyone): pruned after ``dup_window``, capped at
      :attr:`MAX_RECENT`;
    * greetings: at most :attr:`MAX_GREETINGS` users waiting;
    * flood detection: the last ``flood_threshold + 1`` arrival times.

    Duplicates: the same text (ignoring spaces and punctuation) from anyone within
    ``dup_window``, or from the same user within ``max(dup_window, max_age)``.  A humanity
    question is a duplicate only while an identical one (or one from the same user) still
    waits in the queue; it skips the rate limit and flood mode, so it is always answered.
    """

    MAX_USERS = 10_000
    MAX_RECENT = 10_000
    MAX_GREETINGS = 256
    MAX_CHARS = 500  # longer comments are ignored unread (bounded work per comment)

    def __init__(
        self,
        *,
        max_queue: int = 64,
        max_age: float = 60.0,
        per_user: int = 3,
        per_user_window: float = 10.0,
        dup_window: float = 30.0,
        flood_threshold: int = 200,
        flood_window: float = 10.0,
        fresh: float = 20.0,
        about_product: Callable[[str], Intent | None] | None = None,
    ) -> None:
        """``about_product(normalized)``: for a comment the keyword rules do not place, the intent it has when it
        is a question about the catalog's products (their facts, options, "it"), else None; the responder
        provides it."""
        self.max_queue = max_queue
        self.max_age = max_age
        self.per_user = per_user
        self.per_user_window = per_user_window
        self.dup_window = dup_window
        self.flood_threshold = flood_threshold
        self.flood_window = flood_window
        self.fresh = fresh
        self.about_product = about_product
        self._user_ttl = max(per_user_window, dup_window, max_age)
        self._swept = float("-inf")  # when the users were last pruned (stream time)
        self._queue: list[Triaged] = []
        self._users: OrderedDict[str, _User] = OrderedDict()
        self._recent: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key -> (time, user)
        self._greetings: OrderedDict[str, Comment] = OrderedDict()
        self._arrivals: deque[float] = deque(maxlen=flood_threshold + 1)
        self._counts: Counter[str] = Counter()
        self._by_intent: Counter[str] = Counter()

    # ---------------------------------------------------------------- intake

    def add(self, comment: Comment) -> Triaged:
        """Triage one comment; ANSWER items are queued, GREET items kept for :meth:`take_greetings`."""
        now = comment.at
        self._counts["received"] += 1
        self._arrivals.append(now)
        user = self._touch(comment.user, now)
        key = ""
        if len(comment.text) > self.MAX_CHARS:
            norm, intent, phrase = "", _OFF_TOPIC, ""
            verdict = (_IGNORE, f"too long ({len(comment.text)} chars)")
        else:
            norm = normalize(comment.text)
            intent, phrase = classify_phrase(norm)
            if intent is _OFF_TOPIC and self.about_product is not None:
                found = self.about_product(norm)
                if found is not None:
                    intent, phrase = found, norm[:40]
            key = _dup_key(norm)
            verdict = self._decide(comment, norm, key, intent, phrase, user)
        action, reason = verdict
        self._by_intent[intent.value] += 1
        value = VALUES.get(intent, 0.0) if action is _ANSWER or action is _GREET else 0.0
        triaged = Triaged(comment, norm, intent, action, value, reason)
        if action is _ANSWER:
            if self._enqueue(triaged, now):
                self._remember(key, comment.user, now)
            else:
                reason = f"queue full ({self.max_queue}): less valuable than all queued"
                triaged = Triaged(comment, norm, intent, _IGNORE, 0.0, reason)
        elif action is _GREET:
            self._greetings[comment.user] = comment
            while len(self._greetings) > self.MAX_GREETINGS:
                self._greetings.popitem(last=False)
        self._counts[_COUNTER[triaged.action]] += 1
        return triaged

    def _decide(self, comment: Comment, norm: str, key: str, intent: Intent, phrase: str,
                user: _User) -> tuple[Action, str]:
        now = comment.at
        if intent is _INJECTION:
            return _BLOCK, f"instruction/injection attempt: {phrase!r}"
        if intent is _ABUSE:
            return _BLOCK, f"abuse: {phrase!r}"
        if intent is _OFF_TOPIC:
            return _IGNORE, "off-topic"
        if intent is _HUMAN:
            for queued in self._queue:
                if queued.intent is _HUMAN and (
                    queued.comment.user == comment.user or _dup_key(queued.normalized) == key
                ):
                    return _IGNORE, f"duplicate of a humanity question {_s(now - queued.comment.at)} s ago, still queued"
            return _ANSWER, f"humanity question: {phrase!r}"
        rate = self._rate(user, now)
        if intent is _GREETING:
            if comment.user in self._greetings:
                return _IGNORE, "already waiting to be greeted"
            return (_IGNORE, rate) if rate else (_GREET, "greeting: batched")
        seen = self._seen(key, user, now)
        user.recent.append((key, now))
        if seen:
            return _IGNORE, seen
        if rate:
            return _IGNORE, rate
        if intent not in FLOOD_KEEP and self._flooding(now):
            return _IGNORE, f"flood: over {self.flood_threshold} comments in {_s(self.flood_window)} s; {intent.value} waits"
        return _ANSWER, f"{intent.value}: {phrase!r}"

    def _touch(self, name: str, now: float) -> _User:
        users = self._users
        user = users.get(name)
        if user is None:
            user = users[name] = _User(self.per_user)
        else:
            users.move_to_end(name)
        user.last = now
        user.times.append(now)
        if len(users) > self.MAX_USERS:
            users.popitem(last=False)
        if now - self._swept >= 1.0:  # the silent ones, at most once a second of stream time
            self._swept = now
            while users and now - next(iter(users.values())).last > self._user_ttl:
                users.popitem(last=False)
        return user

    def _rate(self, user: _User, now: float) -> str:
        recent = sum(1 for t in user.times if now - t <= self.per_user_window)
        if recent > self.per_user:
            return f"rate limit: {recent} comments in {_s(self.per_user_window)} s"
        return ""

    def _seen(self, key: str, user: _User, now: float) -> str:
        for old_key, t in user.recent:
            if old_key == key and now - t <= max(self.dup_window, self.max_age):
                return f"repeat of the user's own comment {_s(now - t)} s ago"
        recent = self._recent
        while recent and now - next(iter(recent.values()))[0] > self.dup_window:
            recent.popitem(last=False)
        hit = recent.get(key)
        return f"duplicate of a comment {_s(now - hit[0])} s ago" if hit and now - hit[0] <= self.dup_window else ""

    def _remember(self, key: str, name: str, now: float) -> None:
        """Only queued comments make later ones duplicates (not ignored or dropped ones)."""
        self._recent.pop(key, None)  # to the end: the oldest stay first, so pruning from the front is right
        self._recent[key] = (now, name)
        while len(self._recent) > self.MAX_RECENT:
            self._recent.popitem(last=False)

    def _flooding(self, now: float) -> bool:
        arrivals = self._arrivals
        return len(arrivals) == arrivals.maxlen and now - arrivals[0] <= self.flood_window

    # ---------------------------------------------------------------- queue

    def _expire(self, now: float) -> None:
        queue = self._queue
        if not queue or now - min(t.comment.at for t in queue) <= self.max_age:
            return  # nothing has aged out
        keep = [t for t in queue if now - t.comment.at <= self.max_age]
        self._counts["expired"] += len(self._queue) - len(keep)
        self._queue = keep

    def _enqueue(self, item: Triaged, now: float) -> bool:
        if len(self._queue) >= self.max_queue:
            self._expire(now)
        if len(self._queue) >= self.max_queue:
            self._counts["dropped"] += 1
            lowest = min(t.value for t in self._queue)
            if item.value < lowest:
                return False
            victim = min((t for t in self._queue if t.value == lowest), key=_arrival)
            self._queue.remove(victim)
        self._queue.append(item)
        return True

    def next_answer(self, now: float) -> Triaged | None:
        """The most valuable queued comment not older than ``max_age``: among equals the oldest that has waited at
        most ``fresh`` seconds, else (all have waited longer: the chat is busier than the host can answer) the
        newest, whose viewer is most likely still watching."""
        self._expire(now)
        if not self._queue:
            return None
        top = max(t.value for t in self._queue)
        equals = [t for t in self._queue if t.value == top]
        fresh = [t for t in equals if now - t.comment.at <= self.fresh]
        best = min(fresh, key=_arrival) if fresh else max(equals, key=_arrival)
        self._queue.remove(best)
        return best

    def take_greetings(self, now: float, limit: int = 5) -> list[Comment]:
        """Up to ``limit`` distinct users who greeted within ``max_age``, oldest first; they are cleared."""
        greetings = self._greetings
        for name in [n for n, c in greetings.items() if now - c.at > self.max_age]:
            del greetings[name]
        return [greetings.popitem(last=False)[1] for _ in range(min(limit, len(greetings)))]

    # ---------------------------------------------------------------- reporting

    def __len__(self) -> int:
        """Comments waiting in the answer queue (expired ones included until the next look)."""
        return len(self._queue)

    def stats(self) -> dict:
        """Counters since start: received, answered_queued, greeted, ignored, blocked, dropped, expired, by_intent."""
        names = ("received", "answered_queued", "greeted", "ignored", "blocked", "dropped", "expired")
        return {**{n: self._counts[n] for n in names}, "by_intent": dict(self._by_intent)}

    def memory(self) -> dict[str, int]:
        """Sizes of the bounded internal memories (for dashboards and tests)."""
        return {
            "users": len(self._users),
            "recent": len(self._recent),
            "greetings": len(self._greetings),
            "queue": len(self._queue),
            "arrivals": len(self._arrivals),
        }
