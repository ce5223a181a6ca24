"""Shopify catalogs: a store's public ``/products.json`` and the product CSV export.

Mapping (both sources give the same products):

* ``sku`` is the product **handle** (the numeric id only when a product has
  no handle): it is stable, readable, and the one id both ``products.json``
  and the CSV export carry, so either source yields the same skus.
* A variant's id is its ``SKU``, else its numeric id (JSON) or
  ``<handle>-<n>`` (CSV, n = 1-based variant position).
* Shopify's ``price`` is what a buyer pays; a higher ``compare_at_price`` is
  the list price.  So with a compare-at price above the price, the catalog
  ``price`` is the compare-at price and ``sale_price`` is Shopify's price.
* The product's price and sale price are those of the variant a buyer pays
  least for; its stock is the sum of the variants' counts when every
  variant has one.  A product whose only variant is Shopify's
  ``"Default Title"`` has no variants list, just price and stock.
* Negative inventory (oversold, "continue selling") counts as 0; an
  untracked variant (``inventory_management`` / ``Variant Inventory
  Tracker`` empty) has no count.  A variant without a count that Shopify
  marks unavailable counts as 0.
* Neither source states a currency: pass ``currency`` (default ``"CNY"``).
* Products whose ``status`` is not ``active`` (draft, archived) are rejected
  with that reason; a CSV without a Status column uses ``Published``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from yarl import URL

from products.feeds.base import FeedError, FeedItem
from products.feeds.netpolicy import PUBLIC_ONLY, NetPolicy
from products.feeds.remote import client_session, fetch, mask_secrets
from products.text import html_to_text

DEFAULT_TITLE = "Default Title"

# --------------------------------------------------------------------------- helpers shared with other shop readers

def split_tags(value: Any) -> list[str]:
    """Tags from a comma-separated string or a list, stripped, blanks and repeats dropped."""
    items = value.split(",") if isinstance(value, str) else value or []
    return list(dict.fromkeys(t for t in (str(i).strip() for i in items) if t))


def decimal_or_none(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal, or None when it is not a number."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def stock_count(value: Any) -> Any:
    """A stock count: None when absent, 0 for negative (oversold) counts, the raw value when not a whole number."""
    if value is None or value == "":
        return None
    try:
        return max(int(str(value).strip()), 0)
    except ValueError:
        return value  # validation says why


def roll_up_variants(data: dict[str, Any], variants: list[dict[str, Any]]) -> None:
    """Set a product's price, sale price and stock from its variants.

    Price and sale price come from the variant a buyer pays least for (an
    unparsable variant price is left to validation); stock is the sum of the
    counts when every variant has one.
    """

    def paid(v: dict[str, Any]) -> tuple[Decimal, Decimal] | None:
        price, sale = decimal_or_none(v.get("price")), decimal_or_none(v.get("sale_price"))
        if price is None:
            return None
        return (sale if sale is not None and sale < price else price), price

    priced = [(p, v) for v in variants if (p := paid(v)) is not None]
    cheapest = min(priced, key=lambda pv: pv[0])[1] if priced else variants[0]
    data["price"] = cheapest.get("price")
    data["sale_price"] = cheapest.get("sale_price")
    counts = [v.get("stock") for v in variants]
    if all(isinstance(c, int) for c in counts):
        data["stock"] = sum(counts)


def image_list(data: dict[str, Any], sources: Iterable[str | None]) -> None:
    """First image -> ``image``, the rest -> ``images`` (blanks and repeats dropped)."""
    srcs = list(dict.fromkeys(s.strip() for s in sources if s and s.strip()))
    if srcs:
        data["image"], data["images"] = srcs[0], srcs[1:]


def make_item(
    data: dict[str, Any], index: int, issues: Iterable[tuple[str, Any, str]] = (), row: int | None = None
) -> FeedItem:
    """A FeedItem of ``data`` without its None values, with the reader's ``issues`` recorded."""
    item = FeedItem({k: v for k, v in data.items() if v is not None}, index, row)
    for issue in issues:
        item.reject(*issue)
    return item


# --------------------------------------------------------------------------- products.json


_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r"""\brel\s*=\s*"?([^";,]+)""", re.IGNORECASE)


def next_link(header: str) -> str | None:
    """The ``rel="next"`` target of an HTTP ``Link`` header, or None."""
    for target, params in _LINK.findall(header):
        rel = _REL.search(params)
        if rel and "next" in rel.group(1).lower().split():
            return target
    return None


