"""Google Merchant Center product feeds: RSS 2.0, Atom 1.0, and the tab/comma-separated form.

The same attribute names serve Google, TikTok Shop and Meta catalogs
(https://support.google.com/merchants/answer/7052112).  Mapping to the
product model:

=====================================  ==========================================
``id``                                 sku (for a variant: the variant id)
``title``, ``description``             title, description (HTML reduced to text)
``link``                               url
``image_link``, ``additional_image_link``  image, images
``price`` ``59.00 CNY``                price and currency
``sale_price``                         sale_price (same currency as price)
``sale_price_effective_date``          sale_start/sale_end (``start/end``, ISO 8601 with offset)
``availability``                       in_stock, out_of_stock, preorder, backorder (``in stock`` too)
``quantity``, ``sell_on_google_quantity``  stock
``brand``                              brand
``product_type`` / ``google_product_category``  category (last ``>`` segment), compliance kind
``product_highlight`` (repeatable)     selling_points
``product_detail`` (name, value)       specs
``color`` ``size`` ``material`` ``pattern``  specs, or the variant's options
``custom_label_0`` .. ``_4``           tags
``item_group_id``                      variants: items sharing it become one product
=====================================  ==========================================

XML is read with lxml's ``iterparse`` filtered to item elements (the parser
never hands Python the children one by one), without entity expansion or
network access, and every finished item is removed, so memory stays flat in
feed size.  Items with an ``item_group_id`` are held back until
the end of the feed (a group's members may be anywhere in it) and emitted as
one product each; only they are buffered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from products.feeds.base import FeedError, FeedItem
from products.feeds.shopify import html_to_text

G = "{http://base.google.com/ns/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"

_MONEY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]{3})\s*$")
_AVAILABILITY = {"in_stock": "in_stock", "in stock": "in_stock", "out_of_stock": "out_of_stock",
                 "out of stock": "out_of_stock", "preorder": "preorder", "backorder": "backorder"}
_OPTIONS = ("color", "size", "material", "pattern")
_LABELS = tuple(f"custom_label_{i}" for i in range(5))
_REPEATED = {"additional_image_link", "product_highlight", "product_detail"}
# product_type / google_product_category words -> compliance kind (first match wins)
_KINDS = (("alcoholic beverages", "alcohol"), ("vitamins & supplements", "supplement"), ("supplement", "supplement"),
          ("medical", "medical_device"), ("cosmetics", "cosmetics"), ("makeup", "cosmetics"), ("skin care", "cosmetics"),
          ("baby & toddler", "children"), ("toys", "children"), ("food", "food"), ("beverages", "food"))


def _money(item: FeedItem, name: str, value: str, currency: str | None) -> tuple[str, str] | None:
    m = _MONEY.match(value)
    if not m:
        item.issues.append((name, value, "must be an amount and a currency code, like 59.00 CNY"))
        return None
    if currency is not None and m[2].upper() != currency:
        item.issues.append((name, value, f"currency {m[2].upper()} differs from the price's {currency}"))
        return None
    return m[1], m[2].upper()


def _when(text: str) -> str:
    text = text.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)  # -0800 -> -08:00
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("no time zone")
    return value.isoformat()


def _kind(category: str) -> str | None:
    low = category.lower()
    return next((kind for word, kind in _KINDS if word in low), None)


def _item(attrs: dict[str, Any], index: int, row: int | None = None) -> tuple[FeedItem, str | None]:
    """Map one item's attributes (name -> text, or list for repeated ones)."""
    item = FeedItem({}, index, row)
    d = item.data

    def one(name: str, get=attrs.get) -> str:  # single attributes arrive stripped
        return get(name) or ""

    for src, dst in (("id", "sku"), ("title", "title"), ("brand", "brand"), ("link", "url"), ("image_link", "image")):
        if one(src):
            d[dst] = one(src)
    description = one("description")
    if description:
        d["description"] = html_to_text(description) if "<" in description or "&" in description else description
    price = one("price")
    currency = None
    if price:
        parsed = _money(item, "price", price, None)
        if parsed:
            d["price"], d["currency"] = parsed
            currency = parsed[1]
    if one("sale_price"):
        parsed = _money(item, "sale_price", one("sale_price"), currency)
        if parsed:
            d["sale_price"] = parsed[0]
    window = one("sale_price_effective_date")
    if window:
        try:
            start, end = window.split("/")
            d["sale_start"], d["sale_end"] = _when(start), _when(end)
        except ValueError:
            item.issues.append(("sale_price_effective_date", window,
                                "must be start/end in ISO 8601 with a time zone, e.g. 2026-11-24T20:00+08:00/2026-11-25T00:00+08:00"))
    availability = one("availability").lower()
    if availability:
        if availability in _AVAILABILITY:
            d["availability"] = _AVAILABILITY[availability]
        else:
            item.issues.append(("availability", availability, "expected in_stock, out_of_stock, preorder or backorder"))
    quantity = one("quantity") or one("sell_on_google_quantity")
    if quantity:
        if quantity.isdigit():
            d["stock"] = int(quantity)
        else:
            item.issues.append(("stock", quantity, "quantity must be a whole number >= 0"))
    category = one("product_type") or one("google_product_category")
    if category:
        d["category"] = category.split(">")[-1].strip()
        kind = _kind(category)
        if kind:
            d["kind"] = kind
    images = [url.strip() for cell in attrs.get("additional_image_link", []) for url in cell.split(",") if url.strip()]
    if images:
        d["images"] = images
    if attrs.get("product_highlight"):
        d["selling_points"] = [v.strip() for v in attrs["product_highlight"] if v.strip()]
    specs = dict(attrs.get("product_detail", []))
    options = {name: attrs[name] for name in _OPTIONS if attrs.get(name)}
    group = one("item_group_id") or None
    if not group:
        specs.update(options)
    if specs:
        d["specs"] = specs
    labels = [attrs[k] for k in _LABELS if attrs.get(k)]
    if labels:
        d["tags"] = labels
    if group:
        d["_options"] = options
    return item, group


