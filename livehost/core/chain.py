"""A tamper-evident record per channel: a hash chain in Redis, its head signed at checkpoints.

Every link holds its sequence number, kind (``spoken``, ``decision``,
``control``, ``consent``, ``checkpoint``), wall time, a canonical JSON body
and the hash of the link before it; its own hash covers all of that.  Editing
a link breaks its hash, deleting or reordering links breaks the sequence and
the ``prev`` pointers, and rewriting every hash after an edit breaks the
signatures: a ``checkpoint`` link signs (Ed25519, by a :class:`Signer` the
app supplies) the hash of the link before it, so everything up to the last
checkpoint is bound to a key the operator holds.  Links after the last
checkpoint are chained but not yet signed: :class:`Report` says how many.

Appending is a WATCH/MULTI transaction on the chain's head, so several
processes (a channel, the console) may append to one chain.  Trimming for
retention writes a signed *anchor* naming the last removed link's sequence
and hash, so what remains still verifies from its first link.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.exceptions import WatchError

from livehost.core import keys
from livehost.core.store import as_text, as_texts

GENESIS = "0" * 64
VERSION = "livehost-chain-v1"


def canonical(value: Any) -> str:
    """The one JSON spelling of a value (sorted keys, no spaces, UTF-8 kept), what hashes and signatures cover."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def link_hash(prev: str, seq: int, kind: str, at: float, body: str) -> str:
    data = f"{VERSION}\n{prev}\n{seq}\n{kind}\n{at!r}\n".encode() + body.encode()
    return hashlib.sha256(data).hexdigest()


class Signer(Protocol):
    key_id: str

    def sign(self, data: bytes) -> str: ...  # base64


class Checker(Protocol):
    def verify(self, key_id: str, data: bytes, signature: str) -> bool: ...


@dataclass(frozen=True)
class Link:
    seq: int
    kind: str
    at: float  # unix seconds when it was appended
    body: str  # canonical JSON
    prev: str
    hash: str
    id: str = ""  # the Redis stream id (not hashed: an export keeps it for reference)

    def fields(self) -> dict[str, str]:
        return {"seq": str(self.seq), "kind": self.kind, "at": repr(self.at), "body": self.body, "prev": self.prev,
                "hash": self.hash}

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.fields()}

    @classmethod
    def from_fields(cls, fields: dict, id: str = "") -> Link:
        f = as_texts(fields)
        return cls(seq=int(f["seq"]), kind=f["kind"], at=float(f["at"]), body=f["body"], prev=f["prev"],
                   hash=f["hash"], id=id)

    @property
    def data(self) -> dict[str, Any]:
        value = json.loads(self.body)
        return value if isinstance(value, dict) else {"value": value}

    def recomputed(self) -> str:
        return link_hash(self.prev, self.seq, self.kind, self.at, self.body)


def statement(channel: str, seq: int, hash: str, at: float, key_id: str, what: str) -> bytes:
    """What a checkpoint or an anchor signs."""
    return canonical({"v": VERSION, "what": what, "channel": channel, "seq": seq, "hash": hash, "at": at,
                      "key": key_id}).encode()


def signed(signer: Signer, channel: str, seq: int, hash: str, what: str) -> dict[str, Any]:
    at = round(time.time(), 6)
    return {"channel": channel, "seq": seq, "hash": hash, "at": at, "key": signer.key_id,
            "sig": signer.sign(statement(channel, seq, hash, at, signer.key_id, what))}


def check_signed(checker: Checker, body: dict[str, Any], what: str) -> bool:
    try:
        data = statement(str(body["channel"]), int(body["seq"]), str(body["hash"]), float(body["at"]),
                         str(body["key"]), what)
        return checker.verify(str(body["key"]), data, str(body["sig"]))
    except (KeyError, TypeError, ValueError):
        return False


class ChainWriter:
    """Appends links to one channel's chain; signs a checkpoint every ``every`` links (and on :meth:`checkpoint`)."""

    def __init__(self, client: Any, channel: str, signer: Signer | None = None, *, every: int = 200) -> None:
        self.client = client  # redis.asyncio
        self.channel = channel
        self.signer = signer
        self.every = every
        self.unsigned = 0  # links this writer appended since its last checkpoint

    async def append(self, kind: str, body: dict[str, Any] | Callable[[int, str], dict[str, Any]]) -> Link:
        """Link ``body`` after the chain's head (a callable gets the head's seq and hash, inside the transaction)."""
        head_key, chain_key = keys.chain_head(self.channel), keys.chain(self.channel)
        while True:
            async with self.client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(head_key)
                    head = as_texts(await pipe.hgetall(head_key))
                    seq, prev = int(head.get("seq", 0)) + 1, head.get("hash", GENESIS)
                    text = canonical(body(seq - 1, prev) if callable(body) else body)
                    at = round(time.time(), 6)
                    link = Link(seq, kind, at, text, prev, link_hash(prev, seq, kind, at, text))
                    pipe.multi()
                    pipe.xadd(chain_key, link.fields())
                    pipe.hset(head_key, mapping={"seq": str(seq), "hash": link.hash})
                    await pipe.execute()
                    break
                except WatchError:
                    continue  # another process appended first: link after its entry
        if kind != "checkpoint":
            self.unsigned += 1
            if self.signer is not None and self.unsigned >= self.every:
                await self.checkpoint()
        return link

    async def checkpoint(self) -> Link | None:
        """Sign the chain's head now (nothing when this writer appended nothing since its last checkpoint)."""
        signer = self.signer
        if signer is None or not self.unsigned:
            return None
        self.unsigned = 0
        return await self.append("checkpoint", lambda seq, head: signed(signer, self.channel, seq, head, "checkpoint"))


