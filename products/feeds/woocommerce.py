"""WooCommerce catalogs through the REST API (``/wp-json/wc/v3``).

Mapping:

* ``sku`` is the product SKU, else its numeric id; a variation's id is its
  own SKU, else its numeric id (WooCommerce reports the parent's SKU for a
  variation without one, which would repeat).
* ``description`` is the short description, or the long one when the
  short one is empty (HTML stripped); ``category`` is the first category.
* ``regular_price`` is the price, ``sale_price`` the sale price; the sale
  window ``date_on_sale_from_gmt`` / ``date_on_sale_to_gmt`` (UTC) becomes
  ``sale_start`` / ``sale_end``.  Variants have no sale window in the
  catalog, so a variation's sale price counts only while WooCommerce says
  it is ``on_sale``.
* ``stock_quantity`` is the stock when WooCommerce manages it (negative
  backorder counts are 0); ``stock_status`` gives the availability, a
  variation's its own (and its sale window, its own).  A
  variable product managing stock for all its variations keeps its own
  count; otherwise its stock is the sum of the variations' counts.
* Attributes that are not used for variations (name -> options joined
  by ", ") are the specs; variation attributes are variant options.
* Product objects carry no currency: pass ``currency`` (default ``"CNY"``).
* Products not ``publish``-ed are rejected; disabled variations are left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from html import unescape
from typing import Any

import aiohttp
from yarl import URL

from products.feeds.base import FeedError, FeedItem
from products.feeds.netpolicy import PUBLIC_ONLY, NetPolicy
from products.feeds.remote import basic_auth_header, client_session, fetch, mask_secrets
from products.feeds.shopify import image_list, make_item, roll_up_variants, split_tags, stock_count
from products.text import html_to_text

#: How many products' variations are fetched at the same time.
VARIATION_CONCURRENCY = 4

_AVAILABILITY = {"instock": "in_stock", "outofstock": "out_of_stock", "onbackorder": "backorder"}


async def _pages(http: aiohttp.ClientSession, url: URL, per_page: int, max_pages: int, fetch_kwargs: dict) -> list[dict]:
    """All items of a paged WooCommerce list endpoint, stopping at ``X-WP-TotalPages``
    (or, without that header, at a short page)."""
    items: list[dict] = []
    for page in range(1, max_pages + 1):
        got = await fetch(str(url.update_query(per_page=per_page, page=page)), session=http, **fetch_kwargs)
        batch = got.json()
        if not isinstance(batch, list):
            raise FeedError(f"{mask_secrets(got.url)}: expected a JSON list of products, got {type(batch).__name__}")
        items.extend(batch)
        total = got.headers.get("X-WP-TotalPages", "").strip()
        last = page >= int(total) if total.isdigit() else len(batch) < per_page
        if last:
            return items
    raise FeedError(f"{mask_secrets(str(url))}: more than {max_pages} pages (max_pages); stopped")


async def fetch_woocommerce(
    site_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    session: aiohttp.ClientSession | None = None,
    per_page: int = 100,
    max_pages: int = 1000,
    policy: NetPolicy = PUBLIC_ONLY,
    **fetch_kwargs: Any,
) -> list[dict]:
    """Every published product of a WooCommerce site, variable products with their variations.

    Reads ``{site_url}/wp-json/wc/v3/products`` page by page (``X-WP-TotalPages``
    says how many).  The API key goes as HTTP Basic auth over https, and as
    the ``consumer_key`` / ``consumer_secret`` query parameters over plain
    http (as WooCommerce accepts there; error messages mask them).  Each
    product of type ``variable`` gets its ``/variations`` list, paged the
    same way, under a ``_variations`` key.  Every request obeys ``policy``
    (default: public addresses only).  ``fetch_kwargs`` go to
    :func:`~products.feeds.remote.fetch`.
    """
    api = URL(site_url.rstrip("/") + "/wp-json/wc/v3/products")
    credentials: dict[str, str] = {}
    if api.scheme == "https":
        fetch_kwargs["headers"] = {**(fetch_kwargs.get("headers") or {}),
                                   "Authorization": basic_auth_header(consumer_key, consumer_secret)}
    else:
        credentials = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}
    fetch_kwargs["policy"] = policy
    async with client_session(session, policy) as http:
        url = api.update_query({**credentials, "status": "publish"})
        products = await _pages(http, url, per_page, max_pages, fetch_kwargs)
        limit = asyncio.Semaphore(VARIATION_CONCURRENCY)

        async def attach(product: dict) -> None:
            async with limit:
                variations = api.joinpath(str(product["id"]), "variations").update_query(credentials)
                product["_variations"] = await _pages(http, variations, per_page, max_pages, fetch_kwargs)

        variable = [p for p in products if isinstance(p, dict) and p.get("type") == "variable" and p.get("id") is not None]
        tasks = [asyncio.ensure_future(attach(p)) for p in variable]
        try:
            await asyncio.gather(*tasks)
        finally:  # one failed: stop the others before the session closes
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return products


def _utc_iso(value: str) -> str | None:
    """A WooCommerce ``*_gmt`` date (UTC, usually without offset) as an aware ISO string."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _stock(obj: dict[str, Any]) -> Any:
    """A product's or variation's count: managed ``stock_quantity``, else 0 when out of stock, else None."""
    if obj.get("manage_stock"):
        return stock_count(obj.get("stock_quantity"))
    return 0 if obj.get("stock_status") == "outofstock" else None


