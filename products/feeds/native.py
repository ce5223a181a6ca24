"""livehost's own JSON catalog schema as a feed (documented in :mod:`products.catalog`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from products.feeds.base import FeedError, FeedItem


def json_items(data: Any, *, source: str = "") -> Iterator[FeedItem]:
    """The items of a document in livehost's JSON schema (:mod:`products.catalog` documents it)."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise FeedError(f"{source or 'catalog'}: expected a JSON object with a \"products\" list")
    for index, item in enumerate(data["products"]):
        if isinstance(item, dict):
            yield FeedItem(dict(item), index)
        else:
            bad = FeedItem({}, index)
            bad.issues.append(("", item, "each product must be a JSON object"))
            yield bad
