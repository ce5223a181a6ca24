"""The photoreal host: a pack's base frames with the lower face re-synthesised from the mouth bank, in torch,
batched across every channel of the process.

Per frame: the loop walker picks the base frame; the viseme due at that frame picks a sample (blended with
the previous viseme's on the frame where it changes: coarticulation); the sample is colour-matched to the
base frame, warped from the canonical patch onto the base frame's face (a similarity fitted to the
anchors) and blended under the feathered mask.  Only a square around the mouth is computed; the rest is
the base frame as it is.  Tensors in, tensors out: ``grid_sample`` and arithmetic, on ``cpu`` or ``cuda``.

Frames are rendered by the process's :class:`~streaming.avatar.service.RenderService` for the device,
batched with every other channel's.  The label and the product card are drawn onto every
frame afterwards, in the channel's own thread, exactly as on the drawn host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streaming.avatar.card import ProductCard
from streaming.avatar.face import ANCHORS, invert
from streaming.avatar.pack import PATCH, AvatarPack, LoopWalker, patch_transform
from streaming.avatar.renderer2d import AiLabel, card_sprite, label_layer
from streaming.avatar.service import RenderError, RenderService, pick_device, release_service
from streaming.avatar.yuv import Sprite, planes
from streaming.tts.visemes import Viseme

log = logging.getLogger(__name__)

COARTICULATION = (0.55, 0.85)  # the new shape's weight on the first frames after a change (then 1)


class PackOnDevice:
    """One pack's tensors on one device (the base frames are a view of the memory-mapped file on the CPU)."""

    def __init__(self, pack: AvatarPack, device: str) -> None:
        import torch

        self.pack, self.device = pack, device
        self.width, self.height = pack.width, pack.height
        base = np.load(pack.path / "base.npy", mmap_mode="c")  # copy-on-write: torch wants a writable array
        self.base = torch.from_numpy(base).to(device)  # (N, H*3/2, W) uint8
        self.samples_y = torch.from_numpy(pack.samples_y).to(device).float()[:, None]  # (M, 1, P, P)
        self.samples_uv = torch.from_numpy(pack.samples_uv).to(device).float()  # (M, 2, P/2, P/2)
        self.sample_mean = torch.from_numpy(pack.sample_mean).to(device)
        self.base_mean = torch.from_numpy(pack.base_mean).to(device)
        self.mask = torch.from_numpy(pack.mask).to(device)[None, None]  # (1, 1, P, P)
        # frame -> patch for every base frame, and the square of the frame the patch covers
        points = np.zeros((len(pack.anchors), 16, 2), np.float32)
        points[:, list(ANCHORS)] = pack.anchors
        to_frame = [patch_transform(p) for p in points]
        self.to_patch = torch.tensor(np.stack([invert(m) for m in to_frame]), dtype=torch.float32, device=device)
        corners = np.array([[0, 0, 1], [PATCH, 0, 1], [0, PATCH, 1], [PATCH, PATCH, 1]], np.float64)
        box = np.stack([corners @ m.T for m in to_frame])  # (N, 4, 2)
        self.box_min = np.floor(box.min(1)).astype(np.int64)
        self.box_size = int(np.ceil((box.max(1) - box.min(1)).max()))


@dataclass
class Job:
    """One frame to render: base frame ``base`` of ``pack``, sample ``a`` at weight ``w`` plus sample ``b``."""

    pack: PackOnDevice
    base: int
    a: int
    b: int
    w: float = 1.0