def _merge(group: str, members: list[FeedItem]) -> FeedItem:
    """Items sharing an item_group_id -> one product with a variant per item."""
    first = members[0]
    merged = FeedItem({k: v for k, v in first.data.items() if k not in ("_options", "sku", "sale_price", "sale_start", "sale_end")},
                      first.index, first.row)
    merged.data["sku"] = group
    variants, stocks = [], []
    for m in members:
        merged.issues.extend((f"variants.{m.data.get('sku', '?')}.{f}", v, r) for f, v, r in m.issues)
        variant = {"id": m.data.get("sku", ""), "options": m.data.get("_options", {}), "price": m.data.get("price"),
                   "sale_price": m.data.get("sale_price"), "stock": m.data.get("stock")}
        variants.append({k: v for k, v in variant.items() if v is not None})
        stocks.append(m.data.get("stock"))
        if m.data.get("currency") and m.data.get("currency") != first.data.get("currency"):
            merged.issues.append(("currency", m.data["currency"], f"variant {m.data.get('sku')} has another currency"))
    prices = [(v["price"], i) for i, v in enumerate(variants) if "price" in v]
    if prices:
        merged.data["price"] = min(prices, key=lambda p: Decimal(p[0]))[0]
    if all(s is not None for s in stocks):
        merged.data["stock"] = sum(stocks)
    else:
        merged.data.pop("stock", None)
    merged.data["variants"] = variants
    title = first.data.get("title", "")
    for opt in first.data.get("_options", {}).values():  # "T-shirt - Red - M" -> "T-shirt"
        title = re.sub(rf"[\s,/|-]*\b{re.escape(opt)}\b", "", title, flags=re.I).strip(" -,/|")
    if title:
        merged.data["title"] = title
    return merged


def _finish(groups: dict[str, list[FeedItem]]) -> Iterator[FeedItem]:
    for group, members in groups.items():
        yield _merge(group, members)


_ITEM_TAGS = ("item", f"{ATOM}entry")


def _local(tag: str) -> str:
    return tag[len(G):] if tag.startswith(G) else tag[len(ATOM):] if tag.startswith(ATOM) else tag


