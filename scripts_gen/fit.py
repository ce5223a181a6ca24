"""Which option fits the viewer: the record's size guide, read as rules, against the viewer's own measures.

Viewers tell the host about themselves and ask which option to take: "165 55kg穿啥码", "我100斤 身高158 选哪个码",
"I'm 5'10 180 lbs what size", "我家五口人 买哪个", "八斤的成年猫一天喂多少g", "零度穿得住吗".  Records write the
answer as ranges or points next to an option, in as many ways:

- "M码适合身高160-170cm、体重50-60kg", "S码90-104斤", "M: chest 38-40 in, height 5'8\"-5'11\""
- "身高165cm选M，175cm选L", "体重超过80kg建议选XL", "3L适合1到3人", "110码适合3-4岁"
- without an option: "适合5°C到15°C的天气穿着", "建议喂食量：4kg成猫每天约60g", "适用于2月龄以上".

:func:`rules` reads a product's facts into :class:`Rule` objects (an option, or none, and the bounds it
states per dimension: height, weight, chest, waist, hip, foot length, age, people, temperature);
:func:`measures` reads the viewer's measures from a comment; :func:`fit` matches them.  Every value is kept in
one unit per dimension (cm, kg, months, persons, °C), so "八斤" meets "4kg" and "5'7\"" meets "170cm".

The answer only quotes the record (the rule's own words) and names the option it points to; when the viewer's
measures fall outside every range, or two dimensions disagree beyond a tie, the guide is quoted as a hedge.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from scripts_gen.rules.numbers import CN_NUM, DIGITS, EN_WORDS, fold, to_number
from scripts_gen.rules.quantities import to_base, unit_words

__all__ = ["Bound", "Fit", "Measure", "Rule", "fit", "measures", "names_value", "priority", "rules"]

_LENGTHS = ("height", "chest", "waist", "hip", "foot")
# unit word -> (kind, factor to the kind's unit); kinds: length (cm), weight (kg), age (months), people, temperature (°C).
# Lengths, weights and temperatures are written and converted as quantities are (scripts_gen.rules.quantities);
# ages and people are this module's own.
_UNITS: dict[str, tuple[str, float]] = {
    **{w: ("length", float(to_base(Decimal(1), u)[0])) for u in ("cm", "m", "in", "mm") for w in unit_words(u)},
    **{w: ("weight", float(to_base(Decimal(1), u)[0])) for u in ("kg", "jin", "lb") for w in unit_words(u)},
    **dict.fromkeys(("岁", "周岁", "years old", "year old", "yrs old", "yr old", "yo", "y/o", "-year-old", "-years-old"),
                    ("age", 12.0)),
    **dict.fromkeys(("月龄", "个月大", "months old", "month old", "-month-old"), ("age", 1.0)),
    # a number of years or months is an age only where the clause speaks of a child or a pet (not "2 years warranty")
    **dict.fromkeys(("years", "year", "yrs", "yr"), ("years", 12.0)),
    **dict.fromkeys(("个多月", "个月", "months", "month", "mos"), ("months", 1.0)),
    **dict.fromkeys(("口之家", "口人", "个人", "人", "people", "persons", "person", "ppl"), ("people", 1.0)),
    **dict.fromkeys(unit_words("°C"), ("temperature", 1.0)),
    **dict.fromkeys(unit_words("°F"), ("fahrenheit", 1.0)),
}
_UNIT = "|".join(re.escape(w) + (r"(?![a-z])" if w[-1].isalpha() and w.isascii() else "")
                 for w in sorted(_UNITS, key=len, reverse=True))
_NUM = rf"(?:{DIGITS}|{CN_NUM})"
_SIGN = r"(?P<{}>零下|负|minus\s*|(?<![0-9a-z.])-(?=\d))?"  # "适合-15℃~0℃": a minus after a Chinese word
_DASH = r"\s*(?:-|~|～|—|–|到|至|\bto\b)\s*"
_RANGE = re.compile(rf"{_SIGN.format('sa')}(?P<a>{_NUM})\s*(?P<ua>{_UNIT})?{_DASH}{_SIGN.format('sb')}(?P<b>{_NUM})\s*(?P<ub>{_UNIT})",
                    re.I)
_SINGLE = re.compile(rf"{_SIGN.format('sa')}(?P<a>{_NUM})\s*(?P<ua>{_UNIT})", re.I)
# 5'7", 5 ft 7 in, 5 foot 7: one length in centimetres
_FEET = re.compile(r"(?<!\d)([4-7])\s*(?:'|’|ft|feet|foot)\s*(?:(\d{1,2}(?:\.\d)?)\s*(?:\"|”|''|in(?:ches)?\b)?)?", re.I)
# 1米75, 一米七: a height in metres and centimetres
_METRE = re.compile(r"(?<![\d.])(1|一)\s*米\s*([0-9]{1,2}|[一二三四五六七八九])(?![0-9])")
_HALF = re.compile(r"(\d+|[一二两三四五六七八九十]+)(岁|个月)半")  # 两岁半: 2.5岁
# "ages 2-4", "age 3+", "for ages 3 and up": the unit before the number, rewritten after it ("2-4 years old")
_AGES_BEFORE = re.compile(r"\bages?\s+(\d{1,2}(?:\s*(?:-|–|to)\s*\d{1,2})?)(?=\s*(?:\+|and\s+up|or\s+older|and\s+older|[,;:)]|$|\s))")
# "my kid is 5", "she's 4": a child's age without its unit
_KID_IS = re.compile(r"\b(?:kid|son|daughter|child|boy|girl|toddler|little\s+one|grandson|granddaughter|he|she)(?:'s|\s+is|\s+just\s+turned|"
                     r"\s+turned|\s+will\s+be)\s+(?:almost\s+|about\s+|turning\s+)?(\d{1,2})(?![\d.])(?!\s*(?:cm|in\b|inch|kg|lb|ft|'|\"))",
                     re.I)
# a child: a length of theirs under 120 cm is still a height ("my kid is 108cm")
_CHILD = re.compile(r"\bkids?\b|\bchild|\bson\b|daughter|toddler|\bboy\b|\bgirl\b|宝宝|孩子|娃|儿子|女儿|小孩|儿童", re.I)
_LOW = re.compile(r"(?:超过|大于|高于|不低于|至少|over|above|more\s+than|at\s+least|≥|>)\s*$", re.I)
_LOW_AFTER = re.compile(r"^\s*(?:以上|及以上|\+|and\s+up|or\s+more|or\s+over|and\s+(?:older|over|above)|or\s+older|plus|起)", re.I)
_HIGH = re.compile(r"(?:不超过|低于|小于|不到|under|below|up\s+to|less\s+than|within|≤|<)\s*$", re.I)
_HIGH_AFTER = re.compile(r"^\s*(?:以下|以内|及以下|or\s+less|or\s+under|and\s+under|max)", re.I)
_LABELS = (
    ("chest", re.compile(r"胸围|胸|chest|bust", re.I)), ("waist", re.compile(r"腰围|腰|waist", re.I)),
    ("hip", re.compile(r"臀围|臀|hips?\b", re.I)), ("foot", re.compile(r"脚长|脚|foot\s+length|feet|foot", re.I)),
    ("height", re.compile(r"身高|个子|height|tall|\bi'?m\b|\bam\b", re.I)),
)
# a clause about the model wearing a size is not a size rule ("模特身高165cm，穿M码")
_MODEL = re.compile(r"模特|\bmodel\b", re.I)
# what makes a clause without an option a rule: the product is "for" someone or some weather
_WEATHER = re.compile(r"天气|气温|温度下|适用温度|舒适温度|温度范围|环境|穿着|穿|户外|季|weather|outdoor|wear|climate|rated|comfort|temps?\b", re.I)
_BODY = re.compile(r"体重|身高|喂|喂食|feed\w*|成猫|成犬|幼猫|幼犬|猫|狗|犬|宠物|宝宝|婴儿|儿童|孩子|cats?\b|dogs?\b|pets?\b|puppy|puppies|kitten"
                   r"|adults?\b|kids?\b|children|body\s*weight|适合|适用|建议|fits?\b|suits?\b|recommended|for\s+(?:a|an|your)\b",
                   re.I)
_AGE = re.compile(r"\bold\b|\bages?\b|\baged\b|bab(?:y|ies)|\bkids?\b|child|toddler|infant|newborn|puppy|puppies|kitten"
                  r"|\bcats?\b|\bdogs?\b|宝宝|婴儿|婴幼儿|孩子|儿童|小孩|幼儿|新生儿|月龄|幼猫|幼犬|奶猫|猫|狗|犬|大的", re.I)
# a temperature the viewer gives is about the weather only when they speak of wearing it or being outside
# ("零度穿得住吗"), not of washing or brewing ("30度的水能洗吗")
_WEATHER_QUESTION = re.compile(r"穿|天气|气温|冬天|零下|外面|户外|室外|冷不冷|冻|保暖|暖和|weather|outside|outdoors?|wear|winter"
                               r"|warm\s+enough|cold|freezing|camp", re.I)
# what makes one value per option a rule of whom it fits ("身高165cm选M", "175cm穿L"), not the option's own measure
_CUE = re.compile(r"选|穿|适合|适用|建议|推荐|参考|对应|\bfits?\b|\bfor\b|\bchoose\b|\bpick\b|\bgo\s+with\b|recommend|\bsuits?\b"
                  r"|\bwear|size\s+chart|尺码表|码数", re.I)
_CONVERSION = re.compile(rf"(?<=[a-z\u4e00-\u9fff℃°\"])\s*[(（]\s*(?:≈|约|approx\.?\s*|about\s+)?{_NUM}\s*(?:{_UNIT})?(?:{_DASH}{_NUM})?\s*(?:{_UNIT})\s*[)）]",
                         re.I)
_SENTENCE = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)\s+(?=[A-Z])")
_PIECE = re.compile(r"[，,；;。!?！？\n]|\.(?!\d)")


@dataclass(frozen=True)
class Measure:
    """A measure the viewer gives (or a bound's value): a dimension and a value in its unit."""

    dim: str  # height, chest, waist, hip, foot (cm); weight (kg); age (months); people; temperature (°C)
    value: float
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Bound:
    """What a rule says of one dimension: a closed range, an open one, or one point ("身高165cm选M")."""

    dim: str
    low: float | None
    high: float | None

    @property
    def point(self) -> bool:
        return self.low is not None and self.low == self.high

    @property
    def closed(self) -> bool:
        return self.low is not None and self.high is not None and not self.point

    def contains(self, value: float) -> bool:
        slack = 0.002 * abs(value) + 0.01  # rounding only: a value between two ranges is matched by distance (see fit)
        if self.point:
            return False  # a point is matched by distance, among its kind (see fit)
        return (self.low is None or value >= self.low - slack) and (self.high is None or value <= self.high + slack)

    def distance(self, value: float) -> float:
        if self.contains(value):
            return 0.0
        edges = [e for e in (self.low, self.high) if e is not None]
        return min(abs(value - e) for e in edges)


@dataclass(frozen=True)
class Rule:
    """One clause of the record that ties bounds to an option (or to the product)."""

    option: str | None
    bounds: tuple[Bound, ...]
    text: str  # the clause, as written
    fact: str  # the whole fact it is part of
    shared: bool = False  # the clause names several options ("S/M fits 90-110斤")


@dataclass(frozen=True)
class Fit:
    """The answer: the options the viewer's measures point to, the record's words for it, and whether it is sure."""

    options: tuple[str, ...]
    text: str
    sure: bool


def _value(sign: str | None, number: str, unit: str) -> tuple[str, float] | None:
    word = unit.lower().strip()
    kind, factor = _UNITS.get(word) or _UNITS.get(unit.strip()) or ("", 0.0)
    if not kind:
        return None
    try:
        value = float(to_number(number))
    except (ValueError, KeyError, ArithmeticError):
        return None
    if sign:
        value = -value
    if kind == "fahrenheit":
        return "temperature", float(to_base(Decimal(str(value)), "°F")[0])
    if kind in ("years", "months"):
        return "age?", value * factor
    if kind == "length" and factor == 100.0 and value > 3:
        return None  # "165米" is no height; metres are 1.55 m
    return kind, value * factor


@functools.lru_cache(maxsize=1024)
def _normalise(text: str) -> str:
    """``text`` folded and lowercased, with 5'7" and 1米75 rewritten as centimetres (same meaning, new spans)."""
    text = fold(text).lower()

    def feet(m: re.Match[str]) -> str:
        inches = float(m.group(2) or 0)
        return f"{round(int(m.group(1)) * 30.48 + inches * 2.54)}cm"

    def metre(m: re.Match[str]) -> str:
        rest = m.group(2)
        cm = int(rest) if rest.isdigit() else "一二三四五六七八九".index(rest) + 1
        return f"{100 + (cm * 10 if cm < 10 else cm)}cm"

    def half(m: re.Match[str]) -> str:
        try:
            return f"{float(to_number(m.group(1))) + 0.5:g}{m.group(2)}"
        except (ValueError, KeyError, ArithmeticError):
            return m.group()

    text = _AGES_BEFORE.sub(lambda m: f"{m.group(1)} years old", text)
    return _HALF.sub(half, _METRE.sub(metre, _FEET.sub(feet, text)))


def _label(text: str, start: int, end: int, kind: str, value: float, ages: bool = False,
           guide: str | None = None, reach: int = 14) -> str | None:
    """The dimension of a quantity: a length is a height, a chest... by the word before it (or just after), or
    by the ``guide`` it is a row of ("Size guide (foot length): US 9 = 27.0 cm").  ``reach``: how far before it the
    word may be (a viewer's "my foot measures like 27cm" is further than a record's "脚长13.6-14.0cm（内长14.5cm）",
    whose 内长 is not a foot)."""
    if kind == "fahrenheit":
        return "temperature"
    if kind == "age?":  # "3-6个月宝宝", "my 2 year old", not "保质期18个月"; any, of a product sold by age
        return "age" if ages or _AGE.search(text) else None
    if kind != "length":
        return kind
    before, after = text[max(0, start - reach):start], text[end:end + 8]
    for dim, pattern in _LABELS:
        if pattern.search(before) or ((dim != "height" or re.match(r"\s*tall", after)) and pattern.search(after)):
            return dim
    if guide is not None:
        return guide
    return "height" if 120 <= value <= 230 or (45 <= value < 120 and _CHILD.search(text)) else None


def _quantities(text: str, ages: bool = False, guide: str | None = None,
                reach: int = 14) -> list[tuple[str, Bound, tuple[int, int]]]:
    """Every range or quantity of a fit dimension in ``text`` (normalised), as bounds; a length without its
    word is of ``guide`` when it is given."""
    out: list[tuple[str, Bound, tuple[int, int]]] = []
    taken = [m.span() for m in _CONVERSION.finditer(text)]  # "112-125 cm (44-49 in)": the same range again
    for m in _RANGE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        b = _value(m["sb"], m["b"], m["ub"])
        a = _value(m["sa"], m["a"], m["ua"] or m["ub"])
        if a is None or b is None or a[0] != b[0]:
            continue
        dim = _label(text, m.start(), m.end(), a[0], a[1], ages, guide, reach)
        if dim is None:
            continue
        low, high = sorted((a[1], b[1]))
        out.append((dim, Bound(dim, low, high), m.span()))
        taken.append(m.span())
    for m in _SINGLE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        found = _value(m["sa"], m["a"], m["ua"])
        if found is None:
            continue
        kind, value = found
        dim = _label(text, m.start(), m.end(), kind, value, ages, guide, reach)
        if dim is None:
            continue
        before, after = text[:m.start()], text[m.end():]
        if _LOW.search(before) or _LOW_AFTER.match(after):
            bound = Bound(dim, value, None)
        elif _HIGH.search(before) or _HIGH_AFTER.match(after):
            bound = Bound(dim, None, value)
        else:
            bound = Bound(dim, value, value)
        out.append((dim, bound, m.span()))
    return out


def _mentions(text: str, value: str) -> list[tuple[int, int]]:
    """Where option value ``value`` is named in ``text`` (normalised): "M码", "选M", not the m of "cm"."""
    pattern = _value_pattern(value)
    return [m.span() for m in pattern.finditer(text)] if pattern is not None else []


def names_value(text: str, value: str) -> bool:
    """Whether ``text`` names option value ``value`` ("28 inch" names "28-inch", "m码" names "M")."""
    text = _normalise(text).replace(" inch", "-inch")
    return bool(_mentions(text, value)) or bool(_mentions(text, value.replace("-", " ")))


@functools.lru_cache(maxsize=8192)
def _value_pattern(value: str) -> re.Pattern[str] | None:
    word = fold(value).lower().strip()
    if not word:
        return None
    pattern = re.escape(word)
    if word[0].isascii() and word[0].isalnum():
        pattern = r"(?<![a-z0-9.])" + pattern
    if word[-1].isascii() and word[-1].isalnum():
        pattern += r"(?![a-z0-9])"
    return re.compile(pattern)


def rules(facts: Iterable[str], options: Sequence[str]) -> list[Rule]:
    """The fit rules the record's facts state, given the product's option values (sizes, capacities...).

    ``facts`` are whole texts (a description, a spec "name：value"); each is read sentence by sentence, and a
    sentence clause by clause.  A clause without an option continues the option of the clause before it
    ("M码：身高155-163cm，体重92-105斤"); the lines of a table go with the heading before them ("Daily feeding guide
    (standard cup):" then "21-35 lbs: 1 1/4-1 3/4 cups")."""
    values = sorted({o for o in options if o.strip()}, key=len, reverse=True)
    out: list[Rule] = []
    # the length a size guide's rows give ("Size guide (foot length): US 7 = 25.0 cm; US 8 = ..."), over the facts
    # its rows were split into, and those rows (the sizes not sold among them)
    guide: str | None = None
    table: list[Rule] = []
    for block in facts:
        heading = False  # the sentence before was a heading about a person, a pet or the weather, ending in ":"
        for fact in (f.strip() for f in _SENTENCE.split(block) if f.strip()):
            table_row = heading and bool(re.match(r"(?:over|under|up\s+to|超过|以上)?\s*\d", fact, re.I))
            heading = table_row or (fact.endswith((":", "：")) and bool(_BODY.search(fact) or _WEATHER.search(fact)))
            if _MODEL.search(fact):
                continue  # "模特身高175cm，体重65kg，穿L码": the model's measures, not a rule
            if (lead := _GUIDE.match(fact)) is not None:
                guide = next((dim for dim, pattern in _LABELS if pattern.search(lead.group(1))), None)
            elif guide is not None and not _ROW.match(_normalise(fact)):
                guide = None  # the table has ended
            if guide is not None:
                text = fact[lead.end():] if lead is not None else fact
                table += [r for row in (p.strip() for p in _PIECE.split(text)) if row for r in _row_rule(row, values, guide, fact)]
                continue
            out += _foot_ranges(table)
            table = []
            out += _sentence_rules(fact, values, table_row)
    out += _foot_ranges(table)
    # a clause of several options ("1段/2段/3段覆盖0-36月龄") says what they cover together: it is a rule of an option
    # only for what no clause of that option alone says ("2段适用6-12月龄")
    own = {(r.option, b.dim) for r in out if not r.shared for b in r.bounds}
    return [r for r in out if not r.shared or not any((r.option, b.dim) in own for b in r.bounds)]


# a size guide's heading that names the length its rows give: "Size guide (foot length, heel to toe):", "脚长对照："
_GUIDE = re.compile(r"([^:：]{0,60}(?:guide|chart|table|对照|尺码表|参考)[^:：]{0,60})[:：]", re.I)
# a row of it: an option, then its measure ("US 8 = 26.0 cm", "39码 245mm")
_ROW = re.compile(r"\s*[^\d\s=:：]{0,6}\s*\d+(?:\.\d+)?\s*[^\d]{0,6}?\s*[=:：]?\s*\d")


def _row_rule(row: str, values: Sequence[str], guide: str, fact: str) -> list[Rule]:
    """One row of a size guide: the one option it names and the measure of ``guide`` it gives."""
    text = _normalise(row)
    named = [(value, found) for value in values if (found := _mentions(text, value))]
    if len(named) > 1:
        return []  # not one option's row
    value, spans = named[0] if named else (None, [])  # None: a size the product does not sell ("US 7 = 25.0 cm")
    lead = _ROW_LEAD.match(text)
    start = max((e for _, e in spans), default=0) if named else (lead.end() if lead else 0)
    bounds = tuple(b for dim, b, (at, _) in _quantities(text, guide=guide) if dim == guide and at >= start)
    return [Rule(value, bounds, row, fact)] if bounds else []


_ROW_LEAD = re.compile(r"[^=:：]*?\d+(?:\.\d+)?\s*(?:码|号)?\s*[=:：]?")  # "US 7 =", "39码": the size the row is of


def _foot_ranges(table: list[Rule]) -> list[Rule]:
    """A size guide's rows as rules of the sizes sold.  Rows of foot length are each the longest foot of their size
    (a foot between two sizes takes the larger): 27.0 cm after 26.0 cm covers 26.1-27.0 cm; the first row covers as
    much below it as the step to the next."""
    lengths = [b.low for r in table if (b := r.bounds[0]).dim == "foot" and b.point and b.low is not None]
    out: list[Rule] = []
    for rule in table:
        bound = rule.bounds[0]
        if bound.dim == "foot" and bound.point and bound.low is not None and len(lengths) > 1:
            at = lengths.index(bound.low)
            below = lengths[at - 1] if at > 0 else 2 * lengths[0] - lengths[1]
            rule = Rule(rule.option, (Bound("foot", below + 0.1, bound.low),), rule.text, rule.fact)
        if rule.option is not None:
            out.append(rule)
    return out


def _sentence_rules(fact: str, values: Sequence[str], table_row: bool) -> list[Rule]:
    out: list[Rule] = []
    previous: str | None = None  # "M: chest 38-40 in, height 5'8\"-5'11\"": the second clause is the M's too
    lead = ""  # a clause naming the option and nothing else ("Size M"), said with the clauses after it
    joiner = ", " if fact.isascii() else "，"
    for piece in (p.strip() for p in _PIECE.split(fact)):
        if not piece:
            continue
        text = _normalise(piece)
        named: list[str] = []
        spans: list[tuple[int, int]] = []
        for value in values:
            found = [sp for sp in _mentions(text, value) if not any(a <= sp[0] < b for a, b in spans)]
            if found:
                named.append(value)
                spans += found
        quantities = [(dim, bound) for dim, bound, (at, _) in _quantities(text)
                      if not any(a <= at < b for a, b in spans)]  # "3L适合1到3人": 3L names the option
        if not quantities:
            previous, lead = (named[0], piece) if len(named) == 1 else (None, "")
            continue
        if len(named) > 1:
            previous, lead = None, ""
            if len(quantities) == 1:  # "S/M fits 90-110斤": one rule each (shared: see rules)
                out += [Rule(value, (quantities[0][1],), piece, fact, shared=True) for value in named]
            continue  # "S码90-104斤 M码105-114斤" unseparated: whose range is which is not sure
        option = named[0] if named else previous
        bounds = tuple(b for _, b in quantities)
        if option is not None and not table_row and all(b.point for b in bounds) and not _CUE.search(fact):
            continue  # "Bike weight: 6.5 kg (12 inch)": the option's own measure, not whom it fits ("175cm选L")
        if option is None:  # the product's own: only what is about a person, a pet or the weather
            kept = tuple(b for dim, b in quantities if (dim in ("age", "people"))
                         or (dim == "temperature" and _WEATHER.search(text))
                         or (dim in ("weight", *_LENGTHS) and (table_row or _BODY.search(text))))
            ranged = {b.dim for b in kept if not b.point}
            kept = tuple(b for b in kept if not (b.point and b.dim in ranged))  # "over 100 lbs: ... each 10 lbs"
            if kept:
                out.append(Rule(None, kept, piece, fact))
            continue
        if not named and out and out[-1].option == option and out[-1].fact == fact:
            last = out.pop()  # the option's clause goes on: one rule, said whole
            out.append(Rule(option, last.bounds + bounds, last.text + joiner + piece, fact))
        else:
            out.append(Rule(option, bounds, (lead + joiner + piece) if lead and not named else piece, fact))
        previous, lead = option, ""
    return out


_HEIGHT_WORD = re.compile(r"(?:身高|个子|height|i'?m|i\s+am)\s*(?:是|有|:|is)?\s*(1[4-9]\d|2[01]\d)(?![\d.])", re.I)
_WEIGHT_WORD = re.compile(r"(?:体重|weigh(?:t|s)?)\s*(?:是|有|:|is)?\s*(\d{2,3})(?![\d.])", re.I)
_BARE_HEIGHT = re.compile(r"(?<![\d.])(1[4-9]\d|20\d)(?![\d.%])(?!\s*(?:元|块|ml|毫升|g|克|w|瓦|mah))", re.I)
_LABELLED = re.compile(r"(脚长|左脚|右脚|脚|foot\s+length|waist|hips?|chest|bust|腰围|臀围|胸围)\s*(?:is|are|r|:|是|有|=)?\s*"
                       r"(\d{1,3}(?:\.\d)?)(?![\d.])(?!\s*(?:cm|in\b|inch|厘米|公分|mm|\"|码|号|kg|斤|lb))", re.I)
_PRIORITY = re.compile(r"(?:以|按)(身高|体重|胸围|腰围|臀围|脚长)为准|(?:choose|size|go|pick)\s+(?:the\s+size\s+)?(?:by|based\s+on|that\s+matches)"
                       r"\s+(?:your\s+)?(height|weight|chest|bust|waist|hips?|foot)")
_FAMILY = re.compile(rf"family\s+of\s+({_NUM}|{EN_WORDS})|({_NUM}|{EN_WORDS})\s+of\s+us\b|一家({_NUM})口", re.I)
_SUITS = re.compile(r"能|可以|适合|合适|行吗|行不|够|扛得住|顶得住|抗得住|受得了|冷不冷|穿|用|吃|玩|喂|哪|多少|几|\bok\b|okay|suitable|safe|\bfit|enough|warm|"
                    r"\bfor\s+(?:my|a|an)\b|which|what\s+size|how\s+(?:much|many)|can\s+(?:i|he|she|it|we|my|a)\b|will\s+it"
                    r"|\b(?:eat|drink|use|play|ride|wear)\b", re.I)
_CHOOSING = re.compile(r"码|号|尺码|选|穿|size|fit|wear|which|哪个|哪款|买哪", re.I)


def measures(question: str, options: Sequence[str] = (), *, ages: bool = False) -> list[Measure]:
    """The viewer's own measures in ``question``.  Quantities that name an option of the product ("1.5kg的够吃多久"
    with a 1.5 kg bag) are the product's, not the viewer's."""
    text = _normalise(question)
    named = [s for o in options for s in _mentions(text, o)]
    out: list[Measure] = []
    for dim, bound, span in _quantities(text, ages, reach=22):
        if any(a <= span[0] < b for a, b in named) or not bound.point:
            continue
        if dim == "temperature" and not _WEATHER_QUESTION.search(text):
            continue
        out.append(Measure(dim, bound.low or 0.0, span))
    if not any(m.dim == "people" for m in out) and (m := _FAMILY.search(text)):  # "family of 5", "一家三口"
        number = next(g for g in m.groups() if g)
        try:
            out.append(Measure("people", float(to_number(number)), m.span()))
        except (ValueError, KeyError, ArithmeticError):
            pass
    spans = [m.span for m in out]
    for m in _LABELLED.finditer(text):  # "脚长14.5", "waist 28 hip 38": a measure without its unit
        if any(a <= m.start(2) < b for a, b in spans):
            continue
        dim = next(d for d, pattern in _LABELS if pattern.search(m.group(1)))
        value = float(m.group(2))
        if dim != "foot":
            value = value * 33.33 if value <= 3.5 and not m.group(1).isascii() else (
                value * 2.54 if value < 70 and m.group(1).isascii() else value)  # 2尺, 28 (inches), 70 (cm)
        out.append(Measure(dim, value, m.span(2)))
    dims = {m.dim for m in out}
    spans = [m.span for m in out]
    free = lambda at: not any(a <= at < b for a, b in spans)  # noqa: E731
    if ages and "age" not in dims and (m := _KID_IS.search(text)) and free(m.start(1)):
        out.append(Measure("age", float(m.group(1)) * 12, m.span(1)))  # "my kid is 5", of a product sold by age
    if "height" not in dims:
        m = _HEIGHT_WORD.search(text)
        if m is None and _CHOOSING.search(text):
            m = _BARE_HEIGHT.search(text)  # "165 55kg穿啥码": a bare 165 among a choice of size is a height
        if m is not None and free(m.start(1)):
            out.append(Measure("height", float(m.group(1)), m.span(1)))
    if "weight" not in dims and (m := _WEIGHT_WORD.search(text)) and free(m.start(1)):
        value = float(m.group(1))
        # "体重120" in Chinese is in 斤 (jin) as people say it; 55 is kilograms
        out.append(Measure("weight", value * 0.5 if value >= 90 and not text.isascii() else
                           value * 0.45359237 if value >= 90 else value, m.span(1)))
    return sorted(out, key=lambda m: m.span)


def priority(texts: Iterable[str]) -> str | None:
    """The dimension a record says to go by when two disagree ("以体重为准", "choose the size that matches your hip")."""
    for text in texts:
        m = _PRIORITY.search(fold(text).lower())
        if m:
            word = next(g for g in m.groups() if g)
            return next((d for d, pattern in _LABELS if pattern.search(word)), "weight" if ("体重" in word or "weight" in word)
                        else None)
    return None


def fit(question: str, found: Sequence[Rule], options: Sequence[str] = (), *, first: str | None = None) -> Fit | None:
    """What the record's rules say of the viewer's measures in ``question``; None when the question gives no
    measure a rule speaks of.  ``first``: the dimension the record says to go by (see :func:`priority`)."""
    given: dict[str, float] = {}
    ages = any(b.dim == "age" for r in found for b in r.bounds)  # "7个月" to a product sold by age is an age
    for m in measures(question, options, ages=ages):  # two of one kind ("左脚13.9右脚14.2"): the larger
        given[m.dim] = max(m.value, given.get(m.dim, m.value))
    relevant = [r for r in found if any(b.dim in given for b in r.bounds)]
    if not relevant:
        return None
    by_option = [r for r in relevant if r.option is not None]
    # the product's own rules answer only a question of whether or how much it suits ("孩子5岁能玩吗", "30 lbs how
    # much a day"), not any question that happens to give an age or a weight ("12 yrs old, same amount or less?")
    own = [r for r in relevant if r.option is None]
    if by_option:
        chosen = _choose({first: given[first]} if first in given and len(given) > 1 else given, by_option)
        if chosen.sure or not own:
            return chosen
        fallback = _product_rule(given, own)  # "体重超过132斤暂无合适尺码": beyond the guide, the record says so
        return fallback if fallback.sure and _product_contains(given, own) else chosen
    return _product_rule(given, own) if own and _SUITS.search(fold(question)) else None


def _choose(given: dict[str, float], found: list[Rule]) -> Fit:
    # the nearest point of each dimension among the options ("165cm选M，175cm选L": 170 is either)
    nearest: dict[str, set[str]] = {}
    closest: dict[str, float] = {}  # per dimension, the nearest point's distance
    for dim, value in given.items():
        points = [(abs(b.low - value), r.option) for r in found for b in r.bounds
                  if b.dim == dim and b.point and b.low is not None]
        if points:
            best = min(d for d, _ in points)
            if best <= 0.15 * abs(value) + 1:
                nearest[dim] = {o for d, o in points if d <= best + 0.01 * abs(value) and o is not None}
                closest[dim] = best + 0.01 * abs(value)
    # a value in the gap between two ranges ("S码90-104斤", "M码105-114斤": 104.5) meets the nearest range
    gap: dict[str, set[str]] = {}
    for dim, value in given.items():
        ranges = [(b.distance(value), r.option) for r in found for b in r.bounds if b.dim == dim and b.closed]
        if ranges and not any(d == 0 for d, _ in ranges):
            best = min(d for d, _ in ranges)
            if best <= 0.03 * abs(value):
                gap[dim] = {o for d, o in ranges if d <= best + 1e-9 and o is not None}
    scores: dict[str, int] = {}
    order: list[str] = []
    for rule in found:
        assert rule.option is not None
        if rule.option not in order:
            order.append(rule.option)
    for option in order:
        own = [b for r in found if r.option == option for b in r.bounds if b.dim in given]
        kept = violated = 0
        for dim, value in given.items():
            mine = [b for b in own if b.dim == dim]
            if not mine:
                continue
            if any(b.contains(value) for b in mine) or option in nearest.get(dim, set()) or option in gap.get(dim, set()):
                kept += 1
            elif any(b.closed for b in mine):
                violated += 1  # an open bound ("超过80kg选XL") says when to take it, not when not to
        scores[option] = kept - violated if kept else -1
    best = max(scores.values())
    if best <= 0:  # outside every range: the guide itself, said with a hedge
        return Fit((), _quote(found), False)
    picked = tuple(o for o in order if scores[o] == best)

    def meets(rule: Rule) -> bool:  # the clause the viewer's measures meet ("185cm选XL"; not "超过80kg选XL" for 75 kg)
        return any(b.dim in given and (b.contains(given[b.dim]) or (
            b.point and b.low is not None and abs(b.low - given[b.dim]) <= closest.get(b.dim, -1.0)) or (
            b.closed and rule.option in gap.get(b.dim, set()) and b.distance(given[b.dim]) <= 0.03 * abs(given[b.dim])))
            for b in rule.bounds)

    quoted = [r for r in found if r.option in picked and meets(r)]
    return Fit(picked, _quote(quoted), True)


def _product_contains(given: dict[str, float], found: list[Rule]) -> bool:
    return any(b.dim in given and b.contains(given[b.dim]) for r in found for b in r.bounds)


def _product_rule(given: dict[str, float], found: list[Rule]) -> Fit:
    def distance(rule: Rule) -> tuple[float, int, float]:
        near = min(b.distance(given[b.dim]) / (abs(given[b.dim]) + 1) for b in rule.bounds if b.dim in given)
        closed = any(b.closed and b.dim in given and b.contains(given[b.dim]) for b in rule.bounds)
        edges = [abs(given[b.dim] - e) for b in rule.bounds if b.dim in given for e in (b.low, b.high) if e is not None]
        # "76-100 lbs: 3-3 3/4 cups" before "(70 lbs or more)"; "Over 100 lbs" before it for 120 lbs
        return near, 0 if closed else 1, min(edges, default=0.0)

    best = min(found, key=lambda rule: (*distance(rule), len(rule.fact)))
    near = all(not b.point or b.distance(given[b.dim]) <= 0.3 * abs(given[b.dim]) + 0.5
               for b in best.bounds if b.dim in given)
    # the whole sentence ("For adult dogs 1 year and older"), or, of a long one, the rule's own clause
    said = best.fact if len(best.fact) <= (40 if not best.fact.isascii() else 160) else best.text
    return Fit((), said.rstrip("。.!！；; "), near)


def _quote(found: list[Rule]) -> str:
    seen: list[str] = []
    said: set[tuple[str | None, tuple[Bound, ...]]] = set()  # one rule written twice (the description, the size chart)
    for rule in found:
        if (rule.option, rule.bounds) in said:
            continue
        said.add((rule.option, rule.bounds))
        text = rule.text
        head, colon, rest = text.partition("：") if "：" in text else text.partition(": ")
        if colon and not re.search(r"\d", head) and re.search(r"\d", rest) and not (
                rule.option and _mentions(_normalise(head), rule.option)):
            text = rest.strip()  # "尺码建议：M码适合…", "男女同款：身高165cm选M": the heading is not the rule
        if text not in seen:
            seen.append(text)
    sep = "；" if any("\u4e00" <= ch <= "\u9fff" for ch in "".join(seen)) else "; "
    return sep.join(seen[:4])
