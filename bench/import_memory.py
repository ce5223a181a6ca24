"""Benchmark: peak memory of importing a merchant CSV (or XLSX) sheet, against plain ``csv.reader``.

Generates an N-row product sheet (default 200,000 rows; Chinese and English
titles, prices with ¥/$ marks, sale prices, stock, availability, tags and
specs) and one of N/10 rows, then, each in its own spawned process, measures
the peak RSS (``VmHWM``, else ``ru_maxrss``, which Linux carries over from the
parent that started the process) of

  (a) plain ``csv.reader`` over the file, every cell touched (the baseline);
  (b) livehost's import path without Redis: ``open_source(path)``, its items
      validated with ``validate_items(..., dedupe=False)`` and consumed
      (products and rejected items counted), as ``livehost catalog import``
      feeds them to the store.

It prints each peak, the growth above the process's size before reading,
the N / (N/10) ratio (flat when below 1.5x) and (b) against (a).  With
``--xlsx`` the same sheet is written as an XLSX workbook as well, the way
Excel writes one (every distinct text once, in the shared-strings table,
which a reader must hold: here about 4 distinct texts a row), and read
through (b) (no baseline: there is no plain reader to compare with).

    .venv/bin/python bench/import_memory.py [--rows 200000] [--xlsx]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import resource
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spawned import in_fresh_process  # noqa: E402

ZH = ["保温杯", "羊毛围巾", "蓝牙耳机", "乌龙茶", "面霜", "儿童积木", "充电宝", "陶瓷马克杯"]
EN = ["Travel mug", "Wool scarf", "Bluetooth earbuds", "Oolong tea", "Face cream", "Stacking blocks", "Power bank"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ["商品编码", "商品名称", "品牌", "类目", "价格", "促销价", "库存", "库存状态", "卖点", "标签", "规格"]


def _row(i: int, rng: random.Random) -> list[str]:
    zh = i % 2 == 0
    title = f"{rng.choice(ZH)} {i}号" if zh else f"{rng.choice(EN)} no. {i}"
    price = rng.randint(10, 2000)
    return [
        f"SKU-{i:07d}", title, "象印" if zh else "Acme", "家居" if zh else "Home",
        f"¥{price}" if zh else f"${price}.99", str(price - 5) if i % 3 == 0 else "", str(rng.randint(0, 500)),
        rng.choice(["有货", "缺货", "预售", "in stock"]), "24小时保温;304不锈钢" if zh else "Leak-proof;Keeps hot 12h",
        "保温,办公" if zh else "travel,kitchen", "容量:500ml;材质:304不锈钢",
    ]


def generate(path: Path, n: int, xlsx: bool) -> None:
    """The sheet as CSV, or as an XLSX workbook the way Excel writes one (text in a shared-strings table)."""
    rng = random.Random(n)
    if not xlsx:
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(HEADER)
            for i in range(n):
                out.writerow(_row(i, rng))
        return
    import openpyxl

    strings: dict[str, int] = {}

    def row_xml(number: int, cells: list[str]) -> str:
        refs = "".join(f'<c t="s"><v>{strings.setdefault(c, len(strings))}</v></c>' if c else "<c/>" for c in cells)
        return f'<row r="{number}">{refs}</row>'

    skeleton = io.BytesIO()
    openpyxl.Workbook().save(skeleton)
    with zipfile.ZipFile(skeleton) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            if entry.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(entry.filename, body)
        with dst.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><dimension ref="A1:K{n + 1}"/><sheetData>'.encode())
            sheet.write(row_xml(1, HEADER).encode())
            for i in range(n):
                sheet.write(row_xml(i + 2, _row(i, rng)).encode())
            sheet.write(b"</sheetData></worksheet>")
        with dst.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(f'<sst xmlns="{MAIN}" uniqueCount="{len(strings)}">'.encode())
            for text in strings:
                table.write(f"<si><t>{escape(text)}</t></si>".encode())
            table.write(b"</sst>")


# --------------------------------------------------------------------------- one measurement (own process)


def _plain(path: str) -> dict[str, Any]:
    cells = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            cells += sum(1 for c in row if c.strip())
    return {"cells": cells}


def _livehost(path: str) -> dict[str, Any]:
    from products.feeds.base import validate_items
    from products.feeds.sources import open_source
    from products.model import Product

    opened = asyncio.run(open_source(path))
    products = rejects = 0
    for result in validate_items(opened.items, dedupe=False):
        if isinstance(result, Product):
            products += 1
        else:
            rejects += 1
    return {"products": products, "rejects": rejects, "format": opened.format}


def _peak_kib() -> int:
    """This process's peak resident memory in KiB (``ru_maxrss`` survives exec on Linux: not this image's own)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(which: str, path: str) -> dict[str, Any]:
    import openpyxl  # noqa: F401  (imports belong to the baseline, not the measurement)

    import products.feeds.base  # noqa: F401
    import products.feeds.sources  # noqa: F401
    import products.feeds.spreadsheet  # noqa: F401

    before = _peak_kib()
    out = _plain(path) if which == "plain" else _livehost(path)
    out["rss_before_kib"] = before
    out["rss_peak_kib"] = _peak_kib()
    return out


