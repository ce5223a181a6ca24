"""Benchmark: importing a Google Merchant Center XML feed, against plain ``iterparse``.

Generates an N-item RSS feed (default 100,000; Chinese and English titles,
prices with currency, sale prices with effective dates, availability,
quantity, some item groups) into a temp folder, then measures

  (a) plain ``xml.etree.ElementTree.iterparse``: each item's child texts
      touched, finished elements cleared;
  (b) livehost's reading and validation: ``validate_items(read_gmc_xml(...))``
      consumed fully (products and rejects counted).  A feed this large is
      parsed in a child process while the importing process maps and
      validates (products.feeds.child); the CPU seconds of both are shown;
  (b1) the same in one process (``LIVEHOST_FEED_CHILD=0``);
  (c) the whole import, as ``livehost catalog import`` does it: (b) and storing
      a catalog version in (embedded) Redis.

It reports items per second for each and the ratio (target: (b) at least
0.5x (a)), and the peak memory (``ru_maxrss``; every measurement in its own
spawned process, and (b)'s parsing child separately) at N/4 and N items:
flat when the N-item peak is below 1.5x the N/4 one.

    .venv/bin/python bench/catalog_import.py [--items 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spawned import in_fresh_process  # noqa: E402

ZH = ["保温杯", "羊毛围巾", "蓝牙耳机", "乌龙茶", "面霜", "儿童积木", "充电宝", "陶瓷马克杯"]
EN = ["Travel mug", "Wool scarf", "Bluetooth earbuds", "Oolong tea", "Face cream", "Stacking blocks", "Power bank", "Mug"]
CATEGORIES = [
    "Home & Garden > Kitchen & Dining > Tableware > Drinkware",
    "Apparel & Accessories > Clothing Accessories > Scarves & Shawls",
    "Electronics > Audio > Audio Components > Headphones & Headsets",
    "Food, Beverages & Tobacco > Beverages > Tea & Infusions",
    "Health & Beauty > Personal Care > Cosmetics > Skin Care",
    "Toys & Games > Toys > Building Toys",
]
AVAILABILITY = ["in_stock"] * 6 + ["in stock", "out_of_stock", "preorder", "backorder"]
SIZES = ["S", "M", "L", "XL"]


# --------------------------------------------------------------------------- the feed


def _item(i: int, rng: random.Random, group: int | None = None, size: str = "") -> str:
    """Item i; in an item group (its first item's number), one size of the group's product."""
    k = i if group is None else group  # the items of a group describe one product
    zh = k % 2 == 0
    name = (ZH if zh else EN)[k % len(ZH)]
    model = size or (f"{k % 97}号" if zh else f"model {k % 97}")
    currency = "CNY" if zh else "USD"
    price = rng.randint(10, 500) + rng.choice((0, 0.5, 0.9, 0.99))
    parts = [
        f"<g:id>SKU-{i:06d}</g:id>",
        f"<g:title>{name} {model}</g:title>",
        f"<g:description>{escape(f'<p>{name}，品质保证。</p><ul><li>{k % 12 + 1} 个月质保</li></ul>')}</g:description>"
        if zh else f"<g:description>{name}, built to last. Ships in {k % 5 + 1} days.</g:description>",
        f"<g:link>https://shop.example.com/p/{i}</g:link>",
        f"<g:image_link>https://cdn.example.com/{i}.jpg</g:image_link>",
        f"<g:additional_image_link>https://cdn.example.com/{i}-2.jpg</g:additional_image_link>",
        f"<g:price>{price:.2f} {currency}</g:price>",
        f"<g:availability>{rng.choice(AVAILABILITY)}</g:availability>",
        f"<g:quantity>{rng.randint(0, 500)}</g:quantity>",
        f"<g:brand>{'暖途' if zh else 'Northway'}</g:brand>",
        f"<g:product_type>{escape(CATEGORIES[k % len(CATEGORIES)])}</g:product_type>",
        f"<g:product_highlight>{'买二送一' if zh else 'Buy two, get one free'}</g:product_highlight>",
        f"<g:custom_label_0>{'双11' if zh else 'black-friday'}</g:custom_label_0>",
    ]
    if k % 3 == 0:
        parts.append(f"<g:sale_price>{price * 0.8:.2f} {currency}</g:sale_price>")
        parts.append("<g:sale_price_effective_date>2026-11-24T20:00+08:00/2026-11-30T23:59+08:00</g:sale_price_effective_date>")
    if group is not None:
        parts.append(f"<g:item_group_id>GROUP-{group}</g:item_group_id><g:size>{size}</g:size>")
    if i % 500 == 7:
        parts[6] = f"<g:price>{price:.2f}</g:price>"  # a broken item now and then: no currency
    return "<item>" + "".join(parts) + "</item>\n"


def generate(path: Path, n: int) -> None:
    """An n-item feed; about 1% of the items are in item groups of 4 sizes."""
    rng = random.Random(n)
    step = max(n // 10, 1)
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n'
                "<channel><title>Benchmark store</title><link>https://shop.example.com</link>\n")
        i = 0
        while i < n:
            if i % 400 == 0 and i + 4 <= n:  # a group of 4 sizes
                first = i
                for size in SIZES:
                    f.write(_item(i, rng, first, size))
                    i += 1
            else:
                f.write(_item(i, rng))
                i += 1
            if i % step == 0:
                print(f"  generating {path.name}: {i:,}/{n:,} items", flush=True)
        f.write("</channel></rss>\n")


# --------------------------------------------------------------------------- measurements (each in its own process)


def _iterparse(path: str) -> dict[str, int]:
    events = ET.iterparse(path, events=("start", "end"))
    _, root = next(events)
    parent, items, chars = root, 0, 0
    for event, elem in events:
        if event == "start":
            if elem.tag == "channel":
                parent = elem
        elif elem.tag == "item":
            for child in elem:
                chars += len(child.text or "")
            items += 1
            elem.clear()
            parent.clear()
    return {"items": items, "chars": chars}


def _livehost(path: str) -> dict[str, Any]:
    from products.feeds.base import validate_items
    from products.feeds.child import worth_it
    from products.feeds.gmc import read_gmc_xml
    from products.model import Product

    products = rejects = 0
    with open(path, "rb") as f:
        child = worth_it(os.fstat(f.fileno()).st_size)
        # the catalog store checks repeated ids itself (in Redis), so the stream need not keep them
        for result in validate_items(read_gmc_xml(f, source_name=path), dedupe=False):
            if isinstance(result, Product):
                products += 1
            else:
                rejects += 1
    how = "parsed in a child process" if child else "one process"
    return {"how": f"validate_items(read_gmc_xml(...), dedupe=False), {how}", "products": products, "rejects": rejects}


def _store(path: str, home: str) -> dict[str, Any]:
    """What `livehost catalog import` does: read, validate, store a version in (embedded) Redis."""
    from livehost.core.store import Store
    from products.feeds.base import validate_items
    from products.feeds.gmc import read_gmc_xml
    from products.store import CatalogStore

    store = Store(home=Path(home))
    try:
        with open(path, "rb") as f:
            result = CatalogStore(store.sync(), "bench").import_products(
                validate_items(read_gmc_xml(f, source_name=path), dedupe=False), source=path, format="gmc")
    finally:
        store.close()
    return {"how": "CatalogStore.import_products", "products": result.imported, "rejects": result.rejected_count}


def _cpu() -> tuple[float, float]:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _measure(which: str, path: str) -> dict[str, Any]:
    import products.feeds.base  # noqa: F401  (imports belong to the baseline, not the measurement)
    import products.feeds.gmc  # noqa: F401
    import products.model  # noqa: F401

    if which == "one-process":
        os.environ["LIVEHOST_FEED_CHILD"] = "0"
    home = tempfile.mkdtemp(prefix="livehost-bench-home-")
    if which == "store":
        from livehost.core.store import Store

        Store(home=Path(home)).close()  # start the embedded server before the clock
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = _cpu()
    start = time.perf_counter()
    if which == "iterparse":
        out = _iterparse(path)
    elif which == "store":
        out = _store(path, home)
    else:
        out = _livehost(path)
    out["seconds"] = time.perf_counter() - start
    out["cpu_self"], out["cpu_children"] = (now - then for now, then in zip(_cpu(), cpu))
    out["rss_before_kib"] = before
    out["rss_peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["child_peak_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the parsing child, if any
    return out


def measure(which: str, path: Path) -> dict[str, Any]:
    """One measurement in a fresh spawned process, so that its peak memory is its own."""
    return in_fresh_process(_measure, which, str(path))


# --------------------------------------------------------------------------- report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000, help="items in the large feed (default 100000)")
    args = ap.parse_args()
    n, small_n = args.items, max(args.items // 4, 1)

    with tempfile.TemporaryDirectory(prefix="livehost-bench-") as tmp:
        large, small = Path(tmp) / f"gmc-{n}.xml", Path(tmp) / f"gmc-{small_n}.xml"
        generate(large, n)
        generate(small, small_n)
        print(f"feed: {n:,} items, {large.stat().st_size / 2**20:.1f} MiB; memory run at {small_n:,} items too\n")

        runs = {(which, size): measure(which, path)
                for which in ("iterparse", "livehost") for size, path in ((n, large), (small_n, small))}
        runs["one-process", n] = measure("one-process", large)
        runs["store", n] = measure("store", large)

    a, b, c, one = runs["iterparse", n], runs["livehost", n], runs["store", n], runs["one-process", n]
    rate_a, rate_b = n / a["seconds"], n / b["seconds"]
    print(f"(a) plain iterparse   {a['seconds']:6.2f} s  {rate_a:9,.0f} items/s")
    print(f"(b) livehost import   {b['seconds']:6.2f} s  {rate_b:9,.0f} items/s   "
          f"{b['products']:,} products, {b['rejects']:,} rejected items  [{b['how']}]")
    print(f"    CPU: {b['cpu_self']:.2f} s in the importing process, {b['cpu_children']:.2f} s in the parsing child")
    ratio = rate_b / rate_a
    print(f"ratio (b)/(a): {ratio:.2f}x  (target >= 0.50x: {'met' if ratio >= 0.5 else 'NOT met'})")
    print(f"(b1) ... one process  {one['seconds']:6.2f} s  {n / one['seconds']:9,.0f} items/s   "
          f"({n / one['seconds'] / rate_a:.2f}x iterparse; LIVEHOST_FEED_CHILD=0)")
    print(f"(c) ... and stored    {c['seconds']:6.2f} s  {n / c['seconds']:9,.0f} items/s   "
          f"{c['products']:,} products in a Redis catalog version  ({n / c['seconds'] / rate_a:.2f}x iterparse)\n")

    print("peak RSS (ru_maxrss), each run in its own process; growth = above the process's size before parsing")
    for which, label in (("iterparse", "(a) iterparse"), ("livehost", "(b) livehost ")):
        lo, hi = runs[which, small_n], runs[which, n]
        peak_lo, peak_hi = lo["rss_peak_kib"] / 1024, hi["rss_peak_kib"] / 1024
        grow_lo = (lo["rss_peak_kib"] - lo["rss_before_kib"]) / 1024
        grow_hi = (hi["rss_peak_kib"] - hi["rss_before_kib"]) / 1024
        flat = peak_hi < 1.5 * peak_lo
        print(f"{label}  {small_n:>7,} items: {peak_lo:6.1f} MiB (growth {grow_lo:5.1f})   "
              f"{n:>7,} items: {peak_hi:6.1f} MiB (growth {grow_hi:5.1f})   "
              f"{'flat' if flat else 'NOT flat'} ({peak_hi / peak_lo:.2f}x)")
    lo, hi = runs["livehost", small_n]["child_peak_kib"] / 1024, runs["livehost", n]["child_peak_kib"] / 1024
    if hi:
        print(f"(b) its parsing child  {small_n:>7,} items: {lo:6.1f} MiB                  "
              f"{n:>7,} items: {hi:6.1f} MiB                  {'flat' if hi < 1.5 * max(lo, 1) else 'NOT flat'}")


if __name__ == "__main__":
    main()
