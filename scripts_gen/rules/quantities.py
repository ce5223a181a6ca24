"""Numbers with their units, as catalogs write them and hosts say them: 12小时, 十二小时, 80度, 2.4 kg, 260°C, 10.25-inch.

A :class:`Quantity` keeps the value and a canonical unit (and its kind: weight, length...), so ``12小时`` and
``12 hours`` are the same fact, ``八十度`` is ``80°C``, and a number a sentence states can be compared with the
numbers a product's record states.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from scripts_gen.rules.hits import RuleHit
from scripts_gen.rules.numbers import CN_NUM, DIGITS, EN_WORDS, fold, to_number

#: kind -> canonical unit -> the ways it is written (longest first within the pattern)
UNITS: dict[str, dict[str, tuple[str, ...]]] = {
    "duration": {"h": ("个小时", "小时", "hours", "hour", "hrs", "hr", "h"), "min": ("分钟", "minutes", "minute", "mins", "min"),
                 "s": ("秒钟", "秒", "seconds", "second", "secs", "sec"), "day": ("天", "days", "day"),
                 "week": ("周", "星期", "weeks", "week"), "month": ("个月", "months", "month"),
                 "year": ("年", "years", "year", "yrs")},
    "temperature": {"°C": ("°c", "℃", "摄氏度", "度", "degrees celsius", "degrees c", "degrees", "degree"), "°F": ("°f", "℉", "degrees fahrenheit", "degrees f", "fahrenheit")},
    "weight": {"kg": ("公斤", "千克", "kgs", "kg", "kilograms", "kilogram", "kilos", "kilo"), "g": ("克", "grams", "gram", "g"),
               "mg": ("毫克", "mg"), "jin": ("斤",), "lb": ("磅", "pounds", "pound", "lbs", "lb"),
               "oz": ("盎司", "ounces", "ounce", "oz")},
    "volume": {"ml": ("毫升", "ml", "milliliters", "millilitres"), "l": ("升", "liters", "litres", "liter", "litre", "l")},
    "length": {"cm": ("厘米", "公分", "cm", "centimeters", "centimetres"), "mm": ("毫米", "mm", "millimeters", "millimetres"),
               "m": ("米", "meters", "metres", "meter", "metre", "m"), "in": ("英寸", "寸", "inches", "inch", "in", '"'),
               "ft": ("英尺", "feet", "foot", "ft")},
    "battery": {"mAh": ("毫安时", "毫安", "mah"), "Wh": ("瓦时", "wh")},
    "power": {"W": ("瓦", "watts", "watt", "w")},
    "voltage": {"V": ("伏", "volts", "volt", "v")},
    "frequency": {"Hz": ("赫兹", "hz")},
    "light": {"lm": ("流明", "lumens", "lumen", "lm")},
    "colour_temperature": {"K": ("开尔文", "kelvin", "k")},
    "pressure": {"Pa": ("帕", "pa", "pascals"), "kPa": ("千帕", "kpa")},
    "sound": {"dB": ("分贝", "db", "decibels")},
    "density": {"gsm": ("gsm", "克重", "g/m2", "g/m²")},
    "percent": {"%": ("%", "％", "percent", "per cent")},
    "energy": {"kcal": ("千卡", "大卡", "kcal", "calories", "calorie", "cal"), "kJ": ("千焦", "kj", "kilojoules")},
    "count": {"pcs": ("片", "张", "粒", "颗", "支", "包", "袋", "盒", "瓶", "罐", "桶", "听", "条", "双", "套", "只", "个", "件",
                      "块", "pouches", "pouch",
                      "pieces", "piece", "pcs", "pc", "sheets", "sheet", "masks", "mask", "pods", "pod", "bags", "bag",
                      "sachets", "sachet", "count", "ct", "packs", "pack", "pairs", "pair", "次", "回", "档", "挡",
                      "levels", "level", "settings", "modes", "drops", "drop", "bowls", "bowl", "cups", "servings",
                      "serving", "towels", "times")},
}
#: unit -> (its kind's base unit, the factor to it): 斤 and pounds in kilograms, inches and metres in centimetres
#: (°F has its own formula: see :func:`to_base`)
_TO_BASE: dict[str, tuple[str, Decimal]] = {
    "g": ("kg", Decimal("0.001")), "mg": ("kg", Decimal("0.000001")), "jin": ("kg", Decimal("0.5")),
    "lb": ("kg", Decimal("0.45359237")), "oz": ("kg", Decimal("0.028349523125")),
    "mm": ("cm", Decimal("0.1")), "m": ("cm", Decimal(100)), "in": ("cm", Decimal("2.54")), "ft": ("cm", Decimal("30.48")),
    "l": ("ml", Decimal(1000)), "min": ("s", Decimal(60)), "h": ("s", Decimal(3600)), "day": ("s", Decimal(86400)),
    "week": ("s", Decimal(604800)), "kPa": ("Pa", Decimal(1000)),
}
_KIND_OF = {unit: kind for kind, units in UNITS.items() for unit in units}
_CANON = {word: unit for units in UNITS.values() for unit, words in units.items() for word in words}
_WORDS = sorted(_CANON, key=len, reverse=True)
# ASCII unit words end at a word boundary (5 kg, not 5 kgb); CJK ones need none
_UNIT = "|".join(re.escape(w) + (r"(?![a-z])" if w.isascii() and w[-1].isalpha() else "") for w in _WORDS)
_QUANTITY = re.compile(rf"(?P<num>{DIGITS}|{CN_NUM}|{EN_WORDS})\s*(?:-\s*)?(?:[小大](?=[罐瓶包袋盒桶片]))?(?P<unit>{_UNIT})", re.I)
_SET_OF = re.compile(rf"\b(?:set|pack|box|bundle|case|bag)\s+of\s+(?P<num>{DIGITS}|{EN_WORDS})", re.I)
_BARE = re.compile(rf"(?<![\d.]){DIGITS}(?![\d.])")


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    unit: str  # canonical: "h", "°C", "kg", "ml", "cm", "pcs"...; "" for a bare number
    span: tuple[int, int] = (0, 0)

    @property
    def kind(self) -> str:
        return _KIND_OF.get(self.unit, "")

    def base(self) -> Quantity:
        """The same amount in its kind's base unit (kg, cm, ml, s, °C...): ``八斤`` is 4 kg, ``5 ft`` 152.4 cm."""
        value, unit = to_base(self.value, self.unit)
        return Quantity(value, unit, self.span)

    def same(self, other: Quantity) -> bool:
        """The same amount of the same thing (a bare number matches any unit's value)."""
        return self.value == other.value and (not self.unit or not other.unit or self.unit == other.unit)


