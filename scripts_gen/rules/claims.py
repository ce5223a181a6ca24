"""Commitments beyond price: offers, after-sales and shipping terms, stock counts, urgency, dates.

What the host says binds the merchant, so each kind of commitment below must
be backed by something the merchant stated:

``offer_claim``
    Gifts and promotions (``买一送一``, ``第二件半价``, ``赠品``, ``优惠券``,
    ``满200减30``, ``buy one get one``, ``free gift``, ``coupon``).  Backed when
    the same claim appears in the product's catalog text or the shop's terms.
``policy_claim``
    Refunds, returns, guarantees and warranties (``七天无理由退货``, ``包退``,
    ``假一赔十``, ``全额退款``, ``money-back``, ``free returns``,
    ``2-year warranty``).  Backed the same way.
``shipping_claim``
    Shipping cost and time (``包邮``, ``48小时发货``, ``顺丰``, ``次日达``,
    ``free shipping``, ``ships within 24 hours``).  Backed the same way.
``stock_claim``
    Stock counts (``只剩5件``, ``库存还有100件``, ``only 3 left``) must equal the
    product's or a variant's stock; a product with no count backs none.
``urgency_claim``
    Time pressure (``限时``, ``最后10分钟``, ``马上恢复原价``, ``limited time``,
    ``ends tonight``) needs a running sale with an end time (a stated duration
    must not be shorter than what is left); scarcity (``手慢无``,
    ``almost gone``, ``selling fast``) needs a stock count at or below
    :data:`LOW_STOCK`.
``date_claim``
    Calendar dates (``11月30日``, ``2026-11-30``, ``Nov 30``) and clock times
    said with an end or start (``今晚12点结束``, ``ends at 10pm``) must be the
    product's sale start or end in the channel's time zone, or appear in the
    catalog text.

"Appears in the catalog text" compares canonical forms: NFKC, lower case, no
spaces or punctuation, single Chinese digits as ASCII digits (so ``买1送1``
in the catalog backs ``买一送一`` on air).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from products.model import Product, Variant
from scripts_gen.rules.hits import RuleHit
from scripts_gen.rules.numbers import to_number

LOW_STOCK = 20  # "almost gone" is true at or below this many units

_CN_SINGLE = str.maketrans("零〇一二两三四五六七八九", "001223456789")
_STRIP = re.compile(r"[\s\W_]+", re.U)


def canon(text: str) -> str:
    """The comparison form of a claim or of catalog text (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_CN_SINGLE)
    return _STRIP.sub("", text)


def _n(text: str) -> Decimal | None:
    try:
        return to_number(text)
    except (ValueError, KeyError, ArithmeticError):
        return None


_NUM = r"(?:\d+|[零〇一二两三四五六七八九十百千]+)"
_EN = re.I


# --------------------------------------------------------------------------- phrase-backed claims

