"""The gate: every sentence passes here before it may be spoken.

:class:`Gate` owns the only :class:`~livehost.approved.GateKey`.  For each
sentence it runs the rules below and either approves it (an
:class:`~livehost.approved.ApprovedSpeech`) or drops it.  The decision, with
every rule hit, goes back to the caller for the audit log.

Rules (first version):

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
``absolute_term``
    Terms from ``lexicons/absolute_terms.json`` (advertising law art. 9 and
    English equivalents), minus documented exceptions (``最近``, ``第一次`` ...).
``persona``
    Animal noises and role-play (``喵``, ``meow``), and denials of being an AI
    (``我是真人``, ``I'm a real person``).

Any hit drops the sentence in this version; :attr:`GateDecision.text` is the
whitespace-normalised sentence.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from livehost.approved import ApprovedSpeech, GateKey, Source
from products.model import Catalog, Product
from scripts_gen.claims import ClaimChecker

log = logging.getLogger(__name__)

LEXICON_PATH = Path(__file__).resolve().parent / "lexicons" / "absolute_terms.json"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RuleHit:
    rule: str  # "price_claim", "discount_claim", "absolute_term", "persona", ...
    span: tuple[int, int]  # character span in GateDecision.text
    detail: str

    def as_json(self) -> dict:
        return {"rule": self.rule, "span": list(self.span), "detail": self.detail}


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    text: str
    rules: list[RuleHit] = field(default_factory=list)
    lang: str = ""
    sku: str | None = None

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.rule for hit in self.rules))


# --------------------------------------------------------------------------- numbers

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


def _fold(text: str) -> str:
    """NFKC per character where that keeps the length (full-width digits, ￥, ％), so spans stay valid."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


# --------------------------------------------------------------------------- claims found in text

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
    text = _fold(text)
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
    text = _fold(text)
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


# --------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class LexiconEntry:
    term: str
    lang: str  # "zh", "en" or "any"
    source: str
    exceptions: tuple[str, ...] = ()
    allowed_kinds: tuple[str, ...] = ()  # catalog kinds for which the term may be said

    def pattern(self) -> re.Pattern[str]:
        if self.lang == "zh":
            return re.compile(re.escape(self.term))
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(self.term)}(?![A-Za-z0-9])", re.I)


@dataclass(frozen=True)
class Lexicon:
    """A versioned term list; every entry names its source.  ``rule`` is the gate rule it feeds."""

    name: str
    version: str
    entries: tuple[LexiconEntry, ...]
    rule: str = "absolute_term"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple((e, e.pattern(), e.term.lower()) for e in self.entries))

    def find(self, text: str) -> Iterable[tuple[LexiconEntry, tuple[int, int]]]:
        lower = text.lower()
        for entry, pattern, term in self._compiled:  # type: ignore[attr-defined]
            if term not in lower:  # cheap pre-check: most sentences contain few terms
                continue
            for m in pattern.finditer(text):
                if not _inside_exception(text, m.start(), m.end(), entry.exceptions):
                    yield entry, m.span()


def _inside_exception(text: str, start: int, end: int, exceptions: tuple[str, ...]) -> bool:
    term = text[start:end].lower()
    for exc in exceptions:
        exc_l = exc.lower()
        offset = exc_l.find(term)
        while offset >= 0:
            if text[start - offset : start - offset + len(exc)].lower() == exc_l and start - offset >= 0:
                return True
            offset = exc_l.find(term, offset + 1)
    return False


def load_lexicon(path: str | Path = LEXICON_PATH) -> Lexicon:
    """A lexicon file: ``{"name", "version", "rule"?, "entries": [{"term", "lang", "source", "exceptions"?, "allowed_kinds"?}]}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = tuple(
            LexiconEntry(e["term"], e.get("lang", "any"), e["source"], tuple(e.get("exceptions", ())),
                         tuple(e.get("allowed_kinds", ())))
            for e in data["entries"]
        )
        return Lexicon(name=data.get("name", path.stem), version=str(data["version"]), entries=entries,
                       rule=data.get("rule", "absolute_term"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"lexicon {path}: {e.__class__.__name__}: {e}") from None


LEXICON_DIR = LEXICON_PATH.parent
DEFAULT_LEXICONS = ("absolute_terms", "health_claims", "persona_topics")


def platform_names() -> list[str]:
    return sorted(p.stem for p in (LEXICON_DIR / "platforms").glob("*.json"))


def load_lexicons(platform: str | None = None, extra: Iterable[str | Path] = ()) -> list[Lexicon]:
    """The default lexicons, the platform's list (``douyin``, ``tiktok``...) and any extra files."""
    lexicons = [load_lexicon(LEXICON_DIR / f"{name}.json") for name in DEFAULT_LEXICONS]
    if platform:
        path = LEXICON_DIR / "platforms" / f"{platform}.json"
        if not path.exists():
            raise ValueError(f"platform: no term list for {platform!r} (have: {', '.join(platform_names())})")
        lexicons.append(load_lexicon(path))
    lexicons += [load_lexicon(p) for p in extra]
    return lexicons


