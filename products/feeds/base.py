"""What every feed reader produces, and the one place items become products.

A reader turns a source's bytes into :class:`FeedItem` records: a dict keyed
by :class:`~products.model.Product` field names (values still raw: strings
as the feed wrote them), the item's position and, for spreadsheets, the row
number the merchant sees.  Problems a reader finds itself (a price like
``"59.00 XYZ"``, an unknown availability word) go into ``FeedItem.issues``
and the field is left out, so the rest of the item still validates and is
reported together.  :func:`build_catalog` validates every item with the
product model and keeps the good ones; nothing else decides what is valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from products.feeds.errors import FeedError
from products.model import Catalog, Product, RejectedItem

__all__ = ["FeedError", "FeedItem", "build_catalog", "guess_lang", "validate_items"]


@dataclass
class FeedItem:
    data: dict[str, Any]
    index: int  # 0-based position among the source's items
    row: int | None = None  # spreadsheet row number (header row = 1)
    issues: list[tuple[str, Any, str]] = field(default_factory=list)  # (field, value, reason) found by the reader

    def reject(self, field_name: str, value: Any, reason: str) -> None:
        self.issues.append((field_name, value, reason))
        self.data.pop(field_name, None)

    @property
    def sku(self) -> str | None:
        sku = self.data.get("sku")
        return sku.strip() if isinstance(sku, str) and sku.strip() else None


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def guess_lang(*texts: str | None) -> str:
    """``zh`` when the text has CJK ideographs, else ``en``."""
    return "zh" if any(t and _CJK.search(t) for t in texts) else "en"


def _reason(err: ErrorDetails) -> str:
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    msg = err["msg"]
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg


def _value_at(data: Any, loc: tuple) -> Any:
    value = data
    for key in loc:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def validate_items(items: Iterable[FeedItem], *, dedupe: bool = True) -> Iterator[Product | list[RejectedItem]]:
    """Stream: each item becomes a :class:`Product`, or the list of its problems.

    An item with any problem is not imported (a product with a wrong price
    must not be sold).  With ``dedupe``, a repeated id is rejected here,
    which keeps every id in memory; the catalog store checks ids in Redis
    instead (``dedupe=False``), so an import's memory stays flat in feed size.
    """
    seen: dict[str, int] = {}
    validate = Product.model_validate
    for item in items:
        data = item.data
        if not data.get("lang"):
            data["lang"] = guess_lang(data.get("title"), data.get("description"))
        try:
            product = validate(data)
        except ValidationError as exc:
            yield _problems(item, exc)
            continue
        if item.issues:
            yield _problems(item, None)
            continue
        if not dedupe:
            yield product
            continue
        if product.sku in seen:
            yield [RejectedItem(item.index, product.sku, "sku", product.sku, f"duplicate id (first at {seen[product.sku]})", item.row)]
            continue
        seen[product.sku] = item.row if item.row is not None else item.index + 1
        yield product


def _problems(item: FeedItem, exc: ValidationError | None) -> list[RejectedItem]:
    """Everything wrong with one item: what its reader found, then what validation found."""
    sku = item.sku
    problems = [RejectedItem(item.index, sku, f, v, r, item.row) for f, v, r in item.issues]
    if exc is None:
        return problems
    flagged = {f for f, _v, _r in item.issues}
    if "price" in flagged:
        flagged.add("currency")  # feeds write both in one cell ("59.00 CNY", "¥59")
    for err in exc.errors():
        loc = tuple(err["loc"])
        if loc and loc[0] in flagged and err["type"] == "missing":
            continue  # the reader already reported this field, with its value
        problems.append(RejectedItem(
            item.index, sku, ".".join(str(p) for p in loc), _value_at(item.data, loc) if loc else None,
            _reason(err), item.row,
        ))
    return problems


def build_catalog(items: Iterable[FeedItem], *, source: str = "") -> Catalog:
    """Validate feed items into a catalog: good items load, every problem is a :class:`RejectedItem`.

    The catalog may come out empty; the caller decides what an empty or
    mostly rejected feed means.
    """
    products: list[Product] = []
    rejected: list[RejectedItem] = []
    for result in validate_items(items):
        if isinstance(result, Product):
            products.append(result)
        else:
            rejected.extend(result)
    return Catalog(products=products, source=source, rejected=rejected)
