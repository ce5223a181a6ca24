"""Text-to-speech backends: text in, 48 kHz PCM with phoneme timings out."""

from __future__ import annotations

from streaming.tts.base import SAMPLE_RATE, Phone, TtsBackend, TtsError, Utterance

ENGINES = ("auto", "espeak", "piper")


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


def make_tts(engine: str = "auto") -> TtsBackend:
    """``auto``: Piper for English where installed, espeak-ng for Chinese (and English otherwise)."""
    from streaming.tts.espeak import EspeakTts
    from streaming.tts.piper import PiperTts, piper_available

    if engine not in ENGINES:
        raise ValueError(f"voice.engine: unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "espeak":
        espeak = EspeakTts()
        return ByLanguage({"zh": espeak, "en": espeak})
    if engine == "piper":
        return ByLanguage({"en": PiperTts(), "zh": EspeakTts()})
    espeak = EspeakTts()
    english = PiperTts() if piper_available() else espeak
    return ByLanguage({"zh": espeak, "en": english})


__all__ = ["SAMPLE_RATE", "Phone", "TtsBackend", "TtsError", "Utterance", "make_tts", "ByLanguage"]