@dataclass
class Report:
    channel: str
    links: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    signed_through: int | None = None  # the highest seq a valid checkpoint covers
    broken: tuple[int | None, str, str] | None = None  # (seq, stream id, why) of the first broken link
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def unsigned_tail(self) -> int:
        if self.last_seq is None:
            return 0
        return self.last_seq - (self.signed_through or (self.first_seq or 1) - 1)

    def as_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "links": self.links, "checkpoints": self.checkpoints,
                "first_seq": self.first_seq, "last_seq": self.last_seq, "signed_through": self.signed_through,
                "unsigned_tail": self.unsigned_tail,
                "broken": None if self.broken is None else {"seq": self.broken[0], "id": self.broken[1],
                                                            "why": self.broken[2]},
                "notes": self.notes}


class Verifier:
    """Walks links in order; the first thing wrong is kept in :attr:`report` and the walk stops."""

    def __init__(self, channel: str, checker: Checker, *, start: tuple[int, str] = (0, GENESIS)) -> None:
        self.report = Report(channel)
        self.checker = checker
        self.seq, self.hash = start
        self._prev_link: Link | None = None

    def _break(self, link: Link | None, why: str) -> bool:
        self.report.broken = (link.seq if link else None, link.id if link else "", why)
        return False

    def add(self, link: Link) -> bool:
        r = self.report
        if r.broken is not None:
            return False
        if link.seq != self.seq + 1:
            what = "missing or deleted" if link.seq > self.seq + 1 else "out of order or repeated"
            return self._break(link, f"sequence {link.seq} follows {self.seq}: links {what}")
        if link.prev != self.hash:
            return self._break(link, "its prev is not the hash of the link before it (a link before it was "
                                     "changed, deleted or moved)")
        if link.recomputed() != link.hash:
            return self._break(link, "its hash does not match its contents (the link was edited)")
        if link.kind == "checkpoint":
            try:
                body = link.data
            except ValueError:
                return self._break(link, "checkpoint body is not JSON")
            if body.get("channel") != r.channel or body.get("seq") != self.seq or body.get("hash") != self.hash:
                return self._break(link, "checkpoint does not cover the link before it")
            if not check_signed(self.checker, body, "checkpoint"):
                return self._break(link, f"checkpoint signature does not verify (key {body.get('key')!r})")
            r.checkpoints += 1
            r.signed_through = link.seq  # the links before it, and the checkpoint itself
        r.links += 1
        r.first_seq = link.seq if r.first_seq is None else r.first_seq
        r.last_seq = link.seq
        self.seq, self.hash = link.seq, link.hash
        return True


def read_anchor(client: Any, channel: str) -> dict[str, Any] | None:
    raw = client.get(keys.chain_anchor(channel))
    return json.loads(as_text(raw)) if raw else None


def iter_links(client: Any, channel: str, batch: int = 1000) -> Iterator[Link]:
    """Every link of a channel's chain, oldest first, read in batches (memory stays flat)."""
    start = "-"
    while True:
        rows = client.xrange(keys.chain(channel), min=start, count=batch)
        if not rows:
            return
        for sid, fields in rows:
            yield Link.from_fields(fields, as_text(sid))
        last = as_text(rows[-1][0])
        ms, n = last.split("-")
        start = f"{ms}-{int(n) + 1}"


def verify_store(client: Any, channel: str, checker: Checker) -> Report:
    """Verify a channel's chain in Redis (sync client): links, checkpoints, the trim anchor and the head."""
    anchor = read_anchor(client, channel)
    start = (0, GENESIS)
    if anchor is not None:
        if not check_signed(checker, anchor, "anchor"):
            report = Report(channel)
            report.broken = (None, "", f"the trim anchor's signature does not verify (key {anchor.get('key')!r})")
            return report
        start = (int(anchor["seq"]), str(anchor["hash"]))
    v = Verifier(channel, checker, start=start)
    if anchor is not None:
        v.report.notes.append(f"trimmed before link {start[0] + 1} (signed anchor)")
    for link in iter_links(client, channel):
        if not v.add(link):
            break
    report = v.report
    head = as_texts(client.hgetall(keys.chain_head(channel)))
    if report.ok and head and (int(head.get("seq", 0)) != v.seq or head.get("hash") != v.hash):
        report.broken = (v.seq + 1, "", f"the head says link {head.get('seq')} but the chain ends at {v.seq} "
                                        "(links at the end were deleted)")
    return report


def trim(client: Any, channel: str, keep: int, signer: Signer, *, slack: float = 0.0) -> int:
    """Drop all but the newest ``keep`` links, after signing an anchor for the last dropped one (sync client).

    With ``slack`` (0.1: ten percent), nothing is dropped until the chain is that much longer than ``keep``.
    """
    chain_key = keys.chain(channel)
    total = client.xlen(chain_key)
    drop = total - keep
    if drop <= 0 or total <= keep * (1 + slack):
        return 0
    rows = client.xrange(chain_key, count=drop)
    last = Link.from_fields(rows[-1][1], as_text(rows[-1][0]))
    anchor = signed(signer, channel, last.seq, last.hash, "anchor")
    first_kept = client.xrange(chain_key, min=f"({as_text(rows[-1][0])}", count=1)
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.chain_anchor(channel), canonical(anchor))
    if first_kept:
        pipe.xtrim(chain_key, minid=as_text(first_kept[0][0]), approximate=False)  # exactly there: the anchor says so
    pipe.execute()
    return drop
