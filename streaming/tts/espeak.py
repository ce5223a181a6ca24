"""espeak-ng through its C API (libespeak-ng), for per-phoneme timing.

The command-line wrappers give no timing; the C API reports a PHONEME
event for every phoneme with its position in the audio.  libespeak-ng is
process-global, so one lock serializes every use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

from streaming.tts.base import Phone, TtsBackend, TtsError, Utterance, normalize, scale_position, to_48k

VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}  # `cmn` on 1.51 reads tone digits in English
RATE_WPM = {"zh": 230, "en": 170}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA = 0x1, 0x2
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):  # espeak_EVENT, speak_lib.h
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))

_lock = threading.Lock()
_lib = None
_rate = 0


def _load():
    global _lib, _rate
    if _lib is not None:
        return _lib
    path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise TtsError(f"espeak-ng: cannot load libespeak-ng ({e}); install it: apt-get install libespeak-ng1 espeak-ng-data") from None
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
    if rate <= 0:
        raise TtsError(f"espeak-ng: initialization failed ({rate}); is espeak-ng-data installed?")
    _lib, _rate = lib, rate
    return lib


class EspeakTts(TtsBackend):
    name = "espeak"

    def __init__(self) -> None:
        with _lock:
            self._lib = _load()
        self.rate = _rate

    def synthesize(self, text: str, lang: str) -> Utterance:
        voice = VOICES.get(lang)
        if voice is None:
            raise TtsError(f"espeak-ng: no voice for lang {lang!r} (have {sorted(VOICES)})")
        chunks: list[np.ndarray] = []
        events: list[tuple[str, int]] = []  # (phoneme, sample at engine rate)
        delivered = [0]

        def on_synth(wav, numsamples, evs) -> int:
            if numsamples > 0 and wav:
                chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
            i = 0
            while evs[i].type != _EVENT_LIST_TERMINATED:
                ev = evs[i]
                if ev.type == _EVENT_PHONEME:
                    symbol = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                    events.append((symbol, ev.audio_position * self.rate // 1000))
                i += 1
            delivered[0] += max(numsamples, 0)
            return 0

        callback = _Callback(on_synth)
        data = text.encode("utf-8") + b"\0"
        with _lock:
            lib = self._lib
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise TtsError(f"espeak-ng: voice {voice!r} not found; install espeak-ng-data")
            lib.espeak_SetParameter(_PARAM_RATE, RATE_WPM[lang], 0)
            err = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise TtsError(f"espeak-ng ({voice}): synthesis failed with status {err} for {text!r}")
        raw = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        pcm = normalize(to_48k(raw, self.rate))
        return Utterance(pcm, _spans(events, self.rate, len(pcm)))


def _spans(events: list[tuple[str, int]], rate: int, total: int) -> tuple[Phone, ...]:
    """Phoneme events mark starts; each phone runs to the next one's start."""
    phones = []
    starts = [min(scale_position(s, rate), total) for _, s in events]
    for i, (symbol, _) in enumerate(events):
        start = starts[i]
        end = starts[i + 1] if i + 1 < len(events) else total
        if end > start and symbol.strip():
            phones.append(Phone(symbol, start, end))
    return tuple(phones)
