"""Google Merchant Center product feeds: RSS 2.0, Atom 1.0 and the tab/comma-separated form.

The attribute names are Google's (https://support.google.com/merchants/answer/7052112);
TikTok Shop and Meta catalogs use the same ones.  XML attributes may be in
the ``g:`` namespace (``http://base.google.com/ns/1.0``) or plain; a ``g:``
value wins over a plain one of the same name.  In Atom, ``title``,
``link href=`` and ``summary``/``content`` come from Atom elements, the rest
from ``g:``; the Atom ``id`` is not the product id (``g:id`` is).  Text feeds
name the same attributes in the header row (``id`` or ``g:id``).

Mapping (values stay strings; :func:`~products.feeds.base.validate_items` validates):

===========================================  ==============================================
``id`` / ``title`` / ``brand``               sku / title / brand
``description``                              description, HTML reduced to text
``link`` / ``image_link``                    url / image
``additional_image_link`` (repeated; text     images
form: comma-separated)
``price`` ``59.00 CNY``                      price ``"59.00"`` and currency ``"CNY"``
``sale_price``                               sale_price, in the price's currency
``sale_price_effective_date``                sale_start / sale_end (``start/end``, ISO 8601
                                             with ``+08:00``, ``-0800`` or ``Z``)
``availability``                             in_stock, out_of_stock, preorder, backorder
                                             (``in stock``, ``out of stock`` too)
``availability_date``                        available_from (a preorder's date, ISO 8601)
``quantity``, ``sell_on_google_quantity``    stock
``product_type``, else                       category: the last ``>`` segment;
``google_product_category``                  both give the compliance kind (:data:`KINDS`)
``product_highlight`` (repeated)             selling_points
``product_detail`` (``attribute_name``,      specs; text form: ``section:name:value``,
``attribute_value``)                         comma-separated
``custom_label_0`` .. ``custom_label_4``     tags
``color`` ``size`` ``material`` ``pattern``  specs; in an item group, the variant's options
``item_group_id``                            items sharing it become one product
===========================================  ==============================================

A price the reader cannot split into amount and currency, a sale price in
another currency, a sale window that is not two time-zone-aware times, an
unknown availability word: each is reported with
:meth:`~products.feeds.base.FeedItem.reject` under the feed's attribute name.

Item groups: items sharing an ``item_group_id`` become one product whose sku
is the group id, with one variant per item, each with its own id, options,
price, sale price and window, stock, availability and availability date.
Its other fields come from the group's first item, its title with the first
item's option words taken out (``"Cotton tee - Red - M"`` -> ``"Cotton
tee"``; a title that would come out empty stays whole).  The product's price
is the lowest variant price (the host says "from" when the variants differ),
its stock the variants' sum when every variant has one, its availability the
best of theirs.  Any problem in any item rejects the whole
group.  A group's items may be anywhere in a feed, so grouped items are held
back and the groups come out, in order of first appearance, when the feed
ends; ungrouped items stream as they are read, so memory grows with the
grouped items only.

XML is parsed by :mod:`.gmc_xml` (``iterparse``, each finished item cleared,
so a feed of any length is read in flat memory), text line by line as it is
read (:mod:`.lines`); a large XML feed file is parsed
in a child process on a second core while this one maps and validates
(:mod:`.child`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import chain
from typing import Any, BinaryIO

from products.feeds.base import FeedError, FeedItem
from products.feeds.child import stream_from_child, worth_it
from products.feeds.gmc_xml import REPEATED, xml_attributes
from products.feeds.lines import text_lines
from products.text import plain_text

#: product_type / google_product_category words -> compliance kind; the first match wins, so
#: specific entries come before general ones ("Food, Beverages & Tobacco > Beverages >
#: Alcoholic Beverages" is alcohol).  Numeric category ids are not looked up: such items stay general.
KINDS: tuple[tuple[str, str], ...] = (
    ("alcoholic beverages", "alcohol"), ("酒类", "alcohol"),
    ("vitamins & supplements", "supplement"), ("保健食品", "supplement"),
    ("cosmetics", "cosmetics"), ("化妆品", "cosmetics"),
    ("medical", "medical_device"), ("医疗器械", "medical_device"),
    ("baby & toddler", "children"), ("toys & games", "children"), ("母婴", "children"), ("儿童用品", "children"),
    ("food", "food"), ("beverages", "food"), ("食品", "food"), ("饮料", "food"),
)

_AS_IS = (("id", "sku"), ("title", "title"), ("brand", "brand"), ("link", "url"), ("image_link", "image"),
          ("additional_image_link", "images"), ("product_highlight", "selling_points"))
_OPTIONS = ("color", "size", "material", "pattern")
_PER_VARIANT = ("price", "sale_price", "sale_start", "sale_end", "stock", "availability", "available_from")
_LABELS = tuple(f"custom_label_{i}" for i in range(5))
_AVAILABILITY = frozenset({"in_stock", "out_of_stock", "preorder", "backorder"})
_MONEY = re.compile(r"\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*([A-Za-z]{3})?\s*")
_WINDOW_EXAMPLE = "2026-11-24T20:00+08:00/2026-11-25T00:00+08:00"

# --------------------------------------------------------------------------- one item


def _money(item: FeedItem, name: str, value: str, currency: str | None) -> tuple[str, str] | None:
    """``"1,299.00 cny"`` -> ``("1299.00", "CNY")``; a problem is rejected on ``item``."""
    match = _MONEY.fullmatch(value)
    if not match:
        item.reject(name, value, "must be an amount and a currency code, like 59.00 CNY")
        return None
    amount, code = match[1].replace(",", ""), (match[2] or "").upper()
    if not code:
        item.reject(name, value, "needs a currency code after the amount, like 59.00 CNY")
        return None
    if currency and code != currency:
        item.reject(name, value, f"currency {code} differs from the price's {currency}")
        return None
    return amount, code


@lru_cache(maxsize=1024)  # a feed repeats a few sale windows over many items
def _window(text: str) -> tuple[str, str]:
    """``start/end`` in ISO 8601 as two aware ISO strings; ValueError says what is wrong."""
    parts = text.split("/")
    try:
        times = [datetime.fromisoformat(part.strip()) for part in parts]
    except ValueError:
        times = []
    if len(times) != 2:
        raise ValueError(f"must be start/end in ISO 8601, like {_WINDOW_EXAMPLE}")
    if any(t.tzinfo is None for t in times):
        raise ValueError(f"needs a time zone on both times, like {_WINDOW_EXAMPLE}")
    return times[0].isoformat(), times[1].isoformat()


def _moment(text: str) -> str:
    """One aware ISO 8601 time; ValueError says what is wrong."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("must be an ISO 8601 time, like 2026-12-01T00:00+08:00") from None
    if moment.tzinfo is None:
        raise ValueError("needs a time zone, like 2026-12-01T00:00+08:00")
    return moment.isoformat()


