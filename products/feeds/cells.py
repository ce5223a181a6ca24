"""Spreadsheet cell values as catalog fields: money with its currency, stock counts, vocabularies, lists, specs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

_LIST_SEP = re.compile(r"[\r\n;；|｜]+")
_TAG_SEP = re.compile(r"[,，;；|｜]+")
_PAIR_SEP = re.compile(r"\s*[:：]\s*")
_MONEY = re.compile(r"^([^\d.+-]*?)\s*([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)\s*(\D*?)$")
_CURRENCY = {
    "¥": "CNY", "元": "CNY", "人民币": "CNY", "RMB": "CNY", "CNY": "CNY",
    "$": "USD", "US$": "USD", "美元": "USD", "USD": "USD", "HK$": "HKD", "港币": "HKD", "HKD": "HKD",
    "€": "EUR", "EUR": "EUR", "£": "GBP", "GBP": "GBP", "JPY": "JPY", "日元": "JPY",
}
_AVAILABILITY = {
    **dict.fromkeys(("有货", "在售", "现货", "instock", "available"), "in_stock"),
    **dict.fromkeys(("缺货", "售罄", "无货", "outofstock", "soldout"), "out_of_stock"),
    **dict.fromkeys(("预售", "preorder", "pre-order"), "preorder"),
    **dict.fromkeys(("backorder", "back-order"), "backorder"),
}
_KINDS = {
    **dict.fromkeys(("general", "普通"), "general"),
    **dict.fromkeys(("food", "食品"), "food"),
    **dict.fromkeys(("cosmetics", "化妆品"), "cosmetics"),
    **dict.fromkeys(("medicaldevice", "medical-device", "医疗器械"), "medical_device"),
    **dict.fromkeys(("children", "儿童用品"), "children"),
    **dict.fromkeys(("supplement", "保健食品"), "supplement"),
    **dict.fromkeys(("alcohol", "酒类"), "alcohol"),
}


def norm(text: str) -> str:
    """Comparable form of a header or a vocabulary word: NFKC, trimmed, lower case, no spaces/underscores."""
    text = unicodedata.normalize("NFKC", text).strip().lstrip("*").lower()
    return re.sub(r"[\s_]+", "", text)


def money(text: str) -> tuple[str, str | None]:
    """``"¥1,299.00"`` -> ``("1299.00", "CNY")``; ``"59"`` -> ``("59", None)``."""
    match = _MONEY.match(unicodedata.normalize("NFKC", text))
    if not match:
        raise ValueError("must be a number like 59.90, optionally with ¥, 元, $ or a currency code")
    before, number, after = match.groups()
    codes = set()
    for token in filter(None, (before.strip().upper(), after.strip().upper())):
        if token not in _CURRENCY:
            raise ValueError(f"unknown currency {token!r}")
        codes.add(_CURRENCY[token])
    if len(codes) > 1:
        raise ValueError(f"names two currencies: {', '.join(sorted(codes))}")
    return number.replace(",", ""), codes.pop() if codes else None


def _stock(text: str) -> str:
    try:
        count = Decimal(unicodedata.normalize("NFKC", text).replace(",", ""))
    except InvalidOperation:
        count = Decimal("NaN")
    if not count.is_finite() or count != count.to_integral_value():
        raise ValueError("must be a whole number")
    if count < 0:
        raise ValueError("must be 0 or more")
    return str(int(count))


def _vocabulary(table: dict[str, str], expected: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            return table[norm(text)]
        except KeyError:
            raise ValueError(f"unknown word; expected {expected}") from None

    return parse


def spec_pairs(text: str) -> dict[str, str]:
    pairs = [_PAIR_SEP.split(part.strip(), maxsplit=1) for part in _LIST_SEP.split(text) if part.strip()]
    if any(len(pair) != 2 or not all(pair) for pair in pairs):
        raise ValueError("expected name:value pairs like 容量:500ml;材质:304不锈钢")
    return dict(pairs)


def _split(separators: re.Pattern[str]) -> Callable[[str], list[str]]:
    return lambda text: [part.strip() for part in separators.split(text) if part.strip()]


PARSE = {
    "selling_points": _split(_LIST_SEP),
    "images": _split(_LIST_SEP),
    "tags": _split(_TAG_SEP),
    "stock": _stock,
    "availability": _vocabulary(_AVAILABILITY, "有货, 缺货, 预售, in stock, out of stock, preorder or backorder"),
    "kind": _vocabulary(_KINDS, "general, food, cosmetics, medical_device, children, supplement, alcohol "
                                "or 普通, 食品, 化妆品, 医疗器械, 儿童用品, 保健食品, 酒类"),
    "currency": lambda text: _CURRENCY.get(unicodedata.normalize("NFKC", text).strip().upper(), text),
}
