"""The product fact base: what a reply or a model may draw on for one product, and retrieval over it.

Everything here comes from the catalog record and the shop's own terms, so
what the host may say and what it can back are the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from products.model import Product
from products.money import spoken_money

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


def tokens(text: str) -> set[str]:
    text = text.lower()
    chars = [c for c in text if _CJK.match(c)]
    grams = {a + b for a, b in zip(chars, chars[1:])}
    return grams | {w for w in _WORD.findall(text) if w not in _EN_STOP}


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。！？!?；;])|(?<=\.)\s+", text) if s.strip()]


def _strip_end(text: str) -> str:
    return text.rstrip("。.!！ ")


class ProductFacts:
    """What a reply may draw on for one product: catalog specs, points and text, and the shop's terms."""

    def __init__(self, product: Product, terms: Sequence[str]) -> None:
        zh = product.lang == "zh"
        specs = [(k, f"{k}是{v}" if zh else f"the {k.lower()} is {v}") for k, v in product.specs.items()]
        self.spec_lines = specs
        self.points = list(product.selling_points)
        own = sentences(product.description) + self.points
        self.shipping = [t for t in [*terms, *own] if any(w in t.lower() for w in _SHIP_WORDS)]
        self.after_sales = [t for t in [*terms, *own] if any(w in t.lower() for w in _AFTER_WORDS)]

    def best_fact(self, question: str) -> str:
        """The spec or selling point that shares the most with the question, or "" (then: no invention)."""
        asked = tokens(question)
        lowered = question.lower()
        best, best_score = "", 0.0
        for name, line in self.spec_lines:
            score = len(asked & tokens(line))
            for key, hints in _SPEC_HINTS.items():
                if key in name.lower() and any(h in lowered for h in hints):
                    score += 3
            if score > best_score:
                best, best_score = line, score
        for point in self.points:
            score = len(asked & tokens(point))
            if score > best_score:
                best, best_score = point, score
        return _strip_end(best) if best_score >= 2 else ""

    @staticmethod
    def best_term(question: str, pool: list[str]) -> str:
        if not pool:
            return ""
        asked = tokens(question)
        ranked = sorted(pool, key=lambda t: len(asked & tokens(t)), reverse=True)
        return _strip_end(ranked[0])


def asks_about_offer(question: str) -> bool:
    """A price question that is really about coupons, gifts or discounts."""
    return bool(_OFFER_QUESTION.search(question))


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