@lru_cache(maxsize=4096)  # ...and a few hundred categories
def _category(product_type: str, google_category: str) -> tuple[str, str | None]:
    """The category (last ``>`` segment) and the compliance kind from :data:`KINDS`."""
    low = f"{product_type} > {google_category}".lower()
    kind = next((kind for word, kind in KINDS if word in low), None)
    return (product_type or google_category).rsplit(">", 1)[-1].strip(), kind


def _map(attrs: dict[str, Any], index: int, row: int | None = None) -> tuple[FeedItem, str, dict[str, str]]:
    """One item's attributes (name -> text; a list for the repeated ones) as a feed item.

    Returns the item, its ``item_group_id`` ("" when none) and its option attributes.
    """
    item = FeedItem({}, index, row)
    data, get = item.data, attrs.get
    for src, dst in _AS_IS:
        if src in attrs:
            data[dst] = attrs[src]
    if "description" in attrs:
        data["description"] = attrs["description"]  # plain text already (the readers reduce its HTML)

    currency = None
    if "price" in attrs:
        money = _money(item, "price", attrs["price"], None)
        if money:
            data["price"], currency = money
            data["currency"] = currency
    else:
        item.reject("price", None, "required field is missing")
    if "sale_price" in attrs:
        money = _money(item, "sale_price", attrs["sale_price"], currency)
        if money:
            data["sale_price"] = money[0]
    window = get("sale_price_effective_date")
    if window:
        try:
            data["sale_start"], data["sale_end"] = _window(window)
        except ValueError as e:
            item.reject("sale_price_effective_date", window, str(e))
    availability = get("availability")
    if availability:
        word = availability.lower().replace(" ", "_")
        if word in _AVAILABILITY:
            data["availability"] = word
        else:
            item.reject("availability", availability, "must be in_stock, out_of_stock, preorder or backorder")
    when = get("availability_date")
    if when:
        try:
            data["available_from"] = _moment(when)
        except ValueError as e:
            item.reject("availability_date", when, str(e))
    stock = get("quantity") or get("sell_on_google_quantity")
    if stock:
        data["stock"] = stock

    product_type, google_category = get("product_type", ""), get("google_product_category", "")
    if product_type or google_category:
        data["category"], kind = _category(product_type, google_category)
        if kind:
            data["kind"] = kind
    tags = [attrs[label] for label in _LABELS if label in attrs]
    if tags:
        data["tags"] = tags

    specs = dict(attrs.get("product_detail", ()))
    options = {name: attrs[name] for name in _OPTIONS if name in attrs}
    group = get("item_group_id", "")
    if not group and options:
        specs = options | specs
    if specs:
        data["specs"] = specs
    return item, group, options