class FaceRenderer:
    """Renders batches of :class:`Job` into yuv420p frames, on one device."""

    def __init__(self, device: str = "auto", threads: int = 1) -> None:
        import torch

        self.device = pick_device(device)
        if self.device == "cpu" and threads:
            torch.set_num_threads(threads)
        self._packs: dict[str, PackOnDevice] = {}

    def load(self, pack: AvatarPack) -> PackOnDevice:
        key = str(pack.path.resolve())
        if key not in self._packs:
            self._packs[key] = PackOnDevice(pack, self.device)
        return self._packs[key]

    def render(self, jobs: Sequence[Job]) -> list[np.ndarray]:
        import torch
        import torch.nn.functional as F

        if not jobs:
            return []
        dev = self.device
        with torch.inference_mode():
            B = len(jobs)
            R = max(j.pack.box_size for j in jobs)
            R = min(-(-R // 16) * 16, min(min(j.pack.width, j.pack.height) for j in jobs) // 2 * 2)
            x0 = np.empty(B, np.int64)
            y0 = np.empty(B, np.int64)
            for k, j in enumerate(jobs):
                bx, by = j.pack.box_min[j.base]
                cx = bx + j.pack.box_size // 2 - R // 2
                cy = by + j.pack.box_size // 2 - R // 2
                x0[k] = int(np.clip(cx, 0, j.pack.width - R)) // 2 * 2
                y0[k] = int(np.clip(cy, 0, j.pack.height - R)) // 2 * 2
            to_patch = torch.stack([j.pack.to_patch[j.base] for j in jobs])  # (B, 2, 3)
            w = torch.tensor([j.w for j in jobs], dtype=torch.float32, device=dev)
            sy = torch.stack([j.pack.samples_y[j.a] for j in jobs]) * w[:, None, None, None] + \
                torch.stack([j.pack.samples_y[j.b] for j in jobs]) * (1 - w)[:, None, None, None]
            suv = torch.stack([j.pack.samples_uv[j.a] for j in jobs]) * w[:, None, None, None] + \
                torch.stack([j.pack.samples_uv[j.b] for j in jobs]) * (1 - w)[:, None, None, None]
            mean = torch.stack([j.pack.sample_mean[j.a] * j.w + j.pack.sample_mean[j.b] * (1 - j.w) for j in jobs])
            shift = torch.stack([j.pack.base_mean[j.base] for j in jobs]) - mean  # (B, 3): match the base's colour
            sy = sy + shift[:, 0, None, None, None]
            suv = suv + shift[:, 1:, None, None]
            masks = torch.cat([j.pack.mask for j in jobs])  # (B, 1, P, P)

            def grid(step: int, n: int) -> torch.Tensor:
                """Patch coordinates (normalised) of an n x n grid of pixels ``step`` apart from (x0, y0)."""
                c = (torch.arange(n, device=dev, dtype=torch.float32) + 0.5) * step
                gy, gx = torch.meshgrid(c, c, indexing="ij")
                ox = torch.from_numpy(x0).to(dev).float()[:, None, None]
                oy = torch.from_numpy(y0).to(dev).float()[:, None, None]
                X, Y = gx[None] + ox, gy[None] + oy  # (B, n, n) frame coordinates
                px = to_patch[:, 0, 0, None, None] * X + to_patch[:, 0, 1, None, None] * Y + to_patch[:, 0, 2, None, None]
                py = to_patch[:, 1, 0, None, None] * X + to_patch[:, 1, 1, None, None] * Y + to_patch[:, 1, 2, None, None]
                return torch.stack([px / PATCH * 2 - 1, py / PATCH * 2 - 1], -1)

            g1 = grid(1, R)
            warped = F.grid_sample(torch.cat([sy, masks], 1), g1, mode="bilinear", padding_mode="zeros",
                                   align_corners=False)  # (B, 2, R, R): luma, mask
            wy, m = warped[:, :1], warped[:, 1:]
            wuv = F.grid_sample(suv, grid(2, R // 2), mode="bilinear", padding_mode="border", align_corners=False)
            m2 = F.avg_pool2d(m, 2)
            out = []
            for k, j in enumerate(jobs):
                W, H = j.pack.width, j.pack.height
                frame = j.pack.base[j.base].clone()  # (H*3/2, W)
                yp, up, vp = planes(frame, W, H)
                ys, xs = int(y0[k]), int(x0[k])
                roi = yp[ys:ys + R, xs:xs + R].float()
                yp[ys:ys + R, xs:xs + R] = (roi + (wy[k, 0] - roi) * m[k, 0]).round_().clamp_(0, 255).to(torch.uint8)
                for p, plane in enumerate((up, vp)):
                    roi = plane[ys // 2:ys // 2 + R // 2, xs // 2:xs // 2 + R // 2].float()
                    plane[ys // 2:ys // 2 + R // 2, xs // 2:xs // 2 + R // 2] = (
                        roi + (wuv[k, p] - roi) * m2[k, 0]).round_().clamp_(0, 255).to(torch.uint8)
                out.append(frame)
            frames = torch.stack(out).cpu().numpy() if dev != "cpu" else [f.numpy() for f in out]
            return list(frames)


# -- the host --------------------------------------------------------------------------------------------------
class Overlays:
    """The AI label and the product card, drawn on every frame (fixed-point blends on the yuv planes)."""

    def __init__(self, width: int, height: int, label: str | AiLabel) -> None:
        self.width, self.height = width, height
        layer, x, y = label_layer(width, height, label)
        self.label = Sprite(*layer)
        self.label_at = (x, y)
        self.label_box = (x, y, x + self.label.w, y + self.label.h)
        self.card: tuple[Sprite, tuple[int, int, int, int]] | None = None

    def set_card(self, card: ProductCard | None) -> None:
        self.card = card_sprite(card, self.width, self.height) if card is not None else None

    @property
    def card_box(self) -> tuple[int, int, int, int] | None:
        return self.card[1] if self.card else None

    def apply(self, frame: np.ndarray) -> np.ndarray:
        yp, up, vp = planes(frame, self.width, self.height)
        if self.card is not None:
            sprite, (x0, y0, _, _) = self.card
            sprite.blend(yp, up, vp, x0, y0)
        self.label.blend(yp, up, vp, *self.label_at)
        return frame


class BatchedHost:
    """What the photoreal hosts share: a pack of the channel's size, its loop, the overlays, and frames asked of
    the render service by a deadline (a late one shows the previous frame again and is counted)."""

    def __init__(self, pack: AvatarPack, service: RenderService, *, width: int, height: int, fps: int,
                 seed: int, label: str | AiLabel, channel: str, budget_frames: float) -> None:
        if (pack.width, pack.height) != (width, height):
            raise RenderError(f"avatar {pack.name!r} is {pack.width}x{pack.height}; the channel is {width}x{height} "
                              f"(build the pack with --size {width}x{height})")
        if int(pack.manifest["fps"]) != fps:
            raise RenderError(f"avatar {pack.name!r} is {pack.manifest['fps']} fps; the channel runs at {fps}")
        self.pack, self.service, self.channel = pack, service, channel
        self.width, self.height, self.fps = width, height, fps
        self.walker = LoopWalker(pack, seed=seed)
        self.overlays = Overlays(width, height, label)
        self.budget = budget_frames / fps
        self._last: np.ndarray | None = None
        self.dropped = 0
        self.frames = 0

    @property
    def label_box(self) -> tuple[int, int, int, int]:
        return self.overlays.label_box

    @property
    def card_box(self) -> tuple[int, int, int, int] | None:
        return self.overlays.card_box

    def set_card(self, card: ProductCard | None) -> None:
        self.overlays.set_card(card)

    async def _show(self, job: Callable[[], Any]) -> np.ndarray:
        """The frame for ``job()`` from the service, with the label and card; the previous one when it is late."""
        frame = await self.service.render(job(), time.monotonic() + self.budget, self.channel)
        self.frames += 1
        if frame is None:
            self.dropped += 1
            if self._last is not None:
                return self._last.copy()
            frame = (await asyncio.to_thread(self.service.renderer.render, [job()]))[0]  # nothing shown yet: wait
        self._last = await asyncio.to_thread(self.overlays.apply, frame)
        return self._last

    async def aclose(self) -> None:
        await release_service(self.service)


class PhotorealHost(BatchedHost):
    """A channel's sample-based photoreal host: ``await draw(index, mouth, speaking)`` gives its next frame."""

    def __init__(self, pack: AvatarPack, service: RenderService, *, width: int, height: int, fps: int = 25,
                 seed: int = 0, label: str | AiLabel = "AI生成 / AI generated", channel: str = "",
                 budget_frames: float = 2.0) -> None:
        if not isinstance(service.renderer, FaceRenderer):
            raise RenderError("a sample-based host needs the sample-based render service")
        super().__init__(pack, service, width=width, height=height, fps=fps, seed=seed, label=label, channel=channel,
                         budget_frames=budget_frames)
        self.on_device = service.renderer.load(pack)
        self.rng = np.random.default_rng(seed + 1)
        self._viseme = int(Viseme.REST)
        self._sample = self._pick(self._viseme)
        self._previous = self._sample
        self._into = len(COARTICULATION)  # frames since the shape last changed
        service.users += 1

    def _pick(self, viseme: int) -> int:
        choices = self.pack.by_viseme[viseme]
        return int(choices[int(self.rng.integers(0, len(choices)))])

    def job(self, mouth: int, speaking: bool) -> Job:
        """The next frame's job: the walker's base frame and the mouth for ``mouth`` (REST when silent)."""
        v = int(mouth) if speaking else int(Viseme.REST)
        if v != self._viseme:  # a new shape: the lips get there over two frames (coarticulation)
            self._previous, self._sample, self._viseme, self._into = self._sample, self._pick(v), v, 0
        w = COARTICULATION[self._into] if self._into < len(COARTICULATION) else 1.0
        self._into += 1
        return Job(self.on_device, self.walker.step(), self._sample, self._previous, w)

    async def draw(self, index: int, mouth: int, speaking: bool, events: Sequence[Any] = ()) -> np.ndarray:
        return await self._show(lambda: self.job(mouth, speaking))
