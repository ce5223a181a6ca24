"""Variant truth: every reader keeps each variant's own price, sale and window, availability and stock; the
product's summary price is one some variant has; a variant id resolves to its product."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from products.catalog import catalog_from_data
from products.feeds.base import build_catalog
from products.feeds.gmc import read_gmc_xml
from products.feeds.shopify import read_shopify_products
from products.feeds.spreadsheet import read_csv
from products.feeds.woocommerce import read_woocommerce

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=CN)
SALE = "2026-11-27T00:00+08:00/2026-11-30T00:00+08:00"


def _gmc_item(extra: str) -> str:
    return f"<item>{extra}<g:brand>LK</g:brand><g:description>316不锈钢内胆，保温12小时</g:description></item>"


THERMOS = (
    '<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>'
    + _gmc_item("<g:id>LK-TH-500</g:id><g:item_group_id>LK-TH</g:item_group_id><g:title>保温杯 500ml</g:title>"
                f"<g:size>500ml</g:size><g:price>89.00 CNY</g:price><g:sale_price>59.00 CNY</g:sale_price>"
                f"<g:sale_price_effective_date>{SALE}</g:sale_price_effective_date>"
                "<g:availability>in_stock</g:availability><g:quantity>40</g:quantity>")
    + _gmc_item("<g:id>LK-TH-750</g:id><g:item_group_id>LK-TH</g:item_group_id><g:title>保温杯 750ml</g:title>"
                "<g:size>750ml</g:size><g:price>99.00 CNY</g:price><g:availability>out_of_stock</g:availability>")
    + _gmc_item("<g:id>LK-MASK</g:id><g:title>面膜 10片</g:title><g:price>129.00 CNY</g:price>"
                "<g:availability>preorder</g:availability>"
                "<g:availability_date>2026-12-05T00:00+08:00</g:availability_date>")
    + "</channel></rss>"
).encode()


def test_gmc_item_group_keeps_each_variants_truth():
    catalog = build_catalog(read_gmc_xml(THERMOS))
    assert catalog.rejected == []
    thermos = catalog["LK-TH"]
    small, large = thermos.variants
    assert (small.id, small.options, small.price, small.sale_price, small.stock, small.availability) == (
        "LK-TH-500", {"size": "500ml"}, Decimal("89.00"), Decimal("59.00"), 40, "in_stock")
    assert small.sale_start == datetime(2026, 11, 27, tzinfo=CN) and small.sale_end == datetime(2026, 11, 30, tzinfo=CN)
    assert (large.id, large.availability, large.price, large.sale_price) == ("LK-TH-750", "out_of_stock", Decimal("99.00"), None)
    # what each costs and whether it can be had, now
    assert thermos.variant_price_at(small, NOW) == Decimal("59.00")
    assert thermos.variant_price_at(small, datetime(2026, 12, 1, tzinfo=CN)) == Decimal("89.00")  # the sale ended
    assert thermos.variant_in_stock(small) and not thermos.variant_in_stock(large)
    assert thermos.in_stock and thermos.on_sale_at(NOW)
    # the summary is the lowest price of a variant one can order: 59 now (the 750 cannot be had)
    assert thermos.price_at(NOW) == Decimal("59.00") and not thermos.prices_differ(NOW)
    mask = catalog["LK-MASK"]
    assert mask.availability == "preorder" and mask.available_from == datetime(2026, 12, 5, tzinfo=CN)
    assert mask.in_stock  # a preorder can be ordered


def test_a_variant_id_resolves_to_its_product():
    catalog = build_catalog(read_gmc_xml(THERMOS))
    product, variant = catalog.resolve("LK-TH-750")
    assert product.sku == "LK-TH" and variant is not None and variant.label == "750ml"
    assert catalog.resolve("LK-TH") == (catalog["LK-TH"], None)
    assert catalog.sku_of("LK-TH-500") == "LK-TH" and catalog.sku_of("NOPE") is None


def test_summary_price_says_from_when_the_variants_differ():
    catalog = catalog_from_data({"products": [{
        "sku": "TEE", "title": "Cotton tee", "lang": "en", "price": "19.90", "currency": "USD",
        "variants": [
            {"id": "TEE-S", "options": {"size": "S"}, "price": "19.90", "stock": 3},
            {"id": "TEE-XL", "options": {"size": "XL"}, "price": "24.90", "stock": 2},
            {"id": "TEE-XXL", "options": {"size": "XXL"}, "price": "14.90", "availability": "out_of_stock"},
        ]}]})
    tee = catalog["TEE"]
    assert tee.price_at(NOW) == Decimal("19.90") and tee.prices_differ(NOW)  # the XXL is not for sale: not "from 14.90"
    assert {tee.variant_price_at(v, NOW) for v in tee.variants} == {Decimal("19.90"), Decimal("24.90"), Decimal("14.90")}


def test_shopify_variant_availability():
    product = {"handle": "tee", "title": "Tee", "options": [{"name": "Size"}], "variants": [
        {"sku": "TEE-S", "option1": "S", "price": "10.00", "available": True},
        {"sku": "TEE-M", "option1": "M", "price": "12.00", "compare_at_price": "15.00", "available": False},
    ]}
    (tee,) = build_catalog(read_shopify_products([product], currency="USD")).products
    small, medium = tee.variants
    assert (small.availability, medium.availability) == ("in_stock", "out_of_stock")
    assert (medium.price, medium.sale_price) == (Decimal("15.00"), Decimal("12.00"))
    assert tee.in_stock and not tee.variant_in_stock(medium)


def test_woocommerce_variation_availability_and_sale_window():
    product = {"id": 7, "sku": "CAP", "name": "Cap", "type": "variable", "status": "publish", "stock_status": "instock",
               "_variations": [
                   {"id": 71, "sku": "CAP-RED", "regular_price": "20.00", "sale_price": "15.00", "on_sale": True,
                    "date_on_sale_from_gmt": "2026-11-27T00:00:00", "date_on_sale_to_gmt": "2026-11-30T00:00:00",
                    "stock_status": "instock", "attributes": [{"name": "Color", "option": "Red"}]},
                   {"id": 72, "sku": "CAP-BLUE", "regular_price": "20.00", "stock_status": "outofstock",
                    "attributes": [{"name": "Color", "option": "Blue"}]},
               ]}
    (cap,) = build_catalog(read_woocommerce([product], currency="USD")).products
    red, blue = cap.variants
    assert (red.availability, blue.availability) == ("in_stock", "out_of_stock")
    assert red.sale_end == datetime(2026, 11, 30, tzinfo=UTC)
    assert cap.variant_price_at(red, NOW) == Decimal("15.00")
    assert cap.variant_price_at(red, datetime(2026, 12, 2, tzinfo=UTC)) == Decimal("20.00")


def test_spreadsheet_variant_rows_keep_their_availability():
    sheet = ("商品编码,商品名称,价格,库存,库存状态,规格值,款号\n"
             "CUP-500,保温杯,89,10,有货,500ml,CUP\n"
             "CUP-750,保温杯,99,0,缺货,750ml,CUP\n").encode()
    catalog = build_catalog(read_csv(sheet))
    assert catalog.rejected == []
    (cup,) = catalog.products
    assert [(v.id, v.availability, v.stock) for v in cup.variants] == [("CUP-500", "in_stock", 10), ("CUP-750", "out_of_stock", 0)]
    assert cup.availability == "in_stock" and cup.in_stock