# --------------------------------------------------------------------------- item groups


class _Groups:
    """Items that share an ``item_group_id``, held until the feed ends."""

    def __init__(self) -> None:
        self.members: dict[str, list[tuple[FeedItem, dict[str, str]]]] = {}

    def route(self, mapped: tuple[FeedItem, str, dict[str, str]]) -> FeedItem | None:
        """The item itself when it is not in a group; else it is kept for :meth:`products`."""
        item, group, options = mapped
        if not group:
            return item
        self.members.setdefault(group, []).append((item, options))
        return None

    def products(self) -> Iterator[FeedItem]:
        for group, members in self.members.items():
            yield _merge(group, members)
        self.members.clear()


def _merge(group: str, members: list[tuple[FeedItem, dict[str, str]]]) -> FeedItem:
    """One product with a variant per item; see the module docstring."""
    first = members[0][0]
    item = FeedItem({k: v for k, v in first.data.items() if k not in _PER_VARIANT}, first.index, first.row)
    data = item.data
    data["sku"] = group
    currency = next((m.data["currency"] for m, _ in members if "currency" in m.data), None)
    if currency:
        data["currency"] = currency  # the first item's, or the first one a valid price gave
    variants, prices, stocks, available = [], [], [], []
    for i, (member, options) in enumerate(members):
        m = member.data
        where = "" if i == 0 else f" (row {member.row})" if member.row else f" (item {member.index + 1})"
        for name, value, reason in member.issues:
            name = f"variants.{i}.{name}" if name in _PER_VARIANT else name
            item.issues.append((name, value, reason + where))
        if m.get("currency", currency) != currency:
            item.issues.append((f"variants.{i}.price", f"{m['price']} {m['currency']}",
                                f"currency {m['currency']} differs from the group's {currency}{where}"))
        variant: dict[str, Any] = {"id": m["sku"]} if "sku" in m else {}
        if options:
            variant["options"] = options
        variant |= {f: m[f] for f in _PER_VARIANT if f in m}  # each variant's own price, sale, stock, availability
        variants.append(variant)
        prices.append(_decimal(m.get("price")))
        stocks.append(m.get("stock"))
        available.append(m.get("availability"))
    data["variants"] = variants
    known = [p for p in prices if p is not None]
    if known:
        data["price"] = str(min(known))  # what a variant without a price of its own would cost: none here
    counts = [s for s in stocks if isinstance(s, str) and s.isdigit()]
    if len(counts) == len(stocks):
        data["stock"] = str(sum(map(int, counts)))
    best = next((a for a in ("in_stock", "preorder", "backorder", "out_of_stock") if a in available), None)
    if best:
        data["availability"] = best
    if "title" in data:
        data["title"] = _group_title(data["title"], members[0][1])
    return item


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


_SEPARATORS = r"[\s\-–—/|,，、]"


