"""Variant truth: what a sentence says about "the 750" must be true of the 750.

A clause that names one variant (by an option value such as ``750ml``, ``黑色``,
``XL``, or the number alone, ``750``) has its price, stock and availability
claims checked against that variant; a clause naming none, against the
product.  ``availability_claim``: "有货" / "in stock" about something that
cannot be ordered, or "没货" / "sold out" about something that can.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from products.model import Product, Variant
from scripts_gen.rules.hits import RuleHit
from scripts_gen.rules.money import find_money
from scripts_gen.rules.numbers import cn_to_decimal, fold
from scripts_gen.rules.quantities import Quantity, find_quantities, is_unit_word, unit_words

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CLAUSES = re.compile(r"[^，。；！？,;!?]+")
_IN_STOCK = re.compile(r"有货|现货|有现货|能买到|可以(?:直接)?(?:下单|拍)|(?<![a-z])(?:in\s+stock|available\s+now|can\s+order\s+it)",
                       re.I)
_OUT = re.compile(r"(?<![快要将就])(?:没货|无货|缺货|断货|卖完|售罄|卖光)|暂时没有"
                  r"|(?<!almost )(?<![a-z])(?:sold\s+out|out\s+of\s+stock|not\s+available)", re.I)  # "快卖完": urgency


_SIZES = {"xs": ("extra small", "特小"), "s": ("小码", "s码"), "m": ("medium", "中码", "m码"),
          "l": ("large", "大码", "l码"), "xl": ("extra large", "x-large", "加大", "xl码"),
          "xxl": ("2xl", "xx-large", "加加大", "xxl码"), "grey": ("gray", "灰色"), "gray": ("grey", "灰色")}


def _keys(variant: Variant, siblings: Sequence[Variant], derived: bool = True) -> frozenset[str]:
    """How a viewer or the host may name ``variant``: option values (and their plain words: medium for M),
    values without 色/款/码, the number of a value with a unit when no sibling shares it, its title and id.

    ``derived=False``: only the values themselves, their numbers and size words: the shortened forms ("bag" for "100 g
    refill bag", "燕麦" for "燕麦色") name the variant only in its own product's context.  Worked out once per
    variant and siblings (every comment looks them up, for every product)."""
    others = tuple(tuple(s.options.values()) for s in siblings if s is not variant)
    return _keys_of(tuple(variant.options.values()), variant.title, variant.id, others, derived)


@functools.lru_cache(maxsize=8192)
def _keys_of(options: tuple[str, ...], title: str, vid: str, siblings: tuple[tuple[str, ...], ...],
             derived: bool) -> frozenset[str]:
    keys: set[str] = set()
    values = [*options, title, vid]
    values += [part for v in options for part in re.split(r"\s*/\s*", v) if "/" in v]
    for value in values:
        value = _CN_COUNT.sub(lambda m: str(cn_to_decimal(m.group())), fold(value).lower().strip())  # 两支装 -> 2支装
        if not value:
            continue
        keys.add(value)
        for amount in _AMOUNT.finditer(value):  # "50 ml", "100 g pouch" are written "50ml", "100g" as often
            keys.add(amount.group(1) + amount.group(2))
        for q in find_quantities(value):  # "16 inch" is also written "16in", "16-inch", 16寸
            if q.unit in _SPELLED_UNITS:
                said = value[q.span[0]:q.span[1]]
                digits = said.split()[0] if " " in said else f"{q.value.normalize():f}"
                keys.update(f"{digits}{sep}{w}" for w in unit_words(q.unit) for sep in ("", "-") if w != '"')
        keys.update(_SIZES.get(value, ()))
        for group in _ALIASES:  # 旅行装 is what viewers call 小样
            if any(word in value for word in group):
                keys.update(group)
        if len(value) > 2 and value[-1] in "装款码号":
            keys.add(value[:-1])  # 单只装 -> 单只
        if not value.isascii() and len(value) > 2 and value[-1] in "版款":
            keys.add(value[:-1] + ("款" if value[-1] == "版" else "版"))  # 标准版 is asked for as 标准款
        if "套装" in value:
            keys.add(value.replace("套装", "装"))  # 旅行套装 is 旅行装 in chat
        if not value.isascii() and len(stem := _EDITION.sub("", value)) >= 2 and stem != value and stem not in _GENERIC_ZH:
            keys.add(stem)  # 分杯套装版 -> 分杯
        number = _NUMBER.search(value)
        if number and number.group() != value:
            # "10" names "US 10" (both colours of it), and "16" names "iPhone 16" though "iPhone 16 Pro" extends
            # it; not when another value has that number for something else ("2" of "2 Pack" and "US 2")
            others = {n.group() for sibling in siblings for v in sibling
                      if (n := _NUMBER.search(low := fold(v).lower().strip())) and low != value and not low.startswith(value)}
            if number.group() not in others:
                keys.add(number.group())
        if not derived:
            continue
        words = re.split(r"[\s,]+", value)
        if len(words) > 1:  # "heather grey" -> "grey", "silver mist" -> "silver", "tinted, light-medium" -> "tinted"
            keys.update(w for w in words if w.isascii() and len(w) > 2 and w.isalpha()
                        and w not in _GENERIC and not is_unit_word(w))  # not "inch" of "16 inch"
        if not value.isascii():
            runs = {run for o in siblings for v in o for run in _ZH_RUN.findall(v)}
            for word in _ZH_RUN.findall(value):
                if any(word in run and word != run for run in runs):
                    continue  # "书包" of "书包+笔袋+防雨罩套装" would name its sibling 单书包 as well
                ending = next((g for g in _TRAILING_GENERIC if word.endswith(g) and value.endswith(g)), "")
                if ending and any(ending not in "".join(o) for o in siblings):
                    keys.add(ending)  # "书包+笔袋+防雨罩套装" is the 套装 (its siblings: 单书包)
                if word != value and word not in _GENERIC_ZH and not is_unit_word(word):
                    keys.add(word)  # "整箱20袋" and "原味 6L×4袋 整箱" are the 整箱
            stem = _distinct_part(value, siblings)
            if stem:
                keys.add(stem)  # 红烧牛肉 beside 香辣牛肉 is 红烧
        if not value.isascii() and value[-1] in _COLOURS:
            keys.update((value[-1] + "色", value[-1] + "的"))  # 云朵白 -> 白色, "白的"
        if len(value) > 1 and value[-1] in "色款码号装":
            keys.add(value[:-1])
    return frozenset(keys)


def _distinct_part(value: str, siblings: tuple[tuple[str, ...], ...]) -> str:
    """A Chinese value without the ending it shares with a sibling value (红烧牛肉, 香辣牛肉: 红烧); "" for none."""
    if len(value) < 4 or not re.fullmatch(r"[\u4e00-\u9fff]+", value):
        return ""
    for sibling in siblings:
        for other in sibling:
            other = fold(other).lower().strip()
            if other == value or len(other) != len(value) or not re.fullmatch(r"[\u4e00-\u9fff]+", other):
                continue
            shared = len(os.path.commonprefix([value[::-1], other[::-1]]))
            if shared >= 1 and len(value) - shared >= 2:
                stem = value[:len(value) - shared]
                return "" if stem in _GENERIC_ZH else stem
    return ""


_ALIASES = (("旅行装", "小样", "试用装", "体验装", "travel size", "trial size", "mini size"),
            ("替换装", "补充装", "refill"), ("礼盒", "礼盒装", "送礼", "gift box", "gift set", "for a gift"))
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s+([a-z]{1,3})(?![a-z])")
_COLOURS = "白黑红蓝绿灰粉紫黄橙金银棕咖米青"
_EDITION = re.compile(r"(?:套装|礼盒|组合|升级|标准)?[版款装]$")  # 分杯套装版: the edition word, not what names it
_GENERIC_ZH = frozenset("标准 经典 普通 基础 常规 升级 套装 礼盒 组合 家庭 规格 版本 款式 颜色 尺码 限定".split())  # name no option alone
_ZH_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_TRAILING_GENERIC = frozenset(("套装", "礼盒", "组合"))  # name the option they end, when a sibling lacks them
_GENERIC = frozenset("pack set size one the and with for piece pieces count".split())  # words that name no option
_SPELLED_UNITS = frozenset(("in", "ml", "l", "oz", "lb", "kg", "g", "cm", "mm", "W", "mAh"))
_SINGLE = re.compile(r"(?<![简清孤])单(?=[盒包袋瓶罐支件个只片条双套箱桶])")  # 单袋 is one bag (not 简单, 清单)
_CN_COUNT = re.compile(r"[一二两三四五六七八九十]+(?=[盒包袋瓶罐支件个只片条双套装箱桶])")
_FIT = re.compile(r"(?:runs?|too|偏)\s*(?:small|large|big|小|大)", re.I)  # a fit question, not a size named


def _named(key: str, text: str, units: frozenset[str] = frozenset()) -> bool:
    """Whether ``text`` names ``key``.  A bare number ("12" of the 12 lb bag) does not when it is a quantity of
    another unit or an age ("she's 12 yrs old", "12岁"): ``units`` are the variant's own."""
    if _NUMBER.fullmatch(key):
        for m in _key_pattern(key, True).finditer(text):
            if _AGE_AFTER.match(text, m.end()):
                continue
            here = [q for q in _quantities_of(text) if q.span[0] == m.start() and q.unit]
            if here and units and not any(q.unit in units for q in here):
                continue
            if here and not units and here[0].kind != "count":
                continue
            return True
        return False
    if key.isascii():
        return _key_pattern(key, False).search(text) is not None
    return key in text


@functools.lru_cache(maxsize=16384)
def _key_pattern(key: str, number: bool) -> re.Pattern[str]:
    """One compiled pattern per name (the ``re`` module's own cache holds 512: a catalog has more names)."""
    if number:
        return re.compile(rf"(?<![a-z0-9.]){re.escape(key)}(?![0-9.])")
    return re.compile(rf"(?<![a-z0-9'’]){re.escape(key)}(?![a-z0-9'’])")


@functools.lru_cache(maxsize=512)
def _quantities_of(text: str) -> tuple[Quantity, ...]:
    """The quantities of a comment, read once however many variants' numbers are looked up in it."""
    return tuple(find_quantities(text))


@functools.lru_cache(maxsize=4096)
def _units_of(options: tuple[str, ...]) -> frozenset[str]:
    return frozenset(q.unit for value in options for q in find_quantities(value) if q.unit)


_AGE_AFTER = re.compile(r"\s*(?:周?岁|个多?月|yrs?\b|years?\b|months?\b|mos?\b|yo\b|y/o|weeks?\b|周大)", re.I)


def _units(variant: Variant) -> frozenset[str]:
    return _units_of(tuple(variant.options.values()))


def named_variants(product: Product, text: str, *, letters: bool = True) -> list[Variant]:
    """The variants ``text`` names (those matching the most of their keys), in catalog order; [] for none.

    ``letters=False``: outside the product's own context: one-letter names (S, M, L) and shortened forms do
    not count (they are too easily part of other words: "a bag", "燕麦是哪产的")."""
    if not product.variants:
        return []
    low = _FIT.sub(" ", fold(text).lower())
    low = _CN_COUNT.sub(lambda m: str(cn_to_decimal(m.group())), low)  # 三盒装 -> 3盒装
    one = _SINGLE.sub("1", low)  # 单袋 -> 1袋 (and 单只 as written, for a 单只装)
    texts = (low,) if one == low else (low, one)
    scores = [(sum(any(_named(k, t, _units(v)) for t in texts)
                   for k in _keys(v, product.variants, letters) if letters or len(k) > 1), v)
              for v in product.variants]
    best = max(score for score, _ in scores)
    if not best:
        return _by_size_word(product, low)
    named = [v for score, v in scores if score == best]
    if len(named) > 1:  # "untinted": the Untinted, not the Untinted Twin Pack
        whole = [v for v in named if _named(_CN_COUNT.sub(lambda m: str(cn_to_decimal(m.group())), fold(v.label).lower()), low)]
        if len(whole) == 1:
            return whole
        named = _closest(named, low)
    return named


_PARTS = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?|[\u4e00-\u9fff]")


def _closest(named: list[Variant], text: str) -> list[Variant]:
    """Of variants named equally well, those whose values say least that ``text`` does not, option by option:
    "regular 16 clear" is the iPhone 16, not the 16 Pro or Pro Max; "白的标准款" is 标准版, not 旅行套装.  An option
    none of whose values ``text`` names in part (the colours of "the 16 inch") does not choose."""
    for name in dict.fromkeys(k for v in named for k in v.options):
        values = {fold(v.options.get(name, "")).lower() for v in named}
        if len(values) < 2:
            continue
        unsaid = {}
        for value in values:
            parts = _PARTS.findall(value)
            unsaid[value] = sum(1 for part in parts if not _named(part, text))
            if unsaid[value] == len(parts):
                unsaid[value] = -1  # nothing of it is said
        if all(n < 0 for n in unsaid.values()):
            continue
        fewest = min(n for n in unsaid.values() if n >= 0)
        named = [v for v in named if unsaid[fold(v.options.get(name, "")).lower()] == fewest]
    return named


def mentioned_variants(product: Product, text: str) -> list[Variant]:
    """Every variant ``text`` speaks of, however many (not only the best named): "6.5 kg (12 inch), 7.2 kg (14 inch)"
    speaks of the 12 inch and the 14 inch ones, though "12" names the 12 inch best."""
    if not product.variants:
        return []
    low = _CN_COUNT.sub(lambda m: str(cn_to_decimal(m.group())), fold(text).lower())
    return [v for v in product.variants if any(_named(k, low, _units(v)) for k in _keys(v, product.variants))]


_BIG = re.compile(r"大号|(?<![多])大的|大容量|大一点|大size|大款|(?<![多])大[支瓶罐包袋盒桶杯](?!装)|bigger|larger|"
                  r"the\s+(?:big|large)(?:r)?\s+(?:one|size|bottle|tube|bag|pack|jar)")
_SMALL = re.compile(r"小号|小的|小容量|小一点|小款|小[支瓶罐包袋盒桶杯](?!装)|smaller|"
                    r"the\s+small(?:er)?\s+(?:one|size|bottle|tube|bag|pack|jar)")


def _by_size_word(product: Product, text: str) -> list[Variant]:
    """"大号的" / "the bigger one" / "小支": the variant with the largest (smallest) number in an option whose values
    begin with numbers of one unit (3L and 4L; "30g 单支" and "75g 单支" beside a "3支礼盒"); none when the options
    are not sizes of that kind."""
    big, small = _BIG.search(text), _SMALL.search(text)
    if bool(big) == bool(small):
        return []
    for name in dict.fromkeys(k for v in product.variants for k in v.options):
        by_unit: dict[str, list[tuple[Decimal, Variant]]] = {}
        for v in product.variants:
            found = _MEASURE.match(fold(v.options.get(name, "")).lower().strip())
            if found is not None:
                by_unit.setdefault(found["u"], []).append((Decimal(found["n"]), v))
        if not by_unit:
            continue
        sized = max(by_unit.values(), key=len)
        if len(sized) * 2 > len(product.variants) and len({n for n, _ in sized}) > 1:
            pick = (max if big else min)(n for n, _ in sized)
            return [v for n, v in sized if n == pick]
    return []


_MEASURE = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>[a-z]+|[^\d\s(（]{1,2})(?![a-z])")


def variant_hits(text: str, product: Product, now: datetime) -> list[RuleHit]:
    """Availability claims about the product or a named variant, and prices and counts stated of one variant."""
    hits: list[RuleHit] = []
    last: list[Variant] = []
    for m in _CLAUSES.finditer(text):
        clause, offset = m.group(), m.start()
        named = named_variants(product, clause) or last  # "500ml的有货，现在59元": the price is the 500ml's
        last = named
        if len(named) == 1:
            variant = named[0]
            buyable, label = product.variant_in_stock(variant), variant.label
            waiting = product.variant_availability(variant) in ("backorder", "preorder")
            hits += _prices(clause, offset, product, variant, now)
        elif named:
            continue  # several named in one clause ("500ml和750ml都有"): each is checked where it stands alone
        else:
            buyable, label = product.in_stock, product.title
            waiting = product.availability in ("backorder", "preorder") and not product.variants
        if waiting:
            continue  # on backorder or preorder: "no stock yet" and "you can order it" are both true
        for pattern, says in ((_IN_STOCK, True), (_OUT, False)):
            for c in pattern.finditer(clause):
                if says != buyable and not (says and _negated(clause, c.start())):
                    state = "can be ordered" if buyable else "cannot be ordered now"
                    span = (offset + c.start(), offset + c.end())
                    hits.append(RuleHit("availability_claim", span, f"{c.group()!r}: {label} {state}"))
    return hits


def _negated(clause: str, at: int) -> bool:
    return bool(re.search(r"(?:不|没|无|not|no)\s*$", clause[max(0, at - 4):at], re.I))


def _prices(clause: str, offset: int, product: Product, variant: Variant, now: datetime) -> list[RuleHit]:
    listed = product.variant_price(variant)
    paid = product.variant_price_at(variant, now)
    backed: set[Decimal] = {listed, paid}
    out = []
    for mention in find_money(clause):
        if mention.saving:
            backed_here = {listed - paid} if listed > paid else set()
        else:
            backed_here = backed
        if mention.value not in backed_here:
            span = (offset + mention.span[0], offset + mention.span[1])
            out.append(RuleHit("price_claim", span, f"{mention.value} is not what {variant.label} costs ({paid})"))
    return out
