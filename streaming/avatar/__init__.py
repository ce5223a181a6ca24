"""Built-in 2D live-selling presenter (drawn, not a photo of a real person).

``Avatar2D(width, height).render(frame_index, viseme)`` returns a yuv420p frame
(BT.601 limited range) ready for ``av.VideoFrame.from_ndarray(arr, format="yuv420p")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .card import ProductCard
from .fonts import CJKFontError, find_cjk_font, load_font, use_fonts
from .renderer2d import EYE_CLOSED, EYE_HALF, EYE_OPEN, Avatar2D


class Host(Protocol):
    """What a channel draws its host with: the drawn :class:`Avatar2D` or a photoreal host."""

    dropped: int  # frames that could not be drawn in time (the previous one was shown again)

    def set_card(self, card: ProductCard | None) -> None: ...

    async def draw(self, index: int, mouth: int, speaking: bool, events: Sequence[Any] = ()) -> np.ndarray:
        """Frame ``index`` with this mouth shape; ``events``: the sentence starts and ends in it (a voice-driven
        host reads the sentence's audio from them)."""
        ...

    async def aclose(self) -> None: ...


__all__ = [
    "Host",
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

