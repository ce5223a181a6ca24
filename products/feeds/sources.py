"""From a SOURCE (a path or a URL) and a format to a stream of feed items.

Formats: ``csv`` and ``xlsx`` (merchant spreadsheets), ``json`` (livehost's
own schema), ``gmc`` (Google Merchant Center XML or tab/comma-separated),
``shopify`` (a store URL's public products.json, or a product CSV export
file), ``woocommerce`` (a site URL; key and secret from :class:`FeedAccess`
or the URL's user:password), and ``auto``, which looks at the name and the
first bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from livehost.core.settings import Settings
from products.feeds.base import FeedError, FeedItem

FORMATS = ("auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce")


@dataclass(frozen=True)
class FeedAccess:
    """How feeds are read in this process."""

    wc_key: str | None = None  # LIVEHOST_WC_KEY
    wc_secret: str | None = None  # LIVEHOST_WC_SECRET
    child: str = "auto"  # LIVEHOST_FEED_CHILD: parse large XML files in a child process

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedAccess:
        return cls(settings.wc_key, settings.wc_secret, settings.feed_child)


@dataclass
class Opened:
    format: str  # the format actually read
    items: Iterator[FeedItem]
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


# attribute names that only Google Merchant feeds use (a merchant sheet may well have id/title/price/availability)
_GMC_ONLY = {"link", "image_link", "additional_image_link", "item_group_id", "sale_price_effective_date",
             "google_product_category", "product_type", "condition", "gtin", "mpn", "identifier_exists"}


def sniff(name: str, head: bytes) -> str:
    """The format of a document from its name and first bytes."""
    lower = name.lower().split("?")[0]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK\x03\x04") or lower.endswith(".xlsx"):
        return "xlsx"
    if text.startswith(b"<"):
        return "gmc"
    if text.startswith((b"{", b"[")):
        return "json"  # refined by _json_kind once parsed
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    cols = {c.strip().strip('"').removeprefix("g:") for c in first.replace("\t", ",").split(",")}
    if {"handle", "variant price"} <= cols:
        return "shopify"
    if {"id", "title", "price"} <= cols and cols & _GMC_ONLY:
        return "gmc"
    return "csv"


def _json_kind(data) -> str:
    items = data.get("products") if isinstance(data, dict) else data
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    if "handle" in first or "body_html" in first:
        return "shopify"
    if "regular_price" in first or "stock_status" in first:
        return "woocommerce"
    return "json"


def _items_from_bytes(fmt: str, data: bytes, name: str, currency: str = "CNY") -> tuple[str, Iterator[FeedItem]]:
    if fmt == "auto":
        fmt = sniff(name, data[:4096])
    if fmt == "csv":
        from products.feeds.spreadsheet import read_csv

        return fmt, read_csv(data, source=name)
    if fmt == "xlsx":
        from products.feeds.spreadsheet import read_xlsx

        return fmt, read_xlsx(data, source=name)
    if fmt == "gmc":
        from products.feeds.gmc import read_gmc_text, read_gmc_xml

        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return fmt, read_gmc_xml(io.BytesIO(data), source_name=name)
        return fmt, read_gmc_text(data, source_name=name)
    if fmt in ("json", "shopify", "woocommerce"):
        stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
        if fmt == "shopify" and not stripped.startswith((b"{", b"[")):
            from products.feeds.shopify import read_shopify_csv

            return fmt, read_shopify_csv(data, source_name=name, currency=currency)
        try:
            doc = json.loads(data.decode("utf-8-sig"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FeedError(f"{name}: not valid JSON: {e}") from None
        kind = _json_kind(doc) if fmt == "json" else fmt
        products = doc.get("products", []) if isinstance(doc, dict) else doc
        if kind == "shopify":
            from products.feeds.shopify import read_shopify_products

            return kind, read_shopify_products(products, source_name=name, currency=currency)
        if kind == "woocommerce":
            from products.feeds.woocommerce import read_woocommerce

            return kind, read_woocommerce(products, source_name=name, currency=currency)
        from products.feeds.native import json_items

        return "json", iter(list(json_items(doc, source=name)))
    raise FeedError(f"format = {fmt!r}: expected one of {', '.join(FORMATS)}")


def _split_credentials(url: str) -> tuple[str, str | None, str | None]:
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    if parts.hostname is None:  # https://KEY:SECRET@/feed: there is nothing to connect to
        raise FeedError("SOURCE: the URL has a user but no host after it (e.g. https://KEY:SECRET@site/)")
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=host)), parts.username, parts.password


async def open_source(source: str, fmt: str = "auto", *, etag: str | None = None,
                      last_modified: str | None = None, currency: str = "CNY",
                      access: FeedAccess = FeedAccess()) -> Opened:
    """Open a path or URL as a stream of feed items.  Raises :class:`FeedError`."""
    if fmt not in FORMATS:
        raise FeedError(f"format = {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not is_url(source):
        path = Path(source)
        if not path.is_file():
            raise FeedError(f"SOURCE = {source!r}: no such file")
        if fmt in ("auto", "gmc"):
            with path.open("rb") as f:
                head = f.read(4096)
            if (fmt == "gmc" or sniff(path.name, head) == "gmc") and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                from products.feeds.gmc import read_gmc_xml

                return Opened("gmc", _stream_file(path, lambda f, source_name: read_gmc_xml(
                    f, source_name=source_name, child=access.child)))  # large XML feeds stream from disk
        if fmt == "woocommerce":
            raise FeedError("--format woocommerce needs the site URL (https://shop.example/)")
        got, items = _items_from_bytes(fmt, path.read_bytes(), str(path), currency)
        return Opened(got, items)

    from products.feeds import remote

    url, user, password = _split_credentials(source)
    if fmt == "woocommerce":
        from products.feeds.woocommerce import fetch_woocommerce, read_woocommerce

        key = user or access.wc_key
        secret = password or access.wc_secret
        if not key or not secret:
            raise FeedError("woocommerce: set LIVEHOST_WC_KEY and LIVEHOST_WC_SECRET (or https://KEY:SECRET@site/)")
        products = await fetch_woocommerce(url, key, secret)
        return Opened(fmt, read_woocommerce(products, source_name=url, currency=currency))
    if fmt == "shopify" or (fmt == "auto" and urlsplit(url).path.endswith("/products.json")):
        from products.feeds.shopify import fetch_shopify_json, read_shopify_products

        store = url.removesuffix("/products.json")
        products = await fetch_shopify_json(store)
        return Opened("shopify", read_shopify_products(products, source_name=url, currency=currency))
    fetched = await remote.fetch(url, etag=etag, last_modified=last_modified)
    if fetched.not_modified:
        return Opened(fmt, iter(()), fetched.etag, fetched.last_modified, not_modified=True)
    got, items = _items_from_bytes(fmt, fetched.body or b"", url, currency)
    return Opened(got, items, fetched.etag, fetched.last_modified)


def _stream_file(path: Path, reader) -> Iterator[FeedItem]:
    with path.open("rb") as f:
        yield from reader(f, source_name=str(path))
