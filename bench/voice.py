"""Cloned-voice speed and timing quality, on this machine, against baselines measured in the same run.

a) OpenVoice v2 converter at its real size (random weights: the speed of a trained one is the same), one
   torch thread and two: seconds of compute per second of speech, and its ratio to the base voice (espeak-ng) alone.
b) A YourTTS-size VITS with a speaker encoder (VITS defaults, random weights): the same ratio.
c) Estimated phone timings (espeak-ng guide aligned to Piper, whose true timings are known): agreement of
   the mouth shape per 25 fps frame with the truth, exact and within one frame, against the naive estimate
   (the guide stretched evenly), on the sentences the aligner was tuned on and on held-out ones; and the
   alignment's own cost per second of speech.

    .venv/bin/python bench/voice.py [--device cuda]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from streaming.tts.align import carry_phones  # noqa: E402
from streaming.tts.base import SAMPLE_RATE, Phone  # noqa: E402
from streaming.tts.coqui import CoquiTts  # noqa: E402
from streaming.tts.espeak import EspeakTts  # noqa: E402
from streaming.tts.visemes import track_from_phones  # noqa: E402
from tests.unit.test_coqui import LINES_A, speaker_sample  # noqa: E402

TEXTS = [("这款保温杯是三百一十六不锈钢内胆，保温十二个小时。", "zh"), ("The cast iron skillet works on induction.", "en"),
         ("现在下单第二件半价，库存不多了。", "zh"), ("Order now and get free shipping tonight.", "en")]
TUNED = ["This thermos keeps your tea hot for twelve hours.", "The cast iron pan works on induction and in the oven.",
         "Order now and get the second one at half price.",
         "Made from food grade stainless steel, it weighs only three hundred grams."]
HELD_OUT = ["Each box holds ten sheet masks with hyaluronic acid.", "The lid opens with one button and never leaks.",
            "Brew the green tea with water at eighty degrees.", "Free shipping ends tonight at midnight.",
            "The blue mug holds three hundred and fifty millilitres.", "Our pan is pre-seasoned and ready to cook."]


def real_openvoice(folder: Path) -> Path:
    import json

    from TTS.vc.configs.openvoice_config import OpenVoiceConfig
    from TTS.vc.models.openvoice import OpenVoice

    folder.mkdir(parents=True, exist_ok=True)
    config = OpenVoiceConfig()  # OpenVoice v2's converter shape
    model = OpenVoice(config)
    (folder / "config.json").write_text(json.dumps({"data": {"sampling_rate": 22050, "filter_length": 1024,
                                                             "hop_length": 256, "win_length": 1024}, "model": {}}))
    torch.save({"model": model.state_dict()}, folder / "checkpoint.pth")
    print(f"   openvoice converter: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M weights")
    return folder


def real_vits(folder: Path) -> Path:
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.encoder.configs.speaker_encoder_config import SpeakerEncoderConfig
    from TTS.encoder.utils.generic_utils import setup_encoder_model
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    folder.mkdir(parents=True, exist_ok=True)
    enc = SpeakerEncoderConfig(model_params={"model_name": "resnet", "input_dim": 64, "proj_dim": 512,
                                             "use_torch_spec": False})
    enc.audio.num_mels, enc.audio.sample_rate = 64, 16000
    enc.num_loader_workers, enc.num_classes_in_batch, enc.num_utter_per_class, enc.epochs = 0, 1, 1, 1
    enc.save_json(str(folder / "encoder_config.json"))
    torch.save({"model": setup_encoder_model(enc).state_dict()}, folder / "encoder.pth")
    args = VitsArgs(init_discriminator=False, use_d_vector_file=True, d_vector_dim=512,
                    speaker_encoder_model_path=str(folder / "encoder.pth"),
                    speaker_encoder_config_path=str(folder / "encoder_config.json"))
    config = VitsConfig(model_args=args, use_phonemes=True, phonemizer="espeak", phoneme_language="en-us",
                        text_cleaner="multilingual_cleaners", use_d_vector_file=True, d_vector_dim=512,
                        audio=BaseAudioConfig(sample_rate=16000, hop_length=256, win_length=1024, fft_size=1024))
    model = Vits(config)
    config.save_json(str(folder / "config.json"))
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    print(f"   yourtts-size vits: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M weights")
    return folder


def speed(tts, base, texts) -> tuple[float, float]:
    tts.synthesize(*texts[0])  # warm up (numba, phonemizer)
    base_s = voice_s = speech = 0.0
    for text, lang in texts:
        t = time.perf_counter()
        u = base.synthesize(text, lang)
        base_s += time.perf_counter() - t
        t = time.perf_counter()
        v = tts.synthesize(text, lang)
        voice_s += time.perf_counter() - t
        speech += v.samples / SAMPLE_RATE
        assert u.samples and v.samples
    return voice_s / speech, base_s / speech


def frames(phones, samples: int) -> np.ndarray:
    track = track_from_phones(phones, samples)
    return np.array([int(track.at(k * 1920)) for k in range(samples // 1920)])


def timing(texts) -> tuple[float, float, float, float]:
    from streaming.tts.piper import PiperTts

    piper, espeak = PiperTts(), EspeakTts()
    exact, near, naive, cost = [], [], [], 0.0
    speech = 0.0
    for text in texts:
        truth, guide = piper.synthesize(text, "en"), espeak.synthesize(text, "en")
        want = frames(truth.phones, truth.samples)
        t = time.perf_counter()
        got = frames(carry_phones(guide, truth.pcm), truth.samples)
        cost += time.perf_counter() - t
        speech += truth.samples / SAMPLE_RATE
        k = truth.samples / guide.samples
        flat = frames([Phone(p.symbol, int(p.start * k), int(p.end * k)) for p in guide.phones], truth.samples)
        exact.append(np.mean(got == want))
        near.append(np.mean((got == want) | (np.roll(got, 1) == want) | (np.roll(got, -1) == want)))
        naive.append(np.mean(flat == want))
    return float(np.mean(exact)), float(np.mean(near)), float(np.mean(naive)), cost / speech


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] for (a) and (b)")
    device = p.parse_args().device
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ref = speaker_sample(root / "ref.wav", LINES_A)
        print("a) OpenVoice v2 converter over espeak-ng, 1 thread")
        base = EspeakTts()
        ov = CoquiTts(real_openvoice(root / "ov"), ref, base, device=device)
        rtf, base_rtf = speed(ov, base, TEXTS)
        print(f"   {rtf:.3f} s compute per s of speech (base voice alone {base_rtf:.3f}: ratio {rtf / base_rtf:.1f}x)")
        torch.set_num_threads(2)
        rtf2, _ = speed(ov, base, TEXTS)
        print(f"   2 threads: {rtf2:.3f} s per s of speech ({rtf / rtf2:.2f}x the 1-thread speed)")
        torch.set_num_threads(1)
        ov.close()
        print("b) YourTTS-size VITS with a speaker encoder, 1 thread")
        base = EspeakTts()
        vits = CoquiTts(real_vits(root / "vits"), ref, base, device=device)
        en = [t for t in TEXTS if t[1] == "en"]
        rtf, base_rtf = speed(vits, base, en)
        print(f"   {rtf:.3f} s compute per s of speech (espeak-ng {base_rtf:.3f}: ratio {rtf / base_rtf:.1f}x)")
        vits.close()
    print("c) estimated phone timings (espeak-ng guide -> Piper, true timings known), mouth shape per frame")
    for name, texts in (("tuned on", TUNED), ("held out", HELD_OUT)):
        exact, near, naive, cost = timing(texts)
        print(f"   {name}: {exact:.0%} exact, {near:.0%} within one frame; naive stretch {naive:.0%} "
              f"(ratio {exact / naive:.1f}x); alignment {cost * 1000:.0f} ms per s of speech")


if __name__ == "__main__":
    main()