_OFFER = re.compile(
    rf"买{_NUM}(?:件|个|瓶|盒|送)?送{_NUM}|第二件(?:半价|{_NUM}折|免费|{_NUM}元|{_NUM}块)|加赠|赠品|赠送|买就送|下单(?:就)?送|免费送|送(?:一个|一份|一瓶|一盒|小样|礼品|赠品)"
    rf"|(?:优惠|无门槛|满减|店铺|平台)?券|红包|返现|抽奖|满{_NUM}(?:元|块)?减{_NUM}"
    r"|(?<![a-z])(?:buy\s+(?:one|\d+)\s*,?\s*get\s+(?:one|\d+)(?:\s+free)?|bogo|free\s+gifts?|gift\s+with\s+(?:purchase|every\s+order)"
    r"|coupons?|vouchers?|promo\s+codes?|cash\s*back|second\s+(?:one|item|unit)\s+(?:half\s+price|free|\d+%\s+off))(?![a-z])",
    _EN,
)
_POLICY = re.compile(
    rf"{_NUM}天无理由(?:退换?货?)?|无理由退(?:换)?货?|包退换?|包换|退一赔{_NUM}|假一赔{_NUM}|假一罚{_NUM}|全额退款|随时(?:可以)?退|不满意(?:就|包|可以)?退"
    rf"|(?:具有|具备|有)?法律(?:约束力|效力)|(?:正式|书面)?承诺(?:给你|您)|我(?:向你|向您)?保证"
    rf"|运费险|退货包运费|(?:保修|质保){_NUM}年|{_NUM}年(?:质保|保修)|终身(?:保修|质保)|保证(?:正品|有效|效果)"
    r"|(?<![a-z])(?:\d+[\s-]*days?\s+(?:free\s+)?returns?|free\s+returns?|money[\s-]*back|full\s+refunds?|refunds?\s+(?:guaranteed|any\s*time)"
    r"|legally[\s-]+binding|binding\s+(?:offer|deal|agreement|contract|promise)|no\s+takesies|i\s+(?:promise|guarantee)"
    r"|no[\s-]+questions[\s-]+asked|lifetime\s+warranty|\d+[\s-]*(?:years?|months?)\s+warranty|return\s+(?:it\s+)?(?:any\s*time|for\s+free))(?![a-z])",
    _EN,
)
_SHIPPING = re.compile(
    rf"包邮|免运费|免邮|顺丰|京东物流|次日达|隔日达|极速发货|秒发|(?:当天|当日|今天|今日|明天|明日|后天|隔天|次日|马上|立刻|立即|{_NUM}小时|{_NUM}天)(?:内|之内)?(?:就|即可|可以)?(?:能)?(?:发货|发出|送达|到货|寄出|出库|送到|到家|到手)"
    rf"|(?:{_NUM}天|明天|明日|后天|隔天|次日)(?:内|之内)?(?:就|即可|可以)?(?:能)?(?:送)?到"
    r"|(?<![a-z])(?:free\s+(?:shipping|delivery|postage)|ships?\s+(?:today|tomorrow|within\s+\d+\s+(?:hours?|days?)|in\s+\d+\s+(?:hours?|days?))"
    r"|next[\s-]+day\s+(?:delivery|shipping)|same[\s-]+day\s+(?:delivery|shipping)|arrives?\s+(?:tomorrow|in\s+\d+\s+days?|within\s+\d+\s+days?)"
    r"|express\s+(?:shipping|delivery)|\d+[\s-]*day\s+(?:shipping|delivery))(?![a-z])",
    _EN,
)
_PHRASE_RULES = (("offer_claim", _OFFER, "offer"), ("policy_claim", _POLICY, "after-sales or guarantee term"),
                 ("shipping_claim", _SHIPPING, "shipping term"))

# --------------------------------------------------------------------------- stock

_STOCK_ZH = re.compile(
    rf"(?:只剩(?:下)?|仅剩(?:下)?|还剩(?:下)?|剩下|剩|库存(?:还有|只有|仅有|仅|就|有|还剩)?|最后|限量)(?P<num>{_NUM})(?:件|个|单|份|瓶|套|盒|台|只|双|条|支)(?!小时|钟头|星期|礼拜|月|工作日|[一-龥]{{0,2}}(?:卖点|问题|步|环节))"
)
_STOCK_EN = re.compile(
    r"(?<![a-z])(?:only\s+(?P<a>\d+)\s+(?:left|remaining|in\s+stock|available)|(?P<b>\d+)\s+(?:units?\s+|pieces?\s+|items?\s+)?(?:left\s+in\s+stock|left|remaining)"
    r"|last\s+(?P<c>\d+)\s+(?:units?|pieces?|items?)|limited\s+to\s+(?P<d>\d+)(?:\s+(?:units?|pieces?))?)(?![a-z])",
    _EN,
)

# --------------------------------------------------------------------------- urgency

_UNIT_SECONDS = {"秒": 1, "分钟": 60, "分": 60, "小时": 3600, "个小时": 3600, "天": 86400,
                 "second": 1, "minute": 60, "min": 60, "hour": 3600, "day": 86400}
_URGENT_TIME = re.compile(
    rf"限时|倒计时|最后(?P<zn>{_NUM}|几)(?P<zu>秒|分钟|分|个小时|小时|天)|马上(?:就)?(?:要)?(?:涨价|恢复原价|结束|下架|截止)|即将(?:结束|涨价|截止|下架|恢复原价)"
    r"|今天(?:是)?最后一天|今晚(?:就)?(?:结束|截止)|仅限今天|错过(?:今天|这次|这波)?(?:就)?(?:没|再等|要等)"
    r"|(?<![a-z])(?:limited[\s-]+time|hurry|ends?\s+(?:soon|today|tonight)|last\s+chance|today\s+only|countdown|don'?t\s+miss\s+(?:out|it)"
    r"|(?:only|just|last)\s+(?P<en>\d+)\s+(?P<eu>seconds?|minutes?|mins?|hours?|days?)\s+(?:left|to\s+go|remaining))(?![a-z])",
    _EN,
)
_SCARCE = re.compile(
    r"手慢无|快(?:要)?(?:卖完|抢光|没了|售罄)|马上(?:就)?(?:要)?(?:卖完|抢光|售罄|没了)|即将售罄|所剩无几|库存(?:告急|紧张|不多)|抢完(?:就)?没"
    r"|(?<![a-z])(?:selling\s+fast|almost\s+gone|almost\s+sold\s+out|while\s+(?:supplies|stocks?)\s+last|running\s+out|low\s+stock|going\s+fast)(?![a-z])",
    _EN,
)

