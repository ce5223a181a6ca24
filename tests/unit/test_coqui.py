"""The cloned voice (Coqui TTS) on tiny untrained models built here: a YourTTS-style VITS with a speaker
encoder (the model's own durations drive the mouth) and an OpenVoice converter over the channel's voice; the
estimated timings for a model that gives none; the errors a user sees for a bad folder or sample."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("TTS", reason="the voice extra (coqui-tts) is not installed")

import torch  # noqa: E402

from streaming.tts import make_tts  # noqa: E402
from streaming.tts.base import SAMPLE_RATE, TtsError  # noqa: E402
from streaming.tts.coqui import CoquiTts, model_kind, read_reference  # noqa: E402
from streaming.tts.espeak import EspeakTts  # noqa: E402
from streaming.tts.visemes import Viseme, track_from_phones  # noqa: E402


def build_tiny_vits(folder: Path) -> Path:
    """An untrained YourTTS-style VITS (espeak phonemes, d-vectors from an LSTM speaker encoder), ~1.4 M weights."""
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.encoder.configs.speaker_encoder_config import SpeakerEncoderConfig
    from TTS.encoder.utils.generic_utils import setup_encoder_model
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    encoder = SpeakerEncoderConfig(model_params={"model_name": "lstm", "input_dim": 40, "proj_dim": 16, "lstm_dim": 32,
                                                 "num_lstm_layers": 1, "use_torch_spec": False})
    encoder.audio.num_mels, encoder.audio.sample_rate = 40, 16000
    encoder.num_loader_workers, encoder.num_classes_in_batch, encoder.num_utter_per_class, encoder.epochs = 0, 1, 1, 1
    encoder.save_json(str(folder / "encoder_config.json"))
    torch.save({"model": setup_encoder_model(encoder).state_dict()}, folder / "encoder.pth")
    args = VitsArgs(hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
                    num_layers_text_encoder=1, num_layers_posterior_encoder=1, num_layers_flow=1,
                    upsample_initial_channel_decoder=32, resblock_kernel_sizes_decoder=[3],
                    resblock_dilation_sizes_decoder=[[1, 3, 5]], upsample_rates_decoder=[8, 8, 4],
                    upsample_kernel_sizes_decoder=[16, 16, 8], init_discriminator=False, use_d_vector_file=True,
                    d_vector_dim=16, speaker_encoder_model_path=str(folder / "encoder.pth"),
                    speaker_encoder_config_path=str(folder / "encoder_config.json"))
    config = VitsConfig(model_args=args, use_phonemes=True, phonemizer="espeak", phoneme_language="en-us",
                        text_cleaner="multilingual_cleaners", use_d_vector_file=True, d_vector_dim=16,
                        audio=BaseAudioConfig(sample_rate=16000, hop_length=256, win_length=1024, fft_size=1024))
    model = Vits(config)
    config.model_args.speaker_encoder_model_path = "/elsewhere/encoder.pth"  # as saved on another box
    config.model_args.speaker_encoder_config_path = "/elsewhere/encoder_config.json"
    config.save_json(str(folder / "config.json"))
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    return folder


def build_tiny_openvoice(folder: Path) -> Path:
    """An untrained OpenVoice converter in OpenVoice v2's own layout (config.json with data/model, checkpoint.pth)."""
    from TTS.vc.configs.openvoice_config import OpenVoiceArgs, OpenVoiceConfig
    from TTS.vc.models.openvoice import OpenVoice

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    shape = {"inter_channels": 16, "hidden_channels": 16, "filter_channels": 32, "n_heads": 2, "n_layers": 1,
             "upsample_initial_channel": 32, "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
             "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 3, 5]], "gin_channels": 16}
    config = OpenVoiceConfig(model_args=OpenVoiceArgs(**shape))
    config.audio.fft_size, config.audio.hop_length, config.audio.win_length = 512, 256, 512
    model = OpenVoice(config)
    (folder / "config.json").write_text(json.dumps({
        "_version_": "v2", "data": {"sampling_rate": 22050, "filter_length": 512, "hop_length": 256, "win_length": 512},
        "model": {**shape, "zero_g": True}}), encoding="utf-8")
    torch.save({"model": model.state_dict()}, folder / "checkpoint.pth")
    return folder


def write_wav(path: Path, pcm: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype(np.int16).tobytes())
    return path


def speaker_sample(path: Path, lines: list[str], lang: str = "en") -> Path:
    """A reference 'recording': a synthetic speaker (espeak-ng) reading ``lines``; nobody's voice."""
    espeak = EspeakTts()
    return write_wav(path, np.concatenate([espeak.synthesize(t, lang).pcm for t in lines]))


LINES_A = ["Welcome to the shop, today we have a thermos on sale.", "It keeps your tea hot for twelve hours.",
           "Order now and the second one is half price."]
LINES_B = ["这款保温杯是三百一十六不锈钢的。", "保温十二个小时，保冷二十四小时。", "现在下单第二件半价。"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("voices")
    return {"vits": build_tiny_vits(root / "yourtts"), "openvoice": build_tiny_openvoice(root / "converter"),
            "a": speaker_sample(root / "a.wav", LINES_A), "b": speaker_sample(root / "b.wav", LINES_B, "zh")}


def _seeded(tts: CoquiTts, text: str, lang: str = "en"):
    torch.manual_seed(7)  # VITS samples noise: the same seed makes two runs comparable
    return tts.synthesize(text, lang)


def test_a_cloning_model_speaks_in_the_reference_voice_with_its_own_timings(models):
    tts = CoquiTts(models["vits"], models["a"], EspeakTts())
    try:
        assert tts.kind == "vits" and tts.name == "coqui-vits"
        u = _seeded(tts, "Buy the moon lamp, maybe two.")
        again = _seeded(tts, "Buy the moon lamp, maybe two.")
        assert u.pcm.dtype == np.int16 and u.samples > SAMPLE_RATE // 4
        assert np.array_equal(u.pcm, again.pcm)  # deterministic under a seed, so the next check means something
        assert tts.realtime_factor is not None and tts.realtime_factor > 0
        starts = [p.start for p in u.phones]
        assert starts == sorted(starts) and all(0 <= p.start < p.end <= u.samples for p in u.phones)
        symbols = "".join(p.symbol for p in u.phones)
        assert "m" in symbols and "b" in symbols and "<" not in symbols  # phonemes, no blank tokens
        track = track_from_phones(u.phones, u.samples)
        assert Viseme.MBP in set(track.visemes.tolist()) and Viseme.AA in set(track.visemes.tolist())
    finally:
        tts.close()
    other = CoquiTts(models["vits"], models["b"], EspeakTts())
    try:
        assert not np.array_equal(_seeded(other, "Buy the moon lamp, maybe two.").pcm, u.pcm)  # the reference matters
        with pytest.raises(TtsError, match="the model speaks en-us, not 'zh'"):
            other.synthesize("你好", "zh")
        assert other.speaks("en") and not other.speaks("zh")
    finally:
        other.close()


def test_without_model_durations_the_timings_are_estimated_from_the_audio(models, monkeypatch):
    tts = CoquiTts(models["vits"], models["a"], EspeakTts())
    try:
        monkeypatch.setattr(tts, "_d_vector", None)  # as for XTTS: reference by file, no durations used
        u = _seeded(tts, "Pick the blue mug.")
        assert u.phones and all(0 <= p.start < p.end <= u.samples for p in u.phones)
        assert [p.start for p in u.phones] == sorted(p.start for p in u.phones)
        assert any(p.symbol.startswith(("p", "b", "m")) for p in u.phones)
    finally:
        tts.close()


def test_the_converter_keeps_the_base_voices_timings_and_changes_the_voice(models):
    base = EspeakTts()
    tts = CoquiTts(models["openvoice"], models["a"], base)
    try:
        assert tts.kind == "openvoice" and tts.speaks("zh") and tts.speaks("en")
        source = base.synthesize("保温杯现在半价", "zh")
        u = tts.synthesize("保温杯现在半价", "zh")
        assert abs(u.samples - source.samples) < 0.05 * source.samples
        assert [p.symbol for p in u.phones] == [p.symbol for p in source.phones]
        scale = u.samples / source.samples
        # espeak-ng itself varies by a few ms between two readings: within 10 ms is the same timing
        assert all(abs(p.start - q.start * scale) <= 480 for p, q in zip(u.phones, source.phones, strict=True))
        n = min(u.samples, source.samples)
        assert np.corrcoef(u.pcm[:n].astype(float), source.pcm[:n].astype(float))[0, 1] < 0.9  # a new voice
    finally:
        tts.close()
    other = CoquiTts(models["openvoice"], models["b"], EspeakTts())
    try:
        assert not np.array_equal(other.synthesize("保温杯现在半价", "zh").pcm, u.pcm)
    finally:
        other.close()


def test_make_tts_routes_each_language_to_a_voice_that_speaks_it(models):
    tts = make_tts("coqui", model=str(models["vits"]), reference=str(models["a"]))
    try:
        assert tts.backends["en"].name == "coqui-vits"  # type: ignore[attr-defined]
        assert not tts.backends["zh"].name.startswith("coqui")  # type: ignore[attr-defined]
        assert tts.synthesize("你好", "zh").phones
    finally:
        tts.close()


def test_bad_folders_and_samples_are_clear_errors(models, tmp_path):
    with pytest.raises(TtsError, match="voice.model: .*no such folder"):
        model_kind(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TtsError, match="has no config.json"):
        model_kind(tmp_path / "empty")
    xtts = tmp_path / "xtts"
    xtts.mkdir()
    (xtts / "config.json").write_text('{"model": "xtts"}', encoding="utf-8")
    with pytest.raises(TtsError, match="Coqui Public Model License"):
        CoquiTts(xtts, models["a"], EspeakTts())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((models["openvoice"] / "config.json").read_text(encoding="utf-8"), encoding="utf-8")
    (broken / "checkpoint.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(TtsError, match="cannot load the openvoice model"):
        CoquiTts(broken, models["a"], EspeakTts())
    short = write_wav(tmp_path / "short.wav", EspeakTts().synthesize("Hi.", "en").pcm)
    with pytest.raises(TtsError, match="voice.reference: 'short.wav' holds .* s of sound"):
        read_reference(short, 16000)
    text = tmp_path / "notes.txt"
    text.write_text("not audio", encoding="utf-8")
    with pytest.raises(TtsError, match="voice.reference: 'notes.txt'"):
        read_reference(text, 16000)
    with pytest.raises(TtsError, match="no such file"):
        read_reference(tmp_path / "none.wav", 16000)


def test_the_reference_may_be_the_video_of_the_person(models, tmp_path):
    """The same file a consent record names (and an avatar pack was made from): its audio track is the sample."""
    import av

    pcm = np.concatenate([EspeakTts().synthesize(t, "en").pcm for t in LINES_A])
    video = tmp_path / "presenter.mp4"
    with av.open(str(video), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        a = out.add_stream("aac", rate=SAMPLE_RATE)
        a.layout = "mono"
        for i in range(25 * len(pcm) // SAMPLE_RATE):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i % 255, np.uint8), format="rgb24")
            out.mux(v.encode(frame))
        for start in range(0, len(pcm) - 1024, 1024):
            chunk = av.AudioFrame.from_ndarray(pcm[None, start:start + 1024], format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
            out.mux(a.encode(chunk))
        out.mux(v.encode(None))
        out.mux(a.encode(None))
    audio = read_reference(video, 16000)
    assert abs(len(audio) / 16000 - len(pcm) / SAMPLE_RATE) < 0.2
    assert np.max(np.abs(audio)) > 0.1