def _variant(v: dict[str, Any], parent_sku: str) -> dict[str, Any]:
    options = {str(a.get("name")): str(a["option"]) for a in v.get("attributes") or [] if a.get("option")}
    sku = str(v.get("sku") or "").strip()
    fields = {
        "id": sku if sku and sku != parent_sku else (str(v["id"]) if v.get("id") is not None else None),
        "title": " / ".join(options.values()),
        "options": options,
        "price": v.get("regular_price") or v.get("price") or None,
        "sale_price": (v.get("sale_price") or None) if v.get("on_sale", True) else None,
        "stock": _stock(v),
        "availability": _AVAILABILITY.get(v.get("stock_status") or ""),
    }
    if fields["sale_price"]:
        for key, name in (("date_on_sale_from_gmt", "sale_start"), ("date_on_sale_to_gmt", "sale_end")):
            if v.get(key):
                fields[name] = _utc_iso(str(v[key]))  # an unreadable date leaves that end open
    return {k: val for k, val in fields.items() if val is not None}


def read_woocommerce(
    products: Iterable[dict], *, source_name: str = "", currency: str = "CNY"
) -> Iterator[FeedItem]:
    """Map WooCommerce product objects (with ``_variations`` as :func:`fetch_woocommerce`
    attaches them) to feed items; see the module docstring for the mapping.

    ``source_name`` is accepted for symmetry with the file readers; an entry
    that is not an object is rejected as a whole.
    """
    for index, p in enumerate(products):
        if not isinstance(p, dict):
            yield make_item({}, index, [("", p, "not a product object")])
            continue
        issues: list[tuple[str, Any, str]] = []
        sku = str(p.get("sku") or "").strip()
        attributes = [a for a in p.get("attributes") or [] if isinstance(a, dict)]
        data: dict[str, Any] = {
            "sku": sku or (str(p["id"]) if p.get("id") is not None else None),
            "title": unescape(str(p["name"])) if p.get("name") else None,
            "description": html_to_text(p.get("short_description")) or html_to_text(p.get("description")),
            "category": next((unescape(str(c["name"])) for c in p.get("categories") or [] if c.get("name")), ""),
            "tags": split_tags(unescape(str(t.get("name") or "")) for t in p.get("tags") or []),
            "specs": {
                unescape(str(a["name"])): ", ".join(str(o) for o in a.get("options") or [])
                for a in attributes
                if a.get("name") and not a.get("variation") and a.get("visible", True) and a.get("options")
            },
            "url": p.get("permalink") or None,
            "currency": currency,
            "stock": _stock(p),
        }
        image_list(data, (img.get("src") for img in p.get("images") or [] if isinstance(img, dict)))
        variations = [
            v for v in p.get("_variations") or [] if isinstance(v, dict) and v.get("status", "publish") == "publish"
        ]
        if p.get("type") == "variable" and variations:
            data["variants"] = [_variant(v, sku) for v in variations]
            own_count = data["stock"] if p.get("manage_stock") else None
            data.pop("stock")
            roll_up_variants(data, data["variants"])
            if own_count is not None:
                data["stock"] = own_count
        else:
            data["price"] = p.get("regular_price") or p.get("price") or None
            data["sale_price"] = p.get("sale_price") or None
            for key, name in (("date_on_sale_from_gmt", "sale_start"), ("date_on_sale_to_gmt", "sale_end")):
                if data["sale_price"] and p.get(key):
                    data[name] = _utc_iso(str(p[key]))
                    if data[name] is None:
                        issues.append((name, p[key], "not an ISO 8601 date"))
        status = p.get("stock_status")
        if status:
            data["availability"] = _AVAILABILITY.get(status)
            if data["availability"] is None:
                issues.append(("availability", status, f"unknown stock_status (expected {', '.join(_AVAILABILITY)})"))
        if p.get("status") not in (None, "publish"):
            issues.append(("status", p["status"], f"product is {p['status']} in WooCommerce, not for sale"))
        yield make_item(data, index, issues)
