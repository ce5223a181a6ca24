"""The script planner: which sentence of the selling talk comes next.

It keeps a cursor (the product whose turn it is, and the next sentence of
its talk), turns to the next product by the run-of-show (rotation, dwell
time or sentences per product, flash sales, sold-out products, an operator's
pin or skip), and remembers where the talk was before each sentence it
handed out, so that when queued sentences are taken back (the facts
changed) the talk resumes right after the last sentence that went on air:
no repeats, no skips.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from products.model import Catalog
from products.show import RunOfShow
from scripts_gen.writer import PhraseHistory, ScriptLine, TemplateScriptWriter

log = logging.getLogger(__name__)

RESUME_POINTS = 64  # queued sentences whose resume point is remembered (the queue holds a few)


@dataclass
class Cursor:
    """Where the script is: the product whose turn it is, and the next sentence of its talk."""

    sku: str
    cycle: int
    index: int  # next sentence within the cycle
    count: int  # sentences written in this turn
    since: datetime  # when this turn started
    flash: bool = False  # the turn is a flash sale's


@dataclass(frozen=True)
class Planned:
    """A sentence handed out, and where the talk was before it (to go back to if it is taken back)."""

    line: ScriptLine
    resume: Cursor | None


class ScriptPlanner:
    def __init__(self, show: RunOfShow, catalog: Catalog, *, lang: str = "auto", sentences_per_product: int = 8,
                 seed: int = 0, now: Callable[[], datetime], history: PhraseHistory | None = None) -> None:
        self.show = show
        self.lang = lang
        self.sentences_per_product = sentences_per_product
        self.seed = seed
        self.now = now
        self.history = history if history is not None else PhraseHistory()  # outlives writers: no repeats in 30 min
        self.cursor: Cursor | None = None
        self.pinned: str | None = None  # an operator keeps the host on this product until unpinned
        self.planned: deque[str] = deque(maxlen=10_000)  # script item ids in the order queued
        self._next_cycle: dict[str, int] = {}
        self._resume_at: dict[str, Cursor | None] = {}
        self._after: dict[str, Cursor] = {}  # where the talk goes on after each queued sentence (checkpoints)
        self._skip = False
        self.update(catalog)

    def update(self, catalog: Catalog) -> None:
        """Plan from this catalog (as the host states it now) from the next sentence."""
        self.catalog = catalog
        self.writer = TemplateScriptWriter(catalog, seed=self.seed, now=self.now, history=self.history)

    @property
    def sku(self) -> str | None:
        """The product the script is on."""
        return self.cursor.sku if self.cursor else None

    # ---------------------------------------------------------------- the next sentence

    def next_line(self) -> Planned | None:
        """The next script sentence by the run-of-show, advancing the cursor; None when nothing is sellable."""
        now = self.now()
        before = c = self.cursor
        if self._turn_over(c, now):
            pool = self.catalog if self.lang == "auto" else Catalog(
                products=[p for p in self.catalog if p.lang == self.lang], source=self.catalog.source,
                version=self.catalog.version)
            sku = self.pinned or self.show.next_sku(pool, c.sku if c else None, now)
            if sku is None:
                return None
            flash = self.show.flash_at(now)
            flash_sku = self.catalog.sku_of(flash.sku) if flash else None
            c = Cursor(sku, self._next_cycle.get(sku, 0), 0, 0, now, flash_sku == sku)
        else:
            assert c is not None
            c = replace(c)
        lines = self.writer.cycle(c.sku, c.cycle)
        if c.index >= len(lines):
            c.cycle, c.index = c.cycle + 1, 0
            lines = self.writer.cycle(c.sku, c.cycle)
        line = lines[c.index]
        c.index += 1
        c.count += 1
        self._next_cycle[c.sku] = c.cycle + 1
        self.cursor = c
        return Planned(line, before)

    def _turn_over(self, c: Cursor | None, now: datetime) -> bool:
        if self._skip:
            self._skip = False
            return True
        if self.pinned is not None:
            product = self.catalog.get(self.pinned)
            if product is not None and product.in_stock:
                return c is None or c.sku != self.pinned
            log.warning("pinned product %s is gone or sold out: unpinned", self.pinned)
            self.pinned = None
        if c is None or c.sku not in self.catalog:
            return True
        product = self.catalog[c.sku]
        show = self.show.config
        if show.skip_out_of_stock and not product.in_stock:
            return True
        flash = self.show.flash_at(now)
        flash_sku = self.catalog.sku_of(flash.sku) if flash else None
        if flash_sku is not None:
            return c.sku != flash_sku  # the flash product stays on until the sale ends
        if c.flash:
            return True  # the sale ended: back to the rotation
        if show.dwell_seconds is not None:
            return (now - c.since).total_seconds() >= show.dwell_seconds
        return c.count >= self.sentences_per_product

    # ---------------------------------------------------------------- what happened to it

    def queued(self, planned: Planned) -> None:
        """``planned`` went into the speech queue: remember where to go back to if it is taken back."""
        item = planned.line.item_id
        self.planned.append(item)
        self._resume_at[item] = planned.resume
        if self.cursor is not None:
            self._after[item] = replace(self.cursor)
        while len(self._resume_at) > RESUME_POINTS:
            self._resume_at.pop(next(iter(self._resume_at)))
        while len(self._after) > RESUME_POINTS:
            self._after.pop(next(iter(self._after)))

    # ---------------------------------------------------------------- checkpoints

    def snapshot(self, spoken_item: str) -> dict | None:
        """Where the talk goes on after ``spoken_item`` (a script sentence that went on air) as JSON data: the
        cursor after it, each product's next cycle, the pin and the phrase history.  None if it is not known."""
        after = self._after.get(spoken_item)
        if after is None:
            return None
        return {"item": spoken_item, "cursor": {"sku": after.sku, "cycle": after.cycle, "index": after.index,
                                                "count": after.count, "since": after.since.isoformat(), "flash": after.flash},
                "next_cycle": dict(self._next_cycle), "pinned": self.pinned, "history": self.history.snapshot()}

    def restore(self, data: dict) -> str:
        """Go on from a :meth:`snapshot` (another run of the channel, perhaps on another node): the sentence after
        the last one spoken comes next.  Returns what was restored, for the log."""
        c = data["cursor"]
        self.cursor = Cursor(str(c["sku"]), int(c["cycle"]), int(c["index"]), int(c["count"]),
                             datetime.fromisoformat(c["since"]), bool(c.get("flash", False)))
        self._next_cycle = {str(k): int(v) for k, v in (data.get("next_cycle") or {}).items()}
        self.pinned = data.get("pinned") or None
        self.history.load(data.get("history") or {})
        return f"after {data.get('item')} ({c['sku']} cycle {c['cycle']}, sentence {c['index']})"

    def abandon(self, planned: Planned, since: Cursor | None) -> None:
        """``planned`` will not be queued (the facts changed while a model phrased it): plan it again,
        unless the cursor moved meanwhile (``since``: the cursor right after it was planned)."""
        if self.cursor is since:
            self.cursor = planned.resume

    def withdrawn(self, item_ids: Iterable[str]) -> None:
        """Queued sentences were taken back, in play order: the talk resumes where the first one was planned."""
        ids = list(item_ids)
        if not ids:
            return
        if ids[0] in self._resume_at:
            self.cursor = self._resume_at[ids[0]]
        for i in ids:
            self._resume_at.pop(i, None)
        gone = set(ids)
        self.planned = deque((i for i in self.planned if i not in gone), maxlen=self.planned.maxlen)

    # ---------------------------------------------------------------- operator

    def turn_from(self, cursor: Cursor | None) -> None:
        """Turn to the next product from the next sentence, leaving ``cursor``'s product."""
        self.cursor, self._skip = cursor, True

    def pin(self, sku: str) -> str:
        """Keep the talk on ``sku`` (a product or variant id; ValueError naming it when it cannot be sold); returns
        the product's id."""
        found = self.catalog.resolve(sku)
        if found is None:
            raise ValueError(f"sku: {sku!r} is not in this channel's catalog")
        product, variant = found
        if not (product.variant_in_stock(variant) if variant else product.in_stock):
            raise ValueError(f"sku: {sku!r} is out of stock")
        self.pinned = product.sku
        return product.sku

    def unpin(self) -> None:
        self.pinned = None
