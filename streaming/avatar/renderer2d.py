"""Cheap per-frame 2D presenter renderer producing yuv420p frames.

Everything is drawn once with Pillow (supersampled) and converted to BT.601
limited-range YUV 4:2:0. A frame is then: copy one of three precomputed base frames
(background + breathing body + desk + card + AI label), alpha-blend the head sprite at
its (even) idle-motion offset, paste the eye patch (blink / brow state) and the mouth
patch for the viseme, and light the LIVE dot. All per-frame work is integer numpy on
small regions (well under a millisecond at 720x1280).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from . import figure as fg
from .canvas import Canvas, downsample_premul, over
from .card import ProductCard, render_card
from .fonts import load_font
from .yuv import Sprite, planes, rgb_to_yuv420p

__all__ = ["AiLabel", "Avatar2D", "EYE_OPEN", "EYE_HALF", "EYE_CLOSED", "label_layer", "card_sprite", "card_box"]

EYE_OPEN, EYE_HALF, EYE_CLOSED = fg.EYE_OPEN, fg.EYE_HALF, fg.EYE_CLOSED
N_VISEMES = 9
CARD_RECT = (26.0, 886.0, 694.0, 1228.0)  # design units, includes the shadow margin
_M64 = (1 << 64) - 1
_Layer = tuple[np.ndarray, np.ndarray]  # premultiplied float RGB, alpha


def _hash01(seed: int, k: int, salt: int) -> float:
    """splitmix64-based deterministic uniform in [0, 1)."""
    z = (seed * 0x9E3779B97F4A7C15 + k * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def _even(v: float) -> int:
    return 2 * int(math.floor(v / 2.0 + 0.5))


def _even_up(v: float) -> int:
    return 2 * int(math.ceil(v / 2.0))


@dataclass(frozen=True)
class AiLabel:
    """The on-screen AI label: its text, its height as a fraction of the picture's shorter side (never under
    5%), and the top corner it sits in (the product card holds the lower part of the picture)."""

    text: str = "AI生成 / AI generated"
    fraction: float = 0.06
    corner: Literal["top-left", "top-right"] = "top-left"

    def __post_init__(self) -> None:
        if not 0.05 <= self.fraction <= 0.15:
            raise ValueError(f"label fraction {self.fraction!r}: between 0.05 and 0.15 of the shorter side")
        if self.corner not in ("top-left", "top-right"):
            raise ValueError(f"label corner {self.corner!r}: top-left or top-right")

    @classmethod
    def of(cls, label: str | AiLabel) -> AiLabel:
        return label if isinstance(label, AiLabel) else cls(text=label)


def label_layer(W: int, H: int, label: str | AiLabel) -> tuple[_Layer, int, int]:
    """The AI label (two lines when one is too wide), sized from the shorter side, at a top corner's margin."""
    style = AiLabel.of(label)
    label = style.text
    ms = min(W, H)
    ss = 2
    fs = max(8, int(math.ceil(style.fraction * ms)))
    margin = max(2, int(round(0.03 * ms)))
    font = load_font(fs * ss, bold=True)
    text = label
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    bbox = probe.multiline_textbbox((0, 0), text, font=font, spacing=int(0.2 * fs * ss))
    if bbox[2] - bbox[0] + fs * ss > (W - 2 * margin) * ss and " / " in text:
        text = text.replace(" / ", "\n")
        bbox = probe.multiline_textbbox((0, 0), text, font=font, spacing=int(0.2 * fs * ss))
    padx, pady = int(0.45 * fs * ss), int(0.3 * fs * ss)
    bw = _even_up((bbox[2] - bbox[0] + 2 * padx) / ss) * ss
    bh = _even_up((bbox[3] - bbox[1] + 2 * pady) / ss) * ss
    img = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, bw - 1, bh - 1), radius=int(0.22 * bh), fill=(12, 12, 16, 210))
    d.multiline_text((padx - bbox[0], pady - bbox[1]), text, font=font,
                     fill=(255, 255, 255, 255), spacing=int(0.2 * fs * ss))
    x = y = _even(margin)
    layer = downsample_premul(img, ss)
    if style.corner == "top-right":
        x = max(0, _even(W - margin - layer[1].shape[1]))
    return layer, x, y


def card_box(W: int, H: int) -> tuple[int, int, int, int]:
    """Where the product card goes in a W x H frame (the lower part of the picture)."""
    u = min(W, H * 9.0 / 16.0) / 720.0
    ox, oy = (W - 720.0 * u) / 2.0, (H - 1280.0 * u) / 2.0
    return (_even(ox + CARD_RECT[0] * u), _even(oy + CARD_RECT[1] * u),
            min(W, _even_up(ox + CARD_RECT[2] * u)), min(H, _even_up(oy + CARD_RECT[3] * u)))


