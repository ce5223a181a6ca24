"""Product catalog model.

Money is :class:`~decimal.Decimal`, never float (:mod:`products.money`).
Prices are validated to at most two decimal places, strictly positive, and a
sale price must be below the list price.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from products.money import format_money, spoken_money, to_money

#: Compliance kind of a product: decides later which claims may be made about it.
Kind = Literal["general", "food", "cosmetics", "medical_device", "children", "supplement", "alcohol"]
Availability = Literal["in_stock", "out_of_stock", "preorder", "backorder"]


def _money_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return to_money(value)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-11-24T20:00:00+08:00")
    return value


class Variant(BaseModel):
    """One buyable variant (a size, a colour...) with its own id, price and stock."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    title: str = ""
    options: dict[str, str] = Field(default_factory=dict)  # {"颜色": "黑色", "size": "M"}
    price: Decimal | None = None  # None: the product's price
    sale_price: Decimal | None = None
    stock: int | None = Field(default=None, ge=0)  # None: the source gives no count

    @field_validator("price", "sale_price", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Decimal | None:
        return _money_or_none(value)

    @model_validator(mode="after")
    def _sale_below_price(self) -> Variant:
        if self.sale_price is not None and self.price is not None and self.sale_price >= self.price:
            raise ValueError(f"sale_price {self.sale_price} must be below the price {self.price}")
        return self


class Product(BaseModel):
    """One sellable item, as the catalog states it.  Immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    title: str = Field(min_length=1, max_length=80)
    lang: Literal["zh", "en"]
    brand: str = ""
    category: str = ""
    description: str = ""
    selling_points: list[str] = Field(default_factory=list)
    specs: dict[str, str] = Field(default_factory=dict)
    price: Decimal
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    sale_price: Decimal | None = None
    stock: int | None = Field(default=None, ge=0)  # None: the source gives no count (see availability)
    sale_start: datetime | None = None  # the sale price applies from here (time-zone aware)...
    sale_end: datetime | None = None  # ...until here; either may be open
    availability: Availability | None = None  # None: in_stock when stock > 0
    image: str | None = None  # path relative to the catalog file, or an http(s) URL
    images: list[str] = Field(default_factory=list)  # more images, same rules
    url: str | None = None
    tags: list[str] = Field(default_factory=list)
    kind: Kind = "general"
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Decimal:
        return to_money(value)

    @field_validator("sale_price", mode="before")
    @classmethod
    def _sale_price(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        if value is None or value == "":
            return None
        amount = to_money(value)
        price = info.data.get("price")
        if price is not None and amount >= price:
            raise ValueError(f"must be below the price {price}")
        return amount

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("stock", mode="before")
    @classmethod
    def _stock(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, (float, Decimal)) and value != int(value)):
            raise ValueError("must be a whole number")
        return value

    @field_validator("specs", mode="before")
    @classmethod
    def _specs(cls, value: Any) -> Any:
        if isinstance(value, dict) and not all(type(v) is str for v in value.values()):
            return {
                k: (str(v) if isinstance(v, (int, Decimal)) and not isinstance(v, bool) else v) for k, v in value.items()
            }
        return value

    @field_validator("selling_points", "tags")
    @classmethod
    def _no_blank_items(cls, value: list[str]) -> list[str]:
        stripped = [item.strip() for item in value]
        if not all(stripped):
            raise ValueError("contains an empty entry")
        return stripped

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return _image_ref(value)

    @field_validator("images")
    @classmethod
    def _images(cls, value: list[str]) -> list[str]:
        return [_image_ref(v) for v in value if v.strip()]

    @field_validator("sale_start", "sale_end")
    @classmethod
    def _tz(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        if not self.variants and self.sale_end is None:
            return self
        if self.sale_start and self.sale_end and self.sale_end <= self.sale_start:
            raise ValueError(f"sale_end {self.sale_end.isoformat()} must be after sale_start {self.sale_start.isoformat()}")
        ids = [v.id for v in self.variants]
        if len(ids) != len(set(ids)):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"variant id {dup!r} appears twice")
        for v in self.variants:
            if v.price is None and v.sale_price is not None and v.sale_price >= self.price:
                raise ValueError(f"variant {v.id}: sale_price {v.sale_price} must be below the price {self.price}")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    def sale_active(self, at: datetime | None = None) -> bool:
        """Whether the sale price applies at ``at`` (default: now)."""
        if self.sale_price is None:
            return False
        if self.sale_start is None and self.sale_end is None:
            return True
        at = at or datetime.now(UTC)
        return (self.sale_start is None or self.sale_start <= at) and (self.sale_end is None or at < self.sale_end)

    def price_at(self, at: datetime | None = None) -> Decimal:
        """What a buyer pays at ``at``: the sale price inside its window, else the price."""
        return self.sale_price if self.sale_active(at) else self.price  # type: ignore[return-value]

    @property
    def effective_price(self) -> Decimal:
        """What a buyer pays now."""
        return self.price_at()

    @property
    def on_sale(self) -> bool:
        return self.sale_active()

    @property
    def prices(self) -> frozenset[Decimal]:
        """Every amount the catalog backs for this product: price, sale price, variant prices."""
        amounts = {self.price, self.sale_price}
        for v in self.variants:
            amounts |= {v.price, v.sale_price}
        return frozenset(a for a in amounts if a is not None)

    @property
    def in_stock(self) -> bool:
        if self.availability == "out_of_stock":
            return False
        if self.availability in ("preorder", "backorder", "in_stock") and self.stock is None:
            return True
        if self.stock is None:
            return True  # nothing says otherwise
        return self.stock > 0 or self.availability in ("preorder", "backorder")

    @property
    def image_is_url(self) -> bool:
        return self.image is not None and self.image.startswith(("http://", "https://"))

    def display_price(self) -> str:
        return format_money(self.effective_price, self.currency)

    def spoken_price(self, lang: str | None = None) -> str:
        return spoken_money(self.effective_price, self.currency, lang or self.lang)


# --------------------------------------------------------------------------- catalog


def _image_ref(value: str) -> str:
    value = value.strip()
    if value.startswith(("http://", "https://")):
        return value
    if "://" in value or value.startswith(("/", "\\")) or ".." in Path(value).parts:
        raise ValueError("must be an http(s) URL or a path relative to the catalog file")
    return value


@dataclass(frozen=True)
class RejectedItem:
    """A catalog row that did not validate: which row, which field, what value, why."""

    index: int  # 0-based position among the source's items
    sku: str | None
    field: str  # dotted path inside the item, "" for the whole item
    value: Any
    reason: str
    row: int | None = None  # the row number a spreadsheet user sees (header = 1), when there is one

    @property
    def where(self) -> int:
        """The number to show a user: the spreadsheet row, else the 1-based item position."""
        return self.row if self.row is not None else self.index + 1

    def as_json(self) -> dict[str, Any]:
        value = self.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = str(value)
        return {"row": self.where, "id": self.sku, "field": self.field, "value": value, "reason": self.reason}

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else f"item {self.index + 1}"
        where += f" (id {self.sku})" if self.sku else ""
        return f"{where}: {self.field or '<item>'}={self.value!r}: {self.reason}"


def catalog_version(products: list[Product]) -> str:
    """sha256 over the canonical JSON of the products: changes exactly when the catalog content changes."""
    payload = json.dumps(
        [p.model_dump(mode="json") for p in products], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Catalog(BaseModel):
    """The valid products of one catalog source, plus the rows that were rejected."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    products: list[Product]
    version: str = ""  # sha256 of the products' canonical JSON; computed when left empty
    source: str = ""
    rejected: list[RejectedItem] = Field(default_factory=list)

    _by_sku: dict[str, Product] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _index(self) -> Catalog:
        by_sku: dict[str, Product] = {}
        for product in self.products:
            if product.sku in by_sku:
                raise ValueError(f"duplicate sku {product.sku!r}")
            by_sku[product.sku] = product
        self._by_sku = by_sku
        if not self.version:
            object.__setattr__(self, "version", catalog_version(self.products))
        return self

    def get(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

    def __getitem__(self, sku: str) -> Product:
        try:
            return self._by_sku[sku]
        except KeyError:
            raise KeyError(f"sku {sku!r} is not in catalog {self.source or self.version[:12]}") from None

    def __contains__(self, sku: object) -> bool:
        return sku in self._by_sku

    def __iter__(self) -> Iterator[Product]:  # type: ignore[override]
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def in_stock(self) -> list[Product]:
        return [p for p in self.products if p.in_stock]

    def skus(self) -> list[str]:
        return [p.sku for p in self.products]

    def image_path(self, sku: str) -> Path | None:
        """The product image resolved against the catalog file's folder."""
        product = self[sku]
        if product.image is None or product.image_is_url:
            return None  # remote images are not fetched while on air
        base = Path(self.source).parent if self.source else Path(".")
        return base / product.image
