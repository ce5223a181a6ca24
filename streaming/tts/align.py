"""Phone timings for speech that came without them, by alignment with a guide voice.

A voice model that gives no phoneme durations (XTTS, for one) still has to move the host's mouth in time.
The estimate synthesises the same text with a voice that does report its phones (espeak-ng), and aligns
the two recordings with dynamic time warping over cepstral features, which follow what is said more than
who says it.  Each guide phone is then carried to the time its frame was matched to in the model's audio.

The warp allows the guide to move 0, 1 or 2 frames for every frame of the target after both were
brought to the same length, so local tempo may differ up to twofold; one row of the cost table is
computed at a time with numpy, so a 15 s sentence (1,500 x 1,500 frames) aligns in tens of ms.
"""

from __future__ import annotations

import numpy as np

from streaming.tts.base import SAMPLE_RATE, Phone, Utterance

HOP = SAMPLE_RATE // 100  # 10 ms frames
WINDOW = SAMPLE_RATE * 25 // 1000
N_MELS, N_CEPS = 40, 13
_FFT = 2048


def _mel_bank(n_mels: int = N_MELS, fmin: float = 60.0, fmax: float = 7600.0) -> np.ndarray:
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(_FFT, 1.0 / SAMPLE_RATE)
    bank = np.zeros((n_mels, len(bins)), np.float32)
    for k in range(n_mels):
        lo, mid, hi = edges[k], edges[k + 1], edges[k + 2]
        bank[k] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0.0, None)
    return bank


_BANK = _mel_bank()
_DCT = np.cos(np.pi / N_MELS * (np.arange(N_MELS)[None, :] + 0.5) * np.arange(1, N_CEPS + 1)[:, None]).astype(np.float32)


def features(pcm: np.ndarray) -> np.ndarray:
    """Cepstra (without c0, mean-normalised) and a loudness track, one row per 10 ms of 48 kHz ``pcm``."""
    x = pcm.astype(np.float32) / 32768.0
    n = max(1, 1 + (len(x) - WINDOW) // HOP) if len(x) >= WINDOW else 1
    x = np.pad(x, (0, max(0, (n - 1) * HOP + WINDOW - len(x))))
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW)[::HOP][:n] * np.hanning(WINDOW).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, _FFT)) ** 2
    logmel = np.log(power @ _BANK.T + 1e-8)
    ceps = logmel @ _DCT.T
    ceps -= ceps.mean(axis=0, keepdims=True)
    loud = np.log(power.sum(axis=1) + 1e-8)
    loud = (loud - loud.max()) / 10.0  # ~0 at the loudest frame, negative in pauses
    return np.concatenate([ceps / (np.linalg.norm(ceps, axis=1, keepdims=True) + 1e-6), loud[:, None]], axis=1)


def _stretch(f: np.ndarray, n: int) -> np.ndarray:
    """``f`` resampled to ``n`` rows (linear)."""
    if len(f) == n:
        return f
    pos = np.linspace(0, len(f) - 1, n)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(f) - 1)
    w = (pos - lo)[:, None]
    return f[lo] * (1 - w) + f[hi] * w


def warp(target: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """For each row of ``target``, the (fractional) row of ``guide`` it matches, monotone non-decreasing."""
    n, m = len(target), len(guide)
    if n == 0 or m == 0:
        return np.zeros(n)
    g = _stretch(guide, n)
    cost = 1.0 - target[:, :-1] @ g[:, :-1].T  # cosine distance between cepstra
    cost += 2.0 * np.abs(target[:, -1:] - g[:, -1][None, :])  # and between loudness
    big = np.float32(1e9)
    acc = np.full(n, big, np.float32)
    acc[0] = cost[0, 0]
    moves = np.zeros((n, n), np.int8)
    for i in range(1, n):
        stay, one = acc, np.concatenate([[big], acc[:-1]])
        two = np.concatenate([[big, big], acc[:-2]])
        choice = np.argmin(np.stack([stay, one, two]), axis=0)
        acc = np.choose(choice, [stay, one, two]) + cost[i]
        moves[i] = choice
    j = n - 1
    path = np.zeros(n, np.int64)
    for i in range(n - 1, -1, -1):
        path[i] = j
        if i:
            j = max(0, j - int(moves[i, j]))
    return path * ((m - 1) / max(1, n - 1))  # back to the guide's own frame numbers


def carry_phones(guide: Utterance, target_pcm: np.ndarray) -> tuple[Phone, ...]:
    """``guide``'s phones moved onto ``target_pcm`` (the same text in another voice), in its samples."""
    if not guide.phones or len(target_pcm) == 0:
        return ()
    where = warp(features(target_pcm), features(guide.pcm))  # target frame -> guide frame

    def to_target(sample: int) -> int:
        frame = sample / HOP
        i = int(np.searchsorted(where, frame, side="left"))  # the first target frame at or past it
        return min(len(target_pcm), i * HOP)

    out: list[Phone] = []
    for p in guide.phones:
        start, end = to_target(p.start), to_target(p.end)
        if out and start < out[-1].end:
            start = out[-1].end
        if end > start:
            out.append(Phone(p.symbol, start, end))
    return tuple(out)
