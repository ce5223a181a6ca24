"""A neural lip-sync backend compatible with MuseTalk 1.5 (opt-in: the user's own local weight files).

MuseTalk inpaints the lower half of a 256x256 face crop in the latent space of the Stable Diffusion VAE in
one UNet pass: the input is the masked crop's latents and the unmasked reference's (8 channels, 32x32), the
voice enters by cross-attention as Whisper encoder states (every layer's, 2 per video frame at 25 fps, with
2 frames of context either side) plus a sinusoidal position code.  Here the base frames come from an
avatar pack (the loop graph, as for the sample-based host); their latents are computed once per base frame
and kept; the voice's features are computed once per sentence, when it starts.  Frames due from every
channel are rendered in one batch by the same render service.

The model folder (``render.neural_model``), as MuseTalk's own download lays it out::

    musetalk.json, unet.pth       the UNet's config and weights (MuseTalk's models/musetalkV15/)
    vae/ (or sd-vae/)             a diffusers AutoencoderKL folder (sd-vae-ft-mse)
    whisper/                      a transformers Whisper folder with its preprocessor_config.json (whisper-tiny)

Everything is read from that folder; nothing is ever downloaded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from livehost.core.clock import SAMPLE_RATE
from livehost.core.frames import SentenceEnded, SentenceStarted
from streaming.avatar.face import P
from streaming.avatar.pack import AvatarPack
from streaming.avatar.photoreal import BatchedHost, PackOnDevice
from streaming.avatar.renderer2d import AiLabel
from streaming.avatar.service import RenderError, RenderService, pick_device
from streaming.avatar.yuv import planes

log = logging.getLogger(__name__)

CROP = 256
AUDIO_RATE = 16000
FEATURES_PER_SECOND = 50
CONTEXT = 2  # video frames of voice either side of the one rendered


class ModelError(RenderError):
    """The neural model folder is missing a file or does not load."""


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise ModelError(f"render.neural_model: {str(path)!r} is missing ({what})")
    return path


class NeuralModel:
    """The three networks, loaded from local files onto one device."""

    def __init__(self, folder: str | Path, device: str = "cpu") -> None:
        import torch

        try:
            from diffusers import AutoencoderKL, UNet2DConditionModel
            from transformers import WhisperFeatureExtractor, WhisperModel
        except ImportError as e:
            raise ModelError(f"the neural backend needs {e.name} (pip install 'livehost[neural]')") from None
        folder = Path(folder)
        _need(folder, "the model folder")
        self.device = pick_device(device)
        config = json.loads(_need(folder / "musetalk.json", "the UNet config").read_text(encoding="utf-8"))
        vae_dir = folder / "vae" if (folder / "vae").is_dir() else folder / "sd-vae"
        whisper_dir = folder / "whisper"
        t0 = time.monotonic()
        self.unet: Any
        self.vae: Any
        self.whisper: Any
        try:
            self.unet = UNet2DConditionModel(**{k: v for k, v in config.items() if not k.startswith("_")})
            state = torch.load(_need(folder / "unet.pth", "the UNet weights"), map_location="cpu", weights_only=True)
            self.unet.load_state_dict(state)
            self.vae = AutoencoderKL.from_pretrained(_need(vae_dir, "the VAE folder"), local_files_only=True,
                                                     low_cpu_mem_usage=False)  # no `accelerate` needed
            self.whisper = WhisperModel.from_pretrained(_need(whisper_dir, "the Whisper folder"),
                                                        local_files_only=True).encoder
            self.features = WhisperFeatureExtractor.from_pretrained(whisper_dir, local_files_only=True)
        except ModelError:
            raise
        except Exception as e:  # noqa: BLE001 - every loader has its own errors; the user needs the file and why
            raise ModelError(f"render.neural_model = {str(folder)!r}: does not load: {e}") from None
        for m in (self.unet, self.vae, self.whisper):
            m.to(self.device).eval()
        self.scale = float(self.vae.config.scaling_factor)
        self.width = int(self.whisper.config.d_model)
        self.layers = int(self.whisper.config.encoder_layers) + 1
        if int(self.unet.config.cross_attention_dim) != self.width:
            raise ModelError(f"render.neural_model: the UNet attends to {self.unet.config.cross_attention_dim}-wide "
                             f"voice features, the Whisper encoder gives {self.width}")
        self.position = self._position_code(64 * self.layers)
        self.load_seconds = time.monotonic() - t0

    def _position_code(self, length: int) -> Any:
        import torch

        pos = torch.arange(length, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, self.width, 2, dtype=torch.float32) * (-math.log(10000.0) / self.width))
        pe = torch.zeros(length, self.width)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        return pe.to(self.device)

    # -- the voice --------------------------------------------------------------------------------------------
    def voice_prompts(self, pcm48k: np.ndarray, fps: int) -> Any:
        """(frames, tokens, width) cross-attention input for a sentence's 48 kHz int16 audio, one per video frame."""
        import torch

        audio = pcm48k.astype(np.float32) / 32768.0
        audio = audio[: len(audio) // 3 * 3].reshape(-1, 3).mean(1)  # 48 -> 16 kHz (the average is the low-pass)
        frames = max(1, int(math.ceil(len(audio) / AUDIO_RATE * fps)))
        chunk = 30 * AUDIO_RATE
        states = []
        with torch.inference_mode():
            for start in range(0, max(len(audio), 1), chunk):
                mel = self.features(audio[start:start + chunk], sampling_rate=AUDIO_RATE, return_tensors="pt").input_features
                hidden = self.whisper(mel.to(self.device), output_hidden_states=True).hidden_states
                states.append(torch.stack(hidden, dim=2)[0])  # (1500, layers, width)
            feats = torch.cat(states)[: int(math.ceil(len(audio) / AUDIO_RATE * FEATURES_PER_SECOND))]
            per = FEATURES_PER_SECOND / fps
            pad = int(math.ceil(per))
            zeros = torch.zeros((pad * CONTEXT * 3, *feats.shape[1:]), device=feats.device)
            feats = torch.cat([zeros[: pad * CONTEXT], feats, zeros])
            span = 2 * (2 * CONTEXT + 1)
            idx = (torch.arange(frames, device=feats.device) * per).floor().long()[:, None] + torch.arange(span, device=feats.device)
            windows = feats[idx.clamp(max=len(feats) - 1)]  # (frames, span, layers, width)
            return windows.reshape(frames, span * self.layers, self.width)

    def silence(self, fps: int) -> Any:
        return self.voice_prompts(np.zeros(SAMPLE_RATE // fps * 5, np.int16), fps)[2]

    # -- the face ---------------------------------------------------------------------------------------------
    def encode(self, crops: Any) -> Any:
        """(B, 3, 256, 256) RGB in 0..255 -> (B, 8, 32, 32): the masked crop's latents, then the reference's."""
        import torch

        x = crops / 127.5 - 1.0
        masked = x.clone()
        masked[:, :, CROP // 2:] = 0
        with torch.inference_mode():
            both = self.vae.encode(torch.cat([masked, x])).latent_dist.mean * self.scale
        b = crops.shape[0]
        return torch.cat([both[:b], both[b:]], dim=1)

    def generate(self, latents: Any, prompts: Any) -> Any:
        """(B, 8, 32, 32) and (B, tokens, width) -> (B, 3, 256, 256) RGB in 0..255."""
        import torch

        with torch.inference_mode():
            voice = prompts + self.position[: prompts.shape[1]]
            out = self.unet(latents, 0, encoder_hidden_states=voice).sample
            image = self.vae.decode(out / self.scale).sample
            return ((image + 1.0) * 127.5).clamp(0, 255)


# -- yuv <-> rgb on the device (BT.601 limited range, as the rest of the picture) ----------------------------
def _yuv_to_rgb(y: Any, u: Any, v: Any) -> Any:
    import torch

    c, d, e = y - 16.0, u - 128.0, v - 128.0
    return torch.stack([1.164 * c + 1.596 * e, 1.164 * c - 0.392 * d - 0.813 * e, 1.164 * c + 2.017 * d], 1).clamp(0, 255)


def _rgb_to_yuv(rgb: Any) -> tuple[Any, Any, Any]:
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return y, u, v


@dataclass
class NeuralJob:
    pack: NeuralPack
    base: int
    prompt: Any  # (tokens, width) on the model's device


class NeuralPack:
    """A pack as the neural renderer uses it: base frames, a face crop box per base frame, latents as computed."""

    def __init__(self, pack: AvatarPack, device: str) -> None:
        self.frames = PackOnDevice(pack, device)
        self.width, self.height = pack.width, pack.height
        pts = np.load(pack.path / "pack.npz")["points"]
        eyes = (pts[:, P["eye_l_outer"]] + pts[:, P["eye_r_outer"]]) / 2
        iod = np.linalg.norm(pts[:, P["eye_r_outer"]] - pts[:, P["eye_l_outer"]], axis=1)
        top, bottom = eyes[:, 1] - 0.45 * iod, pts[:, P["chin"], 1] + 0.12 * iod
        side = np.median(bottom - top)
        side = int(min(side, pack.width, pack.height)) // 2 * 2
        x0 = np.clip(eyes[:, 0] - side / 2, 0, pack.width - side)
        y0 = np.clip(top, 0, pack.height - side)
        self.side = side
        self.box = np.stack([x0, y0], 1).round().astype(np.int64) // 2 * 2
        self.latents: dict[int, Any] = {}


class NeuralRenderer:
    """Renders batches of :class:`NeuralJob` into yuv420p frames with the model (same interface as the sample one)."""

    def __init__(self, model: NeuralModel) -> None:
        self.model = model
        self.device = model.device
        self._packs: dict[str, NeuralPack] = {}
        self._mask: dict[int, Any] = {}

    def load(self, pack: AvatarPack) -> NeuralPack:
        key = str(pack.path.resolve())
        if key not in self._packs:
            self._packs[key] = NeuralPack(pack, self.device)
        return self._packs[key]

    def _crop_rgb(self, p: NeuralPack, base: int) -> Any:
        import torch.nn.functional as F

        W, H, s = p.width, p.height, p.side
        x0, y0 = (int(v) for v in p.box[base])
        yp, up, vp = planes(p.frames.base[base], W, H)
        y = yp[y0:y0 + s, x0:x0 + s].float()
        u = up[y0 // 2:(y0 + s) // 2, x0 // 2:(x0 + s) // 2].float()
        v = vp[y0 // 2:(y0 + s) // 2, x0 // 2:(x0 + s) // 2].float()
        u = F.interpolate(u[None, None], size=(s, s), mode="bilinear", align_corners=False)[0, 0]
        v = F.interpolate(v[None, None], size=(s, s), mode="bilinear", align_corners=False)[0, 0]
        rgb = _yuv_to_rgb(y[None], u[None], v[None])
        return F.interpolate(rgb, size=(CROP, CROP), mode="bilinear", align_corners=False, antialias=True)

    def _blend_mask(self, side: int) -> Any:
        import torch

        if side not in self._mask:
            r = (torch.arange(side, dtype=torch.float32) + 0.5) / side
            rows = ((r - 0.5) / 0.08).clamp(0, 1)  # the lower half, fading in over the first rows
            cols = (torch.minimum(r, 1 - r) / 0.08).clamp(0, 1)
            bottom = ((1 - r) / 0.05).clamp(0, 1)
            self._mask[side] = (rows[:, None] * bottom[:, None] * cols[None, :]).to(self.device)
        return self._mask[side]

    def render(self, jobs: Sequence[NeuralJob]) -> list[np.ndarray]:
        import torch
        import torch.nn.functional as F

        if not jobs:
            return []
        with torch.inference_mode():
            missing = {(id(j.pack), j.base): j for j in jobs if j.base not in j.pack.latents}
            if missing:
                todo = list(missing.values())
                latents = self.model.encode(torch.cat([self._crop_rgb(j.pack, j.base) for j in todo]))
                for j, lat in zip(todo, latents, strict=True):
                    j.pack.latents[j.base] = lat
            faces = self.model.generate(torch.stack([j.pack.latents[j.base] for j in jobs]),
                                        torch.stack([j.prompt for j in jobs]))
            out = []
            for face, j in zip(faces, jobs, strict=True):
                p = j.pack
                W, H, s = p.width, p.height, p.side
                x0, y0 = (int(v) for v in p.box[j.base])
                rgb = F.interpolate(face[None], size=(s, s), mode="bilinear", align_corners=False)
                fy, fu, fv = _rgb_to_yuv(rgb)
                m = self._blend_mask(s)
                m2 = F.avg_pool2d(m[None, None], 2)[0, 0]
                fu2, fv2 = F.avg_pool2d(fu[:, None], 2)[0, 0], F.avg_pool2d(fv[:, None], 2)[0, 0]
                frame = p.frames.base[j.base].clone()
                yp, up, vp = planes(frame, W, H)
                roi = yp[y0:y0 + s, x0:x0 + s].float()
                yp[y0:y0 + s, x0:x0 + s] = (roi + (fy[0] - roi) * m).round().clamp(0, 255).to(torch.uint8)
                for plane, new in ((up, fu2), (vp, fv2)):
                    roi = plane[y0 // 2:(y0 + s) // 2, x0 // 2:(x0 + s) // 2].float()
                    plane[y0 // 2:(y0 + s) // 2, x0 // 2:(x0 + s) // 2] = (roi + (new - roi) * m2).round().clamp(0, 255).to(torch.uint8)
                out.append(frame.cpu().numpy())
            return out


class NeuralHost(BatchedHost):
    """A channel's neural host: the pack's loop for the picture, the model for the mouth, the voice of each
    sentence turned into the model's features when it starts."""

    def __init__(self, pack: AvatarPack, service: RenderService, *, width: int, height: int, fps: int = 25,
                 seed: int = 0, label: str | AiLabel = "AI生成 / AI generated", channel: str = "",
                 budget_frames: float = 2.0) -> None:
        renderer = service.renderer
        if not isinstance(renderer, NeuralRenderer):
            raise RenderError("a neural host needs the neural render service")
        super().__init__(pack, service, width=width, height=height, fps=fps, seed=seed, label=label, channel=channel,
                         budget_frames=budget_frames)
        self.model = renderer.model
        self.on_device = renderer.load(pack)
        self._silence = self.model.silence(fps)
        self._sentence: tuple[int, Any] | None = None  # (first frame index, prompts)
        service.users += 1

    async def hear(self, index: int, events: Sequence[Any]) -> None:
        """A sentence starting in frame ``index``: its features for every frame it spans (one encoder pass)."""
        for e in events:
            if isinstance(e, SentenceStarted) and e.handle.audio is not None:
                prompts = await asyncio.to_thread(self.model.voice_prompts, e.handle.audio.pcm, self.fps)
                self._sentence = (index, prompts)
            elif isinstance(e, SentenceEnded):
                self._sentence = None

    def job(self, index: int) -> NeuralJob:
        prompt = self._silence
        if self._sentence is not None:
            first, prompts = self._sentence
            k = index - first
            if 0 <= k < len(prompts):
                prompt = prompts[k]
        return NeuralJob(self.on_device, self.walker.step(), prompt)

    async def draw(self, index: int, mouth: int, speaking: bool, events: Sequence[Any] = ()) -> np.ndarray:
        await self.hear(index, events)
        return await self._show(lambda: self.job(index))
