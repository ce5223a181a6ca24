"""Load a catalog: a file in livehost's own JSON schema (:func:`load_catalog`), or any source and format
``livehost catalog import`` reads (:func:`read_catalog`).

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
          "sale_start": "2026-11-24T20:00:00+08:00",  # optional window of the sale price,
          "sale_end": "2026-11-25T00:00:00+08:00",    # time-zone aware; either end may be open
          "stock": 120,                    # optional integer >= 0 (absent: unknown count)
          "availability": "in_stock",      # optional: in_stock, out_of_stock, preorder, backorder
          "image": "images/cup.jpg",       # optional, relative to this file or an http(s) URL
          "images": ["images/cup-2.jpg"],  # optional, more images
          "url": "https://...",            # optional
          "tags": ["通勤", "办公室"],        # optional; the script engine uses them as use scenes
          "kind": "general",               # compliance kind: general, food, cosmetics,
                                           # medical_device, children, supplement, alcohol
          "variants": [                    # optional, each with its own id, price and stock
            {"id": "CUP-500-BLK", "options": {"颜色": "黑色"}, "price": "69.00", "stock": 60}
          ]
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

import asyncio
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from livehost.core import jsonio
from products.feeds.base import FeedError, build_catalog
from products.feeds.native import json_items
from products.feeds.sources import FeedAccess, open_source
from products.model import Catalog, RejectedItem

__all__ = ["CatalogError", "RejectedItem", "catalog_from_data", "load_catalog", "read_catalog", "sample_catalog_path"]


class CatalogError(Exception):
    """The catalog as a whole is unusable.  ``rejected`` lists every bad row found."""

    def __init__(self, message: str, rejected: list[RejectedItem] | None = None) -> None:
        self.rejected = list(rejected or [])
        if self.rejected:
            message += "\n" + "\n".join(f"  - {r}" for r in self.rejected[:50])
            if len(self.rejected) > 50:
                message += f"\n  ... and {len(self.rejected) - 50} more"
        super().__init__(message)


def sample_catalog_path() -> Path:
    """The bundled sample catalog (Chinese and English products)."""
    return Path(__file__).resolve().parent / "data" / "sample_catalog.json"


def catalog_from_data(data: Any, *, source: str = "") -> Catalog:
    """Validate an already parsed catalog document (see the module docstring)."""
    items = []
    try:
        found = list(json_items(data, source=source))
    except FeedError as e:
        raise CatalogError(str(e)) from None
    for item in found:
        if "lang" not in item.data and not item.issues:
            item.issues.append(("lang", None, "required field is missing"))  # our own schema states it
        items.append(item)
    catalog = build_catalog(items, source=source)
    if not catalog.products:
        raise CatalogError(f"{source or 'catalog'}: no valid product", catalog.rejected)
    return catalog


def load_catalog(path: str | Path) -> Catalog:
    """Read a catalog JSON file; good rows load, bad rows land in ``Catalog.rejected``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog: {exc.strerror or exc}") from exc
    try:
        data = jsonio.loads(raw, parse_float=Decimal)
    except jsonio.JsonError as exc:
        raise CatalogError(f"{path}: {exc}") from None
    return catalog_from_data(data, source=str(path))


def read_catalog(source: str | Path, fmt: str = "auto", *, access: FeedAccess | None = None) -> Catalog:
    """A catalog from any source ``livehost catalog import`` reads (a path or URL, any format; ``fmt`` a hint).

    Good rows load and bad rows are in ``Catalog.rejected``; :class:`CatalogError` (with every bad row)
    when the source cannot be read or has no valid product.  Blocking: a URL is fetched in a worker
    thread with its own event loop, so this may be called from async code too.
    """
    name = str(source)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="catalog") as pool:
            opened = pool.submit(asyncio.run, open_source(name, fmt, access=access or FeedAccess())).result()
        catalog = build_catalog(opened.items, source=name)
    except FeedError as e:
        raise CatalogError(f"{name}: {e}") from None
    if not catalog.products:
        raise CatalogError(f"{name}: no valid product", catalog.rejected)
    return catalog
