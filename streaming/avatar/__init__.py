"""Built-in 2D live-selling presenter (drawn, not a photo of a real person).

``Avatar2D(width, height).render(frame_index, viseme)`` returns a yuv420p frame
(BT.601 limited range) ready for ``av.VideoFrame.from_ndarray(arr, format="yuv420p")``.
"""

from __future__ import annotations

from .card import ProductCard
from .fonts import CJKFontError, find_cjk_font, load_font, use_fonts
from .renderer2d import EYE_CLOSED, EYE_HALF, EYE_OPEN, Avatar2D

__all__ = [
    "Avatar2D",
    "ProductCard",
    "CJKFontError",
    "find_cjk_font",
    "load_font",
    "use_fonts",
    "EYE_OPEN",
    "EYE_HALF",
    "EYE_CLOSED",
]

