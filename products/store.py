"""Catalog versions in Redis, the diff between them, and change events.

Layout, for a scope (a channel id, or ``shared`` for catalogs several
channels sell from; names from :func:`livehost.core.keys.catalog`)::

    livehost:catalog:{scope}:current          version id now selling
    livehost:catalog:{scope}:versions         list of version ids, oldest first (the last ``keep`` kept)
    livehost:catalog:{scope}:v:{version}      hash sku -> product JSON
    livehost:catalog:{scope}:meta:{version}   hash: source, format, imported_at, products, rejected
    livehost:catalog:{scope}:rejected:{version}  list of rejected-row JSON (first 1000)
    livehost:catalog:{scope}:last_import      hash: the last attempt, accepted or not, and its error
    livehost:catalog:{scope}:events           stream of changes (added, removed, price_changed...)
    livehost:catalog:{scope}:changes          pub/sub channel: one message per new version

An import streams validated products into Redis in batches, so memory stays
flat in feed size.  A feed that yields nothing valid never becomes a version;
one with more rejected items than valid ones never replaces the last good
version (the first import of a scope takes its good rows): the channel keeps
selling from it and the error is recorded in ``last_import``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from livehost.core import jsonio, keys
from livehost.core.store import as_text, as_texts, stream_entries
from products.model import Catalog, Product, RejectedItem

if TYPE_CHECKING:
    from products.feeds.sources import FeedAccess

BATCH = 500
KEEP_REJECTED = 1000
EVENTS_MAXLEN = 10_000


@dataclass
class Change:
    """One difference between two catalog versions, for one product."""

    type: str  # added, removed, price_changed, sale_started, sale_ended, sale_changed, stock_changed,
    #            availability_changed, updated
    sku: str
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.type in ("added", "removed", "updated"):
            return f"{self.type:<20} {self.sku}"
        return f"{self.type:<20} {self.sku}: {self.old} -> {self.new}"


@dataclass
class ImportResult:
    source: str
    format: str
    valid: int = 0  # products that passed validation
    imported: int = 0  # products now selling from this import (0 when the feed was refused)
    rejected: list[RejectedItem] = field(default_factory=list)  # the first KEEP_REJECTED problems
    rejected_count: int = 0  # items rejected (one item may have several problems)
    problem_count: int = 0  # problems found in them
    version: str | None = None  # the version selling after this import
    previous: str | None = None
    accepted: bool = False
    unchanged: bool = False
    error: str | None = None
    changes: list[Change] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "rejected": [r.as_json() for r in self.rejected],
            "rejected_count": self.rejected_count,
            "problem_count": self.problem_count,
            "version": self.version,
            "previous": self.previous,
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "valid": self.valid,
            "error": self.error,
            "source": self.source,
            "format": self.format,
            "changes": [asdict(c) for c in self.changes[:KEEP_REJECTED]],  # capped like the rejected rows
            "changes_count": len(self.changes),
        }


def _product_json(product: Product) -> str:
    return product.model_dump_json()


def classify(sku: str, old: dict | None, new: dict | None) -> list[Change]:
    """The changes between two stored forms (JSON-decoded) of one product."""
    if old is None:
        return [Change("added", sku, None, new.get("price") if new else None)]
    if new is None:
        return [Change("removed", sku)]
    out: list[Change] = []
    if old.get("price") != new.get("price"):
        out.append(Change("price_changed", sku, old.get("price"), new.get("price")))
    old_sale, new_sale = old.get("sale_price"), new.get("sale_price")
    if old_sale is None and new_sale is not None:
        out.append(Change("sale_started", sku, None, new_sale))
    elif old_sale is not None and new_sale is None:
        out.append(Change("sale_ended", sku, old_sale, None))
    elif old_sale != new_sale or (old.get("sale_start"), old.get("sale_end")) != (new.get("sale_start"), new.get("sale_end")):
        out.append(Change("sale_changed", sku, old_sale, new_sale))
    if old.get("stock") != new.get("stock"):
        out.append(Change("stock_changed", sku, old.get("stock"), new.get("stock")))
    if old.get("availability") != new.get("availability"):
        out.append(Change("availability_changed", sku, old.get("availability"), new.get("availability")))
    if not out and old != new:
        out.append(Change("updated", sku))
    return out


class CatalogStore:
    """The catalog versions of one scope."""

    def __init__(self, client: redis.Redis, scope: str = "shared", *, keep: int = 10) -> None:
        if not scope or any(c in scope for c in " :*?[]"):
            raise ValueError(f"scope = {scope!r}: use a channel id without spaces or ':*?[]'")
        self.r = client
        self.scope = scope
        self.keep = keep

    # ------------------------------------------------------------------ keys
    def _k(self, *parts: str) -> str:
        return keys.catalog(self.scope, *parts)

    @property
    def changes_channel(self) -> str:
        """The pub/sub channel that announces each new version (JSON: scope, version, previous, changes)."""
        return self._k("changes")

    def current_version(self) -> str | None:
        v = self.r.get(self._k("current"))
        return as_text(v) if v else None

    def versions(self) -> list[dict[str, Any]]:
        """Oldest first: each version's id and metadata."""
        out = []
        for v in self.r.lrange(self._k("versions"), 0, -1):
            meta = as_texts(self.r.hgetall(self._k("meta", as_text(v))))
            out.append({"version": as_text(v), **meta})
        return out

    def last_import(self) -> dict[str, str]:
        return as_texts(self.r.hgetall(self._k("last_import")))

    # ------------------------------------------------------------------ read
    def iter_products(self, version: str | None = None) -> Iterator[Product]:
        version = version or self.current_version()
        if version is None:
            return
        for _sku, data in self.r.hscan_iter(self._k("v", version), count=BATCH):
            yield Product.model_validate_json(data)

    def load(self, version: str | None = None) -> Catalog | None:
        """The catalog selling now (or a given version), sorted by sku; None when there is none."""
        version = version or self.current_version()
        if version is None:
            return None
        meta = self.r.hgetall(self._k("meta", version))
        source = as_text(meta.get(b"source", b""))
        products = sorted(self.iter_products(version), key=lambda p: p.sku)
        return Catalog(products=products, version=version, source=source)

    def get(self, sku: str, version: str | None = None) -> Product | None:
        version = version or self.current_version()
        data = self.r.hget(self._k("v", version), sku) if version else None
        return Product.model_validate_json(data) if data else None

    def rejected(self, version: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self._k("rejected", version), 0, -1)]

    # ------------------------------------------------------------------ write
    def import_products(
        self,
        results: Iterable[Product | list[RejectedItem]],
        *,
        source: str,
        format: str,
        force: bool = False,
        progress: Any = None,
    ) -> ImportResult:
        """Store a validated stream (see :func:`products.feeds.base.validate_items`) as a new version.

        ``progress(valid, rejected)`` is called every batch.  With ``force``, a
        feed with more rejected than valid items is accepted (never an empty one).
        """
        result = ImportResult(source=source, format=format, previous=self.current_version())
        staging = self._k("staging", uuid.uuid4().hex)
        digests: list[bytes] = []
        batch: list[tuple[int, Product, str]] = []  # (item position, product, its JSON)

        def reject(problems: list[RejectedItem]) -> None:
            result.rejected_count += 1  # items: "more than half rejected" is about items, not field errors
            result.problem_count += len(problems)
            room = KEEP_REJECTED - len(result.rejected)
            if room > 0:
                result.rejected.extend(problems[:room])

        def flush() -> None:
            # HSETNX: a repeated id is caught in Redis, not in an ever-growing set in memory
            pipe = self.r.pipeline(transaction=False)
            for _, product, data in batch:
                pipe.hsetnx(staging, product.sku, data)
            pipe.expire(staging, 3600)
            for (position, product, data), fresh in zip(batch, pipe.execute()[:-1]):
                if fresh:
                    digests.append(hashlib.sha256(data.encode()).digest())
                    result.valid += 1
                else:
                    reject([RejectedItem(position, product.sku, "sku", product.sku, "duplicate id (an earlier item has it)")])
            batch.clear()
            if progress:
                progress(result.valid, result.rejected_count)

        try:
            for position, item in enumerate(results):  # validate_items yields one result per feed item
                if isinstance(item, Product):
                    batch.append((position, item, _product_json(item)))
                    if len(batch) >= BATCH:
                        flush()
                else:
                    reject(item)
            if batch:
                flush()
            refusal = self._refusal(result, force)
            if refusal:
                result.error = refusal
                result.version = result.previous
                self.r.delete(staging)
                self._record_attempt(result)
                return result
            version = hashlib.sha256(b"".join(sorted(digests))).hexdigest()[:16]
            result.accepted, result.imported, result.version = True, result.valid, version
            if version == result.previous:
                result.unchanged = True
                self.r.delete(staging)
                self._record_attempt(result)
                return result
            self.r.rename(staging, self._k("v", version))
            self.r.persist(self._k("v", version))
        finally:
            self.r.delete(staging)
        self._promote(result)
        return result

    def _refusal(self, result: ImportResult, force: bool) -> str | None:
        keeping = f"; still selling version {result.previous}" if result.previous else ""
        if result.valid == 0:
            return f"no valid product in {result.source} ({result.rejected_count} rejected){keeping}"
        if result.rejected_count > result.valid and not force and result.previous:
            # a mostly broken feed says something went wrong upstream: keep selling the last good version
            return (f"feed refused: {result.rejected_count} of {result.valid + result.rejected_count} items rejected "
                    f"(more than half; use --force to accept){keeping}")
        return None

    def _record_attempt(self, result: ImportResult) -> None:
        self.r.delete(self._k("last_import"))
        self.r.hset(self._k("last_import"), mapping={
            "at": f"{time.time():.3f}", "source": result.source, "format": result.format,
            "valid": result.valid, "rejected": result.rejected_count, "accepted": int(result.accepted),
            "version": result.version or "", "error": result.error or "",
        })

    def _promote(self, result: ImportResult) -> None:
        version = result.version
        assert version is not None
        pipe = self.r.pipeline()
        pipe.hset(self._k("meta", version), mapping={
            "source": result.source, "format": result.format, "imported_at": f"{time.time():.3f}",
            "products": result.imported, "rejected": result.rejected_count,
        })
        rejected_key = self._k("rejected", version)
        pipe.delete(rejected_key)
        if result.rejected:
            pipe.rpush(rejected_key, *(jsonio.dumps(r.as_json()) for r in result.rejected))
        pipe.lrem(self._k("versions"), 0, version)
        pipe.rpush(self._k("versions"), version)
        pipe.execute()
        result.changes = self.diff(result.previous, version) if result.previous else []
        self.r.set(self._k("current"), version)
        self._record_attempt(result)
        self._publish(result, version)
        self._trim()

    def _publish(self, result: ImportResult, version: str) -> None:
        pipe = self.r.pipeline()
        for c in result.changes:
            pipe.xadd(self._k("events"), {"version": version, **{k: json.dumps(v) for k, v in asdict(c).items()}},
                      maxlen=EVENTS_MAXLEN, approximate=True)
        pipe.xadd(self._k("events"), {"version": version, "type": json.dumps("version"),
                                       "sku": json.dumps(""), "old": json.dumps(result.previous),
                                       "new": json.dumps(result.version)}, maxlen=EVENTS_MAXLEN, approximate=True)
        summary: dict[str, int] = {}
        for c in result.changes:
            summary[c.type] = summary.get(c.type, 0) + 1
        pipe.publish(self._k("changes"), json.dumps({"scope": self.scope, "version": result.version,
                                                     "previous": result.previous, "changes": summary}))
        pipe.execute()

    def _trim(self) -> None:
        current = self.current_version()
        while self.r.llen(self._k("versions")) > self.keep:
            old = self.r.lpop(self._k("versions"))
            if old is None:
                break
            old = as_text(old)
            if old == current:
                self.r.rpush(self._k("versions"), old)
                continue
            self.r.delete(self._k("v", old), self._k("meta", old), self._k("rejected", old))

    # ------------------------------------------------------------------ diff
    def diff(self, old: str | None = None, new: str | None = None) -> list[Change]:
        """Changes from version ``old`` to ``new`` (default: the previous and the current version)."""
        if new is None:
            new = self.current_version()
        if old is None:
            ids = [as_text(v) for v in self.r.lrange(self._k("versions"), 0, -1)]
            old = ids[ids.index(new) - 1] if new in ids and ids.index(new) > 0 else None
        if new is None or old is None:
            return []
        old_key, new_key = self._k("v", old), self._k("v", new)
        changes: list[Change] = []
        for chunk in _chunks(self.r.hscan_iter(new_key, count=BATCH), BATCH):
            skus = [k for k, _ in chunk]
            before = self.r.hmget(old_key, skus)
            for (sku, data), was in zip(chunk, before):
                if was != data:
                    changes.extend(classify(sku.decode(), json.loads(was) if was else None, json.loads(data)))
        for chunk in _chunks(self.r.hscan_iter(old_key, count=BATCH), BATCH):
            skus = [k for k, _ in chunk]
            for sku, now in zip(skus, self.r.hmget(new_key, skus)):
                if now is None:
                    changes.append(Change("removed", sku.decode()))
        changes.sort(key=lambda c: (c.sku, c.type))
        return changes

    def events(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest change events, oldest first."""
        rows = stream_entries(self.r.xrevrange(self._k("events"), count=count))
        return [{"id": as_text(i),
                 **{as_text(k): (as_text(v) if k == b"version" else json.loads(v)) for k, v in f.items()}}
                for i, f in reversed(rows)]


def _chunks(it: Iterable, n: int) -> Iterator[list]:
    chunk: list = []
    for x in it:
        chunk.append(x)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def import_source(cs: CatalogStore, source: str, fmt: str = "auto", *, currency: str = "CNY", force: bool = False,
                        progress: Callable[[int, int], None] | None = None,
                        access: FeedAccess | None = None) -> ImportResult:
    """Read a feed (path or URL), validate it and store it as ``cs``'s new version.  Raises ``FeedError``."""
    import asyncio

    from products.feeds.base import validate_items
    from products.feeds.sources import FeedAccess, open_source

    opened = await open_source(source, fmt, currency=currency, access=access or FeedAccess())
    return await asyncio.to_thread(cs.import_products, validate_items(opened.items, dedupe=False), source=source,
                                   format=opened.format, force=force, progress=progress)
