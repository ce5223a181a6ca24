"""JSON from outside, read and written strictly: the one loader for documents livehost did not write.

:func:`loads` is :func:`json.loads` with what a hostile document must not do
refused up front, as a :class:`JsonError` (a ``ValueError``) that says what
is wrong and where:

* bytes that are not UTF-8 (the offset and the byte);
* nesting deeper than ``depth`` (default 64; a catalog needs 5): the
  standard decoder raises ``RecursionError`` somewhere past 500 levels
  (caught here), and every later walk over a deep result (validation,
  ``repr``, ``json.dumps``) would recurse too;
* ``NaN``, ``Infinity`` and ``-Infinity``, which Python accepts and JSON
  does not;
* a lone UTF-16 surrogate (``"\\ud800"``): a string no encoder can write,
  so it would fail later, far from here (a Redis write, a print).

:func:`dumps` writes strict JSON (``allow_nan=False``): a non-finite float
becomes the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; other
values json cannot write become their ``str`` (``Decimal``, ``datetime``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["JsonError", "MAX_DEPTH", "dumps", "loads", "depth_of", "strict"]

MAX_DEPTH = 64

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonError(ValueError):
    """A document that is not strict JSON, or is too deep; the message says what and where."""


def depth_of(value: Any, limit: int | None = None, *, max_items: int | None = None) -> int:
    """How deeply arrays and objects nest in a parsed value, level by level (no recursion); counting
    stops once past ``limit``.  With ``max_items``, :class:`JsonError` when the value holds more
    containers and entries than that (a YAML document's aliases can multiply them)."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = seen = 0
    while level and (limit is None or depth <= limit):
        depth += 1
        below: list[Any] = []
        for item in level:
            entries = item.values() if isinstance(item, dict) else item
            seen += len(entries)
            if max_items is not None and seen > max_items:
                raise JsonError(f"more than {max_items:,} entries")
            below += [x for x in entries if isinstance(x, (dict, list))]
        level = below
    return depth


def _constant(name: str) -> Any:
    raise JsonError(f"{name} is not a JSON number")


def loads(data: str | bytes, *, depth: int = MAX_DEPTH, parse_float: Callable[[str], Any] | None = None) -> Any:
    """Parse one JSON document from outside; :class:`JsonError` for anything :mod:`json` would
    accept that livehost must not, and for everything it would refuse."""
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise JsonError(f"not UTF-8: byte 0x{data[e.start]:02x} at offset {e.start}") from None
    else:
        text = data.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise JsonError(f"not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:  # the C decoder counts its levels and stops near the recursion limit
        raise JsonError(f"nested too deep (more than {sys.getrecursionlimit() // 2} levels; at most {depth})") from None
    found = depth_of(value, depth)
    if found > depth:
        raise JsonError(f"nested more than {depth} levels deep")
    if _SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text):
        _no_surrogates(value, "")
    return value


def _no_surrogates(value: Any, where: str) -> None:
    """Refuse the first string with a lone surrogate, naming its place (depth is bounded by now)."""
    if isinstance(value, str):
        if found := _SURROGATE.search(value):
            raise JsonError(f"{where or 'the document'}: a lone surrogate \\u{ord(found.group()):04x} at character "
                            f"{found.start()} (half of a character; not text)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_surrogates(key, where)
            _no_surrogates(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_surrogates(item, f"{where}[{i}]")


def strict(value: Any) -> Any:
    """``value`` with non-finite floats as strings, ready for ``json.dumps(allow_nan=False)``."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def _default(value: Any) -> Any:
    return str(value)


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text (no ``NaN``), non-ASCII kept; what json cannot write becomes its ``str``."""
    kwargs.setdefault("ensure_ascii", False)
    try:
        return json.dumps(value, allow_nan=False, default=_default, **kwargs)
    except ValueError:  # a NaN or an infinity somewhere: rare, so walked only then
        return json.dumps(strict(value), allow_nan=False, default=_default, **kwargs)
