"""Supersampled Pillow drawing surface addressed in *design units*.

The presenter is designed on a 720x1280 portrait canvas; a :class:`Canvas` maps design
coordinates to output pixels (scale ``u``) and draws ``ss`` times larger so Pillow's
aliased primitives come out anti-aliased after :meth:`Canvas.finish` box-filters them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def downsample_premul(img: Image.Image, ss: int) -> tuple[np.ndarray, np.ndarray]:
    """RGBA image -> (premultiplied RGB float32 (h, w, 3), alpha float32 (h, w)) at 1/ss."""
    a = np.asarray(img, dtype=np.float32)
    alpha = a[..., 3] * (1.0 / 255.0)
    rgbp = a[..., :3] * alpha[..., None]
    if ss > 1:
        h, w = alpha.shape[0] // ss, alpha.shape[1] // ss
        rgbp = rgbp[: h * ss, : w * ss].reshape(h, ss, w, ss, 3).mean(axis=(1, 3))
        alpha = alpha[: h * ss, : w * ss].reshape(h, ss, w, ss).mean(axis=(1, 3))
    return rgbp, alpha


def over(dst_rgbp, dst_a, src_rgbp, src_a, x: int, y: int) -> None:
    """Porter-Duff 'over' of a premultiplied layer into a premultiplied buffer, in place."""
    H, W = dst_a.shape
    h, w = src_a.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return
    s = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    d = (slice(y0, y1), slice(x0, x1))
    k = 1.0 - src_a[s]
    dst_rgbp[d] = src_rgbp[s] + dst_rgbp[d] * k[..., None]
    dst_a[d] = src_a[s] + dst_a[d] * k


class Canvas:
    def __init__(self, x0: float, y0: float, w_px: int, h_px: int, u: float, ss: int):
        self.x0, self.y0, self.u, self.ss = x0, y0, u, ss
        self.k = u * ss
        self.w_px, self.h_px = w_px, h_px
        self.img = Image.new("RGBA", (w_px * ss, h_px * ss), (0, 0, 0, 0))
        self.d = ImageDraw.Draw(self.img)

    # -- coordinate helpers -------------------------------------------------
    def P(self, x: float, y: float) -> tuple[float, float]:
        return ((x - self.x0) * self.k, (y - self.y0) * self.k)

    def B(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [*self.P(x0, y0), *self.P(x1, y1)]

    def S(self, v: float) -> int:
        return max(1, int(round(v * self.k)))

    def pts(self, seq) -> list[tuple[float, float]]:
        return [self.P(x, y) for x, y in seq]

    # -- layers ---------------------------------------------------------------
    def blank(self) -> Canvas:
        c = Canvas.__new__(Canvas)
        c.x0, c.y0, c.u, c.ss, c.k = self.x0, self.y0, self.u, self.ss, self.k
        c.w_px, c.h_px = self.w_px, self.h_px
        c.img = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
        c.d = ImageDraw.Draw(c.img)
        return c

    def crop(self, px0: int, py0: int, px1: int, py1: int) -> Canvas:
        """A canvas showing the output-pixel rect of this one (copy of its content)."""
        c = Canvas.__new__(Canvas)
        c.u, c.ss, c.k = self.u, self.ss, self.k
        c.x0 = self.x0 + px0 / self.u
        c.y0 = self.y0 + py0 / self.u
        c.w_px, c.h_px = px1 - px0, py1 - py0
        ss = self.ss
        c.img = self.img.crop((px0 * ss, py0 * ss, px1 * ss, py1 * ss))
        c.d = ImageDraw.Draw(c.img)
        return c

    def paste(self, layer: Canvas, mask: Image.Image | None = None) -> None:
        """Composite another same-geometry canvas on top (optionally clipped by an L mask)."""
        img = layer.img
        if mask is not None:
            a = img.getchannel("A")
            from PIL import ImageChops

            img = img.copy()
            img.putalpha(ImageChops.multiply(a, mask))
        self.img.alpha_composite(img)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        return downsample_premul(self.img, self.ss)
