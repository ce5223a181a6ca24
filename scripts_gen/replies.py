"""Viewer replies: grounded in the catalog, spoken-style, never more than the merchant stands behind.

:class:`ReplyWriter` turns a triaged comment into one short spoken reply about
the product on air (or another catalog product the comment names):

* the answer comes from the configured text models in order (a remote
  endpoint, a local ``transformers`` model...), each given what is left of a
  time budget (default 3 s), prompted from a versioned Jinja2 file in
  ``prompts/`` with the catalog facts and the viewer's text as quoted JSON
  data;
* a draft the gate rejects, a model that errs or runs out of time, is
  recorded (:class:`Draft`) and the next one is tried; the built-in templates
  (``templates/<lang>/reply/<intent>.j2``) always answer last, from catalog
  facts only; a question the catalog cannot answer gets an honest "I'll check
  / see the product page";
* "are you a real person?" is always answered from the templates, and every
  one of those phrasings says plainly that the host is an AI;
* the reply's language is the channel's (or the product's), whatever
  language the viewer asks for.

Greetings are batched: :meth:`ReplyWriter.greet` welcomes several viewers in
one sentence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from products.model import Catalog, Product, spoken_money
from scripts_gen.engine import TEMPLATES_DIR, make_environment
from scripts_gen.gate import Gate, GateDecision
from scripts_gen.llm.chain import Draft, Verdict, first_approved
from scripts_gen.triage import Action, Comment, Intent, Triaged

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
#: Intents a model may answer; the rest always come from the templates.
MODEL_INTENTS = frozenset({Intent.PRICE, Intent.SPEC, Intent.STOCK, Intent.SHIPPING, Intent.HOW_TO_BUY, Intent.AFTER_SALES})
TEMPLATE_RESERVE = 0.05  # seconds of the budget kept for the template answer
MAX_ZH_CHARS = 60
MAX_EN_WORDS = 40
MAX_NAME_CHARS = 12


# --------------------------------------------------------------------------- prompts


def _quote(value: Any) -> str:
    """Data for a prompt: JSON, with non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False, default=str)


class PromptSet:
    """Versioned prompt files ``<name>.v<N>.j2``; the newest version unless one is pinned.

    A prompt renders to sections that start with ``### system`` / ``### user`` /
    ``### assistant`` lines, which become chat messages.
    """

    def __init__(self, directory: Path = PROMPTS_DIR, versions: dict[str, int] | None = None) -> None:
        self.directory = Path(directory)
        self.env = Environment(loader=FileSystemLoader(str(self.directory)), undefined=StrictUndefined,
                               autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["quote"] = _quote
        self.versions = dict(versions or {})

    def available(self, name: str) -> list[int]:
        found = [re.fullmatch(rf"{re.escape(name)}\.v(\d+)\.j2", p.name) for p in self.directory.glob(f"{name}.v*.j2")]
        return sorted(int(m[1]) for m in found if m)

    def version(self, name: str) -> int:
        have = self.available(name)
        if not have:
            raise FileNotFoundError(f"prompt {name!r}: no {name}.v<N>.j2 in {self.directory}")
        pinned = self.versions.get(name)
        if pinned is not None and pinned not in have:
            raise ValueError(f"prompt {name!r}: version {pinned} not found (have {have})")
        return pinned if pinned is not None else have[-1]

    def render(self, name: str, **variables: Any) -> tuple[tuple[Any, ...], str]:
        """(messages, "name.vN")."""
        from scripts_gen.llm.base import Message

        version = self.version(name)
        text = self.env.get_template(f"{name}.v{version}.j2").render(**variables)
        messages: list[Message] = []
        role, lines = None, []
        for line in text.splitlines():
            m = re.fullmatch(r"###\s*(system|user|assistant)\s*", line)
            if m:
                if role is not None:
                    messages.append(Message(role, "\n".join(lines).strip()))
                role, lines = m[1], []
            elif role is not None:
                lines.append(line)
        if role is not None:
            messages.append(Message(role, "\n".join(lines).strip()))
        if not messages:
            raise ValueError(f"prompt {name}.v{version}: no '### system' / '### user' sections")
        return tuple(messages), f"{name}.v{version}"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Reply:
    comment: Comment
    action: Action
    intent: Intent
    speech: str | None
    decision: GateDecision | None  # the gate's verdict on ``speech``
    sku: str | None = None
    lang: str = ""
    source: str = ""  # "template", "model:<name>", "fallback"
    reason: str = ""  # why triage decided as it did
    drafts: tuple[Draft, ...] = ()
    prompt: str = ""  # "reply.v1" when a model was asked
    seconds: float = 0.0  # comment in -> approved text out

    def as_json(self) -> dict[str, Any]:
        """The ``livehost reply --json`` line: action, intent, speech, gate, then details."""
        hits = [h for d in self.drafts for h in d.rules]
        if self.decision is not None:
            hits = [*hits, *self.decision.rules]
        return {
            "action": self.action.value,
            "intent": self.intent.value,
            "speech": self.speech,
            "gate": {
                "passed": bool(self.decision and self.decision.passed and self.speech is not None),
                "rules": [h.as_json() for h in hits],
            },
            "user": self.comment.user,
            "sku": self.sku,
            "lang": self.lang,
            "source": self.source,
            "reason": self.reason,
            "drafts": [d.as_json() for d in self.drafts],
            "ms": round(self.seconds * 1000, 2),
        }


# --------------------------------------------------------------------------- facts

_SPEC_HINTS: dict[str, tuple[str, ...]] = {
    "尺": ("尺码", "尺寸", "码数", "多大", "码", "号", "size", "fit", "big", "large"),
    "码": ("尺码", "码数", "多大", "码", "号", "size", "fit"),
    "材": ("材质", "材料", "面料", "成分", "material", "fabric", "made"),
    "料": ("材质", "面料", "material", "fabric"),
    "成分": ("成分", "材质", "面料", "material", "fabric", "ingredient"),
    "重": ("重量", "多重", "几斤", "weight", "heavy", "weigh"),
    "容量": ("容量", "多少毫升", "ml", "capacity", "volume"),
    "续航": ("续航", "电池", "多久", "battery", "last", "hours"),
    "色": ("颜色", "什么色", "色号", "colour", "color"),
    "防水": ("防水", "水", "waterproof", "water"),
    "size": ("size", "fit", "big", "尺码", "多大"),
    "material": ("material", "fabric", "made", "材质"),
    "weight": ("weight", "heavy", "weigh", "重"),
    "battery": ("battery", "last", "续航"),
    "colo": ("colour", "color", "颜色"),
}
_OFFER_QUESTION = re.compile(r"券|赠|送|折|优惠|便宜|活动|减|coupon|voucher|gift|discount|off|deal|promo|cheaper|free", re.I)
_SHIP_WORDS = ("发货", "快递", "包邮", "运费", "邮费", "物流", "顺丰", "送达", "到货", "ship", "deliver", "postage", "courier")
_AFTER_WORDS = ("退", "换", "保修", "质保", "售后", "保障", "return", "refund", "warranty", "exchange")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]{2,}")
_EN_STOP = frozenset("the and for you are this that with what how does its it's can is any have has".split())


