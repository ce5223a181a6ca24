"""Estimated phone timings: espeak-ng's phones carried onto another voice saying the same text.

Piper reports its true phone timings, so the estimate can be scored against the truth, and against the
naive estimate (the guide's phones stretched evenly).  The sentences here were not used to tune the
aligner (those are in the README's numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from streaming.tts.align import carry_phones, features, warp
from streaming.tts.base import Phone
from streaming.tts.espeak import EspeakTts
from streaming.tts.visemes import track_from_phones

FRAME = 1920  # 40 ms at 48 kHz: one 25 fps picture


def _frames(phones, samples: int) -> np.ndarray:
    track = track_from_phones(phones, samples)
    return np.array([int(track.at(k * FRAME)) for k in range(samples // FRAME)])


def test_the_warp_of_a_recording_onto_itself_is_the_identity():
    u = EspeakTts().synthesize("The skillet goes in the oven.", "en")
    f = features(u.pcm)
    assert np.abs(warp(f, f) - np.arange(len(f))).max() <= 1


def test_a_slower_reading_moves_every_phone_later_in_order():
    espeak = EspeakTts()
    guide = espeak.synthesize("Twelve hours hot, twenty four hours cold.", "en")
    slow = np.repeat(guide.pcm, 2)[: 2 * guide.samples]  # half speed, an octave down: a different 'voice'
    phones = carry_phones(guide, slow)
    assert len(phones) >= 0.9 * len(guide.phones)
    ratios = [p.start / q.start for p, q in zip(phones, guide.phones, strict=False) if q.start > 4800]
    assert 1.6 < float(np.median(ratios)) < 2.4


def test_phones_estimated_for_another_voice_match_its_true_timings():
    piper = pytest.importorskip("streaming.tts.piper")
    if not piper.piper_available():
        pytest.skip("piper is not installed")
    truth_voice, guide_voice = piper.PiperTts(), EspeakTts()
    held_out = ["Each box holds ten sheet masks with hyaluronic acid.", "The lid opens with one button and never leaks.",
                "Brew the green tea with water at eighty degrees.", "Free shipping ends tonight at midnight."]
    estimated, uniform = [], []
    for text in held_out:
        truth, guide = truth_voice.synthesize(text, "en"), guide_voice.synthesize(text, "en")
        want = _frames(truth.phones, truth.samples)
        got = _frames(carry_phones(guide, truth.pcm), truth.samples)
        k = truth.samples / guide.samples
        naive = _frames([Phone(p.symbol, int(p.start * k), int(p.end * k)) for p in guide.phones], truth.samples)
        estimated.append(np.mean(got == want))
        uniform.append(np.mean(naive == want))
    assert np.mean(estimated) > np.mean(uniform) + 0.1, (estimated, uniform)
    assert np.mean(estimated) > 0.45, estimated
