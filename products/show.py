"""Run-of-show: when a channel is on air, which product it sells, and flash sales.

All times are in the channel's time zone.  The logic here is pure (every
call takes ``now``), so it runs the same on the wall clock and on a test's
virtual clock; :mod:`livehost.app.show_timer` fires the changes on time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from livehost.core.config import Strict
from products.model import Catalog, Product
from products.money import to_money

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _clock_time(value: str) -> time:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day like 20:00")
    return time.fromisoformat(value)


class Window(Strict):
    """A daily on-air window; ``end`` before ``start`` runs past midnight."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        _clock_time(v)
        return v

    def contains(self, local: datetime) -> bool:
        t, a, b = local.time(), _clock_time(self.start), _clock_time(self.end)
        return a <= t < b if a < b else (t >= a or t < b)


class FlashSale(Strict):
    """A product at a special price for a while: once (ISO date-times) or daily (HH:MM)."""

    sku: str
    price: Decimal
    start: str
    end: str

    @field_validator("price", mode="before")
    @classmethod
    def _money(cls, v: object) -> Decimal:
        return to_money(v)

    @model_validator(mode="after")
    def _times(self) -> FlashSale:
        daily = [bool(_HHMM.match(x)) for x in (self.start, self.end)]
        if daily[0] != daily[1]:
            raise ValueError(f"start {self.start!r} and end {self.end!r}: both times of day (20:00) or both date-times")
        if not daily[0]:
            start, end = (datetime.fromisoformat(x) for x in (self.start, self.end))
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError(f"start {self.start!r} / end {self.end!r}: date-times need a time zone offset")
            if end <= start:
                raise ValueError(f"end {self.end!r} must be after start {self.start!r}")
        elif self.start == self.end:
            raise ValueError(f"start {self.start!r} and end {self.end!r} are the same time")
        return self

    @property
    def daily(self) -> bool:
        return bool(_HHMM.match(self.start))

    def window_at(self, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The occurrence that contains ``now``, if any."""
        if not self.daily:
            start, end = datetime.fromisoformat(self.start), datetime.fromisoformat(self.end)
            return (start, end) if start <= now < end else None
        local = now.astimezone(tz)
        for day in (local.date() - timedelta(days=1), local.date()):
            start, end = self._daily(day, tz)
            if start <= now < end:
                return start, end
        return None

    def _daily(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(day, _clock_time(self.start), tz)
        end = datetime.combine(day, _clock_time(self.end), tz)
        if end <= start:
            end += timedelta(days=1)
        return start, end

    def boundaries(self, after: datetime, until: datetime, tz: ZoneInfo) -> list[datetime]:
        """Start and end instants in (after, until]."""
        if not self.daily:
            points = [datetime.fromisoformat(self.start), datetime.fromisoformat(self.end)]
        else:
            points = []
            day = after.astimezone(tz).date() - timedelta(days=1)
            while datetime.combine(day, time(0), tz) <= until:
                points += list(self._daily(day, tz))
                day += timedelta(days=1)
        return sorted(p for p in points if after < p <= until)


class ShowConfig(Strict):
    timezone: str = "Asia/Shanghai"
    on_air: list[Window] = Field(default_factory=list, description="daily windows; empty: 24 hours")
    rotation: Literal["ordered", "weighted"] = "ordered"
    products: list[str] = Field(default_factory=list, description="skus in order; empty: the whole catalog")
    weights: dict[str, float] = Field(default_factory=dict, description="weighted rotation: sku -> weight (default 1)")
    dwell_seconds: float | None = Field(default=None, gt=0,
                                        description="air time per product; default: sentences_per_product")
    skip_out_of_stock: bool = True
    flash_sales: list[FlashSale] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a time zone name like Asia/Shanghai") from None
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for sku, w in v.items():
            if w < 0:
                raise ValueError(f"{sku}: weight {w} must be >= 0")
        return v


@dataclass(frozen=True)
class ActiveFlash:
    sku: str
    price: Decimal
    start: datetime
    end: datetime


class RunOfShow:
    def __init__(self, config: ShowConfig | None = None) -> None:
        self.config = config or ShowConfig()
        self.tz = ZoneInfo(self.config.timezone)
        self._credit: dict[str, float] = {}  # smooth weighted round robin state

    def on_air(self, now: datetime) -> bool:
        if not self.config.on_air:
            return True
        local = now.astimezone(self.tz)
        return any(w.contains(local) for w in self.config.on_air)

    def flash_at(self, now: datetime) -> ActiveFlash | None:
        for f in self.config.flash_sales:
            window = f.window_at(now, self.tz)
            if window:
                return ActiveFlash(f.sku, f.price, *window)
        return None

    def boundaries(self, after: datetime, until: datetime, catalog: Catalog | None = None) -> list[datetime]:
        """Every instant in (after, until] where a flash sale or an on-air window starts or ends, and, given a
        ``catalog``, where one of its sales starts or ends: where what the host may say changes."""
        points = {p for f in self.config.flash_sales for p in f.boundaries(after, until, self.tz)}
        for p in catalog or ():
            if p.sale_price is not None:
                points |= {t for t in (p.sale_start, p.sale_end) if t is not None and after < t <= until}
        day = after.astimezone(self.tz).date() - timedelta(days=1)
        while datetime.combine(day, time(0), self.tz) <= until:
            for w in self.config.on_air:
                for t in (w.start, w.end):
                    point = datetime.combine(day, _clock_time(t), self.tz)
                    if after < point <= until:
                        points.add(point)
            day += timedelta(days=1)
        return sorted(points)

    def apply(self, catalog: Catalog, now: datetime) -> Catalog:
        """The catalog as the host must state it at ``now``: a running flash sale's price included (on the
        product, or on the one variant the sale names)."""
        flash = self.flash_at(now)
        found = catalog.resolve(flash.sku) if flash else None
        if flash is None or found is None:
            return catalog
        product, variant = found
        sale = {"sale_price": flash.price, "sale_start": flash.start, "sale_end": flash.end}
        if variant is not None:
            if flash.price >= product.variant_price(variant):
                return catalog
            if variant.price is None:
                sale["price"] = product.price  # its own sale needs its own price to be below
            variants = [variant.model_copy(update=sale) if v is variant else v for v in product.variants]
            updated = product.model_copy(update={"variants": variants})
        elif flash.price >= product.price:
            return catalog
        else:
            updated = product.model_copy(update=sale)
        products = [updated if p.sku == product.sku else p for p in catalog.products]
        return Catalog(products=products, source=catalog.source, version=f"{catalog.version}+flash:{flash.sku}")

    def sellable(self, catalog: Catalog) -> list[Product]:
        order = self.config.products or catalog.skus()
        skus = dict.fromkeys(sku for s in order if (sku := catalog.sku_of(s)) is not None)  # variant ids too
        products = [catalog[s] for s in skus]
        if self.config.skip_out_of_stock:
            products = [p for p in products if p.in_stock]
        return products

    def next_sku(self, catalog: Catalog, after: str | None, now: datetime) -> str | None:
        """The product to sell next (a running flash sale wins); None when nothing is sellable."""
        flash = self.flash_at(now)
        flash_sku = catalog.sku_of(flash.sku) if flash else None
        if flash_sku is not None and (catalog[flash_sku].in_stock or not self.config.skip_out_of_stock):
            return flash_sku
        products = self.sellable(catalog)
        if not products:
            return None
        skus = [p.sku for p in products]
        if self.config.rotation == "weighted":
            return self._weighted(skus)
        if after in skus:
            return skus[(skus.index(after) + 1) % len(skus)]
        if after is not None and self.config.products and after in self.config.products:
            # `after` left the rotation (sold out): continue from its place in the order
            order = self.config.products
            for sku in order[order.index(after) + 1 :] + order:
                if sku in skus:
                    return sku
        return skus[0]

    def _weighted(self, skus: list[str]) -> str:
        # smooth weighted round robin: deterministic, and each product gets its share evenly spread
        weights = {s: self.config.weights.get(s, 1.0) for s in skus}
        if not any(weights.values()):
            weights = dict.fromkeys(skus, 1.0)
        total = sum(weights.values())
        for s in skus:
            self._credit[s] = self._credit.get(s, 0.0) + weights[s]
        best = max(skus, key=lambda s: (self._credit[s], -skus.index(s)))
        self._credit[best] -= total
        return best
