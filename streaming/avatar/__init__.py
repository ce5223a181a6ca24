"""Built-in 2D live-selling presenter (drawn, not a photo of a real person).

``Avatar2D(width, height).render(frame_index, viseme)`` returns a yuv420p frame
(BT.601 limited range) ready for ``av.VideoFrame.from_ndarray(arr, format="yuv420p")``.
"""

from __future__ import annotations

from .card import ProductCard
from .fonts import CJKFontError, find_cjk_font, load_font
from .renderer2d import EYE_CLOSED, EYE_HALF, EYE_OPEN, Avatar2D

__all__ = [
    "Avatar2D",
    "ProductCard",
    "Viseme",
    "CJKFontError",
    "find_cjk_font",
    "load_font",
    "EYE_OPEN",
    "EYE_HALF",
    "EYE_CLOSED",
]


def __getattr__(name: str):
    # streaming.visemes is owned elsewhere; import it lazily so this package works
    # even before/without it.
    if name == "Viseme":
        from streaming.visemes import Viseme

        return Viseme
    raise AttributeError(name)
