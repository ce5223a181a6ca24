"""Load a catalog from livehost's own JSON schema.

Schema (UTF-8 JSON)::

    {
      "products": [
        {
          "sku": "ZH-CUP-500",             # required, no whitespace, unique in the file
          "title": "304不锈钢保温杯 500ml", # required
          "lang": "zh",                    # required: "zh" or "en"
          "brand": "...", "category": "...", "description": "...",
          "selling_points": ["...", "..."],  # short phrases, one spoken sentence each
          "specs": {"容量": "500ml"},        # name -> value (numbers are turned into strings)
          "price": "69.00",                # required; string, integer or number, > 0, <= 2 decimals
          "currency": "CNY",               # required ISO 4217 code
          "sale_price": "59.00",           # optional, must be below price
          "stock": 120,                    # required integer >= 0
          "image": "images/cup.jpg",       # optional, relative to this file
          "url": "https://...",            # optional
          "tags": ["通勤", "办公室"]         # optional; the script engine uses them as use scenes
        }
      ]
    }

Unknown fields are rejected (so a typo like ``"pirce"`` is reported, not ignored).
JSON numbers are read as :class:`~decimal.Decimal`, so ``59.999`` is seen as written.

Bad rows do not stop the load: every problem is recorded in ``Catalog.rejected``
as a :class:`~products.model.RejectedItem` (index, sku, field, value, reason) and
the valid rows load.  :class:`CatalogError` is raised only when the file cannot
be read or parsed, has no ``products`` list, or contains no valid product.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from products.model import Catalog, Product, RejectedItem

__all__ = ["CatalogError", "RejectedItem", "catalog_from_data", "load_catalog", "sample_catalog_path"]

_MISSING = object()


class CatalogError(Exception):
    """The catalog as a whole is unusable.  ``rejected`` lists every bad row found."""

    def __init__(self, message: str, rejected: list[RejectedItem] | None = None) -> None:
        self.rejected = list(rejected or [])
        if self.rejected:
            message += "\n" + "\n".join(f"  - {r}" for r in self.rejected)
        super().__init__(message)


def sample_catalog_path() -> Path:
    """The bundled sample catalog (Chinese and English products)."""
    return Path(__file__).resolve().parent / "data" / "sample_catalog.json"


def _lookup(item: Any, loc: tuple[Any, ...]) -> Any:
    value = item
    for key in loc:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return value


def _rejections(index: int, item: Any, error: ValidationError) -> list[RejectedItem]:
    sku = item.get("sku") if isinstance(item, dict) else None
    sku = sku if isinstance(sku, str) and sku.strip() else None
    out = []
    for err in error.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(part) for part in loc)
        value = _lookup(item, loc) if loc else item
        if value is _MISSING:
            value = None
        reason = err["msg"]
        if err["type"] == "missing":
            reason = "required field is missing"
        elif err["type"] == "extra_forbidden":
            reason = "unknown field"
        elif reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        out.append(RejectedItem(index=index, sku=sku, field=field, value=value, reason=reason))
    return out


def catalog_from_data(data: Any, *, source: str = "") -> Catalog:
    """Validate an already parsed catalog document (see the module docstring)."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise CatalogError(f"{source or 'catalog'}: expected a JSON object with a \"products\" list")
    products: list[Product] = []
    rejected: list[RejectedItem] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data["products"]):
        if not isinstance(item, dict):
            rejected.append(RejectedItem(index, None, "", item, "each product must be a JSON object"))
            continue
        try:
            product = Product.model_validate(item)
        except ValidationError as exc:
            rejected.extend(_rejections(index, item, exc))
            continue
        if product.sku in seen:
            rejected.append(
                RejectedItem(index, product.sku, "sku", product.sku, f"duplicate sku (first at item {seen[product.sku]})")
            )
            continue
        seen[product.sku] = index
        products.append(product)
    if not products:
        raise CatalogError(f"{source or 'catalog'}: no valid product", rejected)
    return Catalog(products=products, source=source, rejected=rejected)


def load_catalog(path: str | Path) -> Catalog:
    """Read a catalog JSON file; good rows load, bad rows land in ``Catalog.rejected``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: catalog is not UTF-8 text: {exc}") from exc
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    return catalog_from_data(data, source=str(path))
