"""Viewer replies: grounded in the catalog, spoken-style, never more than the merchant stands behind.

:class:`Responder` turns a triaged comment into one short spoken reply about
the product on air (or another catalog product the comment names), as
:class:`~livehost.core.approved.ApprovedSpeech` ready for the speech queue:

* the answer comes from the configured text models in order (a remote
  endpoint, a local ``transformers`` model...), each given what is left of a
  time budget (default 3 s), prompted from a versioned Jinja2 file in
  ``prompts/`` with the catalog facts and the viewer's text as quoted JSON
  data;
* a draft the gate rejects, a model that errs or runs out of time, is
  recorded (:class:`~scripts_gen.llm.chain.Draft`) and the next one is
  tried; the built-in templates (``templates/<lang>/reply/<intent>.j2``)
  always answer last, from catalog facts only; a question the catalog
  cannot answer gets an honest "I'll check / see the product page";
* "are you a real person?" is always answered from the templates, and every
  one of those phrasings says plainly that the host is an AI;
* the reply's language is the channel's (or the product's), whatever
  language the viewer asks for.

Each reply passes the gate once: the verdict that chose the words is the
one that approves them (checked again only if the catalog changed while a
model was writing).  Greetings are batched: :meth:`Responder.greet`
welcomes several viewers in one sentence.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from livehost.core.approved import ApprovedSpeech, Source
from products.model import Catalog, Product, Variant
from products.money import spoken_money
from scripts_gen.facts import (
    Answer,
    ProductFacts,
    asks_about_kind,
    asks_about_offer,
    asks_regular_price,
    asks_sale_end,
    product_facts,
    tokens,
    translations,
    words,
)
from scripts_gen.fit import measures as fit_measures
from scripts_gen.gate import Gate, GateDecision
from scripts_gen.intents import Intent, is_question
from scripts_gen.llm.base import GenerationRequest, TextModel
from scripts_gen.llm.chain import Draft, Verdict, first_approved
from scripts_gen.prompts import PromptSet, spoken_text
from scripts_gen.rules.quantities import find_numbers
from scripts_gen.rules.variants import mentioned_variants, named_variants
from scripts_gen.text import normalize
from scripts_gen.triage import Action, Comment, Triaged
from scripts_gen.writer import TEMPLATES_DIR, make_environment

#: Intents a model may answer; the rest always come from the templates.
log = logging.getLogger(__name__)

MODEL_INTENTS = frozenset({Intent.PRICE, Intent.SPEC, Intent.STOCK, Intent.SHIPPING, Intent.HOW_TO_BUY, Intent.AFTER_SALES})
ABOUT_CACHE = 4096  # distinct comments whose about_product answer is kept
_MISSING = object()
TEMPLATE_RESERVE = 0.05  # seconds of the budget kept for the template answer
MAX_NAME_CHARS = 12
_EXISTS = re.compile(r"有(?:没有)?.{0,8}(?:吗|么|嘛|\?)|还有|有货|有没有|available|in\s+stock|(?:do|got|have)\s+(?:you|u)\s+(?:have|got)|any\s+left",
                     re.I)
_PERSONAL = re.compile(
    r"(?:主播|你|您|小姐姐|小哥哥)(?:今年)?(?:几岁|多大了|哪里人|哪儿人|叫什么|结婚|吃饭|吃了|男朋友|女朋友|对象|单身|累不累|困不困|睡|下播|几点下播)"
    r"|天气|几点了|(?<![a-z])(?:how\s+old\s+are\s+you|what'?s\s+your\s+name|where\s+are\s+you\s+from|are\s+you\s+single"
    r"|did\s+you\s+eat|how\s+are\s+you|how'?s\s+your\s+day|what\s+time\s+is\s+it|weather)",
    re.I)
# what a named option costs ("单只多少", "三盒装多少钱"), not how much of something it has ("M码充了多少绒")
_CHOICE = re.compile(r"should\s+i\s+(?:get|buy|pick|go|choose|order)|which\s+(?:one|size)|选哪|买哪|拍哪个|哪个好|选.{0,4}还是", re.I)
_HOW_MUCH = re.compile(r"多少(?:钱|一|$|[?!,.呀啊呢啦])|什么价|价格|价钱|现价|原价|how\s+much(?!\s+(?:does|do|is\s+in|\w+\s+(?:per|in)))|price|cost",
                       re.I)
_SPEC_WORDS = re.compile(r"材质|尺寸|多大|多重|多少|几|什么|怎么|能不能|可以|哪|啥(?!时候)|咋|made|size|weight|how|what|where|which|why"
                         r"|material|(?<![a-z])does(?![a-z])", re.I)
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")


def _option_fact(variant: Variant, kinds: set[str], question: str, lang: str) -> str:
    """The variant's options that state a quantity of a kind asked ("规格是15ml 旅行装"), or "".  Not a count (一盒有几张:
    the option says how many boxes), nor an option the question names to ask about something else (1.5床的床单尺寸)."""
    kinds = kinds - {"count"}
    if not kinds:
        return ""
    said = [(name, value) for name, value in variant.options.items()
            if (found := find_numbers(value)) and any(q.kind in kinds or (q.unit == "oz" and "volume" in kinds) for q in found)
            and not any(format(q.value.normalize(), "f") in question for q in found)]
    if lang == "zh":
        return "，".join(f"{name}是{value}" for name, value in said)
    return "; ".join(f"the {name.lower()} is {value}" for name, value in said)


def _shared_label(variants: Sequence[Variant]) -> str:
    """What several options have in common ("16 inch" of "16 inch - Red" and "16 inch - Sky Blue"), or ""."""
    first = variants[0].options
    shared = [value for name, value in first.items() if all(v.options.get(name) == value for v in variants[1:])]
    return " ".join(shared)


def _regularly(amount: str, lang: str) -> str:
    return f"（原价{amount}）" if lang == "zh" else f" (regularly {amount})"


def _date(moment: datetime | None, lang: str, tz: tzinfo | None = None) -> str:
    """A day as the host says it, in the channel's zone ``tz`` (as the gate reads dates): 12月5日 / December 5
    ("" for none)."""
    if moment is None:
        return ""
    if tz is not None:
        moment = moment.astimezone(tz)
    return f"{moment.month}月{moment.day}日" if lang == "zh" else f"{_MONTHS_EN[moment.month - 1]} {moment.day}"


@dataclass(frozen=True)
class Reply:
    comment: Comment
    action: Action
    intent: Intent
    speech: ApprovedSpeech | None  # what the host will say, approved by the gate
    decision: GateDecision | None  # the gate's verdict on it
    sku: str | None = None
    lang: str = ""
    source: str = ""  # "template", "model:<name>", "fallback"
    reason: str = ""  # why triage decided as it did
    drafts: tuple[Draft, ...] = ()
    prompt: str = ""  # "reply.v1" when a model was asked
    seconds: float = 0.0  # comment in -> approved text out

    @property
    def text(self) -> str | None:
        return self.speech.text if self.speech is not None else None

    def as_json(self) -> dict[str, Any]:
        """The ``livehost reply --json`` line: action, intent, speech, gate, then details."""
        hits = [h for d in self.drafts for h in d.rules]
        if self.decision is not None:
            hits = [*hits, *self.decision.rules]
        return {
            "action": self.action.value,
            "intent": self.intent.value,
            "speech": self.text,
            "gate": {"passed": self.speech is not None, "rules": [h.as_json() for h in hits]},
            "user": self.comment.user,
            "sku": self.sku,
            "lang": self.lang,
            "source": self.source,
            "reason": self.reason,
            "drafts": [d.as_json() for d in self.drafts],
            "ms": round(self.seconds * 1000, 2),
        }


def _pick(options: list[str], *key: object) -> list[str]:
    """``options`` rotated to start at a stable hash of ``key`` (same comment, same wording)."""
    if not options:
        return []
    start = int.from_bytes(hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()[:4], "big") % len(options)
    return options[start:] + options[:start]


def safe_name(name: str) -> str:
    """A viewer name fit to be read out: printable, short, no markup; "" when nothing is left."""
    cleaned = "".join(ch for ch in normalize(name) if ch.isalnum() or ch in " _-")
    return cleaned.strip()[:MAX_NAME_CHARS]


_BUYING = frozenset({Intent.PRICE, Intent.STOCK, Intent.HOW_TO_BUY})
# a feature asked of the product on air: "有防晒吗", "带不带", "does it have", "is it"
_FEATURE = re.compile(r"有没有|有.{1,6}(?:吗|么|嘛|\?)|带不带|是不是|能不能|does\s+it|is\s+it|has\s+it|have\s+any", re.I)
_PARTICLE = frozenset("的吗呢吧啊呀嘛么多少什怎几是有能可还要卖买怎咋哪还贵")


def _modifier(text: str, word: str) -> bool:
    """Whether the Chinese ``word`` only modifies the next word wherever it stands ("防晒系数": a factor)."""
    at = text.find(word)
    if at < 0 or word.isascii():
        return False
    while at >= 0:
        nxt = text[at + len(word): at + len(word) + 1]
        if not nxt or nxt in _PARTICLE or nxt.isascii() or not nxt.isalnum():
            return False
        at = text.find(word, at + 1)
    return True


class Responder:
    """Answers triaged comments; see the module docstring.

    ``models`` are :class:`~scripts_gen.llm.base.TextModel` instances tried in
    order within ``budget`` seconds; with none, the templates answer alone (the
    offline default).  ``lang`` is the channel's language policy ("auto": each
    product's own).
    """

    def __init__(
        self,
        catalog: Catalog,
        gate: Gate,
        *,
        models: Sequence[TextModel] = (),
        prompts: PromptSet | None = None,
        budget: float = 3.0,
        terms: Iterable[str] = (),
        lang: str = "auto",
        seed: int = 0,
        now: Callable[[], datetime] | None = None,
        templates_dir: Path | None = None,
        max_tokens: int = 96,
        temperature: float = 0.7,
    ) -> None:
        if budget <= TEMPLATE_RESERVE:
            raise ValueError(f"budget: {budget!r} s is too short (must exceed {TEMPLATE_RESERVE} s)")
        self.catalog = catalog
        self.gate = gate
        self.models = list(models)
        self.prompts = prompts or PromptSet()
        self.budget = budget
        self.terms = list(terms)
        self.lang = lang
        self.seed = seed
        self.now = now or (lambda: datetime.now(UTC))
        self.env = make_environment(templates_dir or TEMPLATES_DIR)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._facts: dict[tuple[str, int], ProductFacts] = {}
        self._titles: list[tuple[str, set[str], set[str]]] | None = None  # sku, title words, category words
        self._vocabulary: set[str] | None = None  # every word the catalog's facts use (about_product)
        self._about: OrderedDict[str, Intent | None] = OrderedDict()  # about_product's recent answers
        self._last: dict[tuple[str, str], str] = {}

    def update(self, catalog: Catalog, gate: Gate) -> None:
        """Answer from this catalog (and its gate) from now on."""
        self.catalog, self.gate = catalog, gate
        self._facts.clear()
        self._titles = None
        self._vocabulary = None
        self._about.clear()

    # ---------------------------------------------------------------- public

    async def answer(self, triaged: Triaged, sku: str | None, variant: str | None = None) -> Reply:
        """The reply to one comment triaged ANSWER (other actions come back with no speech).

        ``sku``: the product on air; ``variant``: the variant on air, if one (a question naming another
        variant is answered about that one)."""
        started = time.perf_counter()
        comment, intent = triaged.comment, triaged.intent
        if triaged.action is not Action.ANSWER:
            return Reply(comment, triaged.action, intent, None, None, sku, reason=triaged.reason)
        gate = self.gate  # the catalog may change while a model writes: see _finish
        product = self._product_for(triaged.normalized, sku, triaged.intent)
        lang = self._lang(product)
        if product is None:
            decision = self._render("fallback", lang, None, triaged)
            return self._finish(gate, triaged, None, lang, decision, "fallback", (), "", started)
        drafts: list[Draft] = []
        prompt = ""
        if self.models and intent in MODEL_INTENTS:
            decision, source, prompt = await self._from_models(gate, triaged, product, lang, drafts, started)
            if decision is not None:
                return self._finish(gate, triaged, product, lang, decision, source, drafts, prompt, started)
        decision = self._render(intent.value, lang, product, triaged, variant)
        return self._finish(gate, triaged, product, lang, decision, "template", drafts, prompt, started)

    def greet(self, comments: Sequence[Comment], sku: str | None, *, limit: int = 3) -> Reply | None:
        """One welcome for several viewers (names that cannot be read out safely are left out)."""
        if not comments:
            return None
        started = time.perf_counter()
        product = self.catalog.get(sku) if sku else None
        lang = self._lang(product)
        sku_ = product.sku if product else None
        names = [n for n in dict.fromkeys(safe_name(c.user) for c in comments)
                 if n and self.gate.check(n, lang, sku=sku_).passed][:limit]  # a name that breaks a rule is not read out
        first = comments[0]
        for attempt in (names, []):
            decision = self._first_passing("greeting", lang, product, {"names": attempt}, first.id or first.user)
            if decision is not None:
                speech = self.gate.speech(decision, source=Source.REPLY, source_id=f"greet:{first.id}")
                return Reply(first, Action.GREET, Intent.GREETING, speech, decision, sku_, lang, "template",
                             f"greeting {len(comments)} viewer(s)", (), "", time.perf_counter() - started)
        return None

    def thank(self, gifts: Sequence[tuple[str, str]], followers: Sequence[str], likes: int, sku: str | None, key: str,
              *, limit: int = 3) -> Reply | None:
        """One thanks for what the room gave since the last: ``gifts`` as (viewer, gift name), new ``followers``,
        and a count of ``likes``.  Gifts first, then follows, then likes; names and gift names that cannot be
        read out safely are left out (the gate checks every one, and the sentence)."""
        if not gifts and not followers and likes <= 0:
            return None
        started = time.perf_counter()
        product = self.catalog.get(sku) if sku else None
        lang = self._lang(product)
        sku_ = product.sku if product else None

        def readable(names: Sequence[str]) -> list[str]:
            return [n for n in dict.fromkeys(safe_name(x) for x in names)
                    if n and self.gate.check(n, lang, sku=sku_).passed][:limit]

        givers = readable([who for who, _ in gifts])
        named = readable([g for _, g in gifts])
        gift = named[0] if named and len(set(g for _, g in gifts)) == 1 else ""
        first = Comment("", "", time.monotonic(), key)
        for context in ({"names": givers, "gift": gift, "followers": readable(followers), "likes": likes, "anyone": False},
                        {"names": [], "gift": "", "followers": [], "likes": likes, "anyone": bool(gifts or followers)}):
            if not context["names"] and not context["followers"] and likes <= 0 and not context.get("anyone"):
                continue
            decision = self._first_passing("thanks", lang, product, context, key)
            if decision is not None:
                speech = self.gate.speech(decision, source=Source.REPLY, source_id=f"thanks:{key}")
                return Reply(first, Action.GREET, Intent.GREETING, speech, decision, sku_, lang, "template",
                             f"thanks for {len(gifts)} gift(s), {len(followers)} follow(s), {likes} like(s)", (), "",
                             time.perf_counter() - started)
        return None

    # ---------------------------------------------------------------- internals

    def about_product(self, normalized: str) -> Intent | None:
        """For :class:`~scripts_gen.triage.Triage`: the intent of a comment the keyword rules did not place, when it
        asks about the products (on a selling stream almost every question does: when the catalog does not know,
        the host says so); None for chit-chat with the host and for statements that name nothing of the products.

        A question naming an option ("有750的吗", "the XL in black?") is a stock question.  The answers for the
        last :data:`ABOUT_CACHE` distinct comments are kept (chat repeats itself).
        """
        cached = self._about.get(normalized, _MISSING)
        if cached is not _MISSING:
            self._about.move_to_end(normalized)
            return cached  # type: ignore[return-value]
        found = self._about_product(normalized)
        self._about[normalized] = found
        if len(self._about) > ABOUT_CACHE:
            self._about.popitem(last=False)
        return found

    def _about_product(self, normalized: str) -> Intent | None:
        if _PERSONAL.search(normalized):
            return None
        if self._vocabulary is None:
            self._vocabulary = {t for p in self.catalog for f in self._facts_for(p).facts for t in tokens(f.text)
                                if len(t) > 1} | {t for p in self.catalog for t in tokens(p.title) if len(t) > 1}
        asked = is_question(normalized)
        named = any(named_variants(p, normalized, letters=False) for p in self.catalog if p.variants)
        if named and (asked or len(tokens(normalized)) <= 8):
            if _HOW_MUCH.search(normalized):
                return Intent.PRICE  # 单只多少
            if _EXISTS.search(normalized):
                return Intent.STOCK  # 有750的吗
            # a question about the option ("31码腰围多少厘米") is a spec question, and so is a choice between options
            # ("im 5'2 should i get 25 or 28 inseam"); the option alone ("the XL in black?") asks whether it can be had
            if _SPEC_WORDS.search(normalized) or asks_about_kind(normalized) or _CHOICE.search(normalized):
                return Intent.SPEC
            return Intent.SPEC if fit_measures(normalized) else Intent.STOCK
        if asked:
            return Intent.SPEC
        words = {t for t in tokens(normalized) if len(t) > 1}
        if len(words) <= 6 and (asks_about_kind(normalized) or words & self._vocabulary):  # "wattage", "charge time"
            return Intent.SPEC
        return None

    def _lang(self, product: Product | None) -> str:
        if self.lang in ("zh", "en"):
            return self.lang
        return product.lang if product is not None else "zh"

    def _product_for(self, normalized: str, sku: str | None, intent: Intent | None = None) -> Product | None:
        """The product on air, unless the comment clearly names another catalog product.

        Clearly: two words or more of its title and half of it; or its category said as the thing asked for
        in a price, stock or how-to-buy question ("耳机多少钱"), not as a feature ("有防晒吗": does this one
        protect from the sun; "防晒系数": a factor).  Never in words the product on air uses as well, in either
        language ("外套" of a pillow's cover, "防晒" for a sunscreen listed in English).  Answering with another
        product's facts is answering a different question: when in doubt, the product on air."""
        current = self.catalog.get(sku) if sku else None
        if current is None and len(self.catalog) == 1:
            return next(iter(self.catalog))
        asked = words(normalized)
        if self._titles is None:
            self._titles = [(p.sku, words(p.title), words(p.category) if p.category else set()) for p in self.catalog]
        best, best_share, named = None, 0.0, set()
        for other, title, category in self._titles:
            if other == sku:
                continue
            if title and len(asked & title) >= 2 and len(asked & title) / len(title) >= 0.5:
                share = len(asked & title) / len(title)
                hit = asked & title
            elif (category and category <= asked and intent in _BUYING and not _FEATURE.search(normalized)
                  and not any(_modifier(normalized, w) for w in category)):
                share, hit = 0.5, category
            else:
                continue
            if share > best_share:
                best, best_share, named = other, share, hit
        if best is None:
            return current
        if current is not None:
            own = self._facts_for(current).vocabulary
            said = {t for word in named for t in tokens(word)} | {t for w in translations(" ".join(named)) for t in tokens(w)}
            if said & own:  # the product on air is spoken of in these words as well
                return current
        return self.catalog.get(best)

    def _facts_for(self, product: Product) -> ProductFacts:
        key = (product.sku, id(product))
        facts = self._facts.get(key)
        if facts is None:
            lang, gate = product.lang, self.gate
            facts = self._facts[key] = ProductFacts(
                product, self.terms, speakable=lambda text: gate.check(text, lang, sku=product.sku).passed)
        return facts

    def _context(self, product: Product | None, lang: str, triaged: Triaged | None,
                 variant: str | None = None) -> dict[str, Any]:
        if product is None:
            return {"title": "", "price": "", "list_price": "", "on_sale": False, "stock": None, "in_stock": False,
                    "fact": "", "pick": "", "term": "", "asks_offer": False, "asks_regular": False, "names": [], "variant": "", "from_price": False,
                    "price_list": "", "in_stock_options": "", "later_options": "", "out_options": "", "stock_unknown": False, "available_from": "", "backorder": False,
                    "preorder": False, "sale_until": ""}
        now = self.now()
        tz = self.gate.claims.tz  # dates are said in the channel's zone, as the gate reads them
        facts = self._facts_for(product)
        question = triaged.normalized if triaged else ""
        intent = triaged.intent if triaged is not None else None
        term = ""
        if intent is Intent.SHIPPING:
            term = facts.best_term(question, facts.shipping)
        elif intent is Intent.AFTER_SALES:
            term = facts.best_term(question, facts.after_sales)
        named = named_variants(product, question) if question else []
        selected = product.variant(variant) if variant else None
        # the option on air when the question names none, or names it among others ("这个4包装": three are 4-packs)
        chosen = named[0] if len(named) == 1 else (selected if not named or selected in named else None)
        found = Answer("")
        if intent is Intent.SPEC:
            # "这个是多少ml的" with the 15 ml on air: its own option says it, not the product's 50 ml
            found = Answer(_option_fact(chosen, asks_about_kind(question), question, lang)) if chosen is not None else found
            # about some options ("the 6mm": two colours of it): not a fact that speaks of the others as well
            about = {v.id for v in named} or ({chosen.id} if chosen is not None else set())
            avoid = None
            if about and len(product.variants) > len(about):
                avoid = lambda text: not {v.id for v in mentioned_variants(product, text)} <= about  # noqa: E731
            found = found if found.text else facts.answer(question, avoid=avoid)
        if found.unknown:
            log.info("spec answer for %s hedged: the record has no %s", product.sku, ", ".join(found.unknown))
        money = lambda amount: spoken_money(amount, product.currency, lang)  # noqa: E731
        context = {
            "title": product.title,
            "price": money(product.price_at(now)),
            "list_price": money(product.price),
            "on_sale": product.on_sale_at(now) and not product.variants,
            "stock": product.stock,
            "in_stock": product.in_stock,
            "fact": found.text,
            "hedge": bool(found.unknown),
            "pick": ("或" if lang == "zh" else " or ").join(found.pick),
            "term": term,
            "asks_offer": intent is Intent.PRICE and asks_about_offer(question),
            "asks_regular": intent is Intent.PRICE and asks_regular_price(question),
            "names": [],
            "variant": "",
            "from_price": False,
            "price_list": "",
            "in_stock_options": "",
            "later_options": "",
            # the record says nothing of stock (no availability, no count, on it or any option): not "in stock"
            "stock_unknown": product.availability is None and product.stock is None and not any(
                v.availability is not None or v.stock is not None for v in product.variants),
            "out_options": "",
            "available_from": _date(product.available_from, lang, tz) if product.availability == "preorder" else "",
            "preorder": product.availability == "preorder" and not product.variants,
            "sale_until": (_date(product.sale_end, lang, tz) if intent is Intent.PRICE and asks_sale_end(question)
                           and product.sale_active(now) and product.sale_end else ""),
            "backorder": product.availability == "backorder" and not product.variants,
        }
        if chosen is not None:  # about one variant: its own price, sale, stock and availability
            on_sale = product.variant_sale_active(chosen, now)
            context |= {
                "variant": chosen.label, "price": money(product.variant_price_at(chosen, now)),
                "list_price": money(product.variant_price(chosen)), "on_sale": on_sale, "stock": chosen.stock,
                "in_stock": product.variant_in_stock(chosen),
                "available_from": _date(chosen.available_from or product.available_from, lang, tz)
                if product.variant_availability(chosen) == "preorder" else "",
                "preorder": product.variant_availability(chosen) == "preorder",
                "sale_until": (_date(chosen.sale_end, lang, tz) if intent is Intent.PRICE and asks_sale_end(question) and on_sale
                               and chosen.sale_end else context["sale_until"] if on_sale else ""),
                "backorder": product.variant_availability(chosen) == "backorder",
            }
        elif product.variants and intent is Intent.PRICE and asks_sale_end(question) and len(
                on := [v for v in product.variants if product.variant_sale_active(v, now) and v.sale_end]) == 1:
            # "when does the sale end" and one option is on sale: that option's price and last day
            v = on[0]
            context |= {"variant": v.label, "price": money(product.variant_price_at(v, now)),
                        "list_price": money(product.variant_price(v)), "on_sale": True,
                        "sale_until": _date(v.sale_end, lang, tz), "stock": None}
        elif len(named) > 1 and len({product.variant_price_at(v, now) for v in named}) == 1 and (
                intent is Intent.PRICE or len({product.variant_availability(v) for v in named}) == 1) and (
                label := _shared_label(named)):
            # "how much is the 16 inch": two colours of it, one price: said of what they share
            v = named[0]
            on_sale = all(product.variant_sale_active(n, now) for n in named)
            context |= {"variant": label, "price": money(product.variant_price_at(v, now)),
                        "list_price": money(product.variant_price(v)), "on_sale": on_sale, "stock": None,
                        "in_stock": any(product.variant_in_stock(n) for n in named),
                        "available_from": "", "preorder": False, "backorder": False,
                        "sale_until": (_date(v.sale_end, lang, tz) if intent is Intent.PRICE and asks_sale_end(question)
                                       and on_sale and len({n.sale_end for n in named}) == 1 and v.sale_end else "")}
        if chosen is None and product.variants and not context["variant"]:
            pool = named if len(named) > 1 else list(product.variants)  # "the pink ones": those, not every option
            context["from_price"] = len({product.variant_price_at(v, now) for v in pool}) > 1
            context["stock"] = None  # a count is said of one variant, never summed up
            can_buy = [v for v in pool if product.variant_in_stock(v)] or list(pool)
            regular = {product.variant_price(v) for v in can_buy}
            if not context["from_price"] and len(regular) == 1 and all(product.variant_sale_active(v, now) for v in can_buy):
                # every option on the same sale: the product is on sale, from one regular price
                context |= {"on_sale": True, "list_price": money(regular.pop())}
            if context["from_price"]:
                sep = "，" if lang == "zh" else "; "
                context["price_list"] = sep.join(
                    (f"{v.label}的{money(product.variant_price_at(v, now))}" if lang == "zh"
                     else f"the {v.label} is {money(product.variant_price_at(v, now))}")
                    + (_regularly(money(product.variant_price(v)), lang)
                       if context["asks_regular"] and product.variant_sale_active(v, now) else "")
                    for v in pool[:4] if product.variant_in_stock(v))
        if product.variants:
            sep = "、" if lang == "zh" else " and "
            # in stock now, orderable for later (a backorder or a preorder: not "in stock"), and sold out; of the
            # options named when the question names several
            pool = named if len(named) > 1 and chosen is None else list(product.variants)
            later = [v.label for v in pool if product.variant_in_stock(v)
                     and product.variant_availability(v) in ("backorder", "preorder")]
            buyable = [v.label for v in pool if product.variant_in_stock(v) and v.label not in later]
            gone = [v.label for v in pool if not product.variant_in_stock(v)]
            if (gone or (later and buyable and len(named) > 1 and not context["variant"])) and (
                    chosen is None or not context["in_stock"]):
                context["in_stock_options"] = sep.join(b for b in buyable if b != context["variant"])
                context["later_options"] = sep.join(b for b in later if b != context["variant"])
                context["out_options"] = sep.join(gone) if chosen is None else ""
        return context

    def _options(self, name: str, lang: str, context: dict[str, Any]) -> list[str]:
        rendered = self.env.get_template(f"{lang}/reply/{name}.j2").render(**context)
        return list(dict.fromkeys(line.strip() for line in rendered.splitlines() if line.strip()))

    def _first_passing(self, name: str, lang: str, product: Product | None, extra: dict[str, Any], key: str,
                       triaged: Triaged | None = None, variant: str | None = None) -> GateDecision | None:
        """The gate's verdict on the first phrasing of template ``name`` that passes."""
        context = {**self._context(product, lang, triaged, variant), **extra}
        options = _pick(self._options(name, lang, context), self.seed, key, name)
        last = self._last.get((name, lang))
        if len(options) > 1 and options[0] == last:
            options = options[1:] + options[:1]  # not the same words twice in a row
        for text in options:
            decision = self.gate.check(text, lang, sku=product.sku if product else None)
            if decision.passed:
                self._last[(name, lang)] = text
                return decision
        return None

    def _render(self, name: str, lang: str, product: Product | None, triaged: Triaged,
                variant: str | None = None) -> GateDecision | None:
        key = triaged.comment.id or f"{triaged.comment.user}\x1f{triaged.comment.text}"
        decision = self._first_passing(name, lang, product, {}, key, triaged, variant)
        if decision is None and name != "fallback":
            decision = self._first_passing("fallback", lang, product, {}, key, triaged, variant)
        return decision

    async def _from_models(self, gate: Gate, triaged: Triaged, product: Product, lang: str, drafts: list[Draft],
                           started: float) -> tuple[GateDecision | None, str, str]:
        messages, prompt = self.prompts.render(
            "reply", lang=lang, intent=triaged.intent.value, terms=self.terms, comment=triaged.comment.text,
            facts=product_facts(product, lang, self.now(),
                                [f.text for f, _ in self._facts_for(product).search(triaged.normalized, k=4)]),
        )
        request = GenerationRequest(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature,
                                    seed=self.seed)
        deadline = started + self.budget - TEMPLATE_RESERVE
        approved: dict[str, GateDecision] = {}

        def accept(raw: str) -> Verdict:
            text = spoken_text(raw, lang)
            if not text:
                return Verdict(text, False, "empty answer")
            decision = gate.check(text, lang, sku=product.sku)
            if not decision.passed:
                return Verdict(text, False, "gate rejected", tuple(decision.rules))
            approved[decision.text] = decision
            return Verdict(decision.text, True)

        text, source = await first_approved(self.models, request, deadline, accept, drafts)
        return (approved[text] if text is not None else None), source, prompt

    def _finish(self, gate: Gate, triaged: Triaged, product: Product | None, lang: str, decision: GateDecision | None,
                source: str, drafts: Sequence[Draft], prompt: str, started: float) -> Reply:
        sku = product.sku if product else None
        if decision is not None and gate is not self.gate:  # the catalog changed meanwhile: check against the new one
            decision = self.gate.check(decision.text, lang, sku=sku)
        speech = None
        if decision is not None:
            speech = self.gate.speech(decision, source=Source.REPLY, source_id=triaged.comment.id,
                                      author=source if source.startswith("model:") else "template")
        if speech is None:
            source = ""
        return Reply(triaged.comment, triaged.action, triaged.intent, speech, decision, sku, lang, source,
                     triaged.reason, tuple(drafts), prompt, time.perf_counter() - started)
