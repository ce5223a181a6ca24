"""Catalog files built to hurt: decompression bombs, formats in disguise, empty files, formula cells, huge sheets."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from products.feeds import lines
from products.feeds.base import FeedError, build_catalog
from products.feeds.lines import text_lines
from products.feeds.sources import open_source, sniff
from products.feeds.spreadsheet import read_csv, read_xlsx
from products.feeds.workbook import WorkbookLimits
from products.model import Product, looks_like_formula

SHEET = "xl/worksheets/sheet1.xml"
HYPERLINK = '=HYPERLINK("http://x","click")'


def _open(path: Path, fmt: str = "auto"):
    return asyncio.run(open_source(str(path), fmt))


def _rejected(catalog) -> list[tuple]:
    return [(r.row, r.sku, r.field, r.value, r.reason) for r in catalog.rejected]


def _workbook(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_sheet(sheet_xml_chunks, level: int = 6) -> bytes:
    """A real workbook whose first sheet's XML is written, compressed, from ``sheet_xml_chunks``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_workbook([["id", "title", "price"]]))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for entry in src.infolist():
            if entry.filename != SHEET:
                dst.writestr(entry.filename, src.read(entry))
        with dst.open(SHEET, "w", force_zip64=True) as sheet:
            for chunk in sheet_xml_chunks:
                sheet.write(chunk)
    return out.getvalue()


def _sheet_xml(rows: int, row: bytes | None = None) -> object:
    """A sheet of an id/title/price header and ``rows`` rows: ``row`` repeated, else numbered ones."""
    yield (b'<?xml version="1.0" encoding="UTF-8"?>'
           b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           b'<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>title</t></is>'
           b'</c><c r="C1" t="inlineStr"><is><t>price</t></is></c></row>')
    for start in range(0, rows, 1000):
        yield row * 1000 if row else b"".join(
            b'<row r="%d"><c t="inlineStr"><is><t>P-%d</t></is></c><c t="inlineStr"><is><t>Mug %d</t></is></c>'
            b'<c><v>%d.5</v></c></row>' % (n + 2, n, n * 7919 % 10007, n % 97 + 1) for n in range(start, start + 1000))
    yield b"</sheetData></worksheet>"


_ROW = b'<row><c t="inlineStr"><is><t>P-1</t></is></c><c t="inlineStr"><is><t>Mug</t></is></c><c><v>9</v></c></row>'


# --------------------------------------------------------------------------- item 8: XLSX bombs


def test_xlsx_decompression_bomb_is_refused_before_it_is_unpacked():
    bomb = _with_sheet(_sheet_xml(500_000, _ROW))  # ~50 MiB of rows packed into a few hundred KiB
    assert len(bomb) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(FeedError) as err:
            read_xlsx(bomb, source="bomb.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert message.startswith("bomb.xlsx: refused: part xl/worksheets/sheet1.xml unpacks from ")
    assert "MiB" in message and "at most 100:1" in message and "decompression bomb" in message
    assert peak < 8 << 20  # nothing was unpacked


def test_xlsx_over_the_total_size_is_refused_naming_the_largest_part():
    noise = os.urandom(3 << 20).hex().encode()  # 6 MiB that does not compress much: no ratio alarm
    data = _with_sheet([b"<worksheet><sheetData><row><c><v>", noise, b"</v></c></row></sheetData></worksheet>"])
    with pytest.raises(FeedError) as err:
        read_xlsx(data, source="big.xlsx", limits=WorkbookLimits(total=4 << 20))
    message = str(err.value)
    assert message.startswith("big.xlsx: refused: the workbook unpacks to 6.0 MiB (at most 4.0 MiB); its largest part "
                              "xl/worksheets/sheet1.xml unpacks from ")
    assert message.endswith("save the sheet as CSV UTF-8 instead (a CSV file of any size is read as it streams)")


def test_xlsx_with_too_many_parts_is_refused():
    with pytest.raises(FeedError, match=r"^many\.xlsx: refused: the workbook has \d+ parts \(at most 3\)"):
        read_xlsx(_workbook([["id", "title", "price"]]), source="many.xlsx", limits=WorkbookLimits(parts=3))


def test_xlsx_entity_expansion_is_stopped_by_the_parser():
    entities = b"".join(b'<!ENTITY e%d "%s">' % (i + 1, b"&e%d;" % i * 10) for i in range(9))
    sheet = (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY e0 "lol">' + entities + b']>'
             b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             b'<row r="1"><c t="inlineStr"><is><t>id</t></is></c><c t="inlineStr"><is><t>title</t></is></c>'
             b'<c t="inlineStr"><is><t>price</t></is></c></row>'
             b'<row r="2"><c t="inlineStr"><is><t>A</t></is></c><c t="inlineStr"><is><t>&e9;</t></is></c></row>'
             b"</sheetData></worksheet>")
    with pytest.raises(FeedError, match=r"^laughs\.xlsx: the first worksheet cannot be read \(ParseError: limit on input "
                                        r"amplification"):
        list(read_xlsx(_with_sheet([sheet]), source="laughs.xlsx"))


