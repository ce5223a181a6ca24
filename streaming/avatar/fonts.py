"""Discovery of a CJK-capable font for the avatar overlay (label, product card).

Search order:
  1. the files given to :func:`use_fonts` (from ``LIVEHOST_CJK_FONT`` / ``LIVEHOST_CJK_FONT_BOLD``,
     read once by :mod:`livehost.core.settings`),
  2. a list of common install paths (Noto Sans CJK, WenQuanYi Micro Hei / Zen Hei,
     Droid Sans Fallback, a few macOS/Windows defaults),
  3. ``fc-match :lang=zh-cn`` as a last resort.

Every candidate is verified to really render Chinese (its glyph for 中 must differ from
its .notdef box), so a Latin-only font returned by fc-match is never used by accident.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFont

__all__ = ["CJKFontError", "FontFace", "find_cjk_font", "load_font", "use_fonts", "SEARCH_PATHS"]

DEBIAN_PACKAGE = "fonts-noto-cjk"

_NOTO_DIRS = (
    "/usr/share/fonts/opentype/noto",  # Debian / Ubuntu (fonts-noto-cjk)
    "/usr/share/fonts/noto-cjk",  # Arch
    "/usr/share/fonts/google-noto-cjk",  # Fedora
    "/usr/share/fonts/opentype/noto-cjk",
    "/usr/share/fonts/truetype/noto",
)

_REGULAR = [f"{d}/NotoSansCJK-Regular.ttc" for d in _NOTO_DIRS] + [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
]
_BOLD = [f"{d}/NotoSansCJK-Bold.ttc" for d in _NOTO_DIRS] + [
    f"{d}/NotoSansCJK-Medium.ttc" for d in _NOTO_DIRS
] + ["C:/Windows/Fonts/msyhbd.ttc"]

SEARCH_PATHS: tuple[str, ...] = tuple(_REGULAR)


_chosen: dict[bool, str | None] = {False: None, True: None}  # bold -> a font file the user named


def use_fonts(regular: str | None, bold: str | None = None) -> None:
    """Try these font files first (the process's settings); the search below is the fallback."""
    if (regular, bold) != (_chosen[False], _chosen[True]):
        _chosen[False], _chosen[True] = regular, bold
        find_cjk_font.cache_clear()
        load_font.cache_clear()


class CJKFontError(RuntimeError):
    """No usable CJK font was found."""


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int = 0  # face index inside a .ttc collection


def _pick_index(path: str) -> int:
    """In a collection prefer the Simplified Chinese face (Noto 'SC')."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    best = 0
    for i in range(16):
        try:
            family, _style = ImageFont.truetype(path, 12, index=i).getname()
        except OSError:
            break
        fam = (family or "").upper()
        if "MONO" in fam:
            continue
        if fam.endswith(" SC") or " SC " in fam or "GB" in fam or fam.endswith(" CN"):
            return i
    return best


def _renders_chinese(face: FontFace) -> bool:
    try:
        font = ImageFont.truetype(face.path, 32, index=face.index)
    except OSError:
        return False

    def ink(text: str) -> Image.Image:
        im = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(im).text((4, 2), text, font=font, fill=255)
        return im

    a, b, tofu = ink("中"), ink("国"), ink("\U0010fffd")
    if a.getbbox() is None:
        return False
    # Two different ideographs must render differently and differ from .notdef.
    return ImageChops.difference(a, b).getbbox() is not None and (
        ImageChops.difference(a, tofu).getbbox() is not None
    )


def _fc_match() -> str | None:
    exe = shutil.which("fc-match")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out and os.path.isfile(out) else None


@functools.lru_cache(maxsize=4)
def find_cjk_font(bold: bool = False) -> FontFace:
    """Return a font face able to render Chinese; raise :class:`CJKFontError` if none."""
    searched: list[str] = []
    candidates: list[str] = []
    named = _chosen[bold] or _chosen[False]
    if named:
        candidates.append(named)
    candidates += (_BOLD + _REGULAR) if bold else _REGULAR
    for path in candidates:
        searched.append(path)
        if os.path.isfile(path):
            face = FontFace(path, _pick_index(path))
            if _renders_chinese(face):
                return face
    fc = _fc_match()
    searched.append(f"fc-match :lang=zh-cn -> {fc or 'nothing'}")
    if fc:
        face = FontFace(fc, _pick_index(fc))
        if _renders_chinese(face):
            return face
    raise CJKFontError(
        "No CJK-capable font found (needed to render Chinese product names and the "
        "'AI生成' label). Searched: " + ", ".join(searched) + ". "
        f"Install one, e.g. on Debian/Ubuntu: apt-get install {DEBIAN_PACKAGE} "
        "(or fonts-wqy-microhei), or point LIVEHOST_CJK_FONT at a .ttf/.ttc/.otf file."
    )


@functools.lru_cache(maxsize=64)
def load_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    face = find_cjk_font(bold)
    return ImageFont.truetype(face.path, max(6, int(size)), index=face.index)