def _tokens(text: str) -> set[str]:
    text = text.lower()
    chars = [c for c in text if _CJK.match(c)]
    grams = {a + b for a, b in zip(chars, chars[1:])}
    return grams | {w for w in _WORD.findall(text) if w not in _EN_STOP}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。！？!?；;])|(?<=\.)\s+", text) if s.strip()]


def _strip_end(text: str) -> str:
    return text.rstrip("。.!！ ")


class _Facts:
    """What a reply may draw on for one product: catalog specs, points and text, and the shop's terms."""

    def __init__(self, product: Product, terms: Sequence[str]) -> None:
        zh = product.lang == "zh"
        specs = [(k, f"{k}是{v}" if zh else f"the {k.lower()} is {v}") for k, v in product.specs.items()]
        self.spec_lines = specs
        self.points = list(product.selling_points)
        own = _sentences(product.description) + self.points
        self.shipping = [t for t in [*terms, *own] if any(w in t.lower() for w in _SHIP_WORDS)]
        self.after_sales = [t for t in [*terms, *own] if any(w in t.lower() for w in _AFTER_WORDS)]

    def best_fact(self, question: str) -> str:
        """The spec or selling point that shares the most with the question, or "" (then: no invention)."""
        asked = _tokens(question)
        lowered = question.lower()
        best, best_score = "", 0.0
        for name, line in self.spec_lines:
            score = len(asked & _tokens(line))
            for key, hints in _SPEC_HINTS.items():
                if key in name.lower() and any(h in lowered for h in hints):
                    score += 3
            if score > best_score:
                best, best_score = line, score
        for point in self.points:
            score = len(asked & _tokens(point))
            if score > best_score:
                best, best_score = point, score
        return _strip_end(best) if best_score >= 2 else ""

    @staticmethod
    def best_term(question: str, pool: list[str]) -> str:
        if not pool:
            return ""
        asked = _tokens(question)
        ranked = sorted(pool, key=lambda t: len(asked & _tokens(t)), reverse=True)
        return _strip_end(ranked[0])


# --------------------------------------------------------------------------- the writer


