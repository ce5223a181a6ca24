"""Google Merchant Center feeds: RSS, Atom, TSV; broken items reported, variants grouped, memory flat."""

import tracemalloc
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from products.feeds.base import FeedError, build_catalog, validate_items
from products.feeds.gmc import read_gmc_text, read_gmc_xml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def _catalog(name, reader=read_gmc_xml):
    return build_catalog(reader((FIXTURES / name).read_bytes()), source=name)


def test_rss_items_map_to_products():
    cat = _catalog("gmc_rss.xml")
    assert cat.skus() == ["CUP-500", "TEA-OOLONG", "TEE"]
    cup = cat["CUP-500"]
    assert (cup.lang, cup.price, cup.sale_price, cup.currency, cup.stock) == ("zh", Decimal("69.00"), Decimal("59.00"), "CNY", 120)
    sh = timezone(timedelta(hours=8))
    assert (cup.sale_start, cup.sale_end) == (datetime(2026, 11, 24, 20, 0, tzinfo=sh), datetime(2026, 11, 25, 0, 0, tzinfo=sh))
    assert cup.description == "真空双层，保温6小时"
    assert cup.images == ["https://cdn.example.cn/cup-500-2.jpg", "https://cdn.example.cn/cup-500-3.jpg"]
    assert cup.selling_points == ["304不锈钢内胆，耐用不易生锈", "一键弹盖，单手就能打开"]
    assert (cup.specs, cup.category, cup.tags, cup.url) == ({"容量": "500ml"}, "保温杯", ["双11"], "https://shop.example.cn/p/cup-500")
    tea = cat["TEA-OOLONG"]
    assert (tea.availability, tea.in_stock, tea.kind) == ("out_of_stock", False, "food")


def test_item_groups_become_variants():
    tee = _catalog("gmc_rss.xml")["TEE"]
    assert tee.title == "Cotton tee" and (tee.price, tee.stock) == (Decimal("17.90"), 12)
    assert [(v.id, v.options, v.price, v.sale_price, v.stock) for v in tee.variants] == [
        ("TEE-RED-M", {"color": "Red", "size": "M"}, Decimal("19.90"), None, 5),
        ("TEE-BLUE-L", {"color": "Blue", "size": "L"}, Decimal("17.90"), Decimal("15.90"), 7),
    ]


def test_broken_items_are_reported_and_the_rest_imports():
    rejected = [(r.index, r.sku, r.field, r.value, r.reason) for r in _catalog("gmc_rss.xml").rejected]
    assert rejected == [
        (3, "BAD-CUR", "price", "59.00", "must be an amount and a currency code, like 59.00 CNY"),
        (4, "BAD-DATE", "sale_price", "25.00 EUR", "currency EUR differs from the price's USD"),
        (4, "BAD-DATE", "sale_price_effective_date", "next week",
         "must be start/end in ISO 8601 with a time zone, e.g. 2026-11-24T20:00+08:00/2026-11-25T00:00+08:00"),
        (5, "NO-TITLE", "title", None, "required field is missing"),
        (6, "CUP-500", "sku", "CUP-500", "duplicate id (first at 1)"),
    ]


def test_atom_and_tsv():
    atom = _catalog("gmc_atom.xml")
    lamp, serum = atom["LAMP-1"], atom["SERUM-1"]
    assert (lamp.url, lamp.description, lamp.availability, lamp.in_stock) == (
        "https://shop.example.com/lamp", "Dimmable desk lamp.", "preorder", True)
    assert (serum.kind, serum.category) == ("cosmetics", "Skin Care")
    tsv = _catalog("gmc.tsv", read_gmc_text)
    assert tsv.skus() == ["MUG-1", "MUG-3"]
    assert tsv["MUG-1"].specs == {"Capacity": "350ml", "Material": "Ceramic"} and tsv["MUG-1"].sale_price == Decimal("9.50")
    assert [(r.row, r.sku, r.field) for r in tsv.rejected] == [(3, "MUG-2", "price")]


@pytest.mark.parametrize("data, message", [
    (b"<rss><channel><item><g:id>1</g:id></item>", "malformed XML at line 1"),
    (b"<catalog><item/></catalog>", "neither an RSS"),
    (b"", "malformed XML|empty"),
])
def test_unreadable_feeds_raise(data, message):
    with pytest.raises(FeedError, match=message):
        list(read_gmc_xml(data))


def _feed(n):
    head = b'<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0"><channel>'
    item = ("<item><g:id>SKU-{i}</g:id><g:title>Item number {i} with a longer title</g:title>"
            "<g:description>Some description text for item {i}.</g:description>"
            "<g:price>{p}.00 USD</g:price><g:availability>in_stock</g:availability></item>")
    body = "".join(item.format(i=i, p=10 + i % 90) for i in range(n)).encode()
    return head + body + b"</channel></rss>"


def test_memory_stays_flat_in_feed_size():
    peaks = {}
    for n in (5_000, 20_000):
        data = _feed(n)
        tracemalloc.start()
        count = sum(1 for r in validate_items(read_gmc_xml(data), dedupe=False) if not isinstance(r, list))
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == n
    assert peaks[20_000] < 1.5 * peaks[5_000], peaks
