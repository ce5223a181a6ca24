"""Prices and discounts in a sentence, and whether the catalog backs them.

``price_claim``
    Every price-like number -- ``59元``, ``九块九``, ``五十九元``, ``¥59``,
    ``$19.99``, ``59 yuan``, ``19.99 dollars``, ``到手价59`` -- must equal the
    product's price or sale price (any catalog price when no sku is given).  An
    amount introduced as a saving (``省10元``, ``$5 off``) may equal price minus
    sale price.  The currency, when the text names one, must be the product's.
``discount_claim``
    ``5折``, ``八五折``, ``半价``, ``20% off`` must match sale price / price.
    Other percentages must be that ratio or appear in the product's catalog text
    (``聚酯纤维88%`` in the specs).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from products.model import Product
from scripts_gen.rules.hits import RuleHit
from scripts_gen.rules.numbers import CN_NUM, DIGITS, EN_WORDS, cn_to_decimal, fold, to_number

_CNY, _USD = frozenset({"CNY", "RMB"}), frozenset({"USD"})
_SYMBOL_CURRENCY = {
    "¥": frozenset({"CNY", "RMB", "JPY"}),
    "$": _USD,
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "rmb": _CNY,
    "cny": _CNY,
    "usd": _USD,
    "eur": frozenset({"EUR"}),
    "gbp": frozenset({"GBP"}),
}
_EN_UNIT_CURRENCY = {"dollar": _USD, "buck": _USD, "cent": _USD, "yuan": _CNY, "rmb": _CNY, "usd": _USD, "euro": frozenset({"EUR"})}
_MEASURE_WORDS = set("件个只条套盒瓶支双次天年月日号位斤克种款色台部张本把副份层")
_SAVING_CUE = re.compile(r"(?:省|减|降|便宜|优惠|让利|立减|直降|save|saving|discount)\s*(?:了)?\s*$", re.I)

_P_DOLLARS_CENTS = re.compile(
    rf"(?P<a>{DIGITS}|{EN_WORDS})\s*(?:dollars?|bucks?)\s*(?:and\s+)?(?P<b>{DIGITS}|{EN_WORDS})\s*cents?\b", re.I
)
_P_SYMBOL = re.compile(rf"(?P<sym>[¥$€£]|\b(?:RMB|CNY|USD|EUR|GBP)\b)\s*(?P<num>{DIGITS})(?P<mult>[万千])?", re.I)
_COUNT_BEFORE = re.compile(r"(?:数量|块数|颗粒数)[是为有:：]?$")  # "一共120块" may well be a price
_P_ZH_UNIT = re.compile(rf"(?P<num>{DIGITS}|{CN_NUM})(?P<mult>(?<=\d)[万千])?\s*(?P<unit>块钱|元|块|圆|角|毛)")
_P_EN_UNIT = re.compile(rf"(?P<num>{DIGITS}|{EN_WORDS})\s*(?P<unit>dollars?|bucks?|yuan|rmb|usd|euros?|cents?)\b", re.I)
_P_ZH_CUE = re.compile(
    rf"(?:到手价|秒杀价|活动价|优惠价|券后价|现价|原价|售价|价格|价钱|只要|只需|仅需|仅要|低至|才|满|立减|直降|减|省|降)\s*(?:是|为|[:：])?\s*(?P<num>{DIGITS}|{CN_NUM})"
)
_P_EN_CUE = re.compile(rf"\b(?P<cue>price(?:\s+is)?|priced\s+at|only|just|costs?|save)\s+(?P<num>{DIGITS})\b", re.I)
_ZH_AFTER_PRICE = set("减省送包起就即到")

_P_ZHE = re.compile(r"(?P<num>\d+(?:\.\d+)?|[一二三四五六七八九](?:点?[一二三四五六七八九])?)\s*折(?!叠|扣|腾)")
_P_HALF = re.compile(r"半价|\bhalf[- ](?:price|off)\b", re.I)
_P_PCT = re.compile(rf"(?P<num>{DIGITS})\s*(?:%|percent\b)|百分之(?P<cn>{CN_NUM})", re.I)
_P_PCT_OFF = re.compile(r"^\s*off\b", re.I)


@dataclass(frozen=True)
class MoneyMention:
    value: Decimal
    span: tuple[int, int]
    currencies: frozenset[str] | None  # None: the text names no currency
    saving: bool = False  # introduced as a saving ("省10元", "$5 off")


@dataclass(frozen=True)
class DiscountMention:
    kind: str  # "ratio": share of the price paid (5折 -> 0.5); "percent": a percentage
    value: Decimal
    places: int  # decimal places the claim is stated to (ratio scale)
    span: tuple[int, int]
    is_discount: bool = True  # False for a bare percentage ("88%")


def _places(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _next_char(text: str, pos: int) -> str:
    return text[pos] if pos < len(text) else ""


def find_money(text: str) -> list[MoneyMention]:
    """Every price-like amount in ``text``, in order of appearance."""
    text = fold(text)
    found: list[MoneyMention] = []
    taken: list[tuple[int, int]] = []

    def add(value: Decimal, start: int, end: int, currencies: frozenset[str] | None) -> None:
        if _overlaps((start, end), taken):
            return
        before = text[max(0, start - 6) : start]
        saving = bool(_SAVING_CUE.search(before) or _P_PCT_OFF.match(text[end:]))
        taken.append((start, end))
        found.append(MoneyMention(value, (start, end), currencies, saving))

    for m in _P_DOLLARS_CENTS.finditer(text):
        add(to_number(m["a"]) + to_number(m["b"]) / 100, m.start(), m.end(), _USD)
    for m in _P_SYMBOL.finditer(text):
        value = to_number(m["num"]) * {"万": 10000, "千": 1000}.get(m["mult"] or "", 1)
        add(value, m.start(), m.end(), _SYMBOL_CURRENCY[m["sym"].lower()])
    for m in _P_ZH_UNIT.finditer(text):
        value = to_number(m["num"]) * {"万": 10000, "千": 1000}.get(m["mult"] or "", 1)
        unit, end = m["unit"], m.end()
        nxt = _next_char(text, end)
        if unit in ("角", "毛"):
            if nxt and nxt != "钱" and unicodedata.category(nxt).startswith("L"):
                continue  # 不掉毛, 五角星: not money
            value = value / 10
        elif unit in ("元", "块"):
            jiao = re.match(r"([0-9一二三四五六七八九])([角毛])?", text[end:])
            after = _next_char(text, end + (jiao.end() if jiao else 0))
            if jiao and (jiao[2] or (after not in _MEASURE_WORDS and not after.isdigit())):
                value += Decimal(to_number(jiao[1])) / 10
                end += jiao.end()
            elif unit == "块" and nxt and unicodedata.category(nxt).startswith("L"):
                continue  # 三块毛巾: a measure word, not money
            elif unit == "块" and _COUNT_BEFORE.search(text[max(0, m.start() - 4):m.start()]):
                continue  # 数量是120块: a count
        add(value, m.start(), end, _CNY)
    for m in _P_EN_UNIT.finditer(text):
        unit = m["unit"].lower().rstrip("s") if m["unit"].lower() not in ("usd",) else "usd"
        value = to_number(m["num"])
        if unit == "cent":
            value = value / 100
        add(value, m.start(), m.end(), _EN_UNIT_CURRENCY.get(unit, _USD))
    for m in _P_ZH_CUE.finditer(text):
        nxt = _next_char(text, m.end("num"))
        if nxt and (nxt in "%折." or nxt.isdigit() or (unicodedata.category(nxt).startswith("L") and nxt not in _ZH_AFTER_PRICE)):
            continue  # 只要3步, 才用了一次
        add(to_number(m["num"]), m.start("num"), m.end("num"), None)
    for m in _P_EN_CUE.finditer(text):
        rest = text[m.end("num") :]
        if re.match(r"\s*(?:%|percent\b)", rest, re.I):
            continue
        if not m["cue"].lower().startswith("save") and not re.fullmatch(r"[\d,]*\.\d\d", m["num"]):
            if re.match(r"\s*[A-Za-z]", rest):
                continue  # only 3 left (but "only 19.99 today" is a price)
        add(to_number(m["num"]), m.start("num"), m.end("num"), None)
    found.sort(key=lambda mention: mention.span)
    return found


def find_discounts(text: str) -> list[DiscountMention]:
    """Discount claims (``5折``, ``八五折``, ``半价``, ``20% off``) and bare percentages."""
    text = fold(text)
    found: list[DiscountMention] = []
    for m in _P_ZHE.finditer(text):
        num = m["num"]
        if num[0].isdigit():
            value = Decimal(num)
            ratio = value / 10 if "." in num or len(num) == 1 else value / 100
        elif "点" in num:
            ratio = cn_to_decimal(num) / 10
        else:
            ratio = cn_to_decimal(num) / (10 if len(num) == 1 else 100)
        found.append(DiscountMention("ratio", ratio, _places(ratio), m.span()))
    for m in _P_HALF.finditer(text):
        found.append(DiscountMention("ratio", Decimal("0.5"), 1, m.span()))
    for m in _P_PCT.finditer(text):
        pct = to_number(m["num"]) if m["num"] else cn_to_decimal(m["cn"])
        before = text[max(0, m.start() - 6) : m.start()]
        is_discount = bool(_SAVING_CUE.search(before) or _P_PCT_OFF.match(text[m.end() :]))
        found.append(DiscountMention("percent", pct, _places(pct) + 2, m.span(), is_discount))
    found.sort(key=lambda d: d.span)
    return found


# --------------------------------------------------------------------------- checks


def _quant(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_CATALOG_PCT = re.compile(rf"({DIGITS})\s*(?:%|percent)", re.I)


def money_hits(text: str, products: list[Product]) -> list[RuleHit]:
    """``price_claim`` hits: amounts no candidate product's prices (or saving) back."""
    hits = []
    for mention in find_money(text):
        said = text[mention.span[0] : mention.span[1]]
        candidates = [p for p in products if mention.currencies is None or p.currency in mention.currencies]
        if not candidates:
            hits.append(RuleHit("price_claim", mention.span, f"{said!r}: currency does not match the catalog"))
            continue
        backed: set[Decimal] = set().union(*(p.prices for p in candidates))
        if mention.saving:
            backed |= {p.price - p.sale_price for p in candidates if p.sale_price is not None}
        if mention.value not in backed:
            listed = ", ".join(sorted({str(v) for v in backed}))
            hits.append(RuleHit("price_claim", mention.span, f"{said!r} = {mention.value} is not a catalog amount ({listed})"))
    return hits


def discount_hits(text: str, products: list[Product]) -> list[RuleHit]:
    """``discount_claim`` hits: ratios and percentages the price and sale price (or the catalog text) do not back."""
    hits = []
    ratios = [p.sale_price / p.price for p in products if p.sale_price is not None]
    for d in find_discounts(text):
        said = text[d.span[0] : d.span[1]]
        if d.kind == "ratio":
            ok = any(_quant(r, d.places) == d.value for r in ratios)
        elif d.is_discount:
            ok = any(_quant((1 - r) * 100, d.places - 2) == d.value for r in ratios)
        else:
            ok = any(_quant(r * 100, d.places - 2) == d.value or _quant((1 - r) * 100, d.places - 2) == d.value for r in ratios)
            ok = ok or any(d.value in _catalog_percentages(p) for p in products)
        if not ok:
            hits.append(RuleHit("discount_claim", d.span, f"{said!r} is not backed by the catalog's price and sale price"))
    return hits


def _catalog_percentages(product: Product) -> set[Decimal]:
    blob = " ".join([product.title, product.description, *product.selling_points, *product.specs.values()])
    return {Decimal(m.group(1).replace(",", "")) for m in _CATALOG_PCT.finditer(fold(blob))}