# --------------------------------------------------------------------------- persona

_AI_WORDS = r"(?:AI|人工智能|机器人|虚拟人|数字人|虚拟主播)"
PERSONA_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("animal noise", re.compile(r"喵|汪汪|嗷呜|(?<![A-Za-z])(?:meow+|woof|purr+|nya+n?|bark bark)(?![A-Za-z])", re.I)),
    ("role-play", re.compile(r"角色扮演|扮演|猫娘|女仆|(?<![A-Za-z])(?:role[- ]?play\w*|pretend(?:ing)? to be|as your (?:cat|dog|pet|maid))(?![A-Za-z])", re.I)),
    (
        "claims to be human",
        re.compile(
            rf"我(?:就|真的)?是(?:一个|个)?(?:真人|活人|真实的人)|(?:我|主播|本人)(?:真的)?不是{_AI_WORDS}"
            r"|(?<![A-Za-z])I(?:'m| am) (?:a )?(?:real|actual|living) (?:person|human)"
            r"|(?<![A-Za-z])I(?:'m| am) (?:not|no) (?:an? )?(?:AI|bot|robot|machine|virtual)"
            r"|(?<![A-Za-z])I(?:'m| am) (?:a )?human(?![A-Za-z])",
            re.I,
        ),
    ),
    (
        "singing",
        re.compile(r"[♪♫♬🎵🎶]|啦啦啦|(?:给|为)(?:大家|你|您|你们)唱|唱(?:一首|首歌|个歌)|(?<![A-Za-z])(?:la la la|let me sing|I'?ll sing|sing (?:you|for you) a)(?![A-Za-z])", re.I),
    ),
    (
        "reveals its instructions",
        re.compile(
            r"(?:我的|我收到的)(?:系统)?(?:提示词|指令|设定|人设|规则)(?:是|如下|写着)|系统提示词?|(?<![A-Za-z])(?:my (?:system )?prompt|my instructions (?:are|say)"
            r"|system prompt|I was (?:told|instructed|programmed) to)(?![A-Za-z])",
            re.I,
        ),
    ),
    (
        "competitor bashing",
        re.compile(
            r"(?:别家|别人家|其他家|其它家|隔壁|友商|同行|竞品|外面)(?:的)?(?:都是|全是|就是)?(?:垃圾|假货|骗人|坑人|智商税|劣质|很烂|太烂|不行|差劲)"
            r"|(?:不要|别)(?:去)?(?:买|上)(?:别家|别人家|其他家|隔壁|友商)"
            r"|(?<![A-Za-z])(?:other brands?|competitors?|the other guys)(?: are| is)? (?:trash|garbage|junk|fake|a scam|scams|rubbish|terrible)(?![A-Za-z])",
            re.I,
        ),
    ),
)


# --------------------------------------------------------------------------- the gate

_INVISIBLE = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]")