def _understate(data: bytes, name: str, size: int) -> bytes:
    """The zip with ``name``'s uncompressed size in the central directory replaced by ``size`` (a lie)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46:at + 46 + length] == name.encode():
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(name)


def test_an_understated_part_size_is_all_that_is_ever_unpacked():
    honest = _with_sheet(_sheet_xml(20_000))
    assert len(list(read_xlsx(honest))) == 20_000
    lying = _understate(honest, SHEET, 4096)  # says 4 KiB; holds 2 MiB
    with pytest.raises(FeedError, match=r"^liar\.xlsx: the first worksheet cannot be read \(BadZipFile: Bad CRC-32"):
        items = read_xlsx(lying, source="liar.xlsx")
        assert len(list(items)) < 40  # the rows in the first 4 KiB, then the CRC check fails


def test_xlsx_rows_are_read_as_the_items_are():
    data = _with_sheet(_sheet_xml(50_000))  # 5 MiB of rows
    tracemalloc.start()
    try:
        items = read_xlsx(data)
        first = [next(items) for _ in range(10)]
        peak = tracemalloc.get_traced_memory()[1]
        items.close()  # type: ignore[attr-defined]
    finally:
        tracemalloc.stop()
    assert [i.row for i in first] == list(range(2, 12))
    assert peak < 1 << 20  # not 50,000 rows of cells


def test_xlsx_memory_is_flat_in_the_number_of_rows():
    def peak(rows: int) -> int:
        data = _with_sheet(_sheet_xml(rows))
        tracemalloc.start()
        try:
            assert sum(1 for _ in read_xlsx(data)) == rows
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(1_000)  # one-time allocations (lazy imports) out of the way
    small, large = peak(2_000), peak(10_000)
    assert large < 1.5 * small, (small, large)  # openpyxl's read-only mode alone keeps a trace of every row: 3x here


def _excel_style(rows: list[list[str]], strings: list[bytes]) -> bytes:
    """A workbook as Excel writes one: cells refer to a shared-strings table (``rows`` hold indexes)."""
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = b"".join(b'<row r="%d">%s</row>' % (n, b"".join(b'<c t="s"><v>%s</v></c>' % c.encode() for c in row))
                     for n, row in enumerate(rows, start=1))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_workbook([["x"]]))) as src, zipfile.ZipFile(out, "w") as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif entry.filename == SHEET:
                body = b'<worksheet xmlns="%s"><sheetData>%s</sheetData></worksheet>' % (main, sheet)
            dst.writestr(entry.filename, body)
        dst.writestr("xl/sharedStrings.xml", b'<sst xmlns="%s">%s</sst>' % (main, b"".join(strings)))
    return out.getvalue()


_STRINGS = [b"<si><t>id</t></si>", b"<si><t>title</t></si>", b"<si><t>price</t></si>", b"<si><t>T-1</t></si>",
            '<si><r><t>保温</t></r><r><t>杯</t></r><rPh sb="0" eb="2"><t>ほおん</t></rPh></si>'.encode(), "<si><t>¥59</t></si>".encode()]


def test_xlsx_shared_strings_as_excel_writes_them():
    (item,) = read_xlsx(_excel_style([["0", "1", "2"], ["3", "4", "5"]], _STRINGS))
    assert item.data == {"sku": "T-1", "title": "保温杯", "price": "59", "currency": "CNY"}  # rich text joined, no phonetics


def test_xlsx_shared_string_out_of_range_or_too_many():
    with pytest.raises(FeedError, match=r"^s\.xlsx: the first worksheet cannot be read \(IndexError: shared string 99"):
        list(read_xlsx(_excel_style([["0", "1", "2"], ["3", "99", "5"]], _STRINGS), source="s.xlsx"))
    with pytest.raises(FeedError, match=r"^s\.xlsx: refused: more than 5 shared strings; not a plain spreadsheet"):
        read_xlsx(_excel_style([["0", "1", "2"]], _STRINGS), source="s.xlsx", limits=WorkbookLimits(strings=5))


# --------------------------------------------------------------------------- item 8: CSV streams


def _csv_file(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("商品编码,商品名称,价格,库存,卖点\r\n")
        for i in range(rows):
            f.write(f"SKU-{i:06d},保温杯 {i}号,{59 + i % 100},{i % 7},24小时保温;304不锈钢\r\n")
    return path


def _peak_while_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in _open(path).items)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_import_memory_is_flat_in_the_number_of_rows(tmp_path):
    _peak_while_reading(_csv_file(tmp_path / "tiny.csv", 100))  # one-time allocations (lazy imports) out of the way
    small, small_peak = _peak_while_reading(_csv_file(tmp_path / "small.csv", 5_000))
    large, large_peak = _peak_while_reading(_csv_file(tmp_path / "large.csv", 25_000))
    assert (small, large) == (5_000, 25_000)
    assert (tmp_path / "large.csv").stat().st_size > large_peak  # never the whole file in memory
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)  # five times the rows, not the memory


def test_gbk_decided_at_the_first_chinese_character_far_into_the_file(tmp_path):
    ascii_rows = "".join(f"A-{i:05d},Mug {i},9\r\n" for i in range(5000))  # ~90 KiB before any Chinese
    path = tmp_path / "gbk.csv"
    path.write_bytes(("id,title,price\r\n" + ascii_rows + "B-1,保温杯,59\r\n").encode("gbk"))
    items = list(_open(path).items)
    assert len(items) == 5001 and items[-1].data["title"] == "保温杯" and items[-1].row == 5002


def test_a_bad_byte_far_into_a_utf8_file_is_reported_with_its_offset(tmp_path):
    path = tmp_path / "mixed.csv"
    head = ("id,title,price\r\n" + "".join(f"A-{i:05d},杯子 {i},9\r\n" for i in range(5000))).encode()
    path.write_bytes(head + "B-1,保温杯,59\r\n".encode("gbk"))
    items = _open(path).items
    with pytest.raises(FeedError, match=rf"mixed\.csv: cannot decode byte b'\\xb1' at offset {len(head) + 4}: "
                                        r"the file reads as UTF-8 up to there, but not from there on"):
        list(items)


def test_line_ends_split_across_chunks(monkeypatch):
    monkeypatch.setattr(lines, "CHUNK", 3)
    text = "a,b\r\nc\rd\n\n\"e\r\nf\",g\r"
    got = list(text_lines(io.BytesIO(text.encode()), where="x"))
    assert got == io.StringIO(text, newline="").readlines()


def test_a_file_without_line_breaks_is_refused(monkeypatch):
    monkeypatch.setattr(lines, "MAX_LINE", 1000)
    with pytest.raises(FeedError, match=r"^one\.csv: line 2 is longer than"):
        list(read_csv(b"id,title,price\n" + b"x" * 5000, source="one.csv"))


# --------------------------------------------------------------------------- item 10: the name decides


def test_csv_with_google_merchant_headers_is_read_as_csv(tmp_path):
    body = "id,title,price,link,image_link,availability\n" + "".join(
        f"G-{i},Mug {i},{9 + i}.50 USD,https://shop.example/{i},https://cdn.example/{i}.jpg,in stock\n" for i in range(50))
    path = tmp_path / "products.csv"
    path.write_text(body, encoding="utf-8")
    opened = _open(path)
    assert opened.format == "csv"
    catalog = build_catalog(opened.items)
    assert len(catalog) == 50 and catalog.rejected == []
    assert catalog["G-0"].url == "https://shop.example/0" and catalog["G-0"].image == "https://cdn.example/0.jpg"

    txt = tmp_path / "products.txt"  # no telling suffix: the content decides, and it reads as Google's text feed
    txt.write_text(body, encoding="utf-8")
    opened = _open(txt)
    assert opened.format == "gmc" and len(build_catalog(opened.items)) == 50  # Google's text form, read as it streams


@pytest.mark.parametrize(("name", "head", "kind"), [
    ("shop.csv", b"id,title,price,link,image_link\n", "csv"),
    ("shop.CSV", b"Handle,Title,Variant Price\n", "shopify"),
    ("shop.csv", b"PK\x03\x04\x14\x00", "xlsx"),
    ("shop.csv", b'\xef\xbb\xbf<?xml version="1.0"?><rss>', "gmc"),
    ("shop.csv", b'  [{"sku": "A"}]', "json"),
    ("shop.csv", "[2026双11商品清单]\n商品编码,商品名称,价格\n".encode(), "csv"),
    ("shop.csv", b"{title line}\nid,title,price\n", "csv"),
    ("shop.xlsx", b"id,title,price\n", "xlsx"),
    ("shop.json", b"<rss version='2.0'>", "gmc"),
    ("shop.json", b"id,title,price\n", "json"),
    ("feed.xml", b'{"products": []}', "json"),
    ("feed.xml", b"id\ttitle\tprice\n", "gmc"),
    ("https://shop.example/export/feed.csv?token=1", b"id,title,price,link\n", "csv"),
    ("https://shop.example/feed", b"id\ttitle\tprice\tlink\n", "gmc"),
    ("feed.tsv", b"id\ttitle\tprice\timage_link\n", "gmc"),
    ("sheet.tsv", "商品编码\t商品名称\t价格\n".encode(), "csv"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xlsx"),
])
def test_sniff_the_suffix_decides_unless_the_bytes_plainly_disagree(name, head, kind):
    assert sniff(name, head) == kind


@pytest.mark.parametrize(("name", "content", "message"), [
    ("feed.json", b"", "feed.json: the file is empty: there is no JSON catalog in it"),
    ("feed.xml", b"", "feed.xml: the file is empty: there is no Google Merchant feed in it"),
    ("shop.csv", b"\xef\xbb\xbf", "shop.csv: the file holds only white space (3 bytes): there is no CSV sheet in it"),
    ("shop.xlsx", b"", "shop.xlsx: the file is empty: there is no XLSX workbook in it"),
    ("feed.json", b" \n\t\r\n", "feed.json: the file holds only white space (5 bytes): there is no JSON catalog in it"),
    ("catalog", b"", "catalog: the file is empty: there is no catalog in it"),
])
def test_empty_files_say_so(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FeedError) as err:
        _open(path)
    assert str(err.value) == str(path.parent / message)


def test_an_explicit_format_names_the_format_of_an_empty_file(tmp_path):
    path = tmp_path / "feed.txt"
    path.write_bytes(b"\n")
    with pytest.raises(FeedError, match=r"feed\.txt: the file holds only white space \(1 bytes\): there is no "
                                        r"Shopify product export in it$"):
        _open(path, "shopify")


# --------------------------------------------------------------------------- item 12: formula cells


@pytest.mark.parametrize("text", [
    HYPERLINK, "=1+2", "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "\t=1+2", "\r@SUM(1)",
    ' +hyperlink("http://x")', "- WEBSERVICE(\"http://x\")", "-SUM(A1)", "=",
])
def test_formulas(text):
    assert looks_like_formula(text)


@pytest.mark.parametrize("text", [
    "-20℃保冷", "-20℃ 保冷", "+1 年保修", "+1年保修", "-20%", "@cosme", "- Size(cm): 20", "-1", "+86 10 1234",
    "保温杯 =大容量", "+1 年保修 | 正品!", "-Wi-Fi|BT!", "",
])
def test_not_formulas(text):
    assert not looks_like_formula(text)


def test_csv_formula_cells_are_rejected_with_field_and_value():
    sheet = (
        "id,title,price,卖点,规格:颜色\n"
        f'A-1,"{HYPERLINK.replace(chr(34), chr(34) * 2)}",¥9,,\n'
        "A-2,-20℃保冷,¥9,,\n"
        "A-3,Mug,¥9,保温;@SUM(A1:A9),\n"
        "A-4,Cup,¥9,,=1+2\n"
        "A-5,+1 年保修,¥9,,\n"
    )
    catalog = build_catalog(read_csv(sheet.encode()), source="shop.csv")
    assert catalog.skus() == ["A-2", "A-5"]
    assert catalog["A-2"].title == "-20℃保冷"
    assert _rejected(catalog) == [
        (2, "A-1", "title", HYPERLINK,
         'looks like a spreadsheet formula (=HYPERLINK("http://x","click")); formulas are not imported'),
        (4, "A-3", "selling_points", ["保温", "@SUM(A1:A9)"],
         "entry 2: looks like a spreadsheet formula (@SUM(A1:A9)); formulas are not imported"),
        (5, "A-4", "specs", {"颜色": "=1+2"}, "颜色: looks like a spreadsheet formula (=1+2); formulas are not imported"),
    ]


def test_xlsx_formula_text_is_rejected_and_formula_results_are_values():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "title", "price", "currency"])
    sheet.append(["X-1", None, 9, "CNY"])
    sheet["B2"].value, sheet["B2"].data_type = HYPERLINK, "s"  # a text cell that reads as a formula
    sheet.append(["X-2", HYPERLINK, 9, "CNY"])  # a real formula, saved without a result (never opened in Excel)
    sheet.append(["X-3", "placeholder", 9, "CNY"])
    out = io.BytesIO()
    book.save(out)
    fixed = io.BytesIO()  # a formula saved with its result, as Excel saves it
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(fixed, "w") as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == SHEET:
                start = body.index(b'<c r="B4"')
                end = body.index(b"</c>", start) + 4
                body = body[:start] + b'<c r="B4" t="str"><f>HYPERLINK("http://x","click")</f><v>click</v></c>' + body[end:]
            dst.writestr(entry, body)

    catalog = build_catalog(read_xlsx(fixed.getvalue()))
    assert catalog.skus() == ["X-3"] and catalog["X-3"].title == "click"
    assert _rejected(catalog) == [
        (2, "X-1", "title", HYPERLINK,
         'looks like a spreadsheet formula (=HYPERLINK("http://x","click")); formulas are not imported'),
        (3, "X-2", "title", None, "required field is missing"),
    ]


def test_every_reader_is_covered_by_the_model():
    base = {"sku": "S-1", "title": "Mug", "lang": "en", "price": "9", "currency": "USD"}
    for field, value in [("brand", "=cmd|'/C calc'!A0"), ("sku", "=1+2"), ("tags", ["ok", "@SUM(1)"]),
                         ("variants", [{"id": "V-1", "options": {"color": "=HYPERLINK(\"x\")"}}]),
                         ("variants", [{"id": "-HYPERLINK(\"x\")"}])]:
        with pytest.raises(ValueError, match="looks like a spreadsheet formula"):
            Product.model_validate(base | {field: value})
    assert Product.model_validate(base | {"description": "-20℃ 保冷\n- Size(cm): 20"}).description
