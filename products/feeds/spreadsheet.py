"""Merchant spreadsheets (CSV and XLSX) as feed items.

:func:`read_csv` and :func:`read_xlsx` map a sheet's columns to
:class:`~products.model.Product` field names and hand over the cells as
strings; :func:`~products.feeds.base.build_catalog` validates them.  The
reader itself only rejects what it can already tell is wrong (a price that
is not a number, a stock of ``12.5``, an unknown availability word), with
the row number the merchant sees in the sheet.

Reading
    CSV: UTF-8 (with or without BOM), else GB18030/GBK as Excel writes it
    in China, decided at the first non-ASCII byte (:mod:`.lines`); comma,
    tab or semicolon, whichever the first line that has any uses most.
    XLSX: the first worksheet, cached formula results; numeric cells become
    text without float artefacts (``59.9``, ``120``), dates ISO 8601 text.
    The header is the first non-empty row that names an id, a title and a
    price column (a title line above it, e.g. ``2026双11商品清单``, is
    skipped).  Empty rows are skipped, unknown columns ignored, cells
    stripped, empty cells leave the field out.  ``FeedItem.row`` is the
    sheet's row number (header row 1 in the usual layout, first data row 2).

Columns (names compared after NFKC, trimming, lower-casing and removing
spaces, underscores and leading ``*``; so ``ＳＫＵ``, ``Product_ID`` and
``*商品名称`` match):

=================  =========================================================
sku (required)     商品编码 商品ID 货号 商家编码 SKU id "product id"
title (required)   商品名称 商品标题 名称 标题 title name "product name"
price (required)   价格 原价 售价 吊牌价 price "regular price" "list price"
sale_price         促销价 活动价 折扣价 现价 "sale price" "discount price"
sale_start/_end    活动开始时间 活动结束时间 "sale start" "sale end"
currency           币种 货币 currency.  Without one, a price cell's symbol or
                   code decides (``¥59``, ``59元``, ``$19.99``, ``19.99 USD``),
                   else CNY when the title is Chinese.
stock              库存 库存数量 数量 stock inventory qty quantity
availability       availability 库存状态: 有货/在售/现货, 缺货/售罄/无货, 预售,
                   in stock, out of stock, sold out, preorder, backorder
brand, category    品牌 brand; 类目 分类 商品类目 category type
description        描述 商品描述 详情 description
selling_points     卖点 商品卖点 "selling points" highlights; one cell split
                   on new lines and ``;；|｜`` (``、`` stays inside a point)
image, images      主图 图片 图片链接 image "image link" "image url";
                   附图 "additional images" (split like selling points)
url                链接 商品链接 link url
tags               标签 tags, split on ``,，;；|｜``
kind               合规类型 品类性质 kind compliance: general/普通, food/食品,
                   cosmetics/化妆品, medical_device/医疗器械, children/儿童用品,
                   supplement/保健食品, alcohol/酒类
lang               语言 lang language
specs              one column per spec, ``规格:颜色``, ``spec:color``,
                   ``参数-材质`` (prefix 规格/参数/spec/specs, then ``:：-.``),
                   and/or one 规格/参数/spec/specs column holding
                   ``容量:500ml;材质:304不锈钢`` (full-width ``：；`` too)
=================  =========================================================

Variants: with a 父SKU / 款号 / "item group id" / "parent sku" / group
column, the rows sharing a value form one product whose sku is that value.
Its other fields come from the group's first row (whose row number the item
keeps); every row becomes a variant: id from the row's sku, options from
颜色/color/colour, 尺码/size and 规格值/variant (keyed by the header as
written), its own price, sale price and stock.  The product's price is the
lowest variant price, its stock the sum of the variant stocks when all are
given.  Rows with an empty group cell stay products of their own.

Memory
    Both readers stream: a file is read as its items are consumed, and
    memory stays flat in the number of rows, except with a group column:
    a group's rows may be anywhere in the sheet, so then every row is held
    until the sheet ends.  Only the header search (the first rows) happens
    at the call, so a sheet without a header fails there; a problem further
    down (an undecodable byte, a damaged sheet part) raises
    :class:`FeedError` while the items are read.

    An XLSX workbook is checked before it is unpacked: at most 256 MiB
    unpacked, no part packed more than 100:1, and more (:mod:`.workbook`,
    which also reads its sheet in flat memory; the limits are a
    :class:`~.workbook.WorkbookLimits`).  A refusal names the part and its
    sizes.

Formulas
    An XLSX formula cell reads as the value the spreadsheet saved with it
    (``=A2*0.8`` as ``63.2``, ``=HYPERLINK(url, "text")`` as ``text``); one
    saved without a value reads as empty.  A cell whose text is a formula
    (a CSV cell ``=HYPERLINK("http://x","click")``, ``@SUM(A1)``,
    ``+cmd|' /C calc'!A0``) is passed on as text and rejected by the
    product model, which refuses formulas in every text field of every
    reader (:func:`products.model.looks_like_formula`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from itertools import chain, islice
from typing import Any, BinaryIO, NamedTuple

from products.feeds.base import FeedError, FeedItem, guess_lang
from products.feeds.cells import PARSE, money, norm, spec_pairs
from products.feeds.lines import text_lines
from products.feeds.workbook import XLSX_LIMITS, WorkbookLimits, first_sheet_rows

_ALIASES = {  # field -> header names; currency comes before the money fields that may disagree with it
    "sku": ("商品编码", "商品ID", "货号", "商家编码", "SKU", "id", "product id"),
    "title": ("商品名称", "商品标题", "名称", "标题", "title", "name", "product name"),
    "brand": ("品牌", "brand"),
    "category": ("类目", "分类", "商品类目", "category", "type"),
    "description": ("描述", "商品描述", "详情", "description"),
    "selling_points": ("卖点", "商品卖点", "selling points", "highlights"),
    "currency": ("币种", "货币", "currency"),
    "price": ("价格", "原价", "售价", "吊牌价", "price", "regular price", "list price"),
    "sale_price": ("促销价", "活动价", "折扣价", "现价", "sale price", "discount price"),
    "sale_start": ("活动开始时间", "sale start"),
    "sale_end": ("活动结束时间", "sale end"),
    "stock": ("库存", "库存数量", "数量", "stock", "inventory", "qty", "quantity"),
    "availability": ("库存状态", "availability"),
    "image": ("主图", "图片", "图片链接", "image", "image link", "image url"),
    "images": ("附图", "additional images"),
    "url": ("链接", "商品链接", "link", "url"),
    "tags": ("标签", "tags"),
    "kind": ("合规类型", "品类性质", "kind", "compliance"),
    "lang": ("语言", "lang", "language"),
    "specs": ("规格", "参数", "spec", "specs"),
    "_group": ("父SKU", "款号", "item group id", "parent sku", "group"),
    "_option": ("颜色", "color", "colour", "尺码", "size", "规格值", "variant"),
}
_REQUIRED = ("sku", "title", "price")
_HEADER_SCAN = 10  # non-empty rows searched for the header
_PER_VARIANT = ("price", "sale_price", "sale_start", "sale_end", "stock", "availability")  # each row of a variant group

_SPEC_COLUMN = re.compile(r"^(?:规格|参数|specs?)\s*[:.\-]\s*(\S.*)$", re.IGNORECASE)
_FIELD_OF = {norm(alias): name for name, aliases in _ALIASES.items() for alias in aliases}


# --------------------------------------------------------------------------- public readers


def read_csv(data: bytes | BinaryIO, *, source: str = "") -> Iterator[FeedItem]:
    """Feed items from CSV bytes or a binary file, read as they are consumed (module docstring).

    Raises :class:`FeedError` right away when the first lines are not UTF-8
    or GB18030 text or when no header row names an id, a title and a price;
    a problem further down (a byte the encoding cannot decode, a broken
    quote) raises it while the items are read.  ``data`` is read from its
    current position and not closed.
    """
    where = source or "CSV"
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    lines = text_lines(stream, where=where, encodings=("utf-8", "gb18030"), advice="save it as CSV UTF-8")
    head = list(islice(lines, _HEADER_SCAN))
    return _items(_csv_rows(chain(head, lines), _delimiter(head), where), where)


def read_xlsx(data: bytes | BinaryIO, *, source: str = "", limits: WorkbookLimits = XLSX_LIMITS) -> Iterator[FeedItem]:
    """Feed items from the first worksheet of an XLSX workbook, read as they are consumed (module docstring).

    Raises :class:`FeedError` right away for a workbook over ``limits``
    (:mod:`.workbook`), for a file that is not a readable workbook and, as
    :func:`read_csv`, for a sheet without a usable header row; a sheet
    damaged further down raises it while the items are read.  The workbook
    is closed when the items run out (or the iterator is closed).
    """
    where = source or "XLSX"
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    rows = first_sheet_rows(stream, where, limits)
    try:
        return _closing(_items(((n, [_cell_text(v) for v in cells]) for n, cells in rows), where), rows.close)
    except BaseException:
        rows.close()
        raise


# --------------------------------------------------------------------------- file level


def _csv_rows(lines: Iterable[str], delimiter: str, where: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records numbered from 1, as a spreadsheet numbers rows (a quoted line break stays in its row)."""
    try:
        yield from enumerate(csv.reader(lines, delimiter=delimiter), start=1)
    except csv.Error as exc:
        raise FeedError(f"{where}: not a readable CSV file ({exc})") from None


