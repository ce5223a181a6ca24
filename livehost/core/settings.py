"""Everything livehost takes from the environment, read once, at the edge.

``livehost`` (:mod:`livehost.main`) and the processes it starts build one
:class:`Settings` from their environment and pass the values into
constructors; nothing below reads ``os.environ`` itself.

========================  ==================================================
``LIVEHOST_HOME``         state folder: users, the embedded Redis (``~/.livehost``)
``LIVEHOST_REDIS_URL``    an external Redis instead of the embedded one
``LIVEHOST_FEED_CHILD``   parse large feed files in a child process: auto | 0 | 1
``LIVEHOST_WC_KEY``,      WooCommerce REST credentials for catalog imports
``LIVEHOST_WC_SECRET``
``LIVEHOST_CJK_FONT``,    a font file for Chinese text on the picture
``LIVEHOST_CJK_FONT_BOLD``
========================  ==================================================

Secrets named in a channel config (``llm.models[].api_key_env``) are
looked up in the same snapshot (:attr:`Settings.environ`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FEED_CHILD_CHOICES = ("auto", "0", "1")


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("~/.livehost").expanduser())
    redis_url: str | None = None
    feed_child: str = "auto"
    wc_key: str | None = None
    wc_secret: str | None = None
    cjk_font: str | None = None
    cjk_font_bold: str | None = None
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
            wc_key=get("LIVEHOST_WC_KEY"),
            wc_secret=get("LIVEHOST_WC_SECRET"),
            cjk_font=get("LIVEHOST_CJK_FONT"),
            cjk_font_bold=get("LIVEHOST_CJK_FONT_BOLD"),
            environ=dict(environ),
        )
