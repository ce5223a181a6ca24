"""Subtitles: the sentence being spoken, burned into the picture and kept as SRT cues.

A stage between render and encode.  It follows the sentence events the media frames carry (a sentence
starts in the frame whose audio it starts in, and ends likewise), so a cue is exactly as long as its
speech; the burned-in text sits above the product card, wrapped to two lines at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from livehost.core.clock import SAMPLE_RATE
from livehost.core.frames import Frame, MediaFrame, SentenceEnded, SentenceStarted
from livehost.core.pipeline import Stage
from streaming.avatar.canvas import downsample_premul
from streaming.avatar.card import wrap_text
from streaming.avatar.fonts import load_font
from streaming.avatar.renderer2d import card_box
from streaming.avatar.yuv import Sprite, planes


@dataclass(frozen=True)
class Cue:
    start: int  # pts, samples
    end: int
    text: str


def _stamp(pts: int) -> str:
    ms = round(pts * 1000 / SAMPLE_RATE)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def srt(cues: list[Cue]) -> str:
    return "".join(f"{i}\n{_stamp(c.start)} --> {_stamp(c.end)}\n{c.text}\n\n" for i, c in enumerate(cues, 1))


class SubtitleStage(Stage):
    """MediaFrame -> MediaFrame: records a cue per spoken sentence; with ``burn``, draws it on the frames."""

    def __init__(self, width: int, height: int, *, burn: bool = True, maxsize: int = 4) -> None:
        super().__init__("subtitles", maxsize=maxsize)
        self.width, self.height, self.burn = width, height, burn
        self.cues: list[Cue] = []
        self._open: tuple[int, str] | None = None
        self._sprite: tuple[str, Sprite, int, int] | None = None
        self.bottom = card_box(width, height)[1] - max(4, height // 80)

    def _sprite_for(self, text: str) -> tuple[Sprite, int, int]:
        if self._sprite is None or self._sprite[0] != text:
            ss, W = 2, self.width
            fs = max(10, int(0.042 * min(W, self.height)))
            font = load_font(fs * ss, bold=True)
            pad = int(0.4 * fs * ss)
            lines = wrap_text(text, font, W * ss * 0.86 - 2 * pad, 2)
            line_h = int(fs * ss * 1.3)
            w = max(int(font.getlength(line)) for line in lines) + 2 * pad
            h = line_h * len(lines) + 2 * pad
            w, h = (w + 2 * ss - 1) // (2 * ss) * 2 * ss, (h + 2 * ss - 1) // (2 * ss) * 2 * ss
            img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
            d = ImageDraw.Draw(img)
            d.rounded_rectangle((0, 0, w - 1, h - 1), radius=pad, fill=(0, 0, 0, 170))
            for i, line in enumerate(lines):
                d.text((w // 2, pad + i * line_h + line_h // 2), line, font=font, fill=(255, 255, 255, 255), anchor="mm")
            sprite = Sprite(*downsample_premul(img, ss))
            x = (W - sprite.w) // 2 // 2 * 2
            y = max(0, (self.bottom - sprite.h) // 2 * 2)
            self._sprite = (text, sprite, x, y)
        _, sprite, x, y = self._sprite
        return sprite, x, y

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, MediaFrame):
            for e in frame.events:
                if isinstance(e, SentenceStarted):
                    self._open = (e.pts, e.handle.speech.text)
                elif isinstance(e, SentenceEnded) and self._open is not None:
                    self.cues.append(Cue(self._open[0], e.pts, self._open[1]))
                    self._open = None
            if self.burn and self._open is not None:
                picture = np.array(frame.picture, copy=True)  # a host may hand the same array out twice
                sprite, x, y = self._sprite_for(self._open[1])
                sprite.blend(*planes(picture, self.width, self.height), x, y)
                frame = MediaFrame(frame.pts, frame.index, frame.audio, picture, frame.events)
        await self.push(frame)

    def finish(self, pts: int) -> None:
        """Close a sentence still open when the recording ends at ``pts``."""
        if self._open is not None:
            self.cues.append(Cue(self._open[0], pts, self._open[1]))
            self._open = None