def _closing(items: Iterator[FeedItem], close: Callable[[], object]) -> Iterator[FeedItem]:
    try:
        yield from items
    finally:
        close()


# --------------------------------------------------------------------------- sheet level


def _delimiter(lines: list[str]) -> str:
    """Comma, tab or semicolon: the most frequent one on the first line that has any of them."""
    for line in lines:
        counts = {d: line.count(d) for d in ",\t;"}
        if any(counts.values()):
            return max(counts, key=counts.__getitem__)
    return ","


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a merchant sees: ``59.9``, ``120``, ``2026-11-11T20:00:00``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")  # shortest round-trip digits, no exponent
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


class _Columns(NamedTuple):
    fields: dict[str, list[int]]  # field -> column indexes, first non-empty cell wins
    specs: list[tuple[int, str]]  # (column, spec name) from 规格:颜色 style headers
    options: list[tuple[int, str]]  # (column, option name as written) for variants
    group: int | None


def _columns(header: list[str]) -> _Columns:
    fields: dict[str, list[int]] = {}
    specs, options, group = [], [], None
    for i, cell in enumerate(header):
        name = _FIELD_OF.get(norm(cell))
        if name == "_group":
            group = i if group is None else group
        elif name == "_option":
            options.append((i, cell.strip()))
        elif name:
            fields.setdefault(name, []).append(i)
        elif spec := _SPEC_COLUMN.match(unicodedata.normalize("NFKC", cell).strip()):
            specs.append((i, spec[1].strip()))
    return _Columns({n: fields[n] for n in _ALIASES if n in fields}, specs, options, group)


