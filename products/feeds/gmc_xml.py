"""The parsing half of :func:`products.feeds.gmc.read_gmc_xml`: a feed's items as attribute dicts.

Standard library only, so that it can also run as a child process for a
large file (``python -m products.feeds.gmc_xml FILE NAME``, see
:mod:`products.feeds.child`): the child parses on one core while the
importing process maps, validates and stores on the other.

Each item comes out as ``{attribute name: text}`` (a list of texts for the
repeated attributes, ``(name, value)`` pairs for ``product_detail``); a
``g:`` value wins over a plain one of the same name, Atom ``title``,
``link href=`` and ``summary``/``content`` stand for ``title``, ``link``
and ``description`` (its HTML reduced to plain text).  Every finished item
is cleared and dropped from its parent, so a feed of any length is read in
flat memory.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any, BinaryIO
from xml.parsers.expat import ErrorString

from products.feeds.errors import FeedError
from products.text import plain_text

G = "{http://base.google.com/ns/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"
#: attributes an item may give more than once (kept as lists)
REPEATED = frozenset({"additional_image_link", "product_highlight", "product_detail"})
_ATOM_NAMES = {"title": "title", "link": "link", "summary": "description", "content": "description"}


# What the reader does with a child element, decided once per tag: (attribute name, how).
_SINGLE, _LIST, _PLAIN, _DETAIL, _LINK = range(5)  # g: value (first wins), repeated, plain, pairs, link


def _kind(tag: str) -> tuple[str, int] | None:
    """A child element's attribute name and how it is read; None for what the reader ignores."""
    if tag.startswith(G):
        name, is_g = tag[len(G):], True
    elif tag.startswith(ATOM):
        name, is_g = _ATOM_NAMES.get(tag[len(ATOM):], ""), False
        if not name:
            return None
        if name == "link":
            return name, _LINK
    elif tag.startswith("{"):
        return None
    else:
        name, is_g = tag, False
        if name == "link":  # RSS <link>text</link>, or an href like Atom's
            return name, _LINK
    if name == "product_detail":
        return name, _DETAIL
    if name in REPEATED:
        return name, _LIST
    return name, _SINGLE if is_g else _PLAIN


def _detail(elem: ET.Element) -> tuple[str, str] | None:
    parts = {sub.tag.rpartition("}")[2]: (sub.text or "").strip() for sub in elem}
    name = parts.get("attribute_name")
    return (name, parts.get("attribute_value", "")) if name else None


def _attributes(item: ET.Element, kinds: dict[str, tuple[str, int] | None]) -> dict[str, Any]:
    """A finished ``<item>``/``<entry>`` element's attributes; nested ones (shipping, tax) are skipped."""
    attrs: dict[str, Any] = {}  # g: values: the first one wins
    plain: dict[str, str] | None = None  # un-namespaced and Atom values, used where no g: value is given
    for child in item:
        try:
            kind = kinds[child.tag]
        except KeyError:
            kind = kinds[child.tag] = _kind(child.tag)
        if kind is None:
            continue
        name, how = kind
        if how == _SINGLE:  # the common case first
            text = child.text
            if text and name not in attrs:
                text = text.strip()
                if text:
                    attrs[name] = text
            continue
        if how == _DETAIL:
            pair = _detail(child)
            if pair:
                attrs.setdefault(name, []).append(pair)
            continue
        if how == _LINK and "href" in child.attrib:  # <link rel="alternate" href="...">
            if child.get("rel", "alternate") != "alternate":
                continue
            text = child.attrib["href"].strip()
        else:
            text = (child.text or "").strip()
        if not text:
            continue
        if how == _LIST:
            attrs.setdefault(name, []).append(text)
        else:
            if plain is None:
                plain = {}
            plain.setdefault(name, text)
    if plain:
        for name, text in plain.items():
            attrs.setdefault(name, text)
    if "description" in attrs:
        attrs["description"] = plain_text(attrs["description"])
    return attrs


def xml_attributes(stream: BinaryIO, where: str) -> Iterator[dict[str, Any]]:
    """Each ``<item>`` (RSS) or ``<entry>`` (Atom) of the feed in ``stream``, in order, as its attributes.

    Raises :class:`FeedError` for malformed XML (with line and column) and
    for a root that is neither ``<rss>`` nor an Atom ``<feed>``.
    """
    events = ET.iterparse(stream, events=("start", "end"))
    kinds: dict[str, tuple[str, int] | None] = {}
    try:
        _, root = next(events)
        if root.tag not in ("rss", f"{ATOM}feed"):
            raise FeedError(f"{where}: the root element is <{root.tag}>, expected an RSS <rss> or an Atom <feed> "
                            "(a Google Merchant Center XML feed)")
        item_tag = "item" if root.tag == "rss" else f"{ATOM}entry"
        parent = root
        for event, elem in events:
            if event == "start":
                if elem.tag == "channel":
                    parent = elem  # RSS items live in <channel>
            elif elem.tag == item_tag:
                attrs = _attributes(elem, kinds)
                elem.clear()
                parent.clear()  # the finished item and anything before it: memory stays flat
                yield attrs
    except ET.ParseError as e:
        line, column = e.position
        raise FeedError(f"{where}: malformed XML at line {line}, column {column}: {ErrorString(e.code)}") from None


if __name__ == "__main__":  # the child process of products.feeds.child.stream_from_child
    from products.feeds.child import serve

    path, where = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        serve(xml_attributes(f, where))
