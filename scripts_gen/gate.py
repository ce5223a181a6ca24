"""The gate: every sentence passes here before it may be spoken.

:class:`Gate` owns the only :class:`~livehost.core.approved.GateKey`.  For
each sentence it runs every rule in :mod:`scripts_gen.rules` and either
approves it (an :class:`~livehost.core.approved.ApprovedSpeech`) or drops it:

``price_claim``, ``discount_claim``
    amounts and discounts must be the catalog's (:mod:`.rules.money`);
``fact_claim``
    every other number (12小时, 80度, 2.4 kg, 316) must be one the product's record or the shop's terms state
    (:mod:`.rules.quantities`, :mod:`scripts_gen.facts`);
``offer_claim``, ``policy_claim``, ``shipping_claim``, ``stock_claim``, ``urgency_claim``, ``date_claim``
    commitments must be backed by the catalog or the shop's terms (:mod:`.rules.claims`);
``availability_claim`` and a named variant's price and stock
    what is said of "the 750" must be true of the 750 (:mod:`.rules.variants`);
``absolute_term``, ``health_claim``, platform terms
    term lists with their sources (:mod:`.rules.lexicons`);
``persona``
    the host stays an AI selling host (:mod:`.rules.persona`).

Any hit drops the sentence; :attr:`GateDecision.text` is the
whitespace-normalised sentence.  The decision, with every hit, goes back to
the caller for the audit trail.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from livehost.core.approved import ApprovedSpeech, GateKey, Source
from products.model import Catalog, Product
from scripts_gen.facts import ProductFacts
from scripts_gen.rules.claims import ClaimChecker
from scripts_gen.rules.hits import RuleHit
from scripts_gen.rules.lexicons import Lexicon, load_lexicons
from scripts_gen.rules.money import discount_hits, find_discounts, find_money, money_hits
from scripts_gen.rules.numbers import LONG_NUMBER, fold, fold_chars
from scripts_gen.rules.persona import persona_hits
from scripts_gen.rules.quantities import Quantity, fact_hits
from scripts_gen.rules.variants import variant_hits
from scripts_gen.text import find_all

log = logging.getLogger(__name__)

#: The longest sentence the gate reads; writers say far less, a model is cut by its token limit.
MAX_CHARS = 1000
_INVISIBLE = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]")


_CLAUSE_ENDS = "，,。；;！!？?：:"
# how the reply templates attribute a quoted fact to the listing (lowercase)
_ATTRIBUTIONS = ("the listing says", "what i have is this:", "here's the detail:", "good question:", "商品页写的是")


QUOTED_PRODUCTS = 3  # a sentence about at most this many products has its quoted facts listed (the audit trail)


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    text: str
    rules: list[RuleHit] = field(default_factory=list)
    lang: str = ""
    sku: str | None = None
    backing: list[str] = field(default_factory=list)  # what in the record backs each number said ("12小时 <- description: ...")
    _issuer: object = field(default=None, repr=False, compare=False)  # the key of the gate that decided

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.rule for hit in self.rules))


class Refused(ValueError):
    """Text the gate would not let on air; ``decision.rules`` says why."""

    def __init__(self, decision: GateDecision) -> None:
        rules = ", ".join(str(r) for r in decision.rules) or "no reason given"
        super().__init__(f"gate rejected {decision.text!r}: {rules}")
        self.decision = decision


class Gate:
    """Checks sentences against the catalog and the rules; the only maker of approved speech.

    ``on_decision`` (optional) is called with every decision :meth:`review`
    makes, passed or not, so the audit trail can record it.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        lexicon: Lexicon | None = None,
        lexicons: Iterable[Lexicon] | None = None,
        platform: str | None = None,
        terms: Iterable[str] = (),
        tz: tzinfo | None = None,
        now: Callable[[], datetime] | None = None,
        on_decision: Callable[[GateDecision], None] | None = None,
    ) -> None:
        """``lexicons`` default to :func:`load_lexicons` for ``platform`` (``lexicon`` replaces the
        absolute-terms list only); ``terms`` are the shop's own stated terms (returns, shipping,
        offers) that back such claims; ``tz`` and ``now`` are the channel's zone and clock."""
        self.catalog = catalog
        if lexicons is None:
            lexicons = load_lexicons(platform)
            if lexicon is not None:
                lexicons = [lexicon, *(x for x in lexicons if x.rule != "absolute_term")]
        self.lexicons = list(lexicons)
        self.claims = ClaimChecker(terms=terms, tz=tz)
        self.now = now or (lambda: datetime.now(UTC))
        self.on_decision = on_decision
        self._facts: dict[str, ProductFacts] = {}
        self.__key = GateKey()

    @property
    def lexicon(self) -> Lexicon:
        """The absolute-terms list."""
        return next(x for x in self.lexicons if x.rule == "absolute_term")

    def check(self, text: str, lang: str, *, sku: str | None = None) -> GateDecision:
        """The verdict on one sentence about ``sku`` (any catalog product when None); approves nothing."""
        clean = " ".join(_INVISIBLE.sub("", text).split())
        hits: list[RuleHit] = []
        if not clean:
            hits.append(RuleHit("empty_text", (0, 0), "nothing to say"))
        if lang not in ("zh", "en"):
            hits.append(RuleHit("unsupported_lang", (0, 0), f"lang {lang!r} is not 'zh' or 'en'"))
        if len(clean) > MAX_CHARS:
            hits.append(RuleHit("too_long", (0, len(clean)), f"{len(clean)} characters; a sentence is at most {MAX_CHARS}"))
            scan = ""
        else:
            scan = fold_chars(clean)  # with no long number in it, this is what fold() gives the scanners
            if long := LONG_NUMBER.search(scan):  # nobody says it; and the rules' scans grow with its square
                hits.append(RuleHit("long_number", long.span(), f"a number {long.end() - long.start()} characters long"))
        if hits:
            return GateDecision(passed=False, text=clean, rules=hits, lang=lang, sku=sku, _issuer=self.__key)
        if sku is None:
            products = list(self.catalog)
        elif sku in self.catalog:
            products = [self.catalog[sku]]
        else:
            products = []
            hits.append(RuleHit("unknown_sku", (0, 0), f"sku {sku!r} is not in the catalog"))
        hits += money_hits(scan, products)
        hits += discount_hits(scan, products)
        hits += self.claims.check(scan, products, self.now())
        handled = [m.span for m in find_money(scan)] + [d.span for d in find_discounts(scan)] + self.claims.spans(scan)
        backing: list[str] = []
        hits += fact_hits(scan, lambda q: self._backed(q, products, scan, backing), handled)
        backing += [f"{scan[m.span[0]:m.span[1]]} <- the catalog's prices" for m in find_money(scan)
                    if not any(h.span == m.span for h in hits)]
        if len(products) <= QUOTED_PRODUCTS:
            backing += self._quoted_facts(scan, products)
        if len(products) == 1:
            hits += variant_hits(scan, products[0], self.now())
        kinds = {p.kind for p in products}
        for lex in self.lexicons:
            for entry, span in lex.find(scan):
                if entry.allowed_kinds and kinds and kinds <= set(entry.allowed_kinds):
                    continue
                if entry.quotable and self._quoted(scan, span, products):
                    continue
                hits.append(RuleHit(lex.rule, span, f"{entry.term!r} ({lex.name} {lex.version}: {entry.source})"))
        hits += [h for h in persona_hits(scan) if not self._own_name(scan, h, products)]
        hits.sort(key=lambda h: h.span)
        return GateDecision(passed=not hits, text=clean, rules=hits, lang=lang, sku=sku, backing=backing,
                            _issuer=self.__key)

    @staticmethod
    def _own_name(text: str, hit: RuleHit, products: list[Product]) -> bool:
        """An animal noise or a song word that is part of the product's own name (the cat litter brand 喵洁), said
        whole; a claim to be human or a role-play is never excused by a name."""
        if not hit.detail.startswith(("animal noise", "singing")) or len(products) != 1:
            return False
        p = products[0]
        names = [fold_chars(" ".join(n.split())) for n in (p.title, p.brand or "", *(v.label for v in p.variants)) if n]
        return any(a <= hit.span[0] and hit.span[1] <= a + len(n) for n in names for a in find_all(text, n))

    def _quoted_facts(self, text: str, products: list[Product]) -> list[str]:
        """The record's facts the sentence says word for word, numbers or not ("316不锈钢内胆", "works on induction
        hobs"): what backs its claims beyond the numbers, for the audit trail."""
        said = text.lower()
        found = []
        for p in products:
            for f in self.facts(p).facts:
                quoted = fold(f.text).lower()
                if len(quoted) >= (4 if p.lang == "zh" else 8) and quoted in said and f.field not in ("title", "brand"):
                    found.append(f"{p.sku} {f.field}: {f.text[:80]}")
        return found

    def _quoted(self, text: str, span: tuple[int, int], products: list[Product]) -> bool:
        """Whether the clause around ``span`` is one the record of a product states word for word."""
        start = max((text.rfind(c, 0, span[0]) for c in _CLAUSE_ENDS), default=-1) + 1
        ends = [i for c in _CLAUSE_ENDS if (i := text.find(c, span[1])) >= 0]
        clause = text[start:min(ends, default=len(text))].strip().lower().rstrip(". ")  # a sentence's full stop
        if not clause:
            return False
        facts = [fold(f.text).lower() for p in products for f in self.facts(p).facts]
        if any(clause in f for f in facts):
            return True
        # the record's clause attributed to it ("the listing says the material is 100% turkish cotton"): only the
        # attribution before it, nothing after; "这款100%全谷物燕麦" makes it a claim of its own
        for lead in _ATTRIBUTIONS:
            quoted = clause[len(lead):].strip(" :：，,") if clause.startswith(lead) else ""
            if quoted and any(quoted in f for f in facts):
                return True
        return False

    def facts(self, product: Product) -> ProductFacts:
        """The product's fact base (what it states, what backs a number), built once per gate."""
        found = self._facts.get(product.sku)
        if found is None:
            found = self._facts[product.sku] = ProductFacts(product, self.claims.terms)
        return found

    def _backed(self, quantity: Quantity, products: list[Product], text: str = "", found: list[str] | None = None) -> bool:
        """Whether a product's record states ``quantity``; what backs it goes into ``found``."""
        said = text[quantity.span[0]:quantity.span[1]]
        for p in products:
            counts = {p.stock, *(v.stock for v in p.variants)} - {None}
            if not quantity.unit and (quantity.value in p.prices or quantity.value in counts):
                if found is not None:
                    found.append(f"{said} <- {p.sku}: {'price' if quantity.value in p.prices else 'stock'}")
                return True
            if self.facts(p).backs(quantity):
                if found is not None:
                    fact = self.facts(p).backing(quantity)
                    found.append(f"{said} <- {p.sku} {fact.field}: {fact.text[:80]}" if fact else f"{said} <- shop terms")
                return True
        return False

    def speech(self, decision: GateDecision, *, source: Source | str, source_id: str,
               author: str = "template") -> ApprovedSpeech | None:
        """Approved speech for a decision this gate made (None if it did not pass); no second check."""
        if decision._issuer is not self.__key:
            raise ValueError("decision: made by another gate (another catalog): check the text with this one")
        if not decision.passed:
            return None
        return self.__key.approve(decision.text, lang=decision.lang, source=Source(source), source_id=source_id,
                                  sku=decision.sku, rules=decision.rule_names, backing=tuple(decision.backing),
                                  author=author)

    def review(
        self, text: str, *, lang: str, source: Source | str, source_id: str, sku: str | None = None,
        author: str = "template",
    ) -> tuple[GateDecision, ApprovedSpeech | None]:
        """Check and, if it passes, approve.  Returns the decision (for the audit trail) and the speech or None."""
        decision = self.check(text, lang, sku=sku)
        if not decision.passed:
            log.info("gate dropped %s %s: %r (%s)", Source(source).value, source_id, decision.text,
                     "; ".join(f"{h.rule}: {h.detail}" for h in decision.rules))
        if self.on_decision is not None:
            self.on_decision(decision)
        return decision, self.speech(decision, source=source, source_id=source_id, author=author)

    def approve(
        self, text: str, *, lang: str, source: Source | str, source_id: str, sku: str | None = None,
        author: str = "template",
    ) -> ApprovedSpeech | None:
        """Approved speech, or None when the sentence is dropped."""
        return self.review(text, lang=lang, source=source, source_id=source_id, sku=sku, author=author)[1]