def measure(which: str, path: Path) -> dict[str, Any]:
    """One measurement in a fresh spawned process, so that its peak memory is its own."""
    return in_fresh_process(_measure, which, str(path))


# --------------------------------------------------------------------------- report


def _line(label: str, lo: dict[str, Any], hi: dict[str, Any], small: int, n: int) -> float:
    peak_lo, peak_hi = lo["rss_peak_kib"] / 1024, hi["rss_peak_kib"] / 1024
    grow_lo = (lo["rss_peak_kib"] - lo["rss_before_kib"]) / 1024
    grow_hi = (hi["rss_peak_kib"] - hi["rss_before_kib"]) / 1024
    print(f"{label}  {small:>8,} rows: {peak_lo:6.1f} MiB (growth {grow_lo:6.1f})   "
          f"{n:>8,} rows: {peak_hi:6.1f} MiB (growth {grow_hi:6.1f})   "
          f"{'flat' if peak_hi < 1.5 * peak_lo else 'NOT flat'} ({peak_hi / peak_lo:.2f}x)")
    return peak_hi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000, help="rows in the large sheet (default 200000)")
    ap.add_argument("--xlsx", action="store_true", help="also read the sheets as XLSX workbooks")
    args = ap.parse_args()
    n, small = args.rows, max(args.rows // 10, 1)

    with tempfile.TemporaryDirectory(prefix="livehost-bench-") as tmp:
        paths = {size: Path(tmp) / f"sheet-{size}.csv" for size in (small, n)}
        for size, path in paths.items():
            generate(path, size, xlsx=False)
        print(f"sheet: {n:,} rows, {paths[n].stat().st_size / 2**20:.1f} MiB CSV; memory run at {small:,} rows too\n")
        runs = {(which, size): measure(which, path) for which in ("plain", "livehost") for size, path in paths.items()}
        if args.xlsx:
            books = {size: Path(tmp) / f"sheet-{size}.xlsx" for size in (small, n)}
            for size, path in books.items():
                generate(path, size, xlsx=True)
            with zipfile.ZipFile(books[n]) as book:
                unpacked = sum(part.file_size for part in book.infolist())
            print(f"workbook: {n:,} rows, {books[n].stat().st_size / 2**20:.1f} MiB XLSX, "
                  f"{unpacked / 2**20:.1f} MiB unpacked\n")
            runs |= {("xlsx", size): measure("livehost", path) for size, path in books.items()}

    got = runs["livehost", n]
    print(f"(b) read as {got['format']}: {got['products']:,} products, {got['rejects']:,} rejected items\n")
    print("peak RSS (VmHWM), each run in its own process; growth = above the process's size before reading")
    base = _line("(a) csv.reader ", runs["plain", small], runs["plain", n], small, n)
    mine = _line("(b) livehost   ", runs["livehost", small], runs["livehost", n], small, n)
    print(f"ratio (b)/(a) at {n:,} rows: {mine / base:.2f}x")
    if args.xlsx:
        _line("(b) XLSX       ", runs["xlsx", small], runs["xlsx", n], small, n)


if __name__ == "__main__":
    main()
