"""Product descriptions as plain text: HTML reduced to lines (standard library only; every reader and the
model use it)."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

#: tags that end a line of text
BLOCK_TAGS = frozenset("p div br li ul ol tr table h1 h2 h3 h4 h5 h6 section article blockquote hr".split())

_ATTRS = r"""(?:\s(?:[^<>"']|"[^"]*"|'[^']*')*)?/?>"""  # the rest of a tag: attributes, quoted values may hold > or <
_TAG = re.compile(rf"</?[A-Za-z][A-Za-z0-9]*{_ATTRS}")
_BLOCK_TAG = re.compile(rf"</?(?:{'|'.join(sorted(BLOCK_TAGS, key=len, reverse=True))}){_ATTRS}", re.IGNORECASE)
_HIDDEN = re.compile(r"<(?:script|style)", re.IGNORECASE)


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment: tags, scripts and styles dropped, entities decoded,
    one line per paragraph / list item / ``<br>``, whitespace collapsed."""
    if not html:
        return ""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def plain_text(html: str) -> str:
    """:func:`html_to_text`, with a quick path for plain text and simple markup (feeds of many items)."""
    if "<" in html:
        if "<!" in html or "<?" in html or _HIDDEN.search(html):
            return html_to_text(html)
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", html))
        if "<" in text:  # markup the quick path does not follow
            return html_to_text(html)
        html = text
    if "&" in html:
        html = unescape(html)
    return "\n".join(" ".join(line.split()) for line in html.splitlines() if line and not line.isspace())
