"""Text-to-speech backends: text in, 48 kHz PCM with phoneme timings out."""

from __future__ import annotations

import logging

from streaming.tts.base import SAMPLE_RATE, Phone, TtsBackend, TtsError, Utterance

log = logging.getLogger(__name__)

ENGINES = ("auto", "espeak", "piper", "coqui")


class ByLanguage(TtsBackend):
    """Routes each sentence to the backend for its language."""

    def __init__(self, backends: dict[str, TtsBackend]) -> None:
        self.backends = backends
        self.name = "+".join(f"{lang}:{b.name}" for lang, b in sorted(backends.items()))

    def synthesize(self, text: str, lang: str) -> Utterance:
        backend = self.backends.get(lang)
        if backend is None:
            raise TtsError(f"tts: no voice for lang {lang!r} (have {sorted(self.backends)})")
        return backend.synthesize(text, lang)

    def close(self) -> None:
        for b in set(self.backends.values()):
            b.close()


def make_tts(engine: str = "auto", *, model: str | None = None, reference: str | None = None, device: str = "cpu",
             allow_noncommercial: bool = False, threads: int = 1) -> TtsBackend:
    """``auto``: Piper for English where installed, espeak-ng for Chinese (and English otherwise).

    ``coqui``: the reference speaker's voice from the Coqui model folder ``model`` (see
    :mod:`streaming.tts.coqui`), over the ``auto`` voices; a language the model cannot speak keeps the
    ``auto`` voice (logged)."""
    from streaming.tts.espeak import EspeakTts
    from streaming.tts.piper import PiperTts, piper_available

    if engine not in ENGINES:
        raise ValueError(f"voice.engine: unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "coqui":
        from streaming.tts.coqui import CoquiTts

        if not model or not reference:
            raise TtsError("voice: the coqui engine needs voice.model (a local model folder) and voice.reference")
        base = make_tts("auto")  # the converter's input, the guide for estimated timings, and the fallback
        cloned = CoquiTts(model, reference, base, device=device, allow_noncommercial=allow_noncommercial,
                          threads=threads)
        routes: dict[str, TtsBackend] = {}
        for lang in ("zh", "en"):
            if cloned.speaks(lang):
                routes[lang] = cloned
            else:
                log.warning("voice: %s cannot speak %r; that language keeps the default voice", cloned.name, lang)
                routes[lang] = base
        return ByLanguage(routes)
    if engine == "espeak":
        espeak = EspeakTts()
        return ByLanguage({"zh": espeak, "en": espeak})
    if engine == "piper":
        return ByLanguage({"en": PiperTts(), "zh": EspeakTts()})
    espeak = EspeakTts()
    english = PiperTts() if piper_available() else espeak
    return ByLanguage({"zh": espeak, "en": english})


__all__ = ["SAMPLE_RATE", "Phone", "TtsBackend", "TtsError", "Utterance", "make_tts", "ByLanguage"]