def product_facts(product: Product, lang: str, now: datetime) -> dict[str, Any]:
    """What a model is told about a product (as quoted JSON data): catalog facts only, prices as spoken."""
    return {
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": spoken_money(product.price_at(now), product.currency, lang),
        "regular_price": spoken_money(product.price, product.currency, lang),
        "on_sale": product.sale_active(now),
        "sale_ends": product.sale_end.isoformat() if product.sale_active(now) and product.sale_end else None,
        "stock": product.stock,
        "in_stock": product.in_stock,
        "specs": dict(product.specs),
        "selling_points": list(product.selling_points),
        "description": product.description,
    }


def _pick(options: list[str], *key: object) -> list[str]:
    """``options`` rotated to start at a stable hash of ``key`` (same comment, same wording)."""
    if not options:
        return []
    start = int.from_bytes(hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()[:4], "big") % len(options)
    return options[start:] + options[:start]


def spoken_text(text: str, lang: str) -> str:
    """A model's answer as one or two spoken sentences: quotes, markdown and role labels off, length capped."""
    text = text.strip().strip("\"'“”「」")
    text = re.sub(r"^(?:host|assistant|主播|回复|reply)\s*[:：]\s*", "", text, flags=re.I)
    text = re.sub(r"[*_`#>]+", "", text)
    text = " ".join(text.split())
    parts = _sentences(text)[:2]
    text = "".join(parts) if lang == "zh" else " ".join(parts)
    if lang == "zh" and len(text) > MAX_ZH_CHARS:
        text = text[:MAX_ZH_CHARS].rsplit("，", 1)[0].rstrip("，,") + "。"
    elif lang == "en" and len(text.split()) > MAX_EN_WORDS:
        text = " ".join(text.split()[:MAX_EN_WORDS]).rstrip(",;") + "."
    return text


def safe_name(name: str) -> str:
    """A viewer name fit to be read out: printable, short, no markup; "" when nothing is left."""
    from scripts_gen.triage import normalize

    cleaned = "".join(ch for ch in normalize(name) if ch.isalnum() or ch in " _-")
    return cleaned.strip()[:MAX_NAME_CHARS]


