"""The MuseTalk-compatible neural backend on a tiny randomly initialised model of the same structure, on the CPU:
the real loading code, the voice features, the batched render and the host."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from streaming.avatar.face import GroundTruthTracker
from streaming.avatar.neural import ModelError, NeuralHost, NeuralJob, NeuralModel, NeuralRenderer
from streaming.avatar.pack import AvatarPack, build_pack
from streaming.avatar.service import RenderService
from streaming.avatar.synthetic import write_recording
from streaming.avatar.yuv import planes

W, H = 360, 640


def build_tiny_model(folder, width: int = 64) -> None:
    """A model with MuseTalk's structure (8-channel latent UNet with cross-attention to Whisper states, an 8x
    VAE, a Whisper encoder) and random weights, written in MuseTalk's folder layout."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    unet = UNet2DConditionModel(sample_size=32, in_channels=8, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=width,
                                attention_head_dim=4, norm_num_groups=8)
    (folder / "musetalk.json").write_text(json.dumps(dict(unet.config), default=list))
    torch.save(unet.state_dict(), folder / "unet.pth")
    vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(8, 8, 16, 16), layers_per_block=1, latent_channels=4, norm_num_groups=4,
                        sample_size=256)
    vae.save_pretrained(folder / "vae")
    cfg = WhisperConfig(d_model=width, encoder_layers=2, encoder_attention_heads=2, decoder_layers=1,
                        decoder_attention_heads=2, encoder_ffn_dim=2 * width, decoder_ffn_dim=2 * width,
                        num_mel_bins=80, vocab_size=100, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                        decoder_start_token_id=1, max_source_positions=1500, max_target_positions=32)
    WhisperModel(cfg).save_pretrained(folder / "whisper")
    WhisperFeatureExtractor().save_pretrained(folder / "whisper")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("musetalk")
    build_tiny_model(folder)
    return folder


@pytest.fixture(scope="module")
def model(model_dir):
    return NeuralModel(model_dir, "cpu")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("npack")
    video = folder / "p.mp4"
    side = write_recording(video, 10, width=W, height=H, seed=5)
    build_pack(video, "n", folder, GroundTruthTracker(side), width=W, height=H, base_seconds=6)
    return AvatarPack.load(folder / "n")


def test_a_missing_or_mismatched_model_is_a_clear_error(tmp_path, model_dir):
    with pytest.raises(ModelError, match="musetalk.json' is missing"):
        NeuralModel(tmp_path, "cpu")
    bad = tmp_path / "bad"
    build_tiny_model(bad, width=64)
    cfg = json.loads((bad / "musetalk.json").read_text())
    cfg["cross_attention_dim"] = 32
    (bad / "musetalk.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="does not load"):  # weights of another shape
        NeuralModel(bad, "cpu")


def test_the_voice_becomes_one_prompt_per_frame(model):
    pcm = (np.sin(np.arange(48000 * 2) / 48000 * 2 * np.pi * 220) * 8000).astype(np.int16)
    prompts = model.voice_prompts(pcm, 25)
    assert tuple(prompts.shape) == (50, 10 * model.layers, model.width)  # 2 s at 25 fps; 5 frames x 2 features x layers
    quiet = model.silence(25)
    assert tuple(quiet.shape) == (10 * model.layers, model.width)
    assert not np.allclose(prompts[25].numpy(), quiet.numpy())


def test_a_batch_renders_what_one_by_one_does_and_the_voice_moves_only_the_lower_face(model, pack):
    r = NeuralRenderer(model)
    p = r.load(pack)
    loud = model.voice_prompts((np.random.default_rng(0).normal(0, 6000, 48000)).astype(np.int16), 25)
    jobs = [NeuralJob(p, i * 11 % len(pack.base), loud[i]) for i in range(4)]
    batched = r.render(jobs)
    single = [r.render([j])[0] for j in jobs]
    for b, s in zip(batched, single, strict=True):
        assert np.abs(b.astype(int) - s.astype(int)).max() <= 2
    quiet = r.render([NeuralJob(p, jobs[0].base, model.silence(25))])[0]
    diff = np.abs(planes(batched[0], W, H)[0].astype(int) - planes(quiet, W, H)[0].astype(int))
    x0, y0 = p.box[jobs[0].base]
    s = p.side
    assert diff[y0 + s // 2 + 4:y0 + s, x0:x0 + s].mean() > 0.5  # the mouth half follows the voice
    assert diff[: y0 + s // 2 - 2].max() == 0 and diff[y0 + s:].max() == 0  # nothing else changes


async def test_the_host_speaks_from_the_sentence_audio_and_channels_share_a_batch(model, pack):
    from livehost.core.frames import SentenceStarted
    from livehost.core.speech import SpeechHandle
    from tests.fakes import approved, tone

    svc = RenderService(NeuralRenderer(model), gather_s=0.02)
    hosts = [NeuralHost(pack, svc, width=W, height=H, channel=f"n{i}", seed=i) for i in range(3)]
    try:
        handle = SpeechHandle(approved("hello everyone"), 1)
        handle.audio = tone(48000)
        for h in hosts:  # the sentence starts: its voice becomes one prompt per frame (25 for a second)
            await h.hear(0, (SentenceStarted(0, handle),))
            h.budget = 60.0  # this machine's speed is not under test here
        assert all(h._sentence is not None and len(h._sentence[1]) == 25 for h in hosts)
        frames = await asyncio.gather(*(h.draw(1, 0, True) for h in hosts))
        assert all(f.shape == (H * 3 // 2, W) for f in frames)
        assert svc.stats.largest_batch == 3 and not svc.stats.dropped
    finally:
        for h in hosts:
            await h.aclose()
