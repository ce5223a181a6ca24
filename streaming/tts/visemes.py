"""Visemes: mouth shapes derived from phoneme timings.

Nine shapes cover what a viewer reads on a drawn host's lips.  Bilabials
(p, b, m) close the lips *before* the phoneme event: espeak-ng places the
p/t/k event on the burst, after 50–70 ms of closure, so the closed-lip
shape starts ``closure_lead`` samples early.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streaming.tts.base import SAMPLE_RATE, Phone


class Viseme(enum.IntEnum):
    REST = 0
    MBP = 1  # lips closed
    FV = 2  # lower lip to upper teeth
    AA = 3  # wide open
    E = 4  # mid open, spread
    I = 5  # noqa: E741 - the viseme's name
    O = 6  # noqa: E741 - round open
    U = 7  # round small, w
    TEETH = 8  # nearly closed, teeth visible


OPENNESS = {
    Viseme.REST: 0.0, Viseme.MBP: 0.0, Viseme.FV: 0.15, Viseme.AA: 1.0, Viseme.E: 0.6,
    Viseme.I: 0.35, Viseme.O: 0.75, Viseme.U: 0.3, Viseme.TEETH: 0.2,
}

# Multi-character symbols first (espeak-ng IPA names for Mandarin and English, Piper IPA).
_SYMBOLS = {
    "tʃ": Viseme.TEETH, "dʒ": Viseme.TEETH, "ts": Viseme.TEETH, "tɕ": Viseme.TEETH, "dz": Viseme.TEETH,
    "aɪ": Viseme.AA, "aʊ": Viseme.AA, "ɑu": Viseme.AA, "ai": Viseme.AA, "au": Viseme.AA,
    "eɪ": Viseme.E, "ei": Viseme.E, "oʊ": Viseme.O, "ou": Viseme.O, "ɔɪ": Viseme.O,
    "əl": Viseme.E, "ɚ": Viseme.E, "iou": Viseme.I, "uə": Viseme.U, "yæ": Viseme.U,
}
_FIRST = {
    **dict.fromkeys("pbm", Viseme.MBP),
    **dict.fromkeys("fv", Viseme.FV),
    **dict.fromkeys("aɑæʌɐɒ", Viseme.AA),
    **dict.fromkeys("eɛəɜɘ", Viseme.E),
    **dict.fromkeys("kgŋhxɣʔqɡ", Viseme.E),  # back consonants: the mouth stays mid-open
    **dict.fromkeys("iɪjɨ", Viseme.I),
    **dict.fromkeys("oɔ", Viseme.O),
    **dict.fromkeys("uʊwyʏɯ", Viseme.U),
    **dict.fromkeys("sztdnlɾθðʃʒɕʑrɹʂʐɻçɬ", Viseme.TEETH),
}
_MARKS = str.maketrans("", "", "ˈˌːˑ.-ʰʲ̩̃0123456789'")


def viseme_for(symbol: str) -> Viseme:
    """The mouth shape for one phoneme symbol; REST for pauses and unknown symbols."""
    s = symbol.translate(_MARKS).strip().lower()
    if not s:
        return Viseme.REST
    if s in _SYMBOLS:
        return _SYMBOLS[s]
    for length in (3, 2):
        if s[:length] in _SYMBOLS:
            return _SYMBOLS[s[:length]]
    return _FIRST.get(s[0], Viseme.REST)


@dataclass(frozen=True)
class VisemeTrack:
    """Piecewise-constant mouth shapes: span i is ``[starts[i], starts[i+1])``; the last runs to ``end``."""

    starts: np.ndarray  # int64, sorted
    visemes: np.ndarray  # uint8
    end: int

    def at(self, sample: int) -> Viseme:
        if sample < 0 or sample >= self.end or not len(self.starts):
            return Viseme.REST
        i = int(np.searchsorted(self.starts, sample, side="right")) - 1
        return Viseme(int(self.visemes[i])) if i >= 0 else Viseme.REST

    def openness(self, sample: int) -> float:
        return OPENNESS[self.at(sample)]


FRAME = SAMPLE_RATE // 25  # shortest span a 25 fps picture can show


def track_from_phones(phones: Sequence[Phone], end: int, *, closure_lead: int = 2880) -> VisemeTrack:
    """Mouth shapes for ``phones``; pauses are REST; p/b/m close ``closure_lead`` samples early
    (never before the previous phone's start) and stay closed for at least one video frame."""
    spans: list[tuple[int, Viseme]] = []

    def add(start: int, v: Viseme) -> None:
        while spans and spans[-1][0] >= start:
            spans.pop()  # a later shape takes over from here
        if spans and spans[-1][1] is Viseme.MBP and start < spans[-1][0] + FRAME:
            start = spans[-1][0] + FRAME  # hold a closure long enough to be seen
        spans.append((start, v))

    add(0, Viseme.REST)
    prev_start = prev_end = 0
    for phone in phones:
        v = viseme_for(phone.symbol)
        if phone.start > prev_end:
            add(prev_end, Viseme.REST)
        add(max(phone.start - closure_lead, prev_start, 0) if v is Viseme.MBP else phone.start, v)
        prev_start, prev_end = phone.start, phone.end
    add(prev_end, Viseme.REST)
    kept = [(s, v) for s, v in spans if s < end] or [(0, Viseme.REST)]
    return VisemeTrack(
        np.array([s for s, _ in kept], dtype=np.int64), np.array([int(v) for _, v in kept], dtype=np.uint8), end
    )