async def fetch_shopify_json(
    store_url: str,
    *,
    session: aiohttp.ClientSession | None = None,
    limit: int = 250,
    max_pages: int = 400,
    policy: NetPolicy = PUBLIC_ONLY,
    **fetch_kwargs: Any,
) -> list[dict]:
    """Every product of a store's public ``/products.json``, page after page.

    ``store_url`` is the shop's address (``https://shop.example.com``) or its
    ``/products.json`` URL.  Pages follow the ``Link: <...>; rel="next"``
    header while the store sends ``Link`` headers, else ``?page=N`` until a
    page has no products.  More than ``max_pages`` requests, or a page that
    repeats products already read (a store ignoring ``page``), raise
    :class:`FeedError`.  Every page, wherever a ``Link`` points, obeys
    ``policy`` (default: public addresses only).  ``fetch_kwargs`` go to
    :func:`~products.feeds.remote.fetch`.
    """
    base = URL(store_url if "://" in store_url else f"https://{store_url}")
    if not base.path.endswith("/products.json"):
        base = base.with_path(base.path.rstrip("/") + "/products.json")
    first = base.update_query(limit=limit)
    url = str(first)
    products: list[dict] = []
    seen: set[Any] = set()
    async with client_session(session, policy) as http:
        for page in range(1, max_pages + 1):
            got = await fetch(url, session=http, policy=policy, **fetch_kwargs)
            body = got.json()
            batch = body.get("products") if isinstance(body, dict) else None
            if not isinstance(batch, list):
                raise FeedError(f"{mask_secrets(got.url)}: no 'products' list in the answer; not a Shopify products.json")
            if not batch:
                return products
            ids = {p.get("id") for p in batch if isinstance(p, dict) and p.get("id") is not None}
            if ids & seen:
                raise FeedError(f"{mask_secrets(got.url)}: page {page} repeats products of an earlier page; stopped")
            seen |= ids
            products.extend(batch)
            links = got.headers.getall("Link", [])
            if links:
                target = next_link(", ".join(links))
                if target is None:
                    return products
                url = str(URL(got.url).join(URL(target)))
            else:
                url = str(first.update_query(page=page + 1))
    raise FeedError(f"{mask_secrets(str(base))}: more than {max_pages} pages of products (max_pages); stopped")


def _not_for_sale(status: Any, source: str) -> tuple[str, Any, str] | None:
    if status is None or str(status).strip().lower() in ("", "active"):
        return None
    return "status", status, f"product is {str(status).strip().lower()} in {source}, not for sale"


def _list_and_sale(price: Any, compare_at: Any) -> tuple[Any, Any]:
    """Shopify (price, compare_at_price) as catalog (price, sale_price)."""
    if compare_at is None or compare_at == "" or price is None or price == "":
        return price, None
    listed, paid = decimal_or_none(compare_at), decimal_or_none(price)
    if listed is None or (paid is not None and listed > paid):
        return compare_at, price  # a sale (an unparsable compare-at price is reported by validation)
    return price, None  # compare-at not above the price: no discount


def _variant(vid: Any, title: str, options: dict[str, str], price: Any, compare_at: Any, stock: Any,
             availability: str | None = None) -> dict[str, Any]:
    listed, sale = _list_and_sale(price, compare_at)
    fields = {"id": vid, "title": title, "options": options, "price": listed, "sale_price": sale, "stock": stock,
              "availability": availability}
    return {k: v for k, v in fields.items() if v is not None}


def _availability(available: Any, stock: Any) -> str | None:
    """Shopify's ``available`` as an availability (selling with none counted in stock is a backorder)."""
    if available is None:
        return None
    if not available:
        return "out_of_stock"
    return "backorder" if stock == 0 else "in_stock"


def _attach_variants(data: dict[str, Any], variants: list[dict[str, Any]]) -> None:
    if len(variants) == 1 and DEFAULT_TITLE in (variants[0].get("title"), *variants[0]["options"].values()):
        only = variants[0]
        data.update(price=only.get("price"), sale_price=only.get("sale_price"), stock=only.get("stock"))
    elif variants:
        data["variants"] = variants
        roll_up_variants(data, variants)


def _json_variant(v: dict[str, Any], option_names: list[str]) -> dict[str, Any]:
    options = {
        option_names[i] if i < len(option_names) else f"Option{i + 1}": str(v[f"option{i + 1}"]).strip()
        for i in range(3)
        if v.get(f"option{i + 1}") not in (None, "")
    }
    tracked = v.get("inventory_management", "shopify") not in (None, "")
    stock = stock_count(v.get("inventory_quantity")) if tracked else None
    if stock is None and v.get("available") is False:
        stock = 0
    vid = str(v.get("sku") or "").strip() or (str(v["id"]) if v.get("id") is not None else None)
    return _variant(vid, str(v.get("title") or "").strip(), options, v.get("price"), v.get("compare_at_price"), stock,
                    _availability(v.get("available"), stock))


