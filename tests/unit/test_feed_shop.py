"""Shopify and WooCommerce sources: paged fetching from a local aiohttp server, mapping, rejections."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from products.feeds.base import FeedError, build_catalog
from products.feeds.netpolicy import NetPolicy
from products.feeds.shopify import fetch_shopify_json, read_shopify_csv, read_shopify_products
from products.feeds.woocommerce import fetch_woocommerce, read_woocommerce

LOOPBACK = NetPolicy.allowing("127.0.0.1")  # the test servers' address, refused by default

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "shopify_export.csv"
CDN = "https://cdn.shopify.com/s/files/1/0001/products/"


@pytest.fixture
async def serve():
    """``await serve(routes, ssl_context=None)`` starts an app on 127.0.0.1 and returns its base URL."""
    runners = []

    async def start(routes: list, ssl_context: ssl.SSLContext | None = None) -> str:
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        runners.append(runner)
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


# --------------------------------------------------------------------------- Shopify products.json


def _simple(n: int) -> dict:
    return {
        "id": n, "handle": f"item-{n}", "title": f"Item {n}", "options": [{"name": "Title"}],
        "variants": [{"id": 100 + n, "title": "Default Title", "option1": "Default Title", "price": "10.00", "available": True}],
    }


async def test_shopify_follows_link_headers(serve):
    pages = {None: ([1, 2], "p2"), "p2": ([3, 4], "p3"), "p3": ([5], None)}
    seen = []

    async def products(request):
        seen.append(dict(request.query))
        ids, following = pages[request.query.get("page_info")]
        links = []
        if "page_info" in request.query:
            links.append(f'<{request.url.with_query(limit=2, page_info="back")}>; rel="previous"')
        if following:
            links.append(f'<{request.url.with_query(limit=2, page_info=following)}>; rel="next"')
        headers = {"Link": ", ".join(links)} if links else {}
        return web.json_response({"products": [_simple(i) for i in ids]}, headers=headers)

    base = await serve([web.get("/products.json", products)])
    got = await fetch_shopify_json(base + "/", limit=2, backoff=0.01, policy=LOOPBACK)
    assert [p["id"] for p in got] == [1, 2, 3, 4, 5]
    assert seen == [{"limit": "2"}, {"limit": "2", "page_info": "p2"}, {"limit": "2", "page_info": "p3"}]


async def test_shopify_pages_by_number_until_empty(serve):
    pages = {"1": [1, 2], "2": [3]}
    seen = []

    async def products(request):
        seen.append(request.query.get("page"))
        return web.json_response({"products": [_simple(i) for i in pages.get(request.query.get("page", "1"), [])]})

    base = await serve([web.get("/products.json", products)])
    got = await fetch_shopify_json(base, limit=2, backoff=0.01, policy=LOOPBACK)
    assert [p["handle"] for p in got] == ["item-1", "item-2", "item-3"]
    assert seen == [None, "2", "3"]
    catalog = build_catalog(read_shopify_products(got), source="shopify")
    assert catalog.skus() == ["item-1", "item-2", "item-3"] and catalog.rejected == []


async def test_shopify_store_ignoring_page_and_max_pages(serve):
    async def same_page(request):
        return web.json_response({"products": [_simple(1)]})

    async def endless(request):
        n = int(request.query.get("page", "1"))
        return web.json_response({"products": [_simple(n)]})

    base = await serve([web.get("/a/products.json", same_page), web.get("/b/products.json", endless)])
    with pytest.raises(FeedError, match="page 2 repeats products"):
        await fetch_shopify_json(base + "/a", backoff=0.01, policy=LOOPBACK)
    with pytest.raises(FeedError, match="more than 3 pages"):
        await fetch_shopify_json(base + "/b", max_pages=3, backoff=0.01, policy=LOOPBACK)


TEE = {
    "id": 7001, "handle": "classic-tee", "title": "Classic Tee", "vendor": "Fieldwear", "product_type": "Shirts",
    "body_html": "<p>Soft <strong>cotton</strong> &amp; easy care.</p><script>track()</script><ul><li>Regular fit</li></ul>",
    "tags": "cotton, basics,", "status": "active",
    "options": [{"name": "Size", "position": 1}, {"name": "Color", "position": 2}],
    "images": [{"src": "https://cdn.example/tee-back.jpg", "position": 2}, {"src": "https://cdn.example/tee.jpg", "position": 1}],
    "variants": [
        {"id": 1, "sku": "TEE-S-BLK", "title": "S / Black", "option1": "S", "option2": "Black", "option3": None,
         "price": "99.00", "compare_at_price": "129.00", "inventory_quantity": 5, "available": True},
        {"id": 1002, "sku": "", "title": "M / Black", "option1": "M", "option2": "Black", "option3": None,
         "price": "109.00", "compare_at_price": None, "inventory_quantity": -2, "available": True},
        {"id": 3, "sku": "TEE-L-BLK", "title": "L / Black", "option1": "L", "option2": "Black", "option3": None,
         "price": "109.00", "compare_at_price": "109.00", "inventory_quantity": 3, "available": True},
    ],
}


def test_shopify_product_mapping():
    mug = {"id": 8, "handle": "mug", "title": "Mug", "options": [{"name": "Title"}],
           "variants": [{"id": 9, "title": "Default Title", "option1": "Default Title", "price": "59.00",
                         "compare_at_price": "69.00", "available": False}]}
    draft = dict(_simple(3), status="draft")
    catalog = build_catalog(read_shopify_products([TEE, mug, draft], currency="usd"))
    tee = catalog["classic-tee"]
    assert tee.description == "Soft cotton & easy care.\nRegular fit"
    assert (tee.brand, tee.category, tee.tags, tee.currency, tee.lang) == ("Fieldwear", "Shirts", ["cotton", "basics"], "USD", "en")
    assert (tee.image, tee.images) == ("https://cdn.example/tee.jpg", ["https://cdn.example/tee-back.jpg"])
    first, second, third = tee.variants
    assert (first.id, first.options, first.price, first.sale_price, first.stock) == (
        "TEE-S-BLK", {"Size": "S", "Color": "Black"}, Decimal("129.00"), Decimal("99.00"), 5)
    assert (second.id, second.price, second.sale_price, second.stock) == ("1002", Decimal("109.00"), None, 0)
    assert (third.price, third.sale_price) == (Decimal("109.00"), None)  # compare-at == price: no sale
    assert (tee.price, tee.sale_price, tee.stock, tee.availability) == (Decimal("129.00"), Decimal("99.00"), 8, "in_stock")
    plain = catalog["mug"]
    assert plain.variants == [] and (plain.price, plain.sale_price, plain.stock) == (Decimal("69.00"), Decimal("59.00"), 0)
    assert plain.availability == "out_of_stock" and not plain.in_stock
    assert [(r.sku, r.field, r.value, r.reason) for r in catalog.rejected] == [
        ("item-3", "status", "draft", "product is draft in Shopify, not for sale")]


def test_shopify_public_json_without_counts():
    public = {**TEE, "variants": [{k: v for k, v in var.items() if k != "inventory_quantity"} for var in TEE["variants"]]}
    public["variants"][2]["available"] = False
    item = next(read_shopify_products([public]))
    counts = [v.get("stock") for v in item.data["variants"]]
    assert counts == [None, None, 0]  # no count invented for an available variant; an unavailable one has none left
    assert "stock" not in item.data and item.data["availability"] == "in_stock"


# --------------------------------------------------------------------------- Shopify CSV export


def test_shopify_csv_export():
    data = FIXTURE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    items = list(read_shopify_csv(data, source_name="shopify_export.csv"))
    assert [(i.sku, i.row) for i in items] == [
        ("thermos-cup", 2), ("linen-shirt", 6), ("electric-kettle", 8), ("winter-scarf", 9)]
    catalog = build_catalog(items, source="shopify_export.csv")
    assert catalog.skus() == ["thermos-cup", "linen-shirt"]

    cup = catalog["thermos-cup"]
    assert (cup.title, cup.lang, cup.brand, cup.category, cup.tags) == ("真空保温杯", "zh", "暖居", "杯具", ["保温", "办公"])
    assert cup.description == "316不锈钢内胆\n保温 12小时"
    assert [(v.id, v.options, v.price, v.sale_price, v.stock) for v in cup.variants] == [
        ("CUP-BLK-500", {"颜色": "黑色", "容量": "500ml"}, Decimal("79.00"), Decimal("59.00"), 12),
        ("CUP-WHT-500", {"颜色": "白色", "容量": "500ml"}, Decimal("79.00"), Decimal("59.00"), 0),
        ("CUP-BLK-750", {"颜色": "黑色", "容量": "750ml"}, Decimal("69.00"), None, 4),
    ]
    assert (cup.price, cup.sale_price, cup.stock, cup.currency) == (Decimal("79.00"), Decimal("59.00"), 16, "CNY")
    assert (cup.image, cup.images) == (CDN + "cup-1.jpg", [CDN + "cup-2.jpg", CDN + "cup-3.jpg"])

    shirt = catalog["linen-shirt"]
    assert shirt.variants == [] and (shirt.price, shirt.sale_price, shirt.stock) == (Decimal("199.00"), None, 7)
    assert shirt.category == "Shirts & Tops" and shirt.description == "Breathable linen.\nRelaxed fit\nMachine wash"
    assert (shirt.image, shirt.images) == (CDN + "shirt.jpg", [CDN + "shirt-back.jpg"])

    assert [(r.row, r.sku, r.field, r.value, r.reason) for r in catalog.rejected] == [
        (8, "electric-kettle", "price", "89,90", "must be a plain number like 59 or 59.90"),
        (9, "winter-scarf", "status", "draft", "product is draft in Shopify, not for sale"),
    ]
    # the same export without its byte-order mark reads the same
    again = build_catalog(read_shopify_csv(data[3:]), source="shopify_export.csv")
    assert again.version == catalog.version and again.rejected == catalog.rejected


def test_shopify_csv_not_an_export():
    with pytest.raises(FeedError, match="no Handle column"):
        list(read_shopify_csv(b"sku,title,price\nA,B,1\n", source_name="other.csv"))
    with pytest.raises(FeedError, match="bad.csv: not UTF-8"):
        list(read_shopify_csv(b"Handle,Title\nx,\xff\xfe\n", source_name="bad.csv"))


# --------------------------------------------------------------------------- WooCommerce


KEY, SECRET = "ck_test_1234", "cs_test_5678"

WOO_PAGES = [
    [
        {"id": 11, "sku": "MUG-1", "name": "Stoneware Mug &#8211; Blue", "type": "simple", "status": "publish",
         "permalink": "https://shop.example/product/mug/",
         "short_description": "<p>Holds <b>350&nbsp;ml</b>.</p>", "description": "<p>A long story about mugs.</p>",
         "price": "39.00", "regular_price": "49.00", "sale_price": "39.00",
         "date_on_sale_from_gmt": "2026-11-20T00:00:00", "date_on_sale_to_gmt": "2026-11-30T23:59:59",
         "manage_stock": True, "stock_quantity": 20, "stock_status": "instock",
         "images": [{"src": "https://shop.example/mug.jpg"}, {"src": "https://shop.example/mug-2.jpg"}],
         "categories": [{"name": "Kitchen &amp; Dining"}, {"name": "Gifts"}], "tags": [{"name": "gift"}, {"name": "ceramic"}],
         "attributes": [{"name": "Material", "options": ["Stoneware"], "visible": True, "variation": False},
                        {"name": "Colour", "options": ["Blue", "Sand"], "visible": True, "variation": False}]},
        {"id": 20, "sku": "TEE", "name": "Organic Tee", "type": "variable", "status": "publish",
         "short_description": "", "description": "<p>Organic cotton.</p>", "price": "79.00", "regular_price": "", "sale_price": "",
         "manage_stock": False, "stock_quantity": None, "stock_status": "instock", "images": [], "categories": [], "tags": [],
         "attributes": [{"name": "Size", "options": ["S", "M"], "visible": True, "variation": True}]},
    ],
    [
        {"id": 30, "sku": "BAD-1", "name": "Broken Lamp", "type": "simple", "status": "publish", "regular_price": "12,50",
         "sale_price": "", "manage_stock": True, "stock_quantity": 2, "stock_status": "instock"},
        {"id": 31, "sku": "", "name": "Tea Towel", "type": "simple", "status": "publish", "regular_price": "15.00",
         "sale_price": "", "manage_stock": True, "stock_quantity": -1, "stock_status": "onbackorder"},
    ],
]
TEE_VARIATIONS = [
    {"id": 21, "sku": "TEE-S", "status": "publish", "regular_price": "99.00", "sale_price": "79.00", "on_sale": True,
     "manage_stock": True, "stock_quantity": 3, "stock_status": "instock", "attributes": [{"name": "Size", "option": "S"}]},
    {"id": 22, "sku": "TEE", "status": "publish", "regular_price": "99.00", "sale_price": "", "on_sale": False,
     "manage_stock": True, "stock_quantity": 0, "stock_status": "outofstock", "attributes": [{"name": "Size", "option": "M"}]},
    {"id": 23, "sku": "TEE-XL", "status": "private", "regular_price": "99.00", "manage_stock": True, "stock_quantity": 1,
     "attributes": [{"name": "Size", "option": "XL"}]},
]


def _woo_app(seen: list, check_auth) -> list:
    def paged(items: list[list], request):
        seen.append((request.path, dict(request.query)))
        if not check_auth(request):
            return web.json_response({"code": "woocommerce_rest_cannot_view"}, status=401)
        page = int(request.query["page"])
        return web.json_response(items[page - 1] if page <= len(items) else [], headers={"X-WP-TotalPages": str(len(items))})

    async def products(request):
        return paged(WOO_PAGES, request)

    async def variations(request):
        assert request.match_info["id"] == "20"
        return paged([TEE_VARIATIONS], request)

    return [web.get("/wp-json/wc/v3/products", products), web.get("/wp-json/wc/v3/products/{id}/variations", variations)]


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (server context, client context)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


async def test_woocommerce_https_basic_auth_pages_and_variations(serve, tls):
    seen = []
    expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    base = await serve(_woo_app(seen, lambda r: r.headers.get("Authorization") == expected), ssl_context=tls[0])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls[1])) as session:
        products = await fetch_woocommerce(base, KEY, SECRET, session=session, per_page=2, backoff=0.01, policy=LOOPBACK)
        with pytest.raises(FeedError, match="HTTP 401") as err:
            await fetch_woocommerce(base, KEY, "cs_wrong", session=session, backoff=0.01, policy=LOOPBACK)
    assert err.value.attempts == 1
    assert [p["id"] for p in products] == [11, 20, 30, 31]
    assert [v["id"] for v in products[1]["_variations"]] == [21, 22, 23] and "_variations" not in products[0]
    assert seen[:4] == [
        ("/wp-json/wc/v3/products", {"status": "publish", "per_page": "2", "page": "1"}),
        ("/wp-json/wc/v3/products", {"status": "publish", "per_page": "2", "page": "2"}),
        ("/wp-json/wc/v3/products/20/variations", {"per_page": "2", "page": "1"}),
        ("/wp-json/wc/v3/products", {"status": "publish", "per_page": "100", "page": "1"}),
    ]

    catalog = build_catalog(read_woocommerce(products), source="woo")
    assert catalog.skus() == ["MUG-1", "TEE", "31"]
    mug = catalog["MUG-1"]
    assert (mug.title, mug.description, mug.category, mug.tags) == (
        "Stoneware Mug – Blue", "Holds 350 ml.", "Kitchen & Dining", ["gift", "ceramic"])
    assert (mug.price, mug.sale_price, mug.stock, mug.availability) == (Decimal("49.00"), Decimal("39.00"), 20, "in_stock")
    assert (mug.sale_start.isoformat(), mug.sale_end.isoformat()) == ("2026-11-20T00:00:00+00:00", "2026-11-30T23:59:59+00:00")
    assert mug.specs == {"Material": "Stoneware", "Colour": "Blue, Sand"} and mug.currency == "CNY"
    assert (mug.image, mug.images) == ("https://shop.example/mug.jpg", ["https://shop.example/mug-2.jpg"])
    assert mug.url == "https://shop.example/product/mug/"
    tee = catalog["TEE"]
    assert tee.description == "Organic cotton." and tee.specs == {}
    assert [(v.id, v.options, v.price, v.sale_price, v.stock) for v in tee.variants] == [
        ("TEE-S", {"Size": "S"}, Decimal("99.00"), Decimal("79.00"), 3),
        ("22", {"Size": "M"}, Decimal("99.00"), None, 0),
    ]
    assert (tee.price, tee.sale_price, tee.stock) == (Decimal("99.00"), Decimal("79.00"), 3)
    towel = catalog["31"]
    assert (towel.stock, towel.availability, towel.in_stock) == (0, "backorder", True)
    assert [(r.sku, r.field, r.value, r.reason) for r in catalog.rejected] == [
        ("BAD-1", "price", "12,50", "must be a plain number like 59 or 59.90")]


async def test_woocommerce_http_uses_query_keys_and_masks_them(serve):
    seen = []
    keys_in_query = lambda r: (r.query.get("consumer_key"), r.query.get("consumer_secret")) == (KEY, SECRET)  # noqa: E731
    base = await serve(_woo_app(seen, keys_in_query))
    products = await fetch_woocommerce(base + "/", KEY, SECRET, per_page=2, backoff=0.01, policy=LOOPBACK)
    assert len(products) == 4 and len(products[1]["_variations"]) == 3
    assert all(q["consumer_key"] == KEY for _, q in seen)
    with pytest.raises(FeedError) as err:
        await fetch_woocommerce(base, KEY, "cs_wrong_secret", backoff=0.01, policy=LOOPBACK)
    assert "consumer_secret=***" in str(err.value) and "cs_wrong_secret" not in str(err.value)
    assert KEY not in str(err.value)


def test_woocommerce_reader_rejections():
    products = [
        {"id": 1, "sku": "A", "name": "Lamp", "regular_price": "30.00", "sale_price": "20.00",
         "date_on_sale_from_gmt": "next week", "stock_status": "discontinued"},
        {"id": 2, "sku": "B", "name": "Vase", "regular_price": "30.00", "status": "draft"},
        {"id": 3, "sku": "C", "name": "Bowl", "regular_price": "30.00", "sale_price": "35.00"},
        {"id": 4, "sku": "D", "name": "Cup", "regular_price": "10.00", "manage_stock": False, "stock_quantity": 5,
         "stock_status": "instock"},
    ]
    catalog = build_catalog(read_woocommerce(products, currency="eur"))
    cup = catalog["D"]
    assert (cup.stock, cup.availability, cup.currency) == (None, "in_stock", "EUR")  # unmanaged: the count means nothing
    assert [(r.sku, r.field, r.value, r.reason) for r in catalog.rejected] == [
        ("A", "sale_start", "next week", "not an ISO 8601 date"),
        ("A", "availability", "discontinued", "unknown stock_status (expected instock, outofstock, onbackorder)"),
        ("B", "status", "draft", "product is draft in WooCommerce, not for sale"),
        ("C", "sale_price", "35.00", "must be below the price 30.00"),
    ]