def _attrs_of(elem) -> dict[str, Any]:
    """One item's children -> attribute name -> text (lists for the repeatable ones)."""
    attrs: dict[str, Any] = {}
    for child in elem:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        name = _LOCAL.get(tag) or _local(tag)
        if name == "product_detail":
            parts = {_local(c.tag): (c.text or "").strip() for c in child if isinstance(c.tag, str)}
            if parts.get("attribute_name"):
                attrs.setdefault("product_detail", []).append((parts["attribute_name"], parts.get("attribute_value", "")))
            continue
        if name == "link" and child.get("href"):
            text = child.get("href").strip()
        elif name in ("summary", "content"):
            name, text = "description", (child.text or "").strip()
            if name in attrs:
                continue
        else:
            text = (child.text or "").strip()
        if name in _REPEATED:
            attrs.setdefault(name, []).append(text)
        elif name not in attrs:
            attrs[name] = text
    return attrs


_LOCAL: dict[str, str] = {}  # "{ns}price" -> "price", filled as tags are seen


def read_gmc_xml(source: bytes | IO[bytes], *, source_name: str = "") -> Iterator[FeedItem]:
    """Stream the items of an RSS 2.0 or Atom feed (lxml, only item elements surface)."""
    from lxml import etree

    name = source_name or "feed"
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    groups: dict[str, list[FeedItem]] = {}
    index = 0
    parser = etree.iterparse(stream, events=("start", "end"), tag=("rss", f"{ATOM}feed", *_ITEM_TAGS),
                             resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    seen_root = False
    try:
        for event, elem in parser:
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if elem.tag not in ("rss", f"{ATOM}feed"):
                        raise FeedError(f"{name}: root <{elem.tag}> is neither an RSS <rss> nor an Atom <feed>")
                continue
            if elem.tag not in _ITEM_TAGS:
                continue
            for child in elem:
                if isinstance(child.tag, str) and child.tag not in _LOCAL:
                    _LOCAL[child.tag] = _local(child.tag)
            item, group = _item(_attrs_of(elem), index)
            index += 1
            elem.clear()
            while elem.getprevious() is not None:  # drop finished items: memory stays flat
                del elem.getparent()[0]
            if group:
                groups.setdefault(group, []).append(item)
            else:
                yield item
    except etree.XMLSyntaxError as e:
        if not seen_root and "Document is empty" in str(e) or str(e).startswith("no element found"):
            raise FeedError(f"{name}: empty document") from None
        line, col = e.position
        raise FeedError(f"{name}: malformed XML at line {line} column {col}: {e.msg}") from None
    if not seen_root:
        # no rss/feed start event: either empty or another root
        raise FeedError(f"{name}: root is neither an RSS <rss> nor an Atom <feed> (or the document is empty)")
    yield from _finish(groups)


def read_gmc_text(data: bytes, *, source_name: str = "") -> Iterator[FeedItem]:
    """The tab- (or comma-) separated form; row numbers as a spreadsheet shows them."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FeedError(f"{source_name or 'feed'}: not UTF-8 text: {e}") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower().removeprefix("g:") for h in next(reader)]
    except StopIteration:
        raise FeedError(f"{source_name or 'feed'}: empty file") from None
    if not {"id", "title"} <= set(header):
        raise FeedError(f"{source_name or 'feed'}: needs id and title columns; found {', '.join(header)}")
    groups: dict[str, list[FeedItem]] = {}
    index = 0
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        attrs: dict[str, Any] = {}
        for name, cell in zip(header, row):
            if name == "product_detail":  # section:name:value, comma separated
                attrs["product_detail"] = [tuple(part.split(":")[-2:]) for part in cell.split(",") if part.count(":") >= 1]
            elif name in _REPEATED:
                attrs[name] = [cell.strip()]
            else:
                attrs[name] = cell.strip()
        item, group = _item(attrs, index, row_number)
        index += 1
        if group:
            groups.setdefault(group, []).append(item)
        else:
            yield item
    yield from _finish(groups)
