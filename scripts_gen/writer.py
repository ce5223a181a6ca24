"""The built-in, deterministic selling-script engine.

:class:`TemplateScriptWriter` turns catalog facts into an endless stream of short
spoken sentences, one product at a time.  One *cycle* for a product is::

    hook -> features (the product's facts, four a cycle, on through all of them) -> use_case -> price -> cta

Each segment has a Jinja2 template per language (``templates/<lang>/<segment>.j2``)
that renders *all* its phrasings, one per line.  The engine picks one phrasing per
item from a rotation whose start depends on ``sha256(seed, sku, segment)`` and
advances with the cycle number, so the stream is a pure function of
(catalog, seed, sku), consecutive cycles word things differently, and no sentence
text repeats within a cycle.  Prices reach the templates only as spoken amounts
made by :func:`products.money.spoken_money` from the catalog.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from products.model import Catalog, Product
from products.money import spoken_money
from scripts_gen.facts import Fact, ProductFacts

log = logging.getLogger(__name__)

SEGMENTS = ("hook", "features", "use_case", "price", "cta")
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MAX_ZH_CHARS = 40  # one spoken sentence, audited on its own
MAX_EN_WORDS = 25
#: The same sentence is not said again within this much of a product's air time (30 min, plus the
#: look-ahead: sentences are planned a little before they are spoken), unless nothing else is left to say.
NO_REPEAT_SECONDS = 30 * 60 + 60
FEATURES_PER_CYCLE = 4  # facts told in one cycle; the next cycle goes on with the next ones


@dataclass(frozen=True)
class ScriptLine:
    text: str
    lang: str
    segment: str  # one of SEGMENTS
    sku: str
    item_id: str  # f"{sku}:{cycle}:{index}", index counts sentences within the cycle
    writer: str = "template"  # or "model:<name>" when a model phrased it (llm.script)


def sentence_fits(text: str, lang: str) -> bool:
    """Short enough to be spoken and audited as one sentence."""
    return len(text) <= MAX_ZH_CHARS if lang == "zh" else len(text.split()) <= MAX_EN_WORDS


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _decap(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (``USB``, ``LED``)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _join_en(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (", and " if len(items) > 2 else " and ") + items[-1]


def make_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(cap=_cap, decap=_decap, join_en=_join_en)
    env.globals["combos"] = combos
    return env


def combos(first: list[str], second: list[str]) -> list[tuple[str, str]]:
    """Every (a, b) pair, interleaved so neighbours differ in both: (a0,b0), (a1,b1), ... then shifted."""
    n, m = len(first), len(second)
    return [(first[k % n], second[(k // n + k % n) % m]) for k in range(n * m)] if n and m else []


def speaking_seconds(text: str, lang: str) -> float:
    """Air time of a sentence at the voices' pace: about 4.5 Chinese characters or 2.6 English words a second."""
    words = len(text) / 4.5 if lang == "zh" else len(text.split()) / 2.6
    return round(words + 0.3, 2)  # plus the pause between sentences


