"""Numbers as hosts say them: digits, Chinese numerals and English number words, to Decimal."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_ONES = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
_EN_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}

DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?"
CN_NUM = r"[零〇一二两三四五六七八九十百千万]+(?:点[零〇一二三四五六七八九]+)?"
_EN_WORD = "(?:" + "|".join(sorted([*_EN_ONES, *_EN_TENS, "hundred", "thousand"], key=len, reverse=True)) + ")"
EN_WORDS = rf"\b{_EN_WORD}(?:(?:\s+and\s+|[\s-]+){_EN_WORD})*\b"

#: A number nobody says: 20 or more digits and separators, 20 Chinese numerals, 16 number words in a row.
#: The number scanners' work grows with the square of a run's length, so such runs are refused or
#: dropped before they reach them.
LONG_NUMBER = re.compile(
    rf"\d[\d,.]{{19,}}|[零〇一二两三四五六七八九十百千万亿点]{{20,}}|(?:\b{_EN_WORD}\b(?:\s+and\s+|[\s-]+)?){{16,}}", re.I
)


def cn_to_decimal(text: str) -> Decimal:
    """``五十九`` -> 59, ``一千零九十九`` -> 1099, ``八五`` -> 85, ``五十九点九`` -> 59.9."""
    whole, _, frac = text.partition("点")
    if not any(ch in _CN_UNITS or ch == "万" for ch in whole):
        value = int("".join(str(_CN_DIGITS[ch]) for ch in whole) or "0")
    else:
        total = section = num = 0
        for ch in whole:
            if ch in _CN_DIGITS:
                num = _CN_DIGITS[ch]
            elif ch in _CN_UNITS:
                section += (num or 1) * _CN_UNITS[ch]
                num = 0
            else:  # 万
                total += (section + num) * 10000
                section = num = 0
        value = total + section + num
    if frac:
        return Decimal(f"{value}.{''.join(str(_CN_DIGITS[ch]) for ch in frac)}")
    return Decimal(value)


def en_to_decimal(text: str) -> Decimal:
    """``nineteen`` -> 19, ``one hundred and twenty-nine`` -> 129."""
    total = current = 0
    for word in re.split(r"[\s-]+", text.lower()):
        if word in ("", "and"):
            continue
        if word in _EN_ONES:
            current += _EN_ONES[word]
        elif word in _EN_TENS:
            current += _EN_TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
    return Decimal(total + current)


def to_number(text: str) -> Decimal:
    text = text.strip()
    if re.fullmatch(DIGITS, text):
        return Decimal(text.replace(",", ""))
    if re.fullmatch(CN_NUM, text):
        return cn_to_decimal(text)
    return en_to_decimal(text)


def fold_chars(text: str) -> str:
    """NFKC per character where that keeps the length (full-width digits, ￥, ％), so spans stay valid."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def fold(text: str) -> str:
    """:func:`fold_chars`, and every :data:`LONG_NUMBER` run blanked to ``#`` (same length): what the
    number scanners read."""
    folded = fold_chars(text)
    if LONG_NUMBER.search(folded) is None:
        return folded
    return LONG_NUMBER.sub(lambda m: "#" * (m.end() - m.start()), folded)