def _quant(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_CATALOG_PCT = re.compile(rf"({DIGITS})\s*(?:%|percent)", re.I)


class Gate:
    """Checks sentences against the catalog and the rules; the only maker of approved speech.

    ``on_decision`` (optional) is called with every :class:`GateDecision`, passed or not,
    so the audit log can record it.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        lexicon: Lexicon | None = None,
        lexicons: Iterable[Lexicon] | None = None,
        platform: str | None = None,
        terms: Iterable[str] = (),
        tz: tzinfo | None = None,
        now: Callable[[], datetime] | None = None,
        on_decision: Callable[[GateDecision], None] | None = None,
    ) -> None:
        """``lexicons`` default to :func:`load_lexicons` for ``platform`` (``lexicon`` replaces the
        absolute-terms list only); ``terms`` are the shop's own stated terms (returns, shipping,
        offers) that back such claims; ``tz`` and ``now`` are the channel's zone and clock."""
        self.catalog = catalog
        if lexicons is None:
            lexicons = load_lexicons(platform)
            if lexicon is not None:
                lexicons = [lexicon, *(x for x in lexicons if x.rule != "absolute_term")]
        self.lexicons = list(lexicons)
        self.claims = ClaimChecker(terms=terms, tz=tz)
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.on_decision = on_decision
        self.__key = GateKey()

    @property
    def lexicon(self) -> Lexicon:
        """The absolute-terms list (kept for callers of the first version)."""
        return next(x for x in self.lexicons if x.rule == "absolute_term")

    # ---------------------------------------------------------------- checks

    def check(self, text: str, lang: str, *, sku: str | None = None) -> GateDecision:
        clean = " ".join(_INVISIBLE.sub("", text).split())
        scan = _fold(clean)
        hits: list[RuleHit] = []
        if not clean:
            hits.append(RuleHit("empty_text", (0, 0), "nothing to say"))
        if lang not in ("zh", "en"):
            hits.append(RuleHit("unsupported_lang", (0, 0), f"lang {lang!r} is not 'zh' or 'en'"))
        if sku is None:
            products = list(self.catalog)
        elif sku in self.catalog:
            products = [self.catalog[sku]]
        else:
            products = []
            hits.append(RuleHit("unknown_sku", (0, 0), f"sku {sku!r} is not in the catalog"))
        hits += self._money_hits(scan, products)
        hits += self._discount_hits(scan, products)
        hits += [RuleHit(c.rule, c.span, c.detail) for c in self.claims.check(scan, products, self.now())]
        kinds = {p.kind for p in products}
        for lex in self.lexicons:
            for entry, span in lex.find(scan):
                if entry.allowed_kinds and kinds and kinds <= set(entry.allowed_kinds):
                    continue
                hits.append(RuleHit(lex.rule, span, f"{entry.term!r} ({lex.name} {lex.version}: {entry.source})"))
        for what, pattern in PERSONA_PATTERNS:
            for m in pattern.finditer(scan):
                hits.append(RuleHit("persona", m.span(), f"{what}: {m.group(0)!r}"))
        hits.sort(key=lambda h: h.span)
        return GateDecision(passed=not hits, text=clean, rules=hits, lang=lang, sku=sku)

    def _money_hits(self, text: str, products: list[Product]) -> list[RuleHit]:
        hits = []
        for mention in find_money(text):
            said = text[mention.span[0] : mention.span[1]]
            candidates = [p for p in products if mention.currencies is None or p.currency in mention.currencies]
            if not candidates:
                hits.append(RuleHit("price_claim", mention.span, f"{said!r}: currency does not match the catalog"))
                continue
            backed = set().union(*(p.prices for p in candidates))
            if mention.saving:
                backed |= {p.price - p.sale_price for p in candidates if p.sale_price is not None}
            if mention.value not in backed:
                listed = ", ".join(sorted({str(v) for v in backed}))
                hits.append(RuleHit("price_claim", mention.span, f"{said!r} = {mention.value} is not a catalog amount ({listed})"))
        return hits

    def _discount_hits(self, text: str, products: list[Product]) -> list[RuleHit]:
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
                ok = ok or any(d.value in self._catalog_percentages(p) for p in products)
            if not ok:
                hits.append(RuleHit("discount_claim", d.span, f"{said!r} is not backed by the catalog's price and sale price"))
        return hits

    @staticmethod
    def _catalog_percentages(product: Product) -> set[Decimal]:
        blob = " ".join([product.title, product.description, *product.selling_points, *product.specs.values()])
        return {Decimal(m.group(1).replace(",", "")) for m in _CATALOG_PCT.finditer(_fold(blob))}

    # ---------------------------------------------------------------- approval

    def review(
        self, text: str, *, lang: str, source: Source | str, source_id: str, sku: str | None = None
    ) -> tuple[GateDecision, ApprovedSpeech | None]:
        """Check and, if it passes, approve.  Returns the decision (for the audit log) and the speech or None."""
        decision = self.check(text, lang, sku=sku)
        speech = None
        if decision.passed:
            speech = self.__key.approve(
                decision.text, lang=lang, source=Source(source), source_id=source_id, sku=sku,
                rules=tuple(decision.rule_names),
            )
        else:
            log.info(
                "gate dropped %s %s: %r (%s)",
                Source(source).value,
                source_id,
                decision.text,
                "; ".join(f"{h.rule}: {h.detail}" for h in decision.rules),
            )
        if self.on_decision is not None:
            self.on_decision(decision)
        return decision, speech

    def approve(
        self, text: str, *, lang: str, source: Source | str, source_id: str, sku: str | None = None
    ) -> ApprovedSpeech | None:
        """Approved speech, or None when the sentence is dropped."""
        return self.review(text, lang=lang, source=source, source_id=source_id, sku=sku)[1]
