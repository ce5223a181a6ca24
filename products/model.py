"""Product catalog model.

Money is :class:`~decimal.Decimal`, never float (:mod:`products.money`).
Prices are validated to at most two decimal places, strictly positive, and a
sale price must be below the list price.

Text a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``@SUM(``,
``+cmd|...``) is refused in every text field: :func:`looks_like_formula`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from products.limits import limits
from products.money import format_money, spoken_money, to_money
from products.text import plain_text

#: Compliance kind of a product: decides later which claims may be made about it.
Kind = Literal["general", "food", "cosmetics", "medical_device", "children", "supplement", "alcohol"]
Availability = Literal["in_stock", "out_of_stock", "preorder", "backorder"]


def _money_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return to_money(value)


def _window_open(sale_price: Decimal | None, start: datetime | None, end: datetime | None,
                 at: datetime | None) -> bool:
    """A sale price applies at ``at`` (default: now) inside its window; an open end is open."""
    if sale_price is None:
        return False
    if start is None and end is None:
        return True
    at = at or datetime.now(UTC)
    return (start is None or start <= at) and (end is None or at < end)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-11-24T20:00:00+08:00")
    return value


def _whole(value: Any) -> Any:
    """A stock count from JSON or a sheet: a float or Decimal only when it is a whole number."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, (float, Decimal)):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _at_most_max_stock(value: int) -> int:
    ceiling = limits().max_stock
    if value > ceiling:
        raise ValueError(f"must be at most {ceiling:,} (LIVEHOST_MAX_STOCK)")
    return value


#: A stock count: a whole number from 0 to :attr:`~products.limits.Limits.max_stock` (``12.0`` is 12).
StockCount = Annotated[int, BeforeValidator(_whole), Field(ge=0), AfterValidator(_at_most_max_stock)]


def _in_stock(availability: str | None, stock: int | None) -> bool:
    """Whether one can order now: not out of stock, and a known count of 0 only for preorder or backorder."""
    if availability == "out_of_stock":
        return False
    if stock is None or stock > 0:
        return True
    return availability in ("preorder", "backorder")


# --------------------------------------------------------------------------- formula cells: begin
# Catalog text comes from spreadsheets and goes on to the dashboard, exported sheets and the host's voice:
# text a spreadsheet would run as a formula is refused with its row, never stored, nor quietly altered.

#: functions that reach outside the sheet (links, web requests, other files, programs): never text
_OUTSIDE = frozenset({"HYPERLINK", "WEBSERVICE", "IMPORTXML", "IMPORTDATA", "IMPORTHTML", "IMPORTFEED", "IMPORTRANGE",
                      "IMAGE", "FILTERXML", "CALL", "REGISTER", "REGISTER.ID", "EXEC", "DDE", "DDEAUTO", "INFO", "CELL"})
