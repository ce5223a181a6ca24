"""BT.601 limited-range YUV 4:2:0 helpers and a fixed-point alpha sprite.

All colour work happens in *premultiplied* float RGB(A) (0..255, alpha 0..1) at
construction time; per frame only integer numpy ops on small regions are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# BT.601, limited ("TV") range: what libx264 assumes for plain yuv420p.
_MY = np.array([65.481, 128.553, 24.966], np.float32) / 255.0
_MU = np.array([-37.797, -74.203, 112.0], np.float32) / 255.0
_MV = np.array([112.0, -93.786, -18.214], np.float32) / 255.0


def _pool2(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    return a.reshape(h // 2, 2, w // 2, 2, *a.shape[2:]).mean(axis=(1, 3))


def premul_to_planes(rgbp: np.ndarray, alpha: np.ndarray):
    """Premultiplied RGB (h, w, 3) + alpha (h, w) -> premultiplied Y (h, w),
    U, V (h/2, w/2) and the 2x2-averaged chroma alpha. h and w must be even."""
    y = rgbp @ _MY + 16.0 * alpha
    rgbp2 = _pool2(rgbp)
    a2 = _pool2(alpha)
    u = rgbp2 @ _MU + 128.0 * a2
    v = rgbp2 @ _MV + 128.0 * a2
    return y, u, v, a2


def rgb_to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    """Opaque RGB (H, W, 3), H and W even -> yuv420p array (H*3//2, W) uint8."""
    h, w = rgb.shape[:2]
    rgb = rgb.astype(np.float32, copy=False)
    y, u, v, _ = premul_to_planes(rgb, np.ones((h, w), np.float32))
    out = np.empty((h * 3 // 2, w), np.uint8)
    yp, up, vp = planes(out, w, h)
    yp[...] = np.clip(y + 0.5, 0, 255)
    up[...] = np.clip(u + 0.5, 0, 255)
    vp[...] = np.clip(v + 0.5, 0, 255)
    return out


def planes(buf: Any, w: int, h: int) -> tuple[Any, Any, Any]:
    """Views (Y, U, V) into a packed yuv420p buffer of shape (H*3//2, W): a numpy array or a torch tensor."""
    flat = buf.reshape(-1)
    ys = w * h
    cs = ys // 4
    return (
        flat[:ys].reshape(h, w),
        flat[ys : ys + cs].reshape(h // 2, w // 2),
        flat[ys + cs : ys + 2 * cs].reshape(h // 2, w // 2),
    )


class _Plane:
    """One plane of a sprite in fixed point: out = (bg*inv + pre) >> 8."""

    __slots__ = ("inv", "pre", "val", "mask", "opaque", "tmp")

    def __init__(self, prem: np.ndarray, alpha: np.ndarray):
        a8 = np.clip(np.rint(alpha * 256.0), 0, 256).astype(np.uint16)
        self.inv = (256 - a8).astype(np.uint16)
        self.pre = (np.clip(np.rint(prem * 256.0), 0, 255 * 256) + 128).astype(np.uint16)
        self.mask = a8 >= 256
        self.opaque = bool(self.mask.all())
        # value where opaque (premultiplied == straight there)
        self.val = np.clip(np.rint(prem), 0, 255).astype(np.uint8)
        self.tmp = np.empty(prem.shape, np.uint16)

    def blend(self, dst: np.ndarray, x: int, y: int) -> None:
        h, w = self.inv.shape
        H, W = dst.shape
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, W), min(y + h, H)
        if x0 >= x1 or y0 >= y1:
            return
        sy, sx = slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)
        d = dst[y0:y1, x0:x1]
        if self.opaque:
            d[...] = self.val[sy, sx]
            return
        t = self.tmp[sy, sx]
        np.multiply(d, self.inv[sy, sx], out=t)
        t += self.pre[sy, sx]
        t >>= 8
        d[...] = t

    def paste_opaque(self, dst: np.ndarray, x: int, y: int) -> None:
        """Copy only the fully opaque pixels (used for feature patches)."""
        h, w = self.inv.shape
        H, W = dst.shape
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, W), min(y + h, H)
        if x0 >= x1 or y0 >= y1:
            return
        sy, sx = slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)
        if self.opaque:
            dst[y0:y1, x0:x1] = self.val[sy, sx]
        else:
            np.copyto(dst[y0:y1, x0:x1], self.val[sy, sx], where=self.mask[sy, sx])


class Sprite:
    """An RGBA image prepared for fast compositing into yuv420p planes.

    Built from premultiplied float RGB (h, w, 3) and alpha (h, w) with h, w even;
    must be placed at even (x, y) so chroma samples line up.
    """

    def __init__(self, rgbp: np.ndarray, alpha: np.ndarray):
        h, w = alpha.shape
        if h % 2 or w % 2:
            raise ValueError("sprite dimensions must be even")
        self.w, self.h = w, h
        y, u, v, a2 = premul_to_planes(rgbp.astype(np.float32), alpha.astype(np.float32))
        self.py = _Plane(y, alpha)
        self.pu = _Plane(u, a2)
        self.pv = _Plane(v, a2)

    def blend(self, yp, up, vp, x: int, y: int) -> None:
        self.py.blend(yp, x, y)
        self.pu.blend(up, x // 2, y // 2)
        self.pv.blend(vp, x // 2, y // 2)

    def paste_opaque(self, yp, up, vp, x: int, y: int) -> None:
        self.py.paste_opaque(yp, x, y)
        self.pu.paste_opaque(up, x // 2, y // 2)
        self.pv.paste_opaque(vp, x // 2, y // 2)
