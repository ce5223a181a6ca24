"""The product fact base: every fact a catalog record states, and retrieval over them.

:class:`ProductFacts` splits a product's title, description, selling points,
specs, brand, category, variants and the shop's terms into short clauses
(Chinese and English), each with the field it came from and the numbers (with
units) it states.  What the host may say and what it can back are the same
thing: replies quote these facts, the selling talk walks through them, and
the gate backs numbers with them (:meth:`ProductFacts.backs`).

Retrieval is BM25 (``bm25s``) over words, Chinese characters and character
pairs, plus a token per kind of quantity a fact states (weight, duration,
temperature...), so "保温多久" finds "保温12小时" and "how heavy is it" finds
"2.4 kg".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import bm25s
import numpy as np

from products.model import Product, Variant
from products.money import spoken_money
from scripts_gen.rules.numbers import fold
from scripts_gen.rules.quantities import Quantity, find_numbers

log = logging.getLogger(__name__)

_OFFER_QUESTION = re.compile(r"券|赠|送|折|优惠|便宜|活动|减|coupon|voucher|gift|discount|off|deal|promo|cheaper|free", re.I)
_SHIP_WORDS = ("发货", "快递", "包邮", "运费", "邮费", "物流", "顺丰", "送达", "到货", "ship", "deliver", "postage", "courier")
_AFTER_WORDS = ("退", "换", "保修", "质保", "售后", "保障", "return", "refund", "warranty", "exchange")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_EN_STOP = frozenset("""the a an and or for you your are this that these those with what how does do did its it's it can
    is be any have has of in on to at by from as if so not no yes i me my we our they them he she his her will would
    should could there their which who whom whose when where why about into out up down just than then too very
    much many more most some such only own same also""".split())
# characters that carry no topic on their own (question words, particles, pronouns)
_ZH_STOP = frozenset("的了吗么嘛呢吧啊呀哦哈是有在这那个款些么怎啥什样多少几哪谁和与及或也都还就能会可以要想我你您他她它们不没很太更最")
# question words -> the kind of quantity they ask about (a token facts of that kind carry)
_ASKS = (
    (re.compile(r"多重|几斤|几公斤|多少克|多少斤|重量|重吗|重不重|轻吗|heavy|weigh|weight|how\s+light|轻不轻"), "weight"),
    (re.compile(r"多大|尺寸|多长|多宽|多高|多厚|直径|长宽|how\s+(?:big|large|long|wide|tall|thick)|dimensions?|size"),
     "length"),
    (re.compile(r"多久|多长时间|几个?小时|几天|几年|保温.{0,2}(?:时间|久)|续航|how\s+long|hours?|lasts?|shelf\s+life|保质期"),
     "duration"),
    (re.compile(r"多少度|几度|温度|水温|°|temperature|degrees|how\s+hot|oven"), "temperature"),
    (re.compile(r"容量|多少毫升|多少ml|几升|装多少|多少水|能装|capacity|volume|how\s+much\s+(?:water|liquid)|\bml\b|"
                r"how\s+much\s+(?:does\s+it|will\s+it|can\s+it)\s+hold"), "volume"),
    (re.compile(r"几片|几张|几粒|几颗|几包|几袋|几个|几只|多少片|多少张|多少粒|多少包|多少个|how\s+many|count"), "count"),
    (re.compile(r"功率|电池|电量|毫安|瓦|battery|mah|watts?|power"), "power"),
)
# question words -> words facts use for the same thing
_HINTS = (
    (re.compile(r"材质|材料|面料|成分|什么做|啥做|made\s+of|material|fabric|ingredients?"),
     ("材质", "材料", "面料", "成分", "钢", "不锈钢", "棉", "铁", "material", "made", "steel", "cotton", "iron", "ingredients")),
    (re.compile(r"颜色|什么色|色号|colou?r"), ("颜色", "色", "color", "colour")),
    (re.compile(r"牌子|品牌|brand|who\s+makes"), ("品牌", "brand")),
    (re.compile(r"多重|重量|几斤|几公斤|heavy|weigh"), ("重量", "净含量", "净重", "weight", "net", "weighs")),
    (re.compile(r"产地|哪里产|哪产|哪里的|made\s+in|origin|where\s+is\s+it\s+from"), ("产地", "origin", "made", "产")),
    (re.compile(r"怎么用|怎么泡|怎么冲|如何使用|用法|冲泡|how\s+(?:to|do\s+i)\s+(?:use|brew|make|clean|wash)"),
     ("使用", "用法", "冲泡", "泡", "方法", "use", "brew", "steep", "wash", "clean")),
    (re.compile(r"洗碗机|清洗|怎么洗|dishwasher|wash|clean"), ("清洗", "洗碗机", "手洗", "dishwasher", "wash", "clean")),
    (re.compile(r"电磁炉|induction"), ("电磁炉", "induction")),
    (re.compile(r"烤箱|oven"), ("烤箱", "oven")),
)
_CLAUSE = re.compile(r"(?<=[。！？；;!?\n])|[，、](?=[^，、]{2,})|(?<=\.)\s+(?=[A-Z])")


def tokens(text: str) -> list[str]:
    """Retrieval tokens: English words (not stop words), numbers, Chinese characters and character pairs."""
    text = fold(text).lower()
    chars = [c for c in text if _CJK.match(c)]
    out = [c for c in chars if c not in _ZH_STOP]
    out += [a + b for a, b in zip(chars, chars[1:])]
    out += [w for w in _WORD.findall(text) if w not in _EN_STOP]
    return out


def words(text: str) -> set[str]:
    """Topic words for telling products apart: Chinese character pairs and English words of 2+ letters."""
    text = fold(text).lower()
    chars = [c for c in text if _CJK.match(c)]
    return {a + b for a, b in zip(chars, chars[1:])} | {w for w in _WORD.findall(text) if len(w) > 1 and w not in _EN_STOP}


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。！？!?；;])|(?<=\.)\s+", text) if s.strip()]


def clauses(text: str) -> list[str]:
    """Short spoken clauses: sentences, and Chinese sentences cut at their commas."""
    out = []
    for part in _CLAUSE.split(text):
        part = part.strip(" \t\n。.！!？?；;，,、")
        if len(part) >= 2:
            out.append(part)
    return out


def _strip_end(text: str) -> str:
    return text.rstrip("。.!！ ")


@dataclass(frozen=True)
class Fact:
    """One thing the record states, ready to be said."""

    text: str
    field: str  # where it came from: description, title, specs.<name>, selling_points, brand, category, options, terms
    numbers: tuple[Quantity, ...] = ()
    variant: str | None = None  # the variant it is about, if one

    @property
    def kinds(self) -> set[str]:
        return {q.kind for q in self.numbers if q.kind}


class ProductFacts:
    """What a reply, the selling talk, a model and the gate may draw on for one product."""

    def __init__(self, product: Product, terms: Sequence[str] = ()) -> None:
        self.product = product
        zh = product.lang == "zh"
        facts: list[Fact] = []

        def add(text: str, field: str, variant: str | None = None) -> None:
            text = _strip_end(text.strip())
            if text and all(f.text != text for f in facts):
                facts.append(Fact(text, field, tuple(find_numbers(text)), variant))

        for point in product.selling_points:
            add(point, "selling_points")
        for clause in clauses(product.description):
            add(clause, "description")
        for name, value in product.specs.items():
            add(f"{name}是{value}" if zh else f"the {name.lower()} is {value}", f"specs.{name}")
        if product.brand:
            add(f"品牌是{product.brand}" if zh else f"the brand is {product.brand}", "brand")
        if product.category:
            add(f"属于{product.category}" if zh else f"it's in {product.category}", "category")
        for name, values in _options(product.variants).items():
            add(f"{name}有{'、'.join(values)}" if zh else f"it comes in {', '.join(values)}", f"options.{name}")
        self.facts = facts
        self.terms = [_strip_end(t) for t in terms if t.strip()]
        own = [*sentences(product.description), *product.selling_points]
        self.shipping = [t for t in [*terms, *own] if any(w in t.lower() for w in _SHIP_WORDS)]
        self.after_sales = [t for t in [*terms, *own] if any(w in t.lower() for w in _AFTER_WORDS)]
        backing = [product.title, *(f.text for f in facts), *self.terms, *(v.label for v in product.variants)]
        self.numbers = [q for text in backing for q in find_numbers(text)]
        self._index: bm25s.BM25 | None = None

    # ---------------------------------------------------------------- retrieval

    def _docs(self) -> list[list[str]]:
        return [tokens(f.text) + [f"<{k}>" for k in f.kinds] + self._field_words(f) for f in self.facts]

    @staticmethod
    def _field_words(fact: Fact) -> list[str]:
        name = fact.field.split(".", 1)[-1] if "." in fact.field else fact.field
        return tokens(name) if fact.field.startswith(("specs.", "options.", "brand")) else []

    def query(self, question: str) -> list[str]:
        """The question's retrieval tokens: its words, the kinds of quantity it asks about, hint words."""
        q = fold(question).lower()
        out = tokens(q) + [f"<{kind}>" for pattern, kind in _ASKS if pattern.search(q)]
        out += [t for w in self._hint_words(q) for t in tokens(w) if len(t) > 1]  # no stray characters (手洗 -> 单手)
        return out

    @staticmethod
    def _hint_words(question: str) -> list[str]:
        return [w for pattern, found in _HINTS if pattern.search(question) for w in found]

    def search(self, question: str, k: int = 2) -> list[tuple[Fact, float]]:
        """The facts ``question`` is about, best first (score > 0), at most ``k``."""
        if not self.facts:
            return []
        query = [t for t in self.query(question) if t]
        if not query:
            return []
        if self._index is None:
            self._index = bm25s.BM25()
            self._index.index(self._docs(), show_progress=False)
        vocab = self._index.vocab_dict
        known = [t for t in query if t in vocab]
        if not known:
            return []
        ids, scores = self._index.retrieve([known], k=min(k, len(self.facts)), show_progress=False)
        return [(self.facts[int(i)], float(s)) for i, s in zip(np.ravel(ids), np.ravel(scores)) if s > 0]

    def best_fact(self, question: str) -> str:
        """The fact that answers ``question`` best, or "" when no fact is about it (then: no invention)."""
        found = self.search(question, k=2)
        if not found:
            return ""
        asked = asks_about_kind(question)
        hints = [w.lower() for w in self._hint_words(fold(question).lower()) if len(w) > 1]
        for fact, _score in found:
            if asked & fact.kinds:
                return fact.text  # it asks for a weight, a duration...: this fact states one
        for fact, _score in found:
            if _shares_content(question, fact.text) or any(h in fact.text.lower() for h in hints):
                return fact.text
        return ""  # nothing the record says is about it: no invention

    @staticmethod
    def best_term(question: str, pool: list[str]) -> str:
        if not pool:
            return ""
        asked = words(question)
        ranked = sorted(pool, key=lambda t: len(asked & words(t)), reverse=True)
        return _strip_end(ranked[0])

    # ---------------------------------------------------------------- what the record backs

    def backs(self, quantity: Quantity) -> bool:
        """Whether the record (or the shop's terms) states this number."""
        return any(quantity.same(q) for q in self.numbers)

    def mentions(self, text: str) -> bool:
        """Whether ``text`` talks about this product: shares a content word with its facts, options or title."""
        words = {t for t in tokens(text) if len(t) > 1 or _CJK.match(t)}
        if not words:
            return False
        vocab = {t for f in self.facts for t in tokens(f.text)} | set(tokens(self.product.title))
        return bool(words & vocab)