class ReplyWriter:
    """Answers triaged comments; see the module docstring.

    ``models`` are :class:`scripts_gen.llm.base.TextModel` instances tried in
    order within ``budget`` seconds; with none, the templates answer alone (the
    offline default).  ``lang`` is the channel's language policy ("auto": each
    product's own).
    """

    def __init__(
        self,
        catalog: Catalog,
        gate: Gate,
        *,
        models: Sequence[Any] = (),
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
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.env = make_environment(templates_dir or TEMPLATES_DIR)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._facts: dict[tuple[str, int], _Facts] = {}
        self._titles: list[tuple[str, set[str]]] | None = None
        self._last: dict[tuple[str, str], str] = {}

    def update(self, catalog: Catalog, gate: Gate) -> None:
        """Answer from this catalog (and its gate) from now on."""
        self.catalog, self.gate = catalog, gate
        self._facts.clear()
        self._titles = None

    # ---------------------------------------------------------------- public

    async def answer(self, triaged: Triaged, sku: str | None) -> Reply:
        """The reply to one comment triaged ANSWER (other actions come back with no speech)."""
        started = time.perf_counter()
        comment, intent = triaged.comment, triaged.intent
        if triaged.action is not Action.ANSWER:
            return Reply(comment, triaged.action, intent, None, None, sku, reason=triaged.reason)
        product = self._product_for(triaged.normalized, sku)
        lang = self._lang(product)
        if product is None:
            return self._finish(triaged, None, lang, self._render("fallback", lang, None, triaged), "fallback", (), "", started)
        drafts: list[Draft] = []
        prompt = ""
        if self.models and intent in MODEL_INTENTS:
            text, source, prompt = await self._from_models(triaged, product, lang, drafts, started)
            if text is not None:
                return self._finish(triaged, product, lang, text, source, drafts, prompt, started)
        text = self._render(intent.value, lang, product, triaged)
        return self._finish(triaged, product, lang, text, "template", drafts, prompt, started)

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
        for attempt in (names, []):
            text = self._first_passing("greeting", lang, product, {"names": attempt}, comments[0].id or comments[0].user)
            if text is not None:
                decision = self.gate.check(text, lang, sku=product.sku if product else None)
                first = comments[0]
                return Reply(first, Action.GREET, Intent.GREETING, decision.text, decision, product.sku if product else None,
                             lang, "template", f"greeting {len(comments)} viewer(s)", (), "", time.perf_counter() - started)
        return None

    # ---------------------------------------------------------------- internals

    def _lang(self, product: Product | None) -> str:
        if self.lang in ("zh", "en"):
            return self.lang
        return product.lang if product is not None else "zh"

    def _product_for(self, normalized: str, sku: str | None) -> Product | None:
        """The product on air, unless the comment clearly names another catalog product."""
        current = self.catalog.get(sku) if sku else None
        asked = _tokens(normalized)
        if self._titles is None:
            self._titles = [(p.sku, _tokens(name)) for p in self.catalog for name in (p.title, p.category) if name]
        best, best_share = None, 0.0
        for other, title in self._titles:
            if not title:
                continue
            share = len(asked & title) / len(title)
            if share > best_share:
                best, best_share = other, share
        if best is not None and best_share >= 0.5 and best != sku:
            return self.catalog.get(best)
        if current is None and len(self.catalog) == 1:
            return next(iter(self.catalog))
        return current

    def _facts_for(self, product: Product) -> _Facts:
        key = (product.sku, id(product))
        facts = self._facts.get(key)
        if facts is None:
            facts = self._facts[key] = _Facts(product, self.terms)
        return facts

    def _context(self, product: Product | None, lang: str, triaged: Triaged | None) -> dict[str, Any]:
        if product is None:
            return {"title": "", "price": "", "list_price": "", "on_sale": False, "stock": None, "in_stock": False,
                    "fact": "", "term": "", "asks_offer": False, "names": []}
        now = self.now()
        facts = self._facts_for(product)
        question = triaged.normalized if triaged else ""
        term = ""
        if triaged is not None and triaged.intent is Intent.SHIPPING:
            term = facts.best_term(question, facts.shipping)
        elif triaged is not None and triaged.intent is Intent.AFTER_SALES:
            term = facts.best_term(question, facts.after_sales)
        return {
            "title": product.title,
            "price": spoken_money(product.price_at(now), product.currency, lang),
            "list_price": spoken_money(product.price, product.currency, lang),
            "on_sale": product.sale_active(now),
            "stock": product.stock,
            "in_stock": product.in_stock,
            "fact": facts.best_fact(question) if triaged is not None and triaged.intent is Intent.SPEC else "",
            "term": term,
            "asks_offer": bool(triaged is not None and triaged.intent is Intent.PRICE and _OFFER_QUESTION.search(question)),
            "names": [],
        }

    def _options(self, name: str, lang: str, context: dict[str, Any]) -> list[str]:
        rendered = self.env.get_template(f"{lang}/reply/{name}.j2").render(**context)
        return list(dict.fromkeys(line.strip() for line in rendered.splitlines() if line.strip()))

    def _first_passing(self, name: str, lang: str, product: Product | None, extra: dict[str, Any], key: str,
                       triaged: Triaged | None = None) -> str | None:
        context = {**self._context(product, lang, triaged), **extra}
        options = _pick(self._options(name, lang, context), self.seed, key, name)
        last = self._last.get((name, lang))
        if len(options) > 1 and options[0] == last:
            options = options[1:] + options[:1]  # not the same words twice in a row
        for text in options:
            if self.gate.check(text, lang, sku=product.sku if product else None).passed:
                self._last[(name, lang)] = text
                return text
        return None

    def _render(self, name: str, lang: str, product: Product | None, triaged: Triaged) -> str | None:
        key = triaged.comment.id or f"{triaged.comment.user}\x1f{triaged.comment.text}"
        text = self._first_passing(name, lang, product, {}, key, triaged)
        if text is None and name != "fallback":
            text = self._first_passing("fallback", lang, product, {}, key, triaged)
        return text

    async def _from_models(self, triaged: Triaged, product: Product, lang: str, drafts: list[Draft],
                           started: float) -> tuple[str | None, str, str]:
        from scripts_gen.llm.base import GenerationRequest

        messages, prompt = self.prompts.render(
            "reply", lang=lang, intent=triaged.intent.value, facts=product_facts(product, lang, self.now()),
            terms=self.terms, comment=triaged.comment.text,
        )
        request = GenerationRequest(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature,
                                    seed=self.seed)
        deadline = started + self.budget - TEMPLATE_RESERVE

        def accept(raw: str) -> Verdict:
            text = spoken_text(raw, lang)
            if not text:
                return Verdict(text, False, "empty answer")
            decision = self.gate.check(text, lang, sku=product.sku)
            return Verdict(decision.text if decision.passed else text, decision.passed, "gate rejected",
                           tuple(decision.rules))

        text, source = await first_approved(self.models, request, deadline, accept, drafts)
        return text, source, prompt

    def _finish(self, triaged: Triaged, product: Product | None, lang: str, text: str | None, source: str,
                drafts: Sequence[Draft], prompt: str, started: float) -> Reply:
        sku = product.sku if product else None
        decision = self.gate.check(text, lang, sku=sku) if text else None
        speech = decision.text if decision is not None and decision.passed else None
        if speech is None and text:
            source = ""
        return Reply(triaged.comment, triaged.action, triaged.intent, speech, decision, sku, lang, source,
                     triaged.reason, tuple(drafts), prompt, time.perf_counter() - started)