def card_sprite(card: ProductCard, W: int, H: int) -> tuple[Sprite, tuple[int, int, int, int]]:
    """The product card drawn for a W x H frame, and the box it goes in."""
    x0, y0, x1, y1 = card_box(W, H)
    u = min(W, H * 9.0 / 16.0) / 720.0
    return Sprite(*render_card(card, x1 - x0, y1 - y0, u)), (x0, y0, x1, y1)


class Avatar2D:
    """Flat-style 2D live-selling host.

    ``render()`` returns a NEW ``(H*3//2, W)`` uint8 yuv420p array every call (callers may
    keep or mutate it freely; allocation + copy of the base frame costs ~0.1 ms).
    """

    BLINK_PERIOD_S = 4.0  # blinks every 4 s +- 1 s jitter -> intervals of 2..6 s
    BLINK_JITTER_S = 1.0
    BLINK_S = 0.15

    def __init__(self, width: int, height: int, *, fps: int = 25, seed: int = 0,
                 label: str | AiLabel = "AI生成 / AI generated", live_badge: bool = True):
        if width % 2 or height % 2 or width < 16 or height < 16:
            raise ValueError(f"frame size must be even and >= 16, got {width}x{height}")
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.width, self.height, self.fps, self.seed = int(width), int(height), int(fps), int(seed)
        self.label_style = AiLabel.of(label)
        self.label = self.label_style.text
        W, H = self.width, self.height
        self.u = u = min(W, H * 9.0 / 16.0) / 720.0
        self.ox = (W - 720.0 * u) / 2.0
        self.oy = (H - 1280.0 * u) / 2.0
        self._phase = [2 * math.pi * _hash01(self.seed, i, 7) for i in range(6)]

        # -- static scene (background, shelves), premultiplied float RGB -------
        scene = fg.background_rgb(W, H, self.ox, self.oy, u)
        scene = np.ascontiguousarray(scene)
        scene_a = np.ones((H, W), np.float32)
        for i, box in enumerate(fg.SHELF_BOXES):
            layer, x, y = self._design_layer(box, 2, lambda c, i=i: fg.draw_shelf(c, i == 0))
            over(scene, scene_a, *layer, x, y)
        body, bx, by = self._design_layer(fg.BODY_BOX, 3, fg.draw_body)
        desk_box = (-self.ox / u, fg.DESK_Y - 2, (W - self.ox) / u, (H - self.oy) / u + 2)
        desk, dkx, dky = self._design_layer(desk_box, 2, fg.draw_desk)
        label_layer, lx, ly = self._label_layer()
        self.label_box = (lx, ly, lx + label_layer[1].shape[1], ly + label_layer[1].shape[0])
        pill = self._pill_layers() if live_badge else None

        # -- three breathing variants of the base (body shifted 0..2 px) --------
        self._base_nocard: list[np.ndarray] = []
        for dy in range(3):
            rgbp, a = scene.copy(), scene_a.copy()
            over(rgbp, a, *body, bx, by + dy)
            over(rgbp, a, *desk, dkx, dky)
            over(rgbp, a, *label_layer, lx, ly)
            if pill is not None:
                over(rgbp, a, *pill[0], pill[2], pill[3])
            self._base_nocard.append(rgb_to_yuv420p(rgbp))
        self._dot = pill[1] if pill is not None else None
        self._dot_xy = (pill[2] + pill[4], pill[3] + pill[5]) if pill is not None else None

        self._build_head()
        self.card: ProductCard | None = None
        self.card_box: tuple[int, int, int, int] | None = None
        self._base = self._base_nocard

    # ------------------------------------------------------------------ build --
    def _design_layer(self, box: tuple[float, float, float, float], ss: int,
                      draw_fn: Callable[..., object]) -> tuple[_Layer, int, int]:
        """Draw a design-units box into a premultiplied layer; returns (layer, x, y)."""
        u = self.u
        px0 = _even(self.ox + box[0] * u - 1)
        py0 = _even(self.oy + box[1] * u - 1)
        px1 = _even_up(self.ox + box[2] * u + 1)
        py1 = _even_up(self.oy + box[3] * u + 1)
        c = Canvas((px0 - self.ox) / u, (py0 - self.oy) / u, px1 - px0, py1 - py0, u, ss)
        draw_fn(c)
        return c.finish(), px0, py0

    def _label_layer(self) -> tuple[_Layer, int, int]:
        return label_layer(self.width, self.height, self.label_style)

    def _pill_layers(self) -> tuple[_Layer, Sprite, int, int, int, int]:
        """'● LIVE' pill near the top-right; returns (pill layer, dot-on sprite, x, y,
        dot dx, dot dy). The dot blinks at 0.5 Hz so frames 1 s apart always differ."""
        W, H = self.width, self.height
        ms = min(W, H)
        ss = 2
        fs = max(7, int(round(0.032 * ms)))
        margin = max(2, int(round(0.03 * ms)))
        font = load_font(fs * ss, bold=True)
        tb = font.getbbox("LIVE")
        r = int(0.3 * fs * ss)
        padx = int(0.55 * fs * ss)
        ph = _even_up(fs * 1.7)
        pw = _even_up((padx * 2 + 2 * r + int(0.4 * fs * ss) + tb[2] - tb[0]) / ss)
        img = Image.new("RGBA", (pw * ss, ph * ss), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        d.rounded_rectangle((0, 0, pw * ss - 1, ph * ss - 1), radius=ph * ss // 2, fill=(12, 12, 16, 190))
        cx, cy = padx + r, ph * ss // 2
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(120, 70, 74, 255))
        d.text((cx + r + int(0.4 * fs * ss), cy), "LIVE", font=font, fill=(255, 255, 255, 255), anchor="lm")
        lx0, ly0, lx1, ly1 = self.label_box
        y = _even(ly0 + (ly1 - ly0 - ph) / 2)
        if lx0 > W / 2:  # the label holds the top-right corner: the pill takes the top-left
            x = _even(margin)
            if x + pw > lx0 - margin:  # not enough room beside the label: go below it, right-aligned
                x, y = _even(W - margin - pw), _even(ly1 + margin / 2)
        else:
            x = _even(W - margin - pw)
            if x < lx1 + margin:  # not enough room beside the label: go below it, right-aligned
                y = _even(ly1 + margin / 2)
        # the lit dot as its own small sprite
        dsz = _even_up(2 * r / ss + 4)
        dot = Image.new("RGBA", (dsz * ss, dsz * ss), (0, 0, 0, 0))
        dx0 = _even(cx / ss - dsz / 2)
        dy0 = _even(cy / ss - dsz / 2)
        ccx, ccy = cx - dx0 * ss, cy - dy0 * ss
        ImageDraw.Draw(dot).ellipse((ccx - r, ccy - r, ccx + r, ccy + r), fill=(255, 48, 64, 255))
        dot_sprite = Sprite(*downsample_premul(dot, ss))
        return downsample_premul(img, ss), dot_sprite, x, y, dx0, dy0

    def _build_head(self) -> None:
        u = self.u
        hb = fg.HEAD_BOX
        w = _even_up((hb[2] - hb[0]) * u)
        h = _even_up((hb[3] - hb[1]) * u)
        ss = 4 if u <= 1.5 else 3
        base = Canvas(hb[0], hb[1], w, h, u, ss)
        fg.draw_head_base(base)
        full = base.crop(0, 0, w, h)
        fg.draw_eyes(full, EYE_OPEN, False)
        fg.draw_mouth(full, 0)
        self._head = Sprite(*full.finish())
        self._head_nominal = (self.ox + (fg.HEAD_CENTER[0] + hb[0]) * u,
                              self.oy + (fg.HEAD_CENTER[1] + hb[1]) * u)

        def rect(r):
            x0 = max(0, _even((r[0] - hb[0]) * u - 1))
            y0 = max(0, _even((r[1] - hb[1]) * u - 1))
            x1 = min(w, _even_up((r[2] - hb[0]) * u + 1))
            y1 = min(h, _even_up((r[3] - hb[1]) * u + 1))
            return x0, y0, x1, y1

        self._eye_rect = er = rect(fg.EYE_RECT)
        self._mouth_rect = mr = rect(fg.MOUTH_RECT)
        self._eyes = {}
        for state in (EYE_OPEN, EYE_HALF, EYE_CLOSED):
            for brow in (False, True):
                c = base.crop(*er)
                fg.draw_eyes(c, state, brow)
                self._eyes[(state, brow)] = Sprite(*c.finish())
        self._mouths = []
        for vis in range(N_VISEMES):
            c = base.crop(*mr)
            fg.draw_mouth(c, vis)
            self._mouths.append(Sprite(*c.finish()))

    # ---------------------------------------------------------------- card ----
    def set_card(self, card: ProductCard | None) -> None:
        """Re-render the base frames with this product card (None removes it)."""
        self.card = card
        if card is None:
            self._base = self._base_nocard
            self.card_box = None
            return
        sprite, (x0, y0, x1, y1) = card_sprite(card, self.width, self.height)
        self.card_box = (x0, y0, x1, y1)
        bases = []
        for b in self._base_nocard:
            nb = b.copy()
            sprite.blend(*planes(nb, self.width, self.height), x0, y0)
            bases.append(nb)
        self._base = bases

    # -------------------------------------------------------------- motion ----
    def eye_state(self, frame_index: int) -> int:
        """EYE_OPEN / EYE_HALF / EYE_CLOSED. Blink k starts at 4k s +- 1 s (hashed)."""
        fps = self.fps
        t = frame_index / fps
        k0 = int(math.floor(t / self.BLINK_PERIOD_S))
        n = max(2, int(round(self.BLINK_S * fps)))
        for k in (k0 - 1, k0, k0 + 1):
            jit = (2 * _hash01(self.seed, k, 1) - 1) * self.BLINK_JITTER_S
            start = int(round((k * self.BLINK_PERIOD_S + jit) * fps))
            j = frame_index - start
            if 0 <= j < n:
                if n >= 3 and (j == 0 or j == n - 1):
                    return EYE_HALF
                if n == 2 and j == 1:
                    return EYE_HALF
                return EYE_CLOSED
        return EYE_OPEN

    def _brow_raised(self, frame_index: int, speaking: bool) -> bool:
        if not speaking:
            return False
        t = frame_index / self.fps
        blk = int(math.floor(t / 1.4))
        return _hash01(self.seed, blk, 3) < 0.35 and (t - blk * 1.4) < 0.8

    def _motion(self, frame_index: int, speaking: bool) -> tuple[int, int, int]:
        """(body_dy in 0..2, head x, head y) in frame pixels."""
        t = frame_index / self.fps
        p = self._phase
        tau = 2 * math.pi
        body_dy = int(round(1.0 + math.sin(tau * t / 4.2 + p[0])))
        ax = max(2.0, 4.0 * self.u)
        ay = max(1.0, 2.0 * self.u)
        dx = ax * (0.65 * math.sin(tau * t / 7.3 + p[1]) + 0.35 * math.sin(tau * t / 3.7 + p[2]))
        dy = body_dy + ay * (0.6 * math.sin(tau * t / 5.9 + p[3]) + 0.4 * math.sin(tau * t / 2.3 + p[4]))
        if speaking:
            dy += 2.5 * max(self.u, 0.5) * max(0.0, math.sin(tau * t * 1.6 + p[5]))
            dx += 1.5 * max(self.u, 0.5) * math.sin(tau * t * 0.7 + p[5])
        nx, ny = self._head_nominal
        return body_dy, _even(nx + dx), _even(ny + dy)

    def mouth_box(self, frame_index: int, *, speaking: bool = False) -> tuple[int, int, int, int]:
        """Frame-pixel box (x0, y0, x1, y1) of the mouth patch for this frame."""
        _, hx, hy = self._motion(frame_index, speaking)
        r = self._mouth_rect
        return hx + r[0], hy + r[1], hx + r[2], hy + r[3]

    def eye_box(self, frame_index: int, *, speaking: bool = False) -> tuple[int, int, int, int]:
        _, hx, hy = self._motion(frame_index, speaking)
        r = self._eye_rect
        return hx + r[0], hy + r[1], hx + r[2], hy + r[3]

    # -------------------------------------------------------------- render ----
    dropped = 0  # drawn on the CPU in the channel's own thread: never late by design of the pipeline

    async def draw(self, index: int, mouth: int, speaking: bool, events: Sequence[object] = ()) -> np.ndarray:
        return await asyncio.to_thread(self.render, index, mouth, speaking=speaking)

    async def aclose(self) -> None:
        pass

    def render(self, frame_index: int, viseme: int, *, speaking: bool = False) -> np.ndarray:
        """Return a NEW yuv420p frame (H*3//2, W) uint8 for this frame index and viseme."""
        try:
            vis = int(viseme)
        except (TypeError, ValueError):
            vis = 0
        if not 0 <= vis < N_VISEMES:
            vis = 0
        W, H = self.width, self.height
        body_dy, hx, hy = self._motion(frame_index, speaking)
        out = self._base[body_dy].copy()
        yp, up, vp = planes(out, W, H)
        self._head.blend(yp, up, vp, hx, hy)
        er, mr = self._eye_rect, self._mouth_rect
        eyes = self._eyes[(self.eye_state(frame_index), self._brow_raised(frame_index, speaking))]
        eyes.paste_opaque(yp, up, vp, hx + er[0], hy + er[1])
        self._mouths[vis].paste_opaque(yp, up, vp, hx + mr[0], hy + mr[1])
        if self._dot is not None and self._dot_xy is not None and (frame_index // self.fps) % 2 == 0:
            self._dot.blend(yp, up, vp, *self._dot_xy)
        return out