def to_base(value: Decimal, unit: str) -> tuple[Decimal, str]:
    """``value`` of ``unit`` (canonical) in its kind's base unit; a unit without a conversion is its own base."""
    if unit == "°F":
        return (value - 32) * 5 / 9, "°C"
    base, factor = _TO_BASE.get(unit, (unit, Decimal(1)))
    return value * factor, base


def is_unit_word(word: str) -> bool:
    """Whether ``word`` (lower case) is a way a unit is written ("inch", "克", "pack")."""
    return word in _CANON


def unit_words(unit: str) -> tuple[str, ...]:
    """The ways ``unit`` (canonical: "kg", "cm", "°C") is written."""
    return UNITS[_KIND_OF[unit]][unit]


def find_quantities(text: str) -> list[Quantity]:
    """Every number with a unit in ``text``, in order (spans index ``fold(text)``)."""
    folded = fold(text)
    out = []
    for m in _QUANTITY.finditer(folded):
        word = m["unit"].lower()
        unit = _CANON.get(word) or _CANON.get(m["unit"])
        if unit is None:
            continue
        try:
            value = to_number(m["num"])
        except (ValueError, KeyError, ArithmeticError):
            continue
        if unit == "year" and 1900 <= value <= 2200:
            unit = ""  # 2024年 is a year, not a duration
        out.append(Quantity(value, unit, m.span()))
    for m in _SET_OF.finditer(folded):  # "set of 2", "pack of 12": the number follows its unit
        if not any(q.span[0] <= m.start("num") < q.span[1] for q in out):
            try:
                out.append(Quantity(to_number(m["num"]), "pcs", m.span()))
            except (ValueError, KeyError, ArithmeticError):
                continue
    return sorted(out, key=lambda q: q.span)


def find_numbers(text: str) -> list[Quantity]:
    """Every number in ``text``: with its unit where it has one, else bare (digits only)."""
    folded = fold(text)
    found = find_quantities(folded)
    taken = [q.span for q in found]
    for m in _BARE.finditer(folded):
        if not any(a <= m.start() < b for a, b in taken):
            found.append(Quantity(Decimal(m.group().replace(",", "")), "", m.span()))
    return sorted(found, key=lambda q: q.span)


def kinds_in(text: str) -> set[str]:
    """The kinds of quantity ``text`` states (weight, duration...)."""
    return {q.kind for q in find_quantities(text) if q.kind}


def fact_hits(text: str, backs: Callable[[Quantity], bool], handled: Iterable[tuple[int, int]]) -> list[RuleHit]:
    """``fact_claim`` hits: numbers ``text`` states that the record does not (``backs`` says which it does).

    Numbers inside ``handled`` spans (prices, discounts, stock counts, dates: other rules judge those) are
    skipped, and so are "一个" / "one" counts, which say nothing about the product.
    """
    taken = list(handled)
    hits = []
    for q in find_numbers(text):
        if any(a <= q.span[0] < b for a, b in taken):
            continue
        said = text[q.span[0]:q.span[1]]
        if q.kind == "count" and q.value <= 1 and not said[:1].isdigit():
            continue
        if not backs(q):
            hits.append(RuleHit("fact_claim", q.span, f"{said!r}: no field of the product states this number"))
    return hits