_SIGNS = frozenset("=+-@")
_CALL = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.]*)\(")
_DDE = re.compile(r"[\d.\s+\-*/^&]*[A-Za-z][\w.]*\|[^!]*!", re.ASCII)  # cmd|' /C calc'!A0, 2+3+cmd|...!A0


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet would run ``text`` as a formula (white space, tab and CR before it aside).

    ``=`` starts a formula, whatever follows.  ``+``, ``-`` and ``@`` start
    one only when a function call or a DDE link follows: an upper-case name
    right after the sign (``-SUM(A1)``, ``@AVERAGE(``), a function that
    reaches outside the sheet in any case and after spaces (``+ hyperlink(``,
    ``@IMPORTXML(``, ``-WEBSERVICE(``), or ``app|topic!item`` (``+cmd|' /C
    calc'!A0``, ``-2+3+cmd|...!A0``).  So ``-20℃ 保冷``, ``+1 年保修``,
    ``-20%``, ``@cosme`` and ``- Size(cm)`` are text.
    """
    text = text.lstrip()
    if not text or text[0] not in "=+-@":
        return False
    if text[0] == "=":
        return True
    rest = text[1:]
    if _DDE.match(rest):
        return True
    call = _CALL.match(rest)
    if call is None:
        return False
    name = call[1]
    return name.upper() in _OUTSIDE or (call.start(1) == 0 and name.isupper())


def _refuse_formula(text: Any, what: str) -> None:
    if looks_like_formula(text):
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:39] + "…"
        raise ValueError(f"{what}looks like a spreadsheet formula ({shown}); formulas are not imported")


def _formula_free(value: Any) -> Any:
    """``value`` (a text, a list of texts, a dict of texts) when no text in it looks like a formula.

    Only a text's first character is looked at first: the model strips white space (tab and CR too) off
    every text before this runs, and most texts start with none of ``=+-@``.
    """
    if type(value) is str:
        if value[:1] in _SIGNS:
            _refuse_formula(value, "")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if item[:1] in _SIGNS:
                _refuse_formula(item, f"entry {i + 1}: ")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key[:1] in _SIGNS:
                _refuse_formula(key, f"name {key!r}: ")
            if item[:1] in _SIGNS:
                _refuse_formula(item, f"{key}: ")
    return value
# --------------------------------------------------------------------------- formula cells: end


class Variant(BaseModel):
    """One buyable variant (a size, a colour...) with its own id, price, sale, availability and stock.

    A field left empty is the product's: price (and then its sale), availability.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    title: str = ""
    options: dict[str, str] = Field(default_factory=dict)  # {"颜色": "黑色", "size": "M"}
    price: Decimal | None = None  # None: the product's price
    sale_price: Decimal | None = None
    sale_start: datetime | None = None  # the variant's sale window (time-zone aware); either end may be open
    sale_end: datetime | None = None
    stock: StockCount | None = None  # None: the source gives no count
    availability: Availability | None = None  # None: the product's
    available_from: datetime | None = None  # a preorder's or backorder's date

    @field_validator("price", "sale_price", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Decimal | None:
        return _money_or_none(value)

    @field_validator("sale_start", "sale_end", "available_from")
    @classmethod
    def _tz(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _sale_below_price(self) -> Variant:
        if self.sale_price is not None and self.price is not None and self.sale_price >= self.price:
            raise ValueError(f"sale_price {self.sale_price} must be below the price {self.price}")
        if self.sale_start and self.sale_end and self.sale_end <= self.sale_start:
            raise ValueError(f"sale_end {self.sale_end.isoformat()} must be after sale_start {self.sale_start.isoformat()}")
        return self

    # formula cells: begin
    @field_validator("id", "title", "options")
    @classmethod
    def _no_formula(cls, value: Any) -> Any:
        return _formula_free(value)
    # formula cells: end

    @property
    def label(self) -> str:
        """How a host names it: its title, else its option values (``"750ml"``, ``"黑色 M"``), else its id."""
        return self.title or " ".join(self.options.values()) or self.id


class Product(BaseModel):
    """One sellable item, as the catalog states it.  Immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    title: str = Field(min_length=1, max_length=150)  # Google Merchant Center allows 150
    lang: Literal["zh", "en"]
    brand: str = ""
    category: str = ""
    description: str = ""
    selling_points: list[str] = Field(default_factory=list)
    specs: dict[str, str] = Field(default_factory=dict)
    price: Decimal
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    sale_price: Decimal | None = None
    stock: StockCount | None = None  # None: the source gives no count (see availability)
    sale_start: datetime | None = None  # the sale price applies from here (time-zone aware)...
    sale_end: datetime | None = None  # ...until here; either may be open
    availability: Availability | None = None  # None: in_stock when stock > 0
    available_from: datetime | None = None  # a preorder's or backorder's date
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

    @field_validator("sale_start", "sale_end", "available_from")
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

    @field_validator("description")
    @classmethod
    def _plain_description(cls, value: Any) -> Any:
        # a merchant's HTML (Shopify's body_html pasted into a JSON catalog) is spoken as text, never as markup
        return plain_text(value) if isinstance(value, str) and ("<" in value or "&" in value) else value

    # formula cells: begin
    @field_validator("sku", "title", "brand", "category", "description", "selling_points", "specs", "tags")
    @classmethod
    def _no_formula(cls, value: Any) -> Any:
        return _formula_free(value)
    # formula cells: end

    def sale_active(self, at: datetime | None = None) -> bool:
        """Whether the product's own sale price applies at ``at`` (default: now)."""
        return _window_open(self.sale_price, self.sale_start, self.sale_end, at)

    # -- variants: each says its own price, sale and availability; the product summarises them honestly

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def variant_price(self, variant: Variant) -> Decimal:
        """The variant's list price (the product's when it states none)."""
        return variant.price if variant.price is not None else self.price

    def variant_sale_active(self, variant: Variant, at: datetime | None = None) -> bool:
        if variant.sale_price is not None:
            return _window_open(variant.sale_price, variant.sale_start, variant.sale_end, at)
        return variant.price is None and self.sale_active(at)  # no price of its own: the product's sale is its sale

    def variant_price_at(self, variant: Variant, at: datetime | None = None) -> Decimal:
        """What a buyer of ``variant`` pays at ``at``."""
        if not self.variant_sale_active(variant, at):
            return self.variant_price(variant)
        return variant.sale_price if variant.sale_price is not None else self.price_at(at)

    def variant_availability(self, variant: Variant) -> str | None:
        return variant.availability or self.availability

    def variant_in_stock(self, variant: Variant) -> bool:
        return _in_stock(self.variant_availability(variant), variant.stock)

    def price_at(self, at: datetime | None = None) -> Decimal:
        """What a buyer pays at ``at``; with variants, the lowest price of one that can be ordered (of any, when
        none can): a price some variant has, never one none has.  :meth:`prices_differ` says whether to add 起."""
        if not self.variants:
            return self.sale_price if self.sale_active(at) and self.sale_price is not None else self.price
        buyable = [v for v in self.variants if self.variant_in_stock(v)] or self.variants
        return min(self.variant_price_at(v, at) for v in buyable)

    def prices_differ(self, at: datetime | None = None) -> bool:
        """The variants that can be ordered do not all cost the same at ``at`` ("59元起", "from 59")."""
        buyable = [v for v in self.variants if self.variant_in_stock(v)] or self.variants
        return len({self.variant_price_at(v, at) for v in buyable}) > 1

    def on_sale_at(self, at: datetime | None = None) -> bool:
        """A sale is running for the product or one of its variants."""
        return self.sale_active(at) or any(self.variant_sale_active(v, at) for v in self.variants)

    @property
    def effective_price(self) -> Decimal:
        """What a buyer pays now."""
        return self.price_at()

    @property
    def on_sale(self) -> bool:
        return self.on_sale_at()

    @property
    def prices(self) -> frozenset[Decimal]:
        """Every amount the catalog backs for this product: price, sale price, variant prices."""
        amounts = {self.price, self.sale_price}
        for v in self.variants:
            amounts |= {v.price, v.sale_price}
        return frozenset(a for a in amounts if a is not None)

    @property
    def in_stock(self) -> bool:
        """Something of it can be ordered now."""
        if self.variants and any(v.availability is not None or v.stock is not None for v in self.variants):
            return any(self.variant_in_stock(v) for v in self.variants)
        return _in_stock(self.availability, self.stock)

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
    _by_variant: dict[str, tuple[Product, Variant]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _index(self) -> Catalog:
        by_sku: dict[str, Product] = {}
        for product in self.products:
            if product.sku in by_sku:
                raise ValueError(f"duplicate sku {product.sku!r}")
            by_sku[product.sku] = product
        self._by_sku = by_sku
        self._by_variant = {v.id: (p, v) for p in self.products for v in p.variants if v.id not in by_sku}
        if not self.version:
            object.__setattr__(self, "version", catalog_version(self.products))
        return self

    def get(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

    def resolve(self, item_id: str) -> tuple[Product, Variant | None] | None:
        """A product id, or a variant id (users know their SKUs): the product, and the variant when one is named."""
        product = self._by_sku.get(item_id)
        if product is not None:
            return product, None
        return self._by_variant.get(item_id)

    def sku_of(self, item_id: str) -> str | None:
        """The product id for a product or variant id; None when the catalog has neither."""
        found = self.resolve(item_id)
        return found[0].sku if found else None

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