def _items(numbered: Iterable[tuple[int, list[str]]], where: str) -> Iterator[FeedItem]:
    """Find the header (eagerly, so errors surface at the call) and return the item stream.

    Only the rows up to the header are read here; the rest are read as the items are.
    """
    rows = ((n, cells) for n, cells in numbered if any(c.strip() for c in cells))
    scanned = []
    for _, cells in islice(rows, _HEADER_SCAN):
        scanned.append(cells)
        columns = _columns(cells)
        if all(f in columns.fields for f in _REQUIRED):
            return _generate(columns, rows)
    if not scanned:
        raise FeedError(f"{where}: no header row: the sheet is empty")
    first = _columns(scanned[0])
    missing = "/".join({"sku": "id"}.get(f, f) for f in _REQUIRED if f not in first.fields)
    found = ", ".join(c.strip() for c in scanned[0] if c.strip())
    raise FeedError(
        f"{where}: no {missing} column in the header row (columns found: {found}); "
        "expected names such as 商品编码/SKU, 商品名称/title, 价格/price"
    )


class _Row(NamedTuple):
    item: FeedItem
    group: str
    options: dict[str, str]


def _generate(columns: _Columns, rows: Iterable[tuple[int, list[str]]]) -> Iterator[FeedItem]:
    parsed = (_row(columns, n, cells) for n, cells in rows)
    if columns.group is None:  # one row, one item: nothing is kept
        for index, row in enumerate(parsed):
            row.item.index = index
            yield _finish(row.item)
        return
    # a group's rows may be anywhere in the sheet: every row is kept until the sheet ends
    units: list[list[_Row]] = []  # products in order of first appearance
    groups: dict[str, list[_Row]] = {}
    for row in parsed:
        if not row.group:
            units.append([row])
        elif row.group in groups:
            groups[row.group].append(row)
        else:
            units.append(groups.setdefault(row.group, [row]))
    for index, unit in enumerate(units):
        item = _merge(unit) if unit[0].group else unit[0].item
        item.index = index
        yield _finish(item)