def _group_title(title: str, options: dict[str, str]) -> str:
    """``"Cotton tee - Red - M"`` without its option words: ``"Cotton tee"``."""
    base = title
    for value in options.values():
        base = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", base, flags=re.IGNORECASE)
    base = re.sub(r"[(（\[]\s*[,，/]?\s*[)）\]]", " ", base)  # brackets left empty
    base = re.sub(rf"(\s*[\-–—/|,，、]\s*)(?:{_SEPARATORS}*[\-–—/|,，、])+\s*", r"\1", base)
    base = re.sub(rf"^{_SEPARATORS}+|{_SEPARATORS}+$", "", base)
    base = " ".join(base.split())
    return base or title


# --------------------------------------------------------------------------- XML


def read_gmc_xml(source: bytes | BinaryIO, *, source_name: str = "", child: bool | str = "auto") -> Iterator[FeedItem]:
    """Stream the items of a Google Merchant Center RSS 2.0 or Atom 1.0 feed.

    ``source`` is the document or a binary file.  Raises :class:`FeedError`
    for malformed XML (with line and column) and for a root that is neither
    ``<rss>`` nor an Atom ``<feed>``.  Grouped items come out last (module docstring).

    A file on disk read from its start is parsed in a child process
    (:mod:`.child`) when ``child`` is true, or when it is a setting
    (``"auto"``, ``"1"``, ``"0"``: :func:`.child.worth_it`) that says so; the
    items, their order and the errors are the same either way.
    """
    where = source_name or "GMC feed"
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    path = _file_at_start(stream)
    if path is not None and (child if isinstance(child, bool) else worth_it(os.fstat(stream.fileno()).st_size, child)):
        feed = stream_from_child("products.feeds.gmc_xml", path, where, what=where)
    else:
        feed = xml_attributes(stream, where)
    groups = _Groups()
    for index, attrs in enumerate(feed):
        item = groups.route(_map(attrs, index))
        if item is not None:
            yield item
    yield from groups.products()


def _file_at_start(stream: BinaryIO) -> str | None:
    """The path of ``stream`` when it is a regular file read from its first byte (a child can open it too)."""
    name = getattr(stream, "name", None)
    try:
        if isinstance(name, str) and stream.tell() == 0 and os.path.isfile(name):
            return name
    except (OSError, ValueError):
        pass
    return None


# --------------------------------------------------------------------------- text


def read_gmc_text(source: bytes | BinaryIO, *, source_name: str = "") -> Iterator[FeedItem]:
    """The items of a tab- (or comma-) separated Merchant Center feed, UTF-8, read as they are consumed.

    ``source`` is the document or a binary file (read from where it stands,
    not closed).  The header row names the attributes (``id``, ``g:id``,
    ``title``...); each item's ``row`` is its line as a spreadsheet shows it
    (header = 1).  Raises :class:`FeedError` for a file that is not UTF-8
    (naming the byte's offset) or has no id or title column.
    """
    where = source_name or "GMC feed"
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    lines = text_lines(stream, where=where, advice="save the feed as UTF-8 text")
    first = next(lines, "")
    rows = csv.reader(chain([first], lines), delimiter="\t" if "\t" in first else ",")
    header = [cell.strip().lower().removeprefix("g:") for cell in next(rows, [])]
    missing = [name for name in ("id", "title") if name not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "none"
        raise FeedError(f"{where}: no {' or '.join(missing)} column in the header row (columns found: {found})")
    groups = _Groups()
    index = 0
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        item = groups.route(_map(_cells(header, cells), index, number))
        index += 1
        if item is not None:
            yield item
    yield from groups.products()


def _cells(header: list[str], cells: Iterable[str]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, cell in zip(header, cells):
        cell = cell.strip()
        if not cell or not name:
            continue
        if name == "additional_image_link":
            attrs.setdefault(name, []).extend(url.strip() for url in cell.split(",") if url.strip())
        elif name == "product_detail":  # "section:name:value" (or "name:value"), comma-separated
            pairs = (part.split(":", 2)[-2:] if part.count(":") >= 2 else part.split(":")
                     for part in cell.split(",") if ":" in part)
            attrs.setdefault(name, []).extend((k.strip(), v.strip()) for k, v in pairs if k.strip())
        elif name in REPEATED:
            attrs.setdefault(name, []).append(cell)
        elif name == "description":
            attrs.setdefault(name, plain_text(cell))
        else:
            attrs.setdefault(name, cell)
    return attrs
