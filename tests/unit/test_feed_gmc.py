"""Google Merchant Center feeds: RSS, Atom, TSV/CSV; broken items reported, item groups, flat memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from products.feeds.base import FeedError, build_catalog
from products.feeds.gmc import read_gmc_text, read_gmc_xml
from products.text import html_to_text, plain_text

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
CST = timezone(timedelta(hours=8))


def _catalog(name: str):
    data = (FEEDS / name).read_bytes()
    reader = read_gmc_text if name.endswith((".tsv", ".csv")) else read_gmc_xml
    return build_catalog(reader(data, source_name=name), source=name)


def _rss(*items: str) -> bytes:
    body = "".join(f"<item>{item}</item>" for item in items)
    return (f'<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>{body}</channel></rss>').encode()


def _rejected(catalog) -> list[tuple]:
    return [(r.index, r.row, r.sku, r.field, r.value, r.reason) for r in catalog.rejected]


# --------------------------------------------------------------------------- RSS, Atom, text


def test_rss_items_map_to_products():
    cat = _catalog("gmc_rss.xml")
    assert cat.rejected == []
    assert cat.skus() == ["CUP-500", "TEA-OOLONG", "BLOCKS-30", "TEE"]  # the item group comes when the feed ends

    cup = cat["CUP-500"]
    assert (cup.lang, cup.title, cup.brand, cup.category) == ("zh", "304不锈钢保温杯 500ml", "暖途", "保温杯")
    assert (cup.price, cup.sale_price, cup.currency, cup.stock) == (Decimal("89.00"), Decimal("69.00"), "CNY", 120)
    assert (cup.sale_start, cup.sale_end) == (datetime(2026, 11, 24, 20, tzinfo=CST), datetime(2026, 11, 25, tzinfo=CST))
    assert cup.description == "真空双层，保温12小时\n送杯套 & 杯刷"
    assert cup.image == "https://cdn.example.cn/cup-500.jpg"
    assert cup.images == ["https://cdn.example.cn/cup-500-2.jpg", "https://cdn.example.cn/cup-500-3.jpg"]
    assert cup.selling_points == ["304不锈钢内胆，耐用不易生锈", "一键弹盖，单手就能打开"]
    assert cup.specs == {"color": "雾霾蓝", "容量": "500ml", "材质": "304不锈钢"}
    assert (cup.tags, cup.url, cup.kind) == (["双11", "爆款"], "https://shop.example.cn/p/cup-500", "general")

    tea = cat["TEA-OOLONG"]  # lower-case currency, Z and -0800 offsets, "out of stock", food category
    assert (tea.lang, tea.currency, tea.sale_price, tea.stock) == ("en", "USD", Decimal("19.99"), 0)
    assert tea.sale_start == datetime(2026, 11, 27, tzinfo=UTC)
    assert tea.sale_end == datetime(2026, 11, 30, 23, 59, tzinfo=timezone(timedelta(hours=-8)))
    assert (tea.availability, tea.in_stock, tea.kind, tea.category) == ("out_of_stock", False, "food", "Tea & Infusions")
    assert tea.description == "Lightly roasted\noolong from Anxi."

    blocks = cat["BLOCKS-30"]  # plain, un-namespaced attributes
    assert (blocks.title, blocks.url, blocks.price, blocks.availability, blocks.kind) == (
        "Wooden stacking blocks", "https://shop.example.com/blocks", Decimal("12.50"), "preorder", "children")


def test_item_group_becomes_one_product_with_variants():
    tee = _catalog("gmc_rss.xml")["TEE"]
    assert (tee.title, tee.brand, tee.currency) == ("Cotton tee", "Basics Co", "USD")
    assert (tee.price, tee.sale_price, tee.stock, tee.availability) == (Decimal("17.90"), None, 12, "in_stock")
    assert [(v.id, v.options, v.price, v.sale_price, v.stock) for v in tee.variants] == [
        ("TEE-RED-M", {"color": "Red", "size": "M"}, Decimal("19.90"), None, 5),
        ("TEE-BLUE-L", {"color": "Blue", "size": "L"}, Decimal("17.90"), Decimal("15.90"), 7),
    ]
    assert tee.specs == {}  # options belong to the variants


def test_atom_entries():
    cat = _catalog("gmc_atom.xml")
    assert cat.skus() == ["LAMP-1", "SERUM-1"] and cat.rejected == []
    lamp, serum = cat["LAMP-1"], cat["SERUM-1"]
    assert (lamp.title, lamp.url, lamp.description) == (
        "LED desk lamp", "https://shop.example.com/lamp", "Dimmable, three colour temperatures.")
    assert (lamp.availability, lamp.brand, lamp.specs) == ("backorder", "Lumo", {"material": "Aluminium"})
    assert (serum.lang, serum.description) == ("zh", "提亮肤色，质地清爽。")
    assert (serum.price, serum.currency) == (Decimal("129.00"), "CNY")
    assert (serum.kind, serum.category, serum.stock) == ("cosmetics", "Skin Care", 48)


def test_tab_separated_feed():
    cat = _catalog("gmc.tsv")
    assert cat.skus() == ["MUG-1", "VIT-C", "SOCK"]
    mug = cat["MUG-1"]
    assert mug.images == ["https://cdn.example.com/mug-2.jpg", "https://cdn.example.com/mug-3.jpg"]
    assert (mug.specs, mug.selling_points) == ({"Capacity": "350ml", "Aspect": "16:9"}, ["Dishwasher safe"])
    assert (mug.price, mug.sale_price, mug.stock, mug.category) == (Decimal("12.00"), Decimal("9.50"), 40, "Mugs")
    assert cat["VIT-C"].kind == "supplement"
    sock = cat["SOCK"]
    assert (sock.title, sock.price, sock.stock, sock.availability) == ("羊毛袜", Decimal("39.00"), 10, "in_stock")
    assert [(v.id, v.options, v.stock) for v in sock.variants] == [("SOCK-S", {"size": "S"}, 10), ("SOCK-L", {"size": "L"}, 0)]
    assert _rejected(cat) == [(1, 3, "MUG-2", "price", "12 dollars", "must be an amount and a currency code, like 59.00 CNY")]
    assert [item.row for item in read_gmc_text((FEEDS / "gmc.tsv").read_bytes())] == [2, 3, 7, 5]  # blank row 4 skipped


def test_g_attributes_win_over_plain_ones():
    data = _rss("<title>Plain title</title><g:id>A-1</g:id><g:title>Google title</g:title><price>1.00 USD</price>"
                "<g:price>2.00 USD</g:price><link>https://shop.example.com/a</link>")
    (product,) = build_catalog(read_gmc_xml(data)).products
    assert (product.title, product.price, product.url) == ("Google title", Decimal("2.00"), "https://shop.example.com/a")


@pytest.mark.parametrize("html", [
    "<p>真空双层，<b>保温12小时</b></p><p>送杯套 &amp; 杯刷</p>",
    '<ul><li>one</li><li title="a>b">two &lt;3</li></ul>',
    "<br/>x<BR>y<br />z\n\n  spaced   out ",
    "a < b and c > d",
    "<script>alert(1)</script>shown<!-- hidden -->",
    "<p>unclosed <b",
])
def test_description_html_becomes_the_same_text_as_elsewhere(html):
    assert plain_text(html) == html_to_text(html)


def test_comma_separated_feed_with_quoted_cells():
    data = ('\ufeffid,title,price,product_highlight,product_highlight,custom_label_0,custom_label_3\n'
            'A-1,"Scarf, wool",25.00 EUR,Warm,"Soft, not itchy",winter,gift\n').encode()
    (scarf,) = build_catalog(read_gmc_text(data)).products
    assert (scarf.title, scarf.price, scarf.currency) == ("Scarf, wool", Decimal("25.00"), "EUR")
    assert (scarf.selling_points, scarf.tags) == (["Warm", "Soft, not itchy"], ["winter", "gift"])


@pytest.mark.parametrize(("category", "kind"), [
    ("Food, Beverages & Tobacco > Beverages > Alcoholic Beverages > Wine", "alcohol"),
    ("Food, Beverages & Tobacco > Food Items > Snack Foods", "food"),
    ("Health & Beauty > Personal Care > Cosmetics > Makeup", "cosmetics"),
    ("Health & Beauty > Health Care > Medical Tests", "medical_device"),
    ("Health & Beauty > Health Care > Fitness & Nutrition > Vitamins & Supplements", "supplement"),
    ("Baby & Toddler > Nursing & Feeding", "children"),
    ("食品 > 零食", "food"),
    ("Home & Garden > Kitchen & Dining", "general"),
    ("2271", "general"),
])
def test_compliance_kind_from_category(category, kind):
    data = f"id\ttitle\tprice\tgoogle_product_category\nX-1\tThing\t5.00 USD\t{category}\n".encode()
    (product,) = build_catalog(read_gmc_text(data)).products
    assert product.kind == kind


# --------------------------------------------------------------------------- problems


def test_broken_items_are_reported_and_good_items_import():
    cat = _catalog("gmc_broken.xml")
    assert cat.skus() == ["GOOD-1", "GOOD-2"]
    assert cat["GOOD-1"].title == "充电宝 10000mAh"
    assert _rejected(cat) == [
        (1, None, "NO-CURRENCY", "price", "59.00", "needs a currency code after the amount, like 59.00 CNY"),
        (2, None, "OTHER-CURRENCY", "sale_price", "25.00 EUR", "currency EUR differs from the price's USD"),
        (3, None, "BAD-DATE", "sale_price_effective_date", "next week",
         "must be start/end in ISO 8601, like 2026-11-24T20:00+08:00/2026-11-25T00:00+08:00"),
        (4, None, "NO-ZONE", "sale_price_effective_date", "2026-11-24T20:00/2026-11-25T00:00",
         "needs a time zone on both times, like 2026-11-24T20:00+08:00/2026-11-25T00:00+08:00"),
        (5, None, "NO-TITLE", "title", None, "required field is missing"),
        (6, None, "NOT-A-NUMBER", "price", "free CNY", "must be an amount and a currency code, like 59.00 CNY"),
        (7, None, "GOOD-1", "sku", "GOOD-1", "duplicate id (first at 1)"),
        (8, None, "ODD-WORD", "availability", "sold out", "must be in_stock, out_of_stock, preorder or backorder"),
    ]


def test_a_bad_variant_rejects_its_group():
    data = _rss(
        "<g:id>S-1</g:id><g:title>Shoe 38</g:title><g:price>99.00 CNY</g:price><g:item_group_id>S</g:item_group_id>"
        "<g:size>38</g:size>",
        "<g:id>OK</g:id><g:title>Other</g:title><g:price>5.00 CNY</g:price>",
        "<g:id>S-2</g:id><g:title>Shoe 39</g:title><g:price>99.00 CNY</g:price><g:sale_price>89.00 USD</g:sale_price>"
        "<g:item_group_id>S</g:item_group_id><g:size>39</g:size>",
    )
    cat = build_catalog(read_gmc_xml(data))
    assert cat.skus() == ["OK"]
    assert _rejected(cat) == [
        (0, None, "S", "variants.1.sale_price", "89.00 USD", "currency USD differs from the price's CNY (item 3)"),
    ]


def test_price_missing_is_reported_once():
    cat = build_catalog(read_gmc_xml(_rss("<g:id>P</g:id><g:title>No price</g:title>")))
    assert _rejected(cat) == [(0, None, "P", "price", None, "required field is missing")]


def test_malformed_xml_is_a_feed_error_with_its_position():
    with pytest.raises(FeedError, match=r"shop\.xml: malformed XML at line 3, column \d+: mismatched tag"):
        list(read_gmc_xml(b'<rss xmlns:g="http://base.google.com/ns/1.0"><channel>\n<item><g:id>A</g:id>\n</channel></rss>',
                          source_name="shop.xml"))


def test_other_documents_are_feed_errors():
    with pytest.raises(FeedError, match=r"root element is <html>"):
        list(read_gmc_xml(b"<html><body>Sign in</body></html>"))
    with pytest.raises(FeedError, match=r"malformed XML at line 1"):
        list(read_gmc_xml(b""))
    with pytest.raises(FeedError, match=r"no id or title column .*columns found: sku, name, price"):
        list(read_gmc_text(b"sku\tname\tprice\nA\tB\t1.00 USD\n"))
    with pytest.raises(FeedError, match=r"no title column"):
        list(read_gmc_text(b"g:id,price\nA,1.00 USD\n"))


# --------------------------------------------------------------------------- memory


class _GeneratedFeed:
    """A file-like RSS feed of ``n`` items made while it is read: the document is never whole in memory.

    The first 30 items form 10 item groups (held until the end by design); the rest are ungrouped.
    """

    def __init__(self, n: int) -> None:
        self._parts = self._generate(n)
        self._pending = b""

    @staticmethod
    def _generate(n: int) -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>'
        for i in range(n):
            group = f"<g:item_group_id>G{i // 3}</g:item_group_id><g:size>{i % 3}</g:size>" if i < 30 else ""
            yield (f"<item><g:id>SKU-{i}</g:id><g:title>{'保温杯' if i % 2 else 'Travel mug'} {i}</g:title>"
                   f"<g:description>&lt;p&gt;Item {i}, {'真空双层' * 4}&lt;/p&gt;</g:description>"
                   f"<g:price>{50 + i % 50}.90 CNY</g:price><g:sale_price>39.90 CNY</g:sale_price>"
                   "<g:sale_price_effective_date>2026-11-24T20:00+08:00/2026-11-25T00:00+08:00</g:sale_price_effective_date>"
                   f"<g:availability>in_stock</g:availability><g:quantity>{i % 100}</g:quantity>{group}</item>\n").encode()
        yield b"</channel></rss>\n"

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._pending) < size) and (part := next(self._parts, None)) is not None:
            self._pending += part
        out, self._pending = (self._pending, b"") if size < 0 else (self._pending[:size], self._pending[size:])
        return out


def _read_peak(n: int) -> int:
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_gmc_xml(_GeneratedFeed(n)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == n - 30 + 10
    return peak


def test_reading_memory_does_not_grow_with_the_feed():
    _read_peak(100)  # one-time allocations (caches, lazy imports) out of the way
    small, large = _read_peak(5_000), _read_peak(20_000)
    assert large < 1.5 * small, (small, large)
    assert large < 2_000_000, large