class PhraseHistory:
    """When each sentence was last planned, on each product's own air-time clock.

    A product's clock advances by the estimated air time of every sentence
    planned for it (:func:`speaking_seconds`), so "not within 30 minutes" means
    30 minutes of that product being talked about, however the run-of-show
    spreads its turns.  Entries older than the window are forgotten: memory is
    bounded by the window, not by the length of the run.
    """

    def __init__(self, window: float = NO_REPEAT_SECONDS) -> None:
        self.window = window
        self.air: dict[str, float] = {}
        self._last: dict[str, OrderedDict[str, float]] = {}

    def fresh(self, sku: str, text: str) -> bool:
        at = self._last.get(sku, OrderedDict()).get(text)
        return at is None or self.air.get(sku, 0.0) - at >= self.window

    def last_said(self, sku: str, text: str) -> float:
        """When ``text`` was last planned on the product's air-time clock (-1: not within the window)."""
        return self._last.get(sku, OrderedDict()).get(text, -1.0)

    def use(self, sku: str, text: str, lang: str) -> None:
        now = self.air.get(sku, 0.0)
        last = self._last.setdefault(sku, OrderedDict())
        last[text] = now
        last.move_to_end(text)
        self.air[sku] = now + speaking_seconds(text, lang)
        while last and now - next(iter(last.values())) >= self.window:
            last.popitem(last=False)

    def __len__(self) -> int:
        return sum(len(v) for v in self._last.values())

    def snapshot(self) -> dict:
        """Its state as JSON data (a checkpoint: a restarted channel repeats nothing said within the window)."""
        return {"window": self.window, "air": dict(self.air), "last": {sku: list(last.items()) for sku, last in self._last.items()}}

    def load(self, data: dict) -> None:
        """Take the state of a :meth:`snapshot` (in place: the writers sharing this history see it)."""
        self.window = float(data.get("window", NO_REPEAT_SECONDS))
        self.air = {str(k): float(v) for k, v in (data.get("air") or {}).items()}
        self._last = {str(sku): OrderedDict((str(t), float(at)) for t, at in items)
                      for sku, items in (data.get("last") or {}).items()}