def _finish(item: FeedItem) -> FeedItem:
    if "currency" not in item.data and guess_lang(item.data.get("title")) == "zh":
        item.data["currency"] = "CNY"
    return item


def _merge(rows: list[_Row]) -> FeedItem:
    """One product from a variant group: fields from the first row, a variant per row."""
    first = rows[0].item
    item = FeedItem({k: v for k, v in first.data.items() if k not in _PER_VARIANT}, index=0, row=first.row)
    item.data["sku"] = rows[0].group
    item.issues = [issue for issue in first.issues if issue[0] not in _PER_VARIANT]
    variants = []
    for i, row in enumerate(rows):
        data = row.item.data
        if "currency" not in item.data and "currency" in data:
            item.data["currency"] = data["currency"]
        variant = {"id": data["sku"]} if "sku" in data else {}
        variant |= {"options": row.options} if row.options else {}
        variant |= {f: data[f] for f in _PER_VARIANT if f in data}
        variants.append(variant)
        where = f" (row {row.item.row})" if i else ""
        item.issues += [
            (f"variants.{i}.{f}", value, reason + where) for f, value, reason in row.item.issues if f in _PER_VARIANT
        ]
    item.data["variants"] = variants
    prices = [Decimal(v["price"]) for v in variants if "price" in v and _positive(v["price"])]
    if prices:
        item.data["price"] = str(min(prices))
    if all("stock" in v for v in variants):
        item.data["stock"] = str(sum(int(v["stock"]) for v in variants))
    known = [v["availability"] for v in variants if "availability" in v]
    best = next((a for a in ("in_stock", "preorder", "backorder", "out_of_stock") if a in known), None)
    if best:
        item.data["availability"] = best
    return item


def _positive(text: str) -> bool:
    try:
        return Decimal(text) > 0
    except InvalidOperation:
        return False


# --------------------------------------------------------------------------- cells


def _row(columns: _Columns, number: int, cells: list[str]) -> _Row:
    def cell(i: int) -> str:
        return cells[i].strip() if i < len(cells) else ""

    item = FeedItem({}, index=0, row=number)
    specs = {}
    for name, indexes in columns.fields.items():
        value = next((v for v in map(cell, indexes) if v), "")
        if not value:
            continue
        try:
            if name in ("price", "sale_price"):
                amount, code = money(value)
                if code and item.data.setdefault("currency", code) != code:
                    raise ValueError(f"currency {code} differs from {item.data['currency']}")
                item.data[name] = amount
            elif name == "specs":
                specs = spec_pairs(value)
            else:
                item.data[name] = PARSE.get(name, str)(value)
        except ValueError as exc:
            item.reject(name, value, str(exc))
    specs |= {key: v for i, key in columns.specs if (v := cell(i))}
    if specs:
        item.data["specs"] = specs
    group = cell(columns.group) if columns.group is not None else ""
    return _Row(item, group, {key: v for i, key in columns.options if (v := cell(i))})
