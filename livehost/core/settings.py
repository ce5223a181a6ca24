"""Everything livehost takes from the environment, read once, at the edge.

``livehost`` (:mod:`livehost.main`) and the processes it starts build one
:class:`Settings` from their environment and pass the values into
constructors; nothing below reads ``os.environ`` itself.

========================  ==================================================
``LIVEHOST_HOME``         state folder: users, the embedded Redis (``~/.livehost``)
``LIVEHOST_REDIS_URL``    an external Redis instead of the embedded one
``LIVEHOST_FEED_CHILD``   parse large feed files in a child process: auto | 0 | 1
``LIVEHOST_FEED_ALLOW``   feed hosts allowed although not public (loopback, LAN):
                          addresses, CIDR networks, host names, comma-separated
                          (``10.0.0.0/8,erp.lan``); others are refused
``LIVEHOST_WC_KEY``,      WooCommerce REST credentials for catalog imports
``LIVEHOST_WC_SECRET``
``LIVEHOST_MAX_PRICE``    the highest price a catalog may state (100000000)
``LIVEHOST_MAX_STOCK``    the highest stock count a catalog may state (1000000000)
``LIVEHOST_CJK_FONT``,    a font file for Chinese text on the picture
``LIVEHOST_CJK_FONT_BOLD``
========================  ==================================================

Secrets named in a channel config (``llm.models[].api_key_env``) are
looked up in the same snapshot (:attr:`Settings.environ`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

FEED_CHILD_CHOICES = ("auto", "0", "1")


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("~/.livehost").expanduser())
    redis_url: str | None = None
    feed_child: str = "auto"
    feed_allow: tuple[str, ...] = ()  # checked by products.feeds.netpolicy when feeds are read
    wc_key: str | None = None
    wc_secret: str | None = None
    cjk_font: str | None = None
    cjk_font_bold: str | None = None
    max_price: Decimal = Decimal(100_000_000)
    max_stock: int = 1_000_000_000
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)  # for secrets named in configs

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            return (environ.get(name) or "").strip() or None

        child = (get("LIVEHOST_FEED_CHILD") or "auto").lower()
        child = {"off": "0", "no": "0", "false": "0", "on": "1", "yes": "1", "true": "1"}.get(child, child)
        if child not in FEED_CHILD_CHOICES:
            raise SettingsError(f"LIVEHOST_FEED_CHILD = {child!r}: expected auto, 0 or 1")
        return cls(
            home=Path(get("LIVEHOST_HOME") or "~/.livehost").expanduser(),
            redis_url=get("LIVEHOST_REDIS_URL"),
            feed_child=child,
            feed_allow=tuple((get("LIVEHOST_FEED_ALLOW") or "").replace(",", " ").split()),
            wc_key=get("LIVEHOST_WC_KEY"),
            wc_secret=get("LIVEHOST_WC_SECRET"),
            cjk_font=get("LIVEHOST_CJK_FONT"),
            cjk_font_bold=get("LIVEHOST_CJK_FONT_BOLD"),
            max_price=_bound("LIVEHOST_MAX_PRICE", get("LIVEHOST_MAX_PRICE"), Decimal(100_000_000), Decimal),
            max_stock=_bound("LIVEHOST_MAX_STOCK", get("LIVEHOST_MAX_STOCK"), 1_000_000_000, int),
            environ=dict(environ),
        )


def _bound(name: str, raw: str | None, default: Any, kind: type) -> Any:
    """A positive number up to 10^15 from the environment (``kind``: Decimal or int)."""
    if raw is None:
        return default
    try:
        value = kind(raw.replace("_", "").replace(",", ""))
        ok = 0 < value <= 10**15  # a Decimal NaN raises here
    except (ValueError, InvalidOperation):
        ok = False
    if not ok:
        raise SettingsError(f"{name} = {raw!r}: expected a positive number up to 10^15")
    return value
