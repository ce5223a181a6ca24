"""Preview pictures for the console: a rendered frame as a small JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

PREVIEW_WIDTH = 270


def preview_jpeg(picture: np.ndarray, width: int, height: int, target_width: int = PREVIEW_WIDTH) -> bytes:
    """A yuv420p frame as a small JPEG (JPEG is YCbCr: the planes go in as they are)."""
    tw = min(width, target_width)
    size = (tw, max(2, round(height * tw / width)))  # each plane scaled straight to it: 3x cheaper than full size first
    planes = (picture[:height], picture[height:height + height // 4].reshape(height // 2, width // 2),
              picture[height + height // 4:height * 3 // 2].reshape(height // 2, width // 2))
    image = Image.merge("YCbCr", [Image.fromarray(p).resize(size, Image.Resampling.BILINEAR) for p in planes])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()
