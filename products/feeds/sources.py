"""From a SOURCE (a path or a URL) and a format to a stream of feed items.

Formats: ``csv`` and ``xlsx`` (merchant spreadsheets), ``json`` (livehost's
own schema), ``gmc`` (Google Merchant Center XML or tab/comma-separated),
``shopify`` (a store URL's public products.json, or a product CSV export
file), ``woocommerce`` (a site URL; key and secret from :class:`FeedAccess`
or the URL's user:password), and ``auto``: what the name's suffix says,
unless the first bytes are plainly another kind of document (:func:`sniff`).

A local CSV, XLSX or GMC file is read as its items are consumed (the file
stays open until they run out); JSON and Shopify CSV files are read whole.
An empty file (or one of only white space) is refused as such.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from livehost.core import jsonio
from livehost.core.settings import Settings, SettingsError
from products.feeds.base import FeedError, FeedItem
from products.feeds.netpolicy import PUBLIC_ONLY, NetPolicy

if TYPE_CHECKING:
    from products.feeds.remote import Fetched

FORMATS = ("auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce")


@dataclass(frozen=True)
class FeedAccess:
    """How feeds are read in this process."""

    wc_key: str | None = None  # LIVEHOST_WC_KEY
    wc_secret: str | None = None  # LIVEHOST_WC_SECRET
    child: str = "auto"  # LIVEHOST_FEED_CHILD: parse large XML files in a child process
    net: NetPolicy = PUBLIC_ONLY  # LIVEHOST_FEED_ALLOW: the non-public hosts URLs may reach (default none)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedAccess:
        """Raises :class:`SettingsError` for a malformed ``LIVEHOST_FEED_ALLOW``."""
        try:
            net = NetPolicy.allowing(settings.feed_allow)
        except ValueError as e:
            raise SettingsError(f"LIVEHOST_FEED_ALLOW: {e}") from None
        return cls(settings.wc_key, settings.wc_secret, settings.feed_child, net)


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


#: what a name's suffix says a document is; its bytes overrule that only when they are plainly another kind
_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".json": "json", ".xml": "gmc", ".rss": "gmc",
             ".atom": "gmc"}
_LABELS = {"csv": "CSV sheet", "xlsx": "XLSX workbook", "json": "JSON catalog", "gmc": "Google Merchant feed",
           "shopify": "Shopify product export"}
_BLANK = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 byte-order mark and white space
_ARCHIVES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # a zip (XLSX); an old .xls (OLE2) fails as a workbook
_XML = re.compile(rb"<[?!A-Za-z]")  # <?xml, <!-- or <!DOCTYPE, <rss, <feed
_JSON = re.compile(rb'\{\s*["}]|\[\s*[{\]]')  # an object, or a list of objects: what a JSON catalog is
_HEAD = 1 << 16  # bytes read to sniff a file and to tell an empty one


def sniff(name: str, head: bytes) -> str:
    """The format of a document from its name (a path or a URL) and its first bytes.

    A name ending in ``.csv``, ``.xlsx`` (``.xlsm``), ``.json`` or ``.xml``
    (``.rss``, ``.atom``) is that: csv, xlsx, json (its kind is found once
    parsed) or gmc, unless the bytes are plainly another kind of document:
    a zip archive (xlsx), XML markup (gmc) or a JSON object or list (json).
    So a ``.csv`` whose header names Google Merchant attributes is read as
    a CSV sheet; only a Shopify product export (``Handle`` and ``Variant
    Price`` columns, which no merchant sheet has) in a ``.csv`` is shopify.
    Any other name (``.txt``, ``.tsv``, a URL path ``/feed``) goes by the
    bytes alone: a zip, ``<``, ``{`` or ``[``, else the header line: a
    Shopify export, Google Merchant text when it names ``id``, ``title``,
    ``price`` and an attribute only Google uses (``link``, ``image_link``,
    ``item_group_id``...), else csv.
    """
    path = urlsplit(name).path if is_url(name) else name
    declared = _SUFFIXES.get(PurePosixPath(path.replace("\\", "/")).suffix.lower())
    text = head.lstrip(_BLANK)
    if declared is None:
        if head.startswith(_ARCHIVES):
            return "xlsx"
        if text.startswith(b"<"):
            return "gmc"
        if text.startswith((b"{", b"[")):
            return "json"  # refined by _json_kind once parsed
        return _text_kind(text)
    plainly = "xlsx" if head.startswith(_ARCHIVES) else "gmc" if _XML.match(text) else \
        "json" if _JSON.match(text) else None
    if plainly and plainly != declared:
        return plainly
    if declared == "csv" and _text_kind(text) == "shopify":
        return "shopify"
    return declared


def _text_kind(text: bytes) -> str:
    """shopify, gmc or csv, from a text file's header line."""
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    cols = {c.strip().strip('"').removeprefix("g:") for c in first.replace("\t", ",").split(",")}
    if {"handle", "variant price"} <= cols:
        return "shopify"
    if {"id", "title", "price"} <= cols and cols & _GMC_ONLY:
        return "gmc"
    return "csv"


def _empty(fmt: str, name: str, head: bytes) -> FeedError:
    path = urlsplit(name).path if is_url(name) else name
    kind = fmt if fmt != "auto" else _SUFFIXES.get(PurePosixPath(path.replace("\\", "/")).suffix.lower(), "")
    what = "the answer" if is_url(name) else "the file"
    holds = "is empty" if not head else f"holds only white space ({len(head)} bytes)"
    return FeedError(f"{name}: {what} {holds}: there is no {_LABELS.get(kind, 'catalog')} in it")


def _json_kind(data) -> str:
    items = data.get("products") if isinstance(data, dict) else data
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    if "handle" in first or "body_html" in first:
        return "shopify"
    if "regular_price" in first or "stock_status" in first:
        return "woocommerce"
    return "json"


def _items_from_bytes(fmt: str, data: bytes, name: str, currency: str = "CNY") -> tuple[str, Iterator[FeedItem]]:
    return _items_from_stream(fmt, io.BytesIO(data), name, currency)


def _items_from_stream(fmt: str, stream: BinaryIO, name: str, currency: str = "CNY",
                       child: str = "auto") -> tuple[str, Iterator[FeedItem]]:
    """The format read and the items of a seekable binary stream at its start.

    CSV, XLSX and GMC feeds stream from ``stream`` (which must stay open
    while the items are read); JSON and Shopify CSV are read whole, here.
    """
    head = stream.read(_HEAD)
    stream.seek(0)
    if len(head) < _HEAD and not head.strip(_BLANK):
        raise _empty(fmt, name, head)
    if fmt == "auto":
        fmt = sniff(name, head[:4096])
    if fmt == "csv":
        from products.feeds.spreadsheet import read_csv

        return fmt, read_csv(stream, source=name)
    if fmt == "xlsx":
        from products.feeds.spreadsheet import read_xlsx

        return fmt, read_xlsx(stream, source=name)
    if fmt == "gmc":
        from products.feeds.gmc import read_gmc_text, read_gmc_xml

        if head.lstrip(_BLANK).startswith(b"<"):
            return fmt, read_gmc_xml(stream, source_name=name, child=child)  # a large file: in a child process
        return fmt, read_gmc_text(stream, source_name=name)
    if fmt in ("json", "shopify", "woocommerce"):
        data = _whole(stream)
        stripped = data.lstrip(_BLANK)
        if fmt == "shopify" and not stripped.startswith((b"{", b"[")):
            from products.feeds.shopify import read_shopify_csv

            return fmt, read_shopify_csv(data, source_name=name, currency=currency)
        try:
            doc = jsonio.loads(data, parse_float=Decimal)
        except jsonio.JsonError as e:
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


def _whole(stream: BinaryIO) -> bytes:
    return stream.getvalue() if isinstance(stream, io.BytesIO) else stream.read()  # getvalue: no copy


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
        if fmt == "woocommerce":
            raise FeedError("--format woocommerce needs the site URL (https://shop.example/)")
        try:
            file = path.open("rb")
        except OSError as e:
            raise FeedError(f"SOURCE = {source!r}: cannot open it ({e.strerror or e})") from None
        try:
            got, items = _items_from_stream(fmt, file, str(path), currency, access.child)
        except BaseException:
            file.close()
            raise
        return Opened(got, _closing(file, items))  # large files stream from disk

    from products.feeds import remote

    url, user, password = _split_credentials(source)
    if fmt == "woocommerce":
        from products.feeds.woocommerce import fetch_woocommerce, read_woocommerce

        key = user or access.wc_key
        secret = password or access.wc_secret
        if not key or not secret:
            raise FeedError("woocommerce: set LIVEHOST_WC_KEY and LIVEHOST_WC_SECRET (or https://KEY:SECRET@site/)")
        products = await fetch_woocommerce(url, key, secret, policy=access.net)
        return Opened(fmt, read_woocommerce(products, source_name=url, currency=currency))
    if fmt == "shopify" or (fmt == "auto" and urlsplit(url).path.endswith("/products.json")):
        from products.feeds.shopify import fetch_shopify_json, read_shopify_products

        store = url.removesuffix("/products.json")
        products = await fetch_shopify_json(store, policy=access.net)
        return Opened("shopify", read_shopify_products(products, source_name=url, currency=currency))
    fetched = await remote.fetch(url, etag=etag, last_modified=last_modified, policy=access.net)
    if fetched.not_modified:
        return Opened(fmt, iter(()), fetched.etag, fetched.last_modified, not_modified=True)
    got, items = _items_from_answer(fmt, fetched, url, currency)
    return Opened(got, items, fetched.etag, fetched.last_modified)


def _items_from_answer(fmt: str, fetched: Fetched, url: str, currency: str) -> tuple[str, Iterator[FeedItem]]:
    """The items of a downloaded feed.

    A document-level error (not a feed of that format, no header row...) names the URL, the
    answer's content type and size, never the readers' message: that may quote what the server
    sent, and an answer's content must not travel back through an error.  Rows of a feed that
    reads are reported as from a file.
    """
    from products.feeds.remote import mask_secrets

    body = fetched.body or b""
    kind = sniff(url, body[:4096]) if fmt == "auto" else fmt

    def unreadable() -> FeedError:
        return FeedError(f"{mask_secrets(url)}: the answer ({fetched.content_type or 'no content type'}, "
                         f"{len(body)} bytes) is not a readable {kind} catalog feed; its content is not shown here: "
                         "import a downloaded copy of it to see what is wrong")

    try:
        got, items = _items_from_bytes(kind, body, url, currency)
    except FeedError:
        raise unreadable() from None

    def quiet() -> Iterator[FeedItem]:
        try:
            yield from items
        except FeedError:
            raise unreadable() from None

    return got, quiet()


def _closing(file: BinaryIO, items: Iterator[FeedItem]) -> Iterator[FeedItem]:
    with file:
        yield from items
