"""Merchant spreadsheets (CSV, XLSX) -> feed items -> catalog."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from products.feeds.base import FeedError, build_catalog
from products.feeds.spreadsheet import _cell_text, read_csv, read_xlsx

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
NOT_A_NUMBER = "must be a number like 59.90, optionally with ¥, 元, $ or a currency code"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _rejected(catalog) -> list[tuple]:
    return [(r.row, r.sku, r.field, r.value, r.reason) for r in catalog.rejected]


def _xlsx(rows: dict[int, list], extra_sheet: bool = False, dimension: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for number, values in rows.items():
        for column, value in enumerate(values, start=1):
            sheet.cell(row=number, column=column, value=value)
    if extra_sheet:
        book.create_sheet("notes").append(["not", "a", "catalog"])
    out = io.BytesIO()
    book.save(out)
    if dimension is None:
        return out.getvalue()
    fixed = io.BytesIO()  # rewrite the sheet's stored size, as some exporters get it wrong
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(fixed, "w") as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), body)
            dst.writestr(entry, body)
    return fixed.getvalue()


# --------------------------------------------------------------------------- encodings and layouts


def test_gbk_csv_with_chinese_headers_below_a_title_line():
    data = _fixture("products_gbk.csv")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is GBK bytes
    items = list(read_csv(data, source="products_gbk.csv"))

    # row 1 is the title line "2026双11商品清单", row 2 the header, row 5 is empty
    assert [(i.index, i.row, i.sku) for i in items] == [(0, 3, "TB-001"), (1, 4, "TB-002"), (2, 6, "TB-003")]
    assert items[0].data == {
        "sku": "TB-001", "title": "保温杯 500ml", "brand": "象印", "category": "家居",
        "price": "129", "currency": "CNY", "sale_price": "99.9", "stock": "120", "availability": "in_stock",
        "selling_points": ["24小时保温", "304不锈钢", "一键开盖"],
        "specs": {"容量": "500ml", "材质": "304不锈钢"},
        "kind": "general", "image": "cup.jpg", "tags": ["保温", "办公、学生"],
    }
    assert items[1].data["selling_points"] == ["补水、保湿"]  # 、 does not split a selling point
    assert (items[1].data["price"], items[1].data["currency"]) == ("59", "CNY")  # from "59元"
    assert items[2].data["currency"] == "CNY"  # plain "88", Chinese title
    assert [i.data["availability"] for i in items] == ["in_stock", "out_of_stock", "preorder"]
    assert [i.data["kind"] for i in items] == ["general", "cosmetics", "food"]
    assert all(not i.issues for i in items)

    catalog = build_catalog(read_csv(data))
    assert catalog.rejected == [] and catalog.skus() == ["TB-001", "TB-002", "TB-003"]
    cup = catalog["TB-001"]
    assert (cup.price, cup.sale_price, cup.stock, cup.lang) == (Decimal("129.00"), Decimal("99.90"), 120, "zh")


def test_utf8_bom_csv_with_english_headers():
    data = _fixture("products_bom.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    items = list(read_csv(data))

    assert [(i.index, i.row) for i in items] == [(0, 2), (1, 4), (2, 5)]  # row 3 is empty
    assert items[0].data == {
        "sku": "EN-100", "title": "Travel Mug", "price": "24.00", "sale_price": "19.99", "currency": "USD",
        "stock": "40", "availability": "in_stock", "image": "https://cdn.example.com/mug.jpg",
        "url": "https://shop.example.com/mug", "sale_start": "2026-11-24T20:00:00+08:00",
        "sale_end": "2026-11-25T00:00:00+08:00", "selling_points": ["Leak-proof lid", "Keeps hot 12h"],
        "tags": ["travel", "kitchen"], "kind": "general",
    }  # "Internal Note" is not a field and stays out
    assert items[1].data == {
        "sku": "EN-101", "title": "Vitamin C Gummies", "price": "12.50", "currency": "USD", "stock": "0",
        "availability": "out_of_stock", "kind": "supplement",
    }
    assert items[2].data["currency"] == "USD"  # column value "usd"

    catalog = build_catalog(read_csv(data))
    assert catalog.rejected == [] and catalog.skus() == ["EN-100", "EN-101", "EN-102"]
    mug = catalog["EN-100"]
    assert mug.lang == "en" and mug.sale_active(datetime.fromisoformat("2026-11-24T21:00:00+08:00"))


def test_tab_delimited_with_spec_columns_and_a_multiline_cell():
    items = list(read_csv(_fixture("products_tab.tsv")))

    assert [(i.row, i.sku) for i in items] == [(2, "TAB-1"), (3, "TAB-2")]  # a quoted line break is one row
    assert items[0].data == {
        "sku": "TAB-1", "title": "不锈钢水壶", "price": "45.5", "currency": "CNY", "lang": "zh",
        "description": "第一行\n第二行",
        "specs": {"容量": "1.5L", "功率": "1500W", "颜色": "银色", "材质": "304不锈钢"},
    }
    assert items[1].data["specs"] == {"color": "blue"} and items[1].data["currency"] == "USD"
    assert build_catalog(read_csv(_fixture("products_tab.tsv"))).rejected == []


def test_semicolon_delimiter_and_header_spellings():
    text = "ＳＫＵ; *商品名称 ;Regular_Price;DISCOUNT  PRICE;Product Id;图片链接\nS-1;台灯;199;149;unused;lamp.png\n"
    (item,) = read_csv(text.encode("utf-8"))
    assert item.data == {
        "sku": "S-1", "title": "台灯", "price": "199", "sale_price": "149", "image": "lamp.png", "currency": "CNY",
    }  # two id columns: the first non-empty one wins


# --------------------------------------------------------------------------- xlsx


def test_xlsx_numeric_and_date_cells_first_sheet_only():
    data = _xlsx({
        1: ["商品编码", "商品名称", "价格", "促销价", "库存", "币种", "活动开始时间", "活动结束时间", "备注"],
        2: [10086, "保温杯", 120.0, 59.9, 12.0, None, datetime(2026, 11, 11, 20, 0), "2026-11-12T00:00:00+08:00", 1],
        4: ["SKU-2", "Steel Bottle", 19.99, 0.5, 3, "USD"],
    }, extra_sheet=True)
    items = list(read_xlsx(data, source="shop.xlsx"))

    assert [(i.index, i.row) for i in items] == [(0, 2), (1, 4)]
    assert items[0].data == {
        "sku": "10086", "title": "保温杯", "price": "120", "sale_price": "59.9", "stock": "12", "currency": "CNY",
        "sale_start": "2026-11-11T20:00:00", "sale_end": "2026-11-12T00:00:00+08:00",
    }
    assert items[1].data == {
        "sku": "SKU-2", "title": "Steel Bottle", "price": "19.99", "sale_price": "0.5", "stock": "3", "currency": "USD",
    }

    catalog = build_catalog(read_xlsx(data))
    assert catalog.skus() == ["SKU-2"] and catalog["SKU-2"].sale_price == Decimal("0.50")
    # Excel dates carry no time zone; the model insists on one
    assert _rejected(catalog) == [
        (2, "10086", "sale_start", "2026-11-11T20:00:00", "needs a time zone, e.g. 2026-11-24T20:00:00+08:00"),
    ]


@pytest.mark.parametrize(("value", "text"), [
    (120.0, "120"), (59.9, "59.9"), (0.1 + 0.2, "0.30000000000000004"), (1.5e16, "15000000000000000"),
    (1e-05, "0.00001"), (10086, "10086"), (None, ""), (True, "TRUE"),
    (datetime(2026, 1, 2, 3, 4), "2026-01-02T03:04:00"),
])
def test_cell_text(value, text):
    assert _cell_text(value) == text


def test_xlsx_with_a_wrong_stored_sheet_size_is_read_in_full():
    data = _xlsx({1: ["id", "title", "price"], 2: ["A", "Lamp", 9], 3: ["B", "Desk", 25.5]}, dimension="A1")
    assert [(i.row, i.data["sku"], i.data["price"]) for i in read_xlsx(data)] == [(2, "A", "9"), (3, "B", "25.5")]


# --------------------------------------------------------------------------- row problems


def test_broken_rows_are_reported_with_row_field_value_and_reason():
    catalog = build_catalog(read_csv(_fixture("broken.csv")), source="broken.csv")

    assert catalog.skus() == ["A1", "A8"]
    assert catalog["A8"].price == Decimal("25.00") and catalog["A8"].currency == "USD"  # from "$25"
    assert _rejected(catalog) == [
        (3, "A2", "price", "abc", NOT_A_NUMBER),
        (4, "A3", "stock", "-3", "must be 0 or more"),
        (5, "A4", "title", None, "required field is missing"),
        (6, "A1", "sku", "A1", "duplicate id (first at 2)"),
        (7, "A5", "sale_price", "12.00", "must be below the price 10.00"),
        (8, "A6", "availability", "maybe",
         "unknown word; expected 有货, 缺货, 预售, in stock, out of stock, preorder or backorder"),
        (9, "A7", "stock", "12.5", "must be a whole number"),
    ]


@pytest.mark.parametrize(("cell", "price", "currency"), [
    ("¥59", "59", "CNY"),
    ("￥59", "59", "CNY"),
    ("59元", "59", "CNY"),
    ("RMB 1,299.00", "1299.00", "CNY"),
    ("$19.99", "19.99", "USD"),
    ("19.99 USD", "19.99", "USD"),
    ("€7,50", None, None),
    ("59.00 XYZ", None, None),
    ("$5 元", None, None),
])
def test_price_cells_with_currency_marks(cell, price, currency):
    (item,) = read_csv(f"id,title,price\nP-1,Mug,\"{cell}\"\n".encode())
    assert item.data.get("price") == price
    assert item.data.get("currency") == currency  # English title: no CNY default
    if price is None:
        assert [issue[:2] for issue in item.issues] == [("price", cell)]


def test_price_mark_beats_the_chinese_title_default():
    (item,) = read_csv("商品编码,商品名称,价格\nP-1,旅行杯,$9.90\n".encode())
    assert (item.data["price"], item.data["currency"]) == ("9.90", "USD")


def test_price_currency_conflicting_with_the_currency_column_is_rejected():
    (item,) = read_csv(b"id,title,price,currency\nP-1,Mug,$5,CNY\n")
    assert item.issues == [("price", "$5", "currency USD differs from CNY")]
    assert item.data == {"sku": "P-1", "title": "Mug", "currency": "CNY"}


@pytest.mark.parametrize(("column", "word", "value"), [
    ("availability", "在售", "in_stock"),
    ("availability", "Out Of Stock", "out_of_stock"),
    ("availability", "pre-order", "preorder"),
    ("availability", "backorder", "backorder"),
    ("合规类型", "医疗器械", "medical_device"),
    ("kind", "Medical Device", "medical_device"),
    ("kind", "儿童用品", "children"),
    ("kind", "保健食品", "supplement"),
    ("kind", "酒类", "alcohol"),
])
def test_availability_and_kind_words(column, word, value):
    (item,) = read_csv(f"id,title,price,{column}\nP-1,杯子,9,{word}\n".encode())
    field = "kind" if column == "合规类型" else column
    assert item.data[field] == value and item.issues == []


def test_unknown_kind_and_bad_specs_are_rejected():
    (item,) = read_csv("id,title,price,kind,规格\nP-1,杯子,9,weapon,500ml\n".encode())
    assert [issue[:2] for issue in item.issues] == [("kind", "weapon"), ("specs", "500ml")]
    assert item.issues[1][2] == "expected name:value pairs like 容量:500ml;材质:304不锈钢"
    assert "kind" not in item.data and "specs" not in item.data


# --------------------------------------------------------------------------- variants


def test_variant_groups_become_one_product_each():
    items = list(read_csv(_fixture("variants.csv")))

    assert [(i.index, i.row, i.sku) for i in items] == [(0, 2, "TS-01"), (1, 4, "CUP-9"), (2, 5, "TS-02")]
    assert items[0].data == {
        "sku": "TS-01", "title": "纯棉T恤", "description": "100%棉", "currency": "CNY",
        "price": "75", "stock": "15",
        "variants": [
            {"id": "TS-01-BK-M", "options": {"颜色": "黑色", "尺码": "M"}, "price": "79", "sale_price": "69", "stock": "10"},
            {"id": "TS-01-BK-L", "options": {"颜色": "黑色", "尺码": "L"}, "price": "89", "stock": "5"},
            {"id": "TS-01-WH-M", "options": {"颜色": "白色", "尺码": "M"}, "price": "75", "stock": "0"},  # row 7
        ],
    }
    assert items[1].data == {"sku": "CUP-9", "title": "玻璃杯", "price": "29", "stock": "7", "currency": "CNY"}

    catalog = build_catalog(read_csv(_fixture("variants.csv")))
    assert catalog.skus() == ["TS-01", "CUP-9"]
    shirt = catalog["TS-01"]
    assert (shirt.price, shirt.stock, [v.id for v in shirt.variants]) == (
        Decimal("75.00"), 15, ["TS-01-BK-M", "TS-01-BK-L", "TS-01-WH-M"])
    assert shirt.variants[0].sale_price == Decimal("69.00")
    assert _rejected(catalog) == [(5, "TS-02", "variants.1.price", "abc", NOT_A_NUMBER + " (row 6)")]


# --------------------------------------------------------------------------- whole-file errors


def test_undecodable_bytes():
    with pytest.raises(FeedError, match=r"shop\.csv: .*neither UTF-8 nor GBK/GB18030"):
        read_csv(b"id,title,price\nA1,\xff\xfe\xff,5\n", source="shop.csv")  # raised at the call, not on iteration


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b",,,\n ,\t,\n"])
def test_csv_without_header_row(data):
    with pytest.raises(FeedError, match="no header row"):
        read_csv(data, source="empty.csv")


def test_xlsx_without_header_row():
    with pytest.raises(FeedError, match=r"^empty\.xlsx: no header row"):
        read_xlsx(_xlsx({}), source="empty.xlsx")


def test_missing_required_columns_name_the_columns_found():
    with pytest.raises(FeedError) as err:
        read_csv("货品,金额,备注\nA,1,x\n".encode(), source="odd.csv")
    assert str(err.value).startswith("odd.csv: no id/title/price column in the header row (columns found: 货品, 金额, 备注)")
    with pytest.raises(FeedError, match=r"no id column .*columns found: 商品名称, 价格\)"):
        read_csv("商品名称,价格\n杯子,9\n".encode("gbk"))
    with pytest.raises(FeedError, match=r"no price column .*columns found: SKU, Title\)"):
        read_xlsx(_xlsx({1: ["SKU", "Title"], 2: ["A", "B"]}))


@pytest.mark.parametrize("data", [b"PK\x03\x04 truncated", b"id,title,price\nA,B,1\n", b""])
def test_corrupt_xlsx(data):
    with pytest.raises(FeedError, match=r"^bad\.xlsx: not a readable \.xlsx workbook"):
        read_xlsx(data, source="bad.xlsx")


def test_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(FeedError, match="not a readable .xlsx workbook"):
        read_xlsx(out.getvalue())
