"""Product card overlay: photo (or placeholder), name, badge and price."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from .canvas import downsample_premul
from .fonts import load_font

__all__ = ["ProductCard", "render_card", "wrap_text"]


@dataclass(frozen=True)
class ProductCard:
    name: str
    price: str
    sale_price: str | None
    badge: str | None = None
    image_path: str | None = None


INK = (30, 30, 38, 255)
RED = (228, 44, 62, 255)
GREY = (150, 146, 150, 255)
CARD_BG = (255, 255, 255, 255)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """CJK characters are breakable anywhere; Latin words stay whole (with their space)."""
    out: list[str] = []
    word = ""
    for ch in text:
        if _is_wide(ch):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " ":
            out.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return [t for t in out if t]


def _ellipsize(text: str, font, width: float) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text.rstrip() + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap_text(text: str, font, width: float, max_lines: int) -> list[str]:
    """Greedy wrap into at most max_lines lines; the last one is ellipsized if needed."""
    text = " ".join(text.split())
    lines: list[str] = []
    cur = ""
    toks = _tokens(text)
    i = 0
    while i < len(toks):
        tok = toks[i]
        if font.getlength((cur + tok).rstrip()) <= width:
            cur += tok
            i += 1
            continue
        if not cur:  # a single token wider than the line: split it by characters
            cut = 1
            while cut < len(tok) and font.getlength(tok[: cut + 1]) <= width:
                cut += 1
            lines.append(tok[:cut])
            toks[i] = tok[cut:]
        else:
            lines.append(cur.rstrip())
            cur = ""
        if len(lines) == max_lines:
            break
    if len(lines) < max_lines and cur:
        lines.append(cur.rstrip())
        i = len(toks)
    if i < len(toks) or len(lines) > max_lines:
        lines = lines[:max_lines]
        rest = "".join(toks[i:])
        lines[-1] = _ellipsize(lines[-1] + ("…" if rest else ""), font, width)
        if lines[-1].endswith("……"):
            lines[-1] = lines[-1][:-1]
    return lines or [""]


def _placeholder(name: str, size: int) -> Image.Image:
    h = hashlib.sha1(name.encode("utf-8")).digest()
    hue = h[0] / 255.0
    import colorsys

    c1 = np.array(colorsys.hls_to_rgb(hue, 0.80, 0.55)) * 255
    c2 = np.array(colorsys.hls_to_rgb((hue + 0.08) % 1, 0.64, 0.50)) * 255
    t = np.linspace(0, 1, size, dtype=np.float32)
    g = (t[:, None] + t[None, :]) / 2
    arr = c1 * (1 - g[..., None]) + c2 * g[..., None]
    img = Image.fromarray(arr.astype(np.uint8), "RGB").convert("RGBA")
    initial = next((ch for ch in name.strip() if not ch.isspace()), "?").upper()
    font = load_font(int(size * 0.5), bold=True)
    d = ImageDraw.Draw(img)
    d.text((size / 2, size / 2), initial, font=font, fill=(255, 255, 255, 235), anchor="mm")
    return img


def _photo(path: str | None, name: str, size: int) -> Image.Image:
    if path:
        try:
            with Image.open(path) as original:
                im = ImageOps.exif_transpose(original).convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                bg.alpha_composite(im)
                return ImageOps.fit(bg, (size, size), Image.Resampling.LANCZOS)
        except (OSError, ValueError, Image.DecompressionBombError):
            pass
    return _placeholder(name, size)


def render_card(card: ProductCard, w_px: int, h_px: int, u: float, ss: int = 2):
    """Render the card into a w_px x h_px RGBA area (pixels), scale u (design units
    -> pixels). Returns premultiplied (rgb, alpha) float32 arrays including a soft shadow;
    the card body is inset by a shadow margin of 14*u px."""
    m = max(2, int(round(14 * u)))
    k = u * ss
    W, H = w_px * ss, h_px * ss
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    cx0, cy0, cx1, cy1 = m * ss, m * ss, W - m * ss, H - m * ss - int(4 * k)
    rad = int(26 * k)
    d.rounded_rectangle((cx0, cy0, cx1, cy1), radius=rad, fill=CARD_BG)
    pad = int(20 * k)
    ch = cy1 - cy0
    # photo
    side = max(8, ch - 2 * pad)
    photo = _photo(card.image_path, card.name or "?", side)
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, side - 1, side - 1), radius=int(18 * k), fill=255)
    img.paste(photo, (cx0 + pad, cy0 + pad), mask)
    # text column
    tx0 = cx0 + pad * 2 + side
    tw = cx1 - pad - tx0
    y = cy0 + pad
    if card.badge:
        bf = load_font(int(22 * k), bold=True)
        btxt = _ellipsize(card.badge, bf, tw - int(28 * k))
        bw = bf.getlength(btxt) + int(28 * k)
        bh = int(38 * k)
        d.rounded_rectangle((tx0, y, tx0 + bw, y + bh), radius=bh // 2, fill=RED)
        d.text((tx0 + bw / 2, y + bh / 2), btxt, font=bf, fill=(255, 255, 255, 255), anchor="mm")
        y += bh + int(12 * k)
    nf = load_font(int(32 * k), bold=True)
    lh = int(42 * k)
    for line in wrap_text(card.name or "", nf, tw, 2):
        d.text((tx0, y), line, font=nf, fill=INK, anchor="la")
        y += lh
    # price block at the bottom of the column
    base = cy1 - pad
    big = card.sale_price or card.price
    pf = load_font(int(60 * k), bold=True)
    while pf.size > 12 and pf.getlength(big) > tw:
        pf = load_font(int(pf.size * 0.9), bold=True)
    base -= int(pf.size * 0.12)
    d.text((tx0, base), big, font=pf, fill=RED, anchor="ls")
    if card.sale_price:
        of = load_font(int(26 * k))
        old = card.price
        pw = pf.getlength(big)
        ow = of.getlength(old)
        if pw + int(14 * k) + ow <= tw:
            ox, oy = tx0 + pw + int(14 * k), base
        else:
            ox, oy = tx0, base - int(pf.size * 0.85)
        d.text((ox, oy), old, font=of, fill=GREY, anchor="ls")
        mid = oy - of.size * 0.34
        d.line((ox - 2, mid, ox + ow + 2, mid), fill=GREY, width=max(2, int(2.5 * k)))
    rgbp, alpha = downsample_premul(img, ss)
    # soft drop shadow behind the card
    sh = Image.new("L", (w_px, h_px), 0)
    ImageDraw.Draw(sh).rounded_rectangle(
        (m, m + int(5 * u), w_px - m, h_px - m), radius=int(26 * u), fill=70
    )
    sh = sh.filter(ImageFilter.GaussianBlur(max(1.0, 7 * u)))
    sa = np.asarray(sh, np.float32) / 255.0
    sa = sa[: alpha.shape[0], : alpha.shape[1]]
    shadow_rgbp = np.zeros_like(rgbp) + np.array([60, 30, 40], np.float32) * sa[..., None]
    k_ = 1.0 - alpha
    rgbp = rgbp + shadow_rgbp * k_[..., None]
    alpha = alpha + sa * k_
    return rgbp, alpha