def _shares_content(question: str, fact: str) -> bool:
    """The question and the fact share a word or a character pair, or two characters (not question words)."""
    shared = set(tokens(question)) & set(tokens(fact))
    return any(len(t) > 1 for t in shared) or len(shared) >= 2


def _options(variants: Sequence[Variant]) -> dict[str, list[str]]:
    """Option name -> its values over the variants, in order (``{"容量": ["500ml", "750ml"]}``)."""
    out: dict[str, list[str]] = {}
    for v in variants:
        for name, value in v.options.items():
            values = out.setdefault(name, [])
            if value not in values:
                values.append(value)
    return out


def asks_about_offer(question: str) -> bool:
    """A price question that is really about coupons, gifts or discounts."""
    return bool(_OFFER_QUESTION.search(question))


def asks_about_kind(question: str) -> set[str]:
    """The kinds of quantity a question asks about (weight, duration...)."""
    q = fold(question).lower()
    return {kind for pattern, kind in _ASKS if pattern.search(q)}


def product_facts(product: Product, lang: str, now: datetime, facts: Sequence[str] = ()) -> dict[str, Any]:
    """What a model is told about a product (as quoted JSON data): catalog facts only, prices as spoken.

    ``facts``: the facts retrieved for the question (all of the product's when empty); ``variants``: each
    variant's price now, availability and stock.
    """
    return {
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": spoken_money(product.price_at(now), product.currency, lang),
        "price_is_from": product.prices_differ(now),
        "regular_price": spoken_money(product.price, product.currency, lang),
        "on_sale": product.on_sale_at(now),
        "sale_ends": product.sale_end.isoformat() if product.sale_active(now) and product.sale_end else None,
        "stock": product.stock,
        "in_stock": product.in_stock,
        "availability": product.availability,
        "specs": dict(product.specs),
        "selling_points": list(product.selling_points),
        "description": product.description,
        "facts": list(facts),
        "variants": [{
            "id": v.id, "name": v.label, "options": dict(v.options),
            "price": spoken_money(product.variant_price_at(v, now), product.currency, lang),
            "in_stock": product.variant_in_stock(v), "availability": product.variant_availability(v), "stock": v.stock,
        } for v in product.variants],
    }


__all__ = ["Fact", "ProductFacts", "asks_about_kind", "asks_about_offer", "clauses", "product_facts", "sentences",
           "tokens", "words"]
