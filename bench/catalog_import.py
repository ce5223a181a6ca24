"""Benchmark: importing a large Google Merchant feed, against plain iterparse.

Generates an N-item GMC RSS feed (default 100,000: Chinese and English
titles, prices with currencies, sale prices with effective dates,
availability, quantities, some item groups), then measures in the same run,
each in a fresh child process:

  baseline   xml.etree.ElementTree.iterparse over the file, reading every
             item's child texts and clearing finished items
  import     livehost's import: the GMC reader, validation into products,
             and storing a catalog version in Redis (embedded), as
             `livehost catalog import` does

and prints items per second (target: import at least half the baseline's
speed) and peak memory (ru_maxrss) at N/4 and N items (target: flat, the
larger feed's peak under 1.5x the smaller's).

    .venv/bin/python bench/catalog_import.py [--items 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZH = ["保温杯", "蓝牙耳机", "速干T恤", "电动牙刷", "咖啡豆", "充电宝", "毛巾", "台灯", "帆布包", "瑜伽垫"]
EN = ["insulated bottle", "wireless earbuds", "running tee", "electric toothbrush", "coffee beans",
      "power bank", "bath towel", "desk lamp", "canvas tote", "yoga mat"]


def generate(path: Path, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">'
                "<channel><title>bench</title>\n")
        for i in range(n):
            zh = i % 2 == 0
            name = rnd.choice(ZH) if zh else rnd.choice(EN)
            cur = "CNY" if zh else "USD"
            price = rnd.randint(10, 500)
            parts = [f"<g:id>SKU-{i}</g:id>", f"<g:title>{name} {i}</g:title>",
                     f"<g:description>{'优质' if zh else 'Quality'} {name}, item {i}.</g:description>",
                     f"<g:link>https://shop.example.com/p/{i}</g:link>",
                     f"<g:image_link>https://cdn.example.com/{i}.jpg</g:image_link>",
                     f"<g:price>{price}.00 {cur}</g:price>",
                     f"<g:availability>{'in_stock' if i % 17 else 'out_of_stock'}</g:availability>",
                     f"<g:quantity>{0 if i % 17 == 0 else rnd.randint(1, 900)}</g:quantity>",
                     f"<g:brand>Brand{i % 50}</g:brand>",
                     f"<g:product_type>Home &gt; {name}</g:product_type>"]
            if i % 3 == 0:
                parts += [f"<g:sale_price>{price - 5}.00 {cur}</g:sale_price>",
                          "<g:sale_price_effective_date>2026-11-24T20:00+0800/2026-11-30T23:59+0800"
                          "</g:sale_price_effective_date>"]
            if i % 10 == 0:
                parts += [f"<g:item_group_id>G-{i // 40}</g:item_group_id>", f"<g:size>{rnd.choice('SML')}</g:size>"]
            f.write("<item>" + "".join(parts) + "</item>\n")
            if i and i % 20_000 == 0:
                print(f"  generated {i} items", flush=True)
        f.write("</channel></rss>\n")


def run_baseline(path: str) -> dict:
    import xml.etree.ElementTree as ET

    t0, items, chars = time.perf_counter(), 0, 0
    parent = None
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            if elem.tag == "channel":
                parent = elem
            continue
        if elem.tag == "item":
            for child in elem:
                chars += len(child.text or "")
            items += 1
            parent.remove(elem)
    return {"items": items, "seconds": time.perf_counter() - t0}


def run_import(path: str) -> dict:
    os.environ["LIVEHOST_HOME"] = tempfile.mkdtemp(prefix="livehost-bench-")
    from livehost.store import Store
    from products.feeds.base import validate_items
    from products.feeds.gmc import read_gmc_xml
    from products.store import CatalogStore

    store = Store()
    try:
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            result = CatalogStore(store.sync(), "bench").import_products(
                validate_items(read_gmc_xml(f, source_name=path), dedupe=False), source=path, format="gmc")
        seconds = time.perf_counter() - t0
    finally:
        store.close()
    return {"items": result.valid + result.rejected_count, "products": result.imported,
            "rejected": result.rejected_count, "seconds": seconds}


def child(kind: str, path: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, path = args.child
        stats = run_baseline(path) if kind == "baseline" else run_import(path)
        stats["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(stats))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [args.items // 4, args.items]
        results = {}
        for n in sizes:
            path = Path(tmp) / f"feed-{n}.xml"
            print(f"generating a {n}-item feed ...", flush=True)
            generate(path, n)
            print(f"  {path.stat().st_size / 1e6:.1f} MB; measuring ...", flush=True)
            results[n] = {kind: child(kind, str(path)) for kind in ("baseline", "import")}
    n = args.items
    base, imp = results[n]["baseline"], results[n]["import"]
    base_rate, imp_rate = base["items"] / base["seconds"], imp["items"] / imp["seconds"]
    print()
    print(f"{n} items: baseline iterparse {base_rate:,.0f} items/s; livehost import {imp_rate:,.0f} items/s "
          f"({imp['products']} products stored, {imp['rejected']} rejected)")
    ratio = imp_rate / base_rate
    print(f"speed ratio import/baseline: {ratio:.2f}   (target >= 0.5)  {'OK' if ratio >= 0.5 else 'MISSED'}")
    for kind in ("baseline", "import"):
        small, large = results[sizes[0]][kind]["maxrss_mb"], results[n][kind]["maxrss_mb"]
        flat = large < 1.5 * small
        print(f"peak memory {kind:<8}: {small:6.1f} MB at {sizes[0]} items, {large:6.1f} MB at {n} items  "
              f"({'flat' if flat else 'GROWS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