def read_shopify_products(
    products: Iterable[dict], *, source_name: str = "", currency: str = "CNY"
) -> Iterator[FeedItem]:
    """Map Shopify product objects (``products.json`` or the Admin API) to feed items.

    See the module docstring for the mapping.  ``source_name`` is accepted
    for symmetry with the file readers; an entry that is not an object is
    rejected as a whole.
    """
    for index, p in enumerate(products):
        if not isinstance(p, dict):
            yield make_item({}, index, [("", p, "not a product object")])
            continue
        handle = str(p.get("handle") or "").strip()
        data: dict[str, Any] = {
            "sku": handle or (str(p["id"]) if p.get("id") is not None else None),
            "title": p.get("title"),
            "description": html_to_text(p.get("body_html")),
            "brand": p.get("vendor") or "",
            "category": p.get("product_type") or "",
            "tags": split_tags(p.get("tags")),
            "currency": currency,
        }
        images = sorted((i for i in p.get("images") or [] if isinstance(i, dict)), key=lambda i: i.get("position") or 0)
        image_list(data, (img.get("src") for img in images))
        names = [str(o.get("name") if isinstance(o, dict) else o) for o in p.get("options") or []]
        raw_variants = [v for v in p.get("variants") or [] if isinstance(v, dict)]
        _attach_variants(data, [_json_variant(v, names) for v in raw_variants])
        available = [v["available"] for v in raw_variants if v.get("available") is not None]
        if available:
            data["availability"] = _availability(any(available), data.get("stock"))
        status = _not_for_sale(p.get("status"), "Shopify")
        yield make_item(data, index, [status] if status else [])


# --------------------------------------------------------------------------- CSV export


def _csv_variant(row: dict[str, str], n: int, handle: str, option_names: list[str], has_tracker: bool) -> dict[str, Any]:
    options = {option_names[i]: row[f"Option{i + 1} Value"] for i in range(3) if row.get(f"Option{i + 1} Value")}
    tracked = not has_tracker or bool(row.get("Variant Inventory Tracker"))
    stock = stock_count(row.get("Variant Inventory Qty")) if tracked else None
    vid = row.get("Variant SKU") or f"{handle}-{n}"
    return _variant(vid, " / ".join(options.values()), options, row.get("Variant Price") or None,
                    row.get("Variant Compare At Price"), stock)


def _csv_product(rows: list[tuple[int, dict[str, str]]], index: int, currency: str, has_tracker: bool) -> FeedItem:
    row_no, first = rows[0]
    handle = first.get("Handle", "")
    category = first.get("Type") or first.get("Product Category", "").split(">")[-1].strip()
    data: dict[str, Any] = {
        "sku": handle or None,
        "title": first.get("Title") or None,
        "description": html_to_text(first.get("Body (HTML)")),
        "brand": first.get("Vendor", ""),
        "category": category,
        "tags": split_tags(first.get("Tags")),
        "currency": currency,
    }
    issues = [] if handle else [("sku", "", "Handle is empty")]
    images = sorted(
        ((int(r["Image Position"]) if r.get("Image Position", "").isdigit() else 1 << 30, n, r["Image Src"])
         for n, r in rows if r.get("Image Src")),
    )
    image_list(data, (src for _, _, src in images))
    names = [first.get(f"Option{i} Name") or f"Option{i}" for i in (1, 2, 3)]
    variant_rows = [r for _, r in rows if any(r.get(c) for c in ("Option1 Value", "Variant SKU", "Variant Price"))]
    _attach_variants(data, [_csv_variant(r, n, handle, names, has_tracker) for n, r in enumerate(variant_rows, 1)])
    if "Status" in first:
        status = _not_for_sale(first["Status"], "Shopify")
    elif first.get("Published", "").lower() == "false":
        status = ("published", first["Published"], "product is not published in Shopify, not for sale")
    else:
        status = None
    return make_item(data, index, issues + ([status] if status else []), row=row_no)


def read_shopify_csv(data: bytes, *, source_name: str = "", currency: str = "CNY") -> Iterator[FeedItem]:
    """Map a Shopify product CSV export (UTF-8, with or without BOM) to feed items.

    Rows sharing a ``Handle`` are one product: the first row gives the
    product's fields, later rows only add variants and images.  An item's
    ``row`` is its first row (header = 1, one row per CSV record).  A row
    without a Handle is an item of its own, rejected.  Raises
    :class:`FeedError` (naming ``source_name``) when the bytes are not UTF-8
    or the header has no Handle column.
    """
    name = source_name or "Shopify CSV"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{name}: not UTF-8 text (byte {exc.start}); export it again from Shopify") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    if "Handle" not in header:
        raise FeedError(f"{name}: no Handle column; not a Shopify product export")
    reader.fieldnames = header
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for row_no, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        if any(row.values()):
            groups.setdefault(row["Handle"] or f"\0row {row_no}", []).append((row_no, row))
    has_tracker = "Variant Inventory Tracker" in header
    for index, rows in enumerate(groups.values()):
        yield _csv_product(rows, index, currency, has_tracker)