# --------------------------------------------------------------------------- dates

_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_DATE = re.compile(
    r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2}|[一二三四五六七八九十]{1,2})月(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})(?:日|号)"
    r"|(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})(?!\d)"
    r"|(?<![a-z])(?P<em>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
    r"\.?\s+(?P<ed>\d{1,2})(?:st|nd|rd|th)?(?![a-z0-9])",
    _EN,
)
_CLOCK = re.compile(
    r"(?:今晚|今天|明天|明晚|晚上|下午|上午|中午|凌晨)?(?P<zh>\d{1,2}|[一二两三四五六七八九十]{1,3})点(?:(?P<zm>\d{1,2})分?|半)?(?:整)?(?:就|准时)?(?P<zw>结束|截止|开始|开抢|恢复原价|涨价)"
    r"|(?<![a-z])(?P<ew>ends?|until|till|starts?|begins?)\s+(?:at\s+)?(?P<eh>\d{1,2})(?::(?P<emin>\d{2}))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)?(?![a-z0-9])",
    _EN,
)


class ClaimChecker:
    """Finds the commitments in one sentence and says which the catalog does not back.

    ``terms`` are the shop's own statements (its returns, shipping and offer
    terms, from the channel config); ``tz`` is the channel's time zone, for
    dates and clock times; ``now`` is the channel's clock.
    """

    def __init__(self, *, terms: Iterable[str] = (), tz: tzinfo | None = None) -> None:
        self.terms = tuple(terms)
        self._terms_canon = canon(" ".join(self.terms))
        self.tz = tz
        self._text_cache: dict[str, str] = {}

    @staticmethod
    def spans(text: str) -> list[tuple[int, int]]:
        """Where ``text`` states a stock count, a time limit or a date: numbers there are this checker's to judge."""
        patterns = (_STOCK_ZH, _STOCK_EN, _URGENT_TIME, _DATE, _CLOCK)
        return [m.span() for p in patterns for m in p.finditer(text)]

    def _backing_text(self, product: Product) -> str:
        key = f"{product.sku}\x1f{id(product)}"
        text = self._text_cache.get(key)
        if text is None:
            blob = " ".join([product.title, product.description, *product.selling_points, *product.tags,
                             *product.specs.values(), *(v.title for v in product.variants)])
            text = self._text_cache[key] = canon(blob)
            if len(self._text_cache) > 4096:
                self._text_cache.clear()
        return text

    def check(self, text: str, products: list[Product], now: datetime) -> list[RuleHit]:
        claims: list[RuleHit] = []
        backing = [self._backing_text(p) for p in products]
        for rule, pattern, what in _PHRASE_RULES:
            for m in pattern.finditer(text):
                key = canon(m.group())
                if key and (key in self._terms_canon or any(key in b for b in backing)):
                    continue
                claims.append(RuleHit(rule, m.span(), f"{m.group()!r}: {what} not in the catalog or the shop's terms"))
        claims += self._stock(text, products)
        claims += self._urgency(text, products, now)
        claims += self._dates(text, products, backing)
        return claims

    # ---------------------------------------------------------------- stock

    @staticmethod
    def _stocks(products: list[Product]) -> set[int]:
        counts = {p.stock for p in products if p.stock is not None}
        counts |= {v.stock for p in products for v in p.variants if v.stock is not None}
        return counts

    def _stock(self, text: str, products: list[Product]) -> list[RuleHit]:
        out = []
        counts = self._stocks(products)
        found = [(m, m["num"]) for m in _STOCK_ZH.finditer(text)]
        found += [(m, m["a"] or m["b"] or m["c"] or m["d"]) for m in _STOCK_EN.finditer(text)]
        for m, raw in found:
            value = _n(raw)
            if value is None or value != int(value) or int(value) not in counts:
                known = ", ".join(str(c) for c in sorted(counts)) or "no count in the catalog"
                out.append(RuleHit("stock_claim", m.span(), f"{m.group()!r}: stock count not backed ({known})"))
        return out

    # ---------------------------------------------------------------- urgency

    def _urgency(self, text: str, products: list[Product], now: datetime) -> list[RuleHit]:
        out = []
        ends = [p.sale_end for p in products if p.sale_active(now) and p.sale_end is not None]
        for m in _URGENT_TIME.finditer(text):
            if not ends:
                out.append(RuleHit("urgency_claim", m.span(), f"{m.group()!r}: no running sale with an end time"))
                continue
            num, unit = (m["zn"], m["zu"]) if m["zu"] else (m["en"], m["eu"])
            if unit:
                amount = _n(num) if num != "几" else None
                unit = unit.lower().rstrip("s") if unit.isascii() else unit
                left = min(ends) - now
                if amount is not None and left > timedelta(seconds=float(amount) * _UNIT_SECONDS.get(unit, 1)):
                    out.append(RuleHit("urgency_claim", m.span(), f"{m.group()!r}: the sale has {_human(left)} left, more than claimed"))
        counts = [c for c in self._stocks(products)]
        for m in _SCARCE.finditer(text):
            if not counts or min(counts) > LOW_STOCK:
                out.append(RuleHit("urgency_claim", m.span(), f"{m.group()!r}: scarcity needs a stock count of at most {LOW_STOCK}"))
        return out

    # ---------------------------------------------------------------- dates

    def _sale_moments(self, products: list[Product], *, start: bool | None = None) -> list[datetime]:
        """Sale starts and ends (only starts with ``start=True``, only ends with ``False``), in the channel's zone."""
        pick = {None: ("sale_start", "sale_end"), True: ("sale_start",), False: ("sale_end",)}[start]
        records: list[Product | Variant] = [*products, *(v for p in products for v in p.variants)]  # variants' too
        moments = [t for r in records for t in (getattr(r, a) for a in pick) if t is not None]
        if start is not False:  # a preorder's date: when it can be had (it "starts")
            moments += [r.available_from for r in records if r.available_from is not None]
        return [t.astimezone(self.tz) if self.tz else t for t in moments]

    def _dates(self, text: str, products: list[Product], backing: list[str]) -> list[RuleHit]:
        out = []
        moments = self._sale_moments(products)
        month: int | Decimal | None
        for m in _DATE.finditer(text):
            if m["em"]:
                month, day, year = _MONTHS[m["em"][:3].lower()], _n(m["ed"]), None
            elif m["iy"]:
                month, day, year = _n(m["im"]), _n(m["id"]), _n(m["iy"])
            else:
                month, day, year = _n(m["m"]), _n(m["d"]), _n(m["y"]) if m["y"] else None
            ok = any(t.month == month and t.day == day and (year is None or t.year == year) for t in moments)
            if not ok and any(canon(m.group()) in b for b in backing):
                ok = True
            if not ok:
                out.append(RuleHit("date_claim", m.span(), f"{m.group()!r}: not a sale start or end in the catalog"))
        for m in _CLOCK.finditer(text):
            if m["zh"]:
                hour, minute = _n(m["zh"]), (30 if "半" in m.group() else _n(m["zm"]) if m["zm"] else 0)
                assert hour is not None  # the pattern matches only numerals that _n reads
                evening = any(w in m.group() for w in ("晚", "下午"))
                hours = {int(hour) % 24, (int(hour) + 12) % 24} if evening or hour <= 12 else {int(hour) % 24}
            else:
                hour, minute = _n(m["eh"]), _n(m["emin"]) if m["emin"] else 0
                assert hour is not None  # digits
                ap = (m["ap"] or "").lower()
                h = int(hour) % 12
                hours = {h + 12} if ap.startswith("p") else {h} if ap.startswith("a") else {h, h + 12}
                hours = {x % 24 for x in hours}
            word = (m["zw"] or m["ew"]).lower()
            starts = word in ("开始", "开抢") or word.startswith(("start", "begin"))
            pool = self._sale_moments(products, start=starts)
            ok = any(t.hour in hours and t.minute == minute for t in pool)
            if not ok:
                out.append(RuleHit("date_claim", m.span(), f"{m.group()!r}: not a sale start or end time in the catalog"))
        return out


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