def _offset(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


class TemplateScriptWriter:
    """Deterministic selling talk from the catalog.  ``sentences(sku)`` never ends."""

    def __init__(self, catalog: Catalog, *, seed: int = 0, templates_dir: Path | None = None,
                 now: Callable[[], datetime] | None = None, history: PhraseHistory | None = None) -> None:
        self.catalog = catalog
        self.seed = seed
        self.history = history if history is not None else PhraseHistory()  # shared across writers of one channel
        self._cycles: OrderedDict[tuple[str, int], list[ScriptLine]] = OrderedDict()
        self.now = now or (lambda: datetime.now(UTC))  # the channel's clock: sale windows follow it
        self.env = make_environment(templates_dir or TEMPLATES_DIR)
        self._cache: dict[tuple[str, str, str, Decimal], list[str]] = {}
        self._fact_cache: dict[tuple[str, int], list[Fact]] = {}
        self.repeats = 0  # cycles built from phrasings said within the window (nothing fresh was left)

    # ---------------------------------------------------------------- public

    def sentences(self, sku: str) -> Iterator[ScriptLine]:
        """Endless: cycle 0, cycle 1, ... of :meth:`cycle`.  ``KeyError`` for an unknown sku."""
        self.catalog[sku]
        cycle = 0
        while True:
            yield from self.cycle(sku, cycle)
            cycle += 1

    def cycle(self, sku: str, cycle: int) -> list[ScriptLine]:
        """The sentences of one cycle for one product (the same list when asked again).

        A phrasing said for this product within the last :data:`NO_REPEAT_SECONDS`
        of its air time is not used; when every phrasing of an item is that recent
        the item is left out of this cycle rather than repeated.
        """
        key = (sku, cycle)
        cached = self._cycles.get(key)
        if cached is not None:
            return cached
        lines = self._build(sku, cycle)
        for line in lines:
            self.history.use(sku, line.text, line.lang)
        self._cycles[key] = lines
        while len(self._cycles) > 64:
            self._cycles.popitem(last=False)
        return lines

    def _build(self, sku: str, cycle: int) -> list[ScriptLine]:
        product = self.catalog[sku]
        picks: list[tuple[str, list[str], int]] = []  # (segment, phrasings, rotation start)
        for segment, key, position, extra in self._plan(product, cycle):
            variants = self._variants(product, segment, key, extra)
            if variants:
                start = _offset(self.seed, sku, segment, key if segment != "features" else extra["kind"])
                picks.append((segment, variants, start + cycle + position))
        lines = self._lines(product, cycle, picks, fresh_only=True)
        if not lines:
            # everything this product can say was said within the window (a sparse product, hours on air): say
            # again what was said longest ago, rather than fall silent
            lines = self._lines(product, cycle, picks, fresh_only=False)
            self.repeats += 1
            log.info("%s: every phrasing was said within %.0f min of its air time; repeating the least recent",
                     sku, self.history.window / 60)
        return lines

    def _lines(self, product: Product, cycle: int, picks: list[tuple[str, list[str], int]],
               fresh_only: bool) -> list[ScriptLine]:
        lines: list[ScriptLine] = []
        used: set[str] = set()
        for segment, variants, start in picks:
            order = [variants[(start + step) % len(variants)] for step in range(len(variants))]
            order = [text for text in order if text not in used]
            if fresh_only:
                order = [text for text in order if self.history.fresh(product.sku, text)][:1]
            else:
                order = sorted(order, key=lambda text: self.history.last_said(product.sku, text))[:1]
            for text in order:
                used.add(text)
                item_id = f"{product.sku}:{cycle}:{len(lines)}"
                lines.append(ScriptLine(text, product.lang, segment, product.sku, item_id))
        return lines

    # ---------------------------------------------------------------- internals

    def _plan(self, product: Product, cycle: int) -> list[tuple[str, str, int, dict[str, Any]]]:
        """(segment, cache key, position within its rotation, extra template variables).

        The features walk through the product's facts (selling points, description, specs, options),
        :data:`FEATURES_PER_CYCLE` a cycle, so over the cycles every fact is told.
        """
        plan: list[tuple[str, str, int, dict[str, Any]]] = [("hook", "", 0, {})]
        facts = self._facts(product)
        if facts:
            first = cycle * FEATURES_PER_CYCLE
            for n in range(min(FEATURES_PER_CYCLE, len(facts))):
                i = (first + n) % len(facts)
                fact = facts[i]
                if fact.field.startswith("specs."):
                    name = fact.field.removeprefix("specs.")
                    extra = {"kind": "spec", "spec_name": name, "spec_value": product.specs[name]}
                else:
                    extra = {"kind": "point", "point": fact.text}
                plan.append(("features", f"fact:{i}", n, extra))
        plan += [("use_case", "", 0, {}), ("price", "", 0, {}), ("cta", "", 0, {})]
        return plan

    def _facts(self, product: Product) -> list[Fact]:
        key = (product.sku, id(product))
        found = self._fact_cache.get(key)
        if found is None:
            found = self._fact_cache[key] = [f for f in ProductFacts(product).facts
                                             if f.field not in ("brand", "category", "title")
                                             and sentence_fits(f.text, product.lang)]
        return found

    def _context(self, product: Product) -> dict[str, Any]:
        lang = product.lang
        now = self.now()
        return {
            "lang": lang,
            "sku": product.sku,
            "title": product.title,
            "brand": product.brand,
            "category": product.category,
            "scenes": list(product.tags),
            "on_sale": product.sale_active(now) and not product.variants,  # a variant's sale is said of that variant
            "from_price": product.prices_differ(now),
            "price": spoken_money(product.price_at(now), product.currency, lang),
            "list_price": spoken_money(product.price, product.currency, lang),
            "kind": "",
            "point": "",
            "spec_name": "",
            "spec_value": "",
        }

    def _variants(self, product: Product, segment: str, key: str, extra: dict[str, Any]) -> list[str]:
        cache_key = (product.sku, segment, key, product.price_at(self.now()))  # a sale starting or ending changes the talk
        if cache_key not in self._cache:
            template = self.env.get_template(f"{product.lang}/{segment}.j2")
            rendered = template.render(**{**self._context(product), **extra})
            lines = list(dict.fromkeys(line.strip() for line in rendered.splitlines() if line.strip()))
            fitting = [line for line in lines if sentence_fits(line, product.lang)]
            if lines and not fitting:
                log.warning("no %s phrasing for %s fits one short sentence; using the longer ones", segment, product.sku)
            self._cache[cache_key] = fitting or lines
        return self._cache[cache_key]


def rotation(catalog: Catalog) -> Iterator[str]:
    """In-stock skus in catalog order, round and round; ends at once when nothing is in stock."""
    while True:
        skus = [product.sku for product in catalog.in_stock()]
        if not skus:
            return
        yield from skus
