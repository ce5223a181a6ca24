"""Avatar packs: what a photoreal host is made of, built from a recording of the person talking.

``build_pack`` reads the recording twice.  The first pass tracks the face in every frame (resampled to the
pack's frame rate, so a variable-frame-rate phone recording is fine) and measures pose, mouth shape and
light; frames are rejected with a reason (face lost, several faces, too small, turned away, out of frame,
occluded, lighting jump).  Between the passes the pack is planned: the crop to the channel's canvas, the
base frames (the steadiest stretches) and the loop graph joining frames that look alike ("video
textures": the idle video can then run for a day with no seam and no obvious period), and the mouth bank
(lower-face samples indexed by viseme, up to :data:`SAMPLES_PER_VISEME` each).  The second pass cuts the
base frames (yuv420p, memory-mapped by every channel that uses the pack) and the samples (warped into a
canonical patch by the face's anchors, so any of them fits any base frame).

A pack is a folder, written under a temporary name and renamed into place when complete:
``pack.json`` (manifest), ``pack.npz`` (arrays), ``base.npy`` (yuv420p frames), ``report.json`` and
``contact.png`` (a contact sheet: base frames and every viseme's samples).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from livehost.core import jsonio
from streaming.avatar.face import ANCHORS, POINTS, Face, FaceTracker, TrackerError, apply, measure, similarity
from streaming.avatar.fonts import load_font
from streaming.avatar.yuv import planes
from streaming.tts.visemes import Viseme

log = logging.getLogger(__name__)

PACK_VERSION = 1
PATCH = 160  # canonical lower-face patch, pixels
PATCH_X0, PATCH_Y0, PATCH_SPAN = -0.75, 0.35, 1.5  # the patch covers this square of the face, in iods
CANON_ANCHORS = np.array([(-0.5, 0.0), (-0.2, 0.0), (0.2, 0.0), (0.5, 0.0), (0.0, 0.02), (0.0, 0.56)])
SAMPLES_PER_VISEME = 4
MIN_SECONDS = 8.0
TRACK_SIDE = 640  # the tracker sees frames no longer than this on their long side

# (opening, width relative to the person's neutral width, teeth visible 0..1) of each viseme, and how far
# (in units of the tolerances below) a frame may sit from one to be its sample.
PROTOTYPES: dict[Viseme, tuple[float, float, float]] = {
    Viseme.REST: (0.0, 1.0, 0.0), Viseme.MBP: (0.0, 0.95, 0.0), Viseme.FV: (0.035, 1.0, 1.0),
    Viseme.TEETH: (0.06, 1.03, 1.0), Viseme.I: (0.09, 1.12, 0.6), Viseme.E: (0.16, 1.06, 0.4),
    Viseme.AA: (0.32, 1.0, 0.3), Viseme.O: (0.22, 0.78, 0.0), Viseme.U: (0.08, 0.7, 0.0),
}
TOLERANCE = (0.04, 0.08, 0.5)
JOIN_HEAD = 0.02  # a join may move the head's anchors this much (iods, RMS)...
JOIN_PICTURE = 3.0  # ...and change the small grey picture this much (levels, RMS)
MAX_SHAPE_DISTANCE = 2.5

ProgressFn = Callable[[str, int, int], None]


class PackError(Exception):
    """The recording cannot make a pack (the message names the file and why), or a pack is unreadable."""


def patch_to_iod(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = PATCH_SPAN / PATCH
    return PATCH_X0 + u * k, PATCH_Y0 + v * k


def canon_anchor_patch() -> np.ndarray:
    """The canonical anchors in patch pixel coordinates (continuous: pixel i covers [i, i+1))."""
    return (CANON_ANCHORS - [PATCH_X0, PATCH_Y0]) * (PATCH / PATCH_SPAN)


def patch_transform(points: np.ndarray) -> np.ndarray:
    """2x3: patch coordinates -> frame coordinates for a face with these 16 points."""
    return similarity(canon_anchor_patch(), np.asarray(points)[list(ANCHORS)])


def blend_mask() -> np.ndarray:
    """The feathered lower-face mask in the patch (1 inside, 0 outside): below the nose, around mouth and jaw."""
    c = np.arange(PATCH) + 0.5
    x, y = patch_to_iod(c[None, :], c[:, None])
    e = np.sqrt((x / 0.5) ** 2 + ((y - 1.06) / 0.66) ** 2)
    inside = np.clip((1.0 - e) / 0.25, 0, 1) * np.clip((y - 0.64) / 0.12, 0, 1)
    return (inside * inside * (3 - 2 * inside)).astype(np.float32)  # smoothstep: no visible edge


# -- the report ------------------------------------------------------------------------------------------------
@dataclass
class PackReport:
    name: str
    source: str
    seconds: float
    frames: int
    fps: int
    source_fps: float
    variable_frame_rate: bool
    tracker: str
    rejected: dict[str, int] = field(default_factory=dict)
    usable: int = 0
    base_frames: int = 0
    runs: int = 0
    transitions: int = 0
    seams: int = 0
    loop_cost: float = 0.0  # median join cost (1: the most a viewer cannot see in one frame step)
    natural_step: float = 0.0  # the median cost of a frame to its successor, for comparison
    worst_seam: float = 0.0
    visemes: dict[str, int] = field(default_factory=dict)  # samples per viseme
    missing: list[str] = field(default_factory=list)
    fallback: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    build_seconds: float = 0.0
    consent: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def lines(self) -> list[str]:
        out = [f"avatar {self.name}: from {self.source} ({self.seconds:.1f} s, {self.frames} frames at {self.fps} fps"
               f"{', variable frame rate resampled' if self.variable_frame_rate else ''}; tracker {self.tracker})",
               f"  usable frames: {self.usable} of {self.frames} ({100 * self.usable / max(1, self.frames):.0f}%)"]
        if self.rejected:
            out.append("  rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items(), key=lambda kv: -kv[1])))
        out.append(f"  idle loop: {self.base_frames} base frames in {self.runs} stretches, {self.transitions} seamless "
                   f"joins (median cost {self.loop_cost:.2f}; a frame to the next: {self.natural_step:.2f}; "
                   f"1 is the most one cannot see), {self.seams} forced seams"
                   + (f" (worst {self.worst_seam:.2f})" if self.seams else ""))
        out.append("  mouth bank: " + ", ".join(f"{k} {v}" for k, v in self.visemes.items()))
        if self.missing:
            out.append("  missing visemes: " + ", ".join(f"{m} (uses {self.fallback[m]})" for m in self.missing))
        out.extend(f"  warning: {w}" for w in self.warnings)
        out.append(f"  built in {self.build_seconds:.1f} s" + (f"; consent {self.consent}" if self.consent else ""))
        return out


# -- pass 1: track ---------------------------------------------------------------------------------------------
@dataclass
class _Track:
    times: list[float] = field(default_factory=list)  # per source frame
    faces: list[list[Face]] = field(default_factory=list)
    teeth: list[float] = field(default_factory=list)
    luma: list[float] = field(default_factory=list)
    thumbs: list[np.ndarray] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)  # source width, height
    track_scale: float = 1.0  # source px per tracker px


def _open(path: Path) -> Any:
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise PackError(f"video = {str(path)!r}: cannot read it: {e}") from None
    if not container.streams.video:
        container.close()
        raise PackError(f"video = {str(path)!r}: has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container


def _frames(path: Path) -> Any:
    """(source index, time in seconds, av.VideoFrame) in presentation order."""
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        last = -1.0
        try:
            for i, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else (last + 1 / 25 if last >= 0 else 0.0)
                t = max(t, last + 1e-4)  # a repeated or backwards stamp: keep the order
                last = t
                yield i, t, frame
        except av.error.FFmpegError as e:
            raise PackError(f"video = {str(path)!r}: damaged after {last:.1f} s: {e}") from None
    finally:
        container.close()


def _teeth(rgb: np.ndarray, pts: np.ndarray, iod: float) -> float:
    """Share of the inner mouth that is teeth-bright and colourless (0 when the lips are closed)."""
    ml, mr = pts[POINTS.index("mouth_l")], pts[POINTS.index("mouth_r")]
    ui, li = pts[POINTS.index("lip_upper_inner")], pts[POINTS.index("lip_lower_inner")]
    if np.linalg.norm(li - ui) < 0.015 * iod:
        return 0.0
    poly = np.array([ml, ui, mr, li])
    x0, y0 = np.floor(poly.min(0)).astype(int)
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 1
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).polygon([tuple(p - (x0, y0)) for p in poly], fill=1)
    inside = np.asarray(mask, bool)
    if inside.sum() < 4:
        return 0.0
    crop = rgb[y0:y1, x0:x1].astype(np.int16)[inside]
    nose = pts[POINTS.index("nose_tip")]
    ny, nx = int(np.clip(nose[1] + 0.05 * iod, 0, h - 1)), int(np.clip(nose[0] + 0.2 * iod, 0, w - 1))
    skin = float(rgb[ny, nx].astype(np.float32).mean())
    bright = crop.mean(1) > 0.85 * skin
    grey = (crop.max(1) - crop.min(1)) < 48
    return float((bright & grey).mean())


def _track(path: Path, tracker: FaceTracker, progress: ProgressFn | None, total: int) -> _Track:
    tr = _Track()
    for i, t, frame in _frames(path):
        if not tr.size[0]:
            tr.size = (frame.width, frame.height)
            tr.track_scale = max(1.0, max(frame.width, frame.height) / TRACK_SIDE)
        tw, th = int(round(frame.width / tr.track_scale)) // 2 * 2, int(round(frame.height / tr.track_scale)) // 2 * 2
        rgb = frame.to_ndarray(width=tw, height=th, format="rgb24")
        faces = tracker.track(i, rgb)
        tr.times.append(t)
        tr.faces.append([Face(f.points * tr.track_scale, f.score) for f in faces])
        if faces:
            main = max(faces, key=lambda f: measure(f.points).iod)
            tr.teeth.append(_teeth(rgb, main.points, measure(main.points).iod))
        else:
            tr.teeth.append(0.0)
        small = np.asarray(Image.fromarray(rgb).convert("L").resize((24, 40), Image.Resampling.BILINEAR), np.float32)
        tr.luma.append(float(small.mean()))
        tr.thumbs.append(small)
        if progress is not None:
            progress("tracking", i + 1, max(total, i + 1))
    if not tr.times:
        raise PackError(f"video = {str(path)!r}: no frames could be decoded")
    return tr


# -- planning --------------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    source_of: np.ndarray  # output frame -> source frame
    points: np.ndarray  # (F, 16, 2) output pixels (NaN where no face)
    usable: np.ndarray  # bool (F,)
    reasons: list[str]
    crop: tuple[float, int, int]  # scale, x offset, y offset (source px * scale - offset = output px)


def _resample(times: list[float], fps: int) -> tuple[np.ndarray, bool, float]:
    t = np.asarray(times)
    d = np.diff(t)
    step = float(np.median(d)) if len(d) else 1.0 / fps
    vfr = bool(len(d) > 4 and np.std(d) > 0.1 * step)
    end = t[-1] + step
    out_t = np.arange(int(np.floor(end * fps + 1e-6))) / fps
    idx = np.clip(np.searchsorted(t, out_t + 1e-6, side="right") - 1, 0, len(t) - 1)
    return idx, vfr, 1.0 / step if step > 0 else float(fps)


def _plan(tr: _Track, width: int, height: int, fps: int, path: Path) -> tuple[_Plan, dict[str, Any]]:
    source_of, vfr, src_fps = _resample(tr.times, fps)
    n = len(source_of)
    counts = np.array([len(tr.faces[j]) for j in source_of])
    seen = counts > 0
    if not seen.any():
        raise PackError(f"video = {str(path)!r}: no face found in any frame (a pack needs the person facing the camera)")
    several = (counts > 1).mean()
    if several > 0.3:
        raise PackError(f"video = {str(path)!r}: {int(np.median(counts[counts > 1]))} faces in {100 * several:.0f}% of "
                        "the frames; a pack is made from one person alone in the picture")
    sw, sh = tr.size
    scale = max(width / sw, height / sh)
    main = [max(tr.faces[j], key=lambda f: measure(f.points).iod) if tr.faces[j] else None for j in source_of]
    xs = [float(f.points[list(ANCHORS)][:, 0].mean()) for f in main if f is not None]
    x_off = int(np.clip(np.median(xs) * scale - width / 2, 0, sw * scale - width)) // 2 * 2
    y_off = int(round((sh * scale - height) / 2)) // 2 * 2
    pts = np.full((n, len(POINTS), 2), np.nan, np.float32)
    for k, f in enumerate(main):
        if f is not None:
            pts[k] = f.points * scale - (x_off, y_off)
    reasons = [""] * n
    shapes = [measure(pts[k]) if main[k] is not None else None for k in range(n)]
    iods = np.array([s.iod if s else np.nan for s in shapes])
    pitch = np.array([s.pitch if s else np.nan for s in shapes])
    med_iod, med_pitch = np.nanmedian(iods), np.nanmedian(pitch)
    luma = np.array([tr.luma[j] for j in source_of])
    corners = np.array([[0, 0], [PATCH, 0], [0, PATCH], [PATCH, PATCH]], np.float64)
    for k in range(n):
        s = shapes[k]
        if s is None:
            reasons[k] = "face lost"
            continue
        if counts[k] > 1:
            reasons[k] = "several faces"
        elif s.iod < 0.06 * min(width, height) or s.iod < 0.5 * med_iod:
            reasons[k] = "too small"
        elif abs(s.yaw) > 0.12 or abs(s.roll) > 12 or abs(s.pitch - med_pitch) > 0.12:
            reasons[k] = "turned away"
        else:
            box = apply(patch_transform(pts[k]), corners)
            if box.min() < 0 or (box[:, 0] > width).any() or (box[:, 1] > height).any():
                reasons[k] = "out of frame"
        lo, hi = max(0, k - 12), min(n, k + 13)
        if not reasons[k] and abs(luma[k] - np.median(luma[lo:hi])) > 10:
            reasons[k] = "lighting jump"
        if not reasons[k] and k and not reasons[k - 1]:  # anchors that jump from a good frame: a hand, hair, a glitch
            m = similarity(pts[k - 1][list(ANCHORS)], pts[k][list(ANCHORS)])
            moved = np.linalg.norm(apply(m, pts[k - 1]) - pts[k], axis=1)
            if moved[list(ANCHORS)].max() > 0.12 * s.iod:
                reasons[k] = "occluded"
    usable = np.array([not r for r in reasons])
    info = {"vfr": vfr, "source_fps": src_fps}
    return _Plan(source_of, pts, usable, reasons, (scale, x_off, y_off)), info


def _runs(usable: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    runs, start = [], None
    for k, ok in enumerate(list(usable) + [False]):
        if ok and start is None:
            start = k
        elif not ok and start is not None:
            if k - start >= min_len:
                runs.append((start, k))
            start = None
    return runs


def _loop_graph(plan: _Plan, tr: _Track, fps: int, budget: int) -> dict[str, Any]:
    """Base frames (output frame numbers, in stretches) and the joins between them."""
    runs = _runs(plan.usable, fps)
    if not runs:
        raise PackError("no stretch of one second with the face steady and visible: nothing to loop")
    runs.sort(key=lambda r: r[1] - r[0], reverse=True)
    chosen, left = [], budget
    for a, b in runs:
        if left < fps:
            break
        take = min(b - a, left)
        chosen.append((a, a + take))
        left -= take
    chosen.sort()
    frames = np.concatenate([np.arange(a, b) for a, b in chosen])
    run_end = np.zeros(len(frames), bool)
    pos = 0
    for a, b in chosen:
        pos += b - a
        run_end[pos - 1] = True
    # how far apart two frames look: the head (anchors, in iods) and the picture (small, grey, RMS levels);
    # a join costs at most 1 when neither differs more than a viewer can see in one frame step
    thumbs = np.stack([tr.thumbs[plan.source_of[k]].ravel() for k in frames]).astype(np.float64)
    anchors = plan.points[frames][:, list(ANCHORS)].reshape(len(frames), -1).astype(np.float64)
    iod = float(np.nanmedian([measure(plan.points[k]).iod for k in frames]))

    def rms(x: np.ndarray) -> np.ndarray:
        sq = (x**2).sum(1)
        return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0) / x.shape[1])

    dist = np.maximum(rms(anchors / iod) * np.sqrt(2) / JOIN_HEAD, rms(thumbs) / JOIN_PICTURE)
    has_pred = np.ones(len(frames), bool)
    has_pred[0] = False
    has_pred[1:] = ~run_end[:-1]
    natural = np.array([dist[i, i + 1] for i in range(len(frames) - 1) if not run_end[i]])
    step = float(np.median(natural)) if len(natural) else 0.0
    src, dst, cost = [], [], []
    for i in range(len(frames)):
        cand = np.full(len(frames), np.inf)  # jumping from i to j shows j after i: good when i looks like j - 1
        cand[1:] = np.where(has_pred[1:], dist[i, :-1], np.inf)
        cand[max(0, i - 2 * fps):i + 2 * fps + 1] = np.inf  # a jump that short looks like a stutter
        order = np.argsort(cand)[:4]
        good = [int(j) for j in order if cand[j] <= 1.0]
        if not good and run_end[i]:
            good = [int(order[0])] if np.isfinite(cand[order[0]]) else [0 if i else 1]
        for j in good:
            src.append(i)
            dst.append(j)
            cost.append(float(cand[j]) if np.isfinite(cand[j]) else 99.0)
    src_a, dst_a, cost_a = np.array(src, np.int32), np.array(dst, np.int32), np.array(cost, np.float32)
    forced = cost_a > 1.0
    return {"frames": frames, "run_end": run_end, "runs": chosen, "src": src_a, "dst": dst_a, "cost": cost_a,
            "forced": forced, "step": step}


def _bank(plan: _Plan, tr: _Track) -> tuple[dict[Viseme, list[int]], dict[str, str], np.ndarray]:
    """Output frames chosen as samples, per viseme; the fallback for visemes with none; each frame's shape."""
    n = len(plan.source_of)
    feats = np.full((n, 3), np.nan)
    yaw = np.zeros(n)
    for f in np.flatnonzero(plan.usable):
        s = measure(plan.points[f])
        feats[f] = (s.opening, s.width, tr.teeth[plan.source_of[f]])
        yaw[f] = abs(s.yaw)
    ok = np.flatnonzero(plan.usable)
    closed = ok[feats[ok, 0] < 0.02]
    neutral = float(np.median(feats[closed, 1])) if len(closed) else float(np.median(feats[ok, 1]))
    rel = feats.copy()
    rel[:, 1] /= neutral
    tol = np.array(TOLERANCE)
    chosen: dict[Viseme, list[int]] = {}
    for v, proto in PROTOTYPES.items():
        d = np.sqrt((((rel[ok] - proto) / tol) ** 2).sum(1)) + 4 * yaw[ok]
        picks: list[int] = []
        for idx in np.argsort(d):
            if d[idx] > MAX_SHAPE_DISTANCE or len(picks) >= SAMPLES_PER_VISEME:
                break
            k = int(ok[idx])
            # the nearest prototype must be this one (a frame is one viseme's sample), and samples spread out
            others = {u: np.sqrt((((rel[k] - p) / tol) ** 2).sum()) for u, p in PROTOTYPES.items()}
            closed_pair = {Viseme.REST, Viseme.MBP}
            nearest = min(others, key=lambda u: others[u])
            if nearest is not v and not ({nearest, v} <= closed_pair):
                continue
            if all(abs(k - p) >= 5 for p in picks):
                picks.append(k)
        if picks:
            chosen[v] = picks
    fallback: dict[str, str] = {}
    for v, proto in PROTOTYPES.items():
        if v not in chosen:
            if not chosen:
                raise PackError("no mouth shape could be sampled (the face is never seen clearly)")
            near = min(chosen, key=lambda u: float((((np.array(PROTOTYPES[u]) - proto) / tol) ** 2).sum()))
            fallback[v.name] = near.name
    return chosen, fallback, rel


# -- pass 2: cut -----------------------------------------------------------------------------------------------
def _warp_patch(yuv: np.ndarray, width: int, height: int, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut the canonical patch out of a yuv420p frame with ``m`` (patch -> frame): (Y (P, P), UV (2, P/2, P/2))."""
    import torch
    import torch.nn.functional as F

    yp, up, vp = planes(yuv, width, height)

    def cut(plane: np.ndarray, n: int, step: int) -> np.ndarray:
        c = (np.arange(n) + 0.5) * step
        u, v = np.meshgrid(c, c)
        xy = np.stack([u, v], -1) @ m[:, :2].T + m[:, 2]
        grid = np.stack([xy[..., 0] / width * 2 - 1, xy[..., 1] / height * 2 - 1], -1)[None].astype(np.float32)
        img = torch.from_numpy(np.ascontiguousarray(plane)).float()[None, None]
        out = F.grid_sample(img, torch.from_numpy(grid), mode="bilinear", padding_mode="border", align_corners=False)
        return np.clip(out[0, 0].numpy() + 0.5, 0, 255).astype(np.uint8)

    return cut(yp, PATCH, 1), np.stack([cut(up, PATCH // 2, 2), cut(vp, PATCH // 2, 2)])


def _patch_rgb(y: np.ndarray, uv: np.ndarray) -> np.ndarray:
    import av

    packed = np.concatenate([y.ravel(), uv[0].ravel(), uv[1].ravel()]).reshape(PATCH * 3 // 2, PATCH)
    return np.asarray(av.VideoFrame.from_ndarray(packed, format="yuv420p").to_ndarray(format="rgb24"))


def _crop_yuv(frame: Any, scale: float, x_off: int, y_off: int, width: int, height: int) -> np.ndarray:
    """The frame scaled by ``scale`` and cropped to width x height at (x_off, y_off), as packed yuv420p."""
    sw = max(int(round(frame.width * scale)) // 2 * 2, width + x_off)
    sh = max(int(round(frame.height * scale)) // 2 * 2, height + y_off)
    big = frame.reformat(width=sw, height=sh, format="yuv420p").to_ndarray()
    yp, up, vp = planes(big, sw, sh)
    out = np.empty((height * 3 // 2, width), np.uint8)
    oy, ou, ov = planes(out, width, height)
    oy[...] = yp[y_off:y_off + height, x_off:x_off + width]
    xo, yo = x_off // 2, y_off // 2
    ou[...] = up[yo:yo + height // 2, xo:xo + width // 2]
    ov[...] = vp[yo:yo + height // 2, xo:xo + width // 2]
    return out


def _small_rgb(yuv: np.ndarray, width: int, height: int) -> np.ndarray:
    import av

    return np.asarray(av.VideoFrame.from_ndarray(yuv, format="yuv420p").to_ndarray(
        width=width // 4 // 2 * 2, height=height // 4 // 2 * 2, format="rgb24"))


def _masked_mean(y: np.ndarray, uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m2 = mask.reshape(PATCH // 2, 2, PATCH // 2, 2).mean(axis=(1, 3))
    return np.array([(y * mask).sum() / mask.sum(), (uv[0] * m2).sum() / m2.sum(), (uv[1] * m2).sum() / m2.sum()],
                    np.float32)


def _contact_sheet(base_thumbs: list[np.ndarray], samples: dict[Viseme, list[np.ndarray]], report: PackReport) -> Image.Image:
    tw, th = 96, 160
    cols = 8
    rows_base = (len(base_thumbs) + cols - 1) // cols
    ps = 96
    width = max(cols * tw, 40 + SAMPLES_PER_VISEME * ps + 120)
    height = 40 + rows_base * th + 30 + len(PROTOTYPES) * (ps + 6) + 20
    sheet = Image.new("RGB", (width, height), (24, 24, 28))
    d = ImageDraw.Draw(sheet)
    font = load_font(16)
    d.text((8, 10), f"{report.name}: base frames ({report.base_frames}, every {max(1, report.base_frames // max(1, len(base_thumbs)))}th)",
           fill=(230, 230, 230), font=font)
    for i, t in enumerate(base_thumbs):
        sheet.paste(Image.fromarray(t).resize((tw, th)), ((i % cols) * tw, 40 + (i // cols) * th))
    y = 40 + rows_base * th + 10
    d.text((8, y), "mouth bank (lower-face samples by viseme)", fill=(230, 230, 230), font=font)
    y += 24
    for v in PROTOTYPES:
        got = samples.get(v, [])
        label = v.name + ("" if got else f" (missing: uses {report.fallback.get(v.name, '?')})")
        d.text((8, y + ps // 2 - 8), label[:22], fill=(230, 230, 230) if got else (240, 120, 110), font=font)
        for i, s in enumerate(got):
            sheet.paste(Image.fromarray(np.clip(s, 0, 255).astype(np.uint8)).resize((ps, ps)), (150 + i * (ps + 4), y))
        y += ps + 6
    return sheet


def build_pack(video: str | Path, name: str, folder: str | Path, tracker: FaceTracker, *, width: int = 720,
               height: int = 1280, fps: int = 25, base_seconds: float = 20.0, consent: str = "",
               source_sha256: str = "", force: bool = False, progress: ProgressFn | None = None) -> PackReport:
    """Build the pack ``folder/name`` from ``video``; returns its report.  Nothing appears until it is complete."""
    started = time.monotonic()
    video, folder = Path(video), Path(folder)
    if not video.is_file():
        raise PackError(f"video = {str(video)!r}: no such file")
    if width % 2 or height % 2:
        raise PackError(f"size = {width}x{height}: width and height must be even")
    target = folder / name
    if target.exists() and not force:
        raise PackError(f"avatar {name!r} already exists at {target} (give --force to replace it)")
    container = _open(video)
    try:
        stream = container.streams.video[0]
        seconds = float(stream.duration * stream.time_base) if stream.duration else (
            float(container.duration) / 1e6 if container.duration else 0.0)
        total = stream.frames or int(seconds * float(stream.average_rate or fps))
    finally:
        container.close()
    try:
        tr = _track(video, tracker, progress, total)
    except TrackerError as e:
        raise PackError(str(e)) from None
    finally:
        tracker.close()
    seconds = tr.times[-1] - tr.times[0] + (tr.times[-1] - tr.times[-2] if len(tr.times) > 1 else 1 / fps)
    if seconds < MIN_SECONDS:
        raise PackError(f"video = {str(video)!r}: too short ({seconds:.1f} s); record 2 to 5 minutes of the person "
                        f"talking (at least {MIN_SECONDS:.0f} s)")
    plan, info = _plan(tr, width, height, fps, video)
    n = len(plan.source_of)
    report = PackReport(name=name, source=video.name, seconds=round(seconds, 2), frames=n, fps=fps,
                        source_fps=round(info["source_fps"], 2), variable_frame_rate=info["vfr"], tracker=tracker.name,
                        consent=consent)
    for r in plan.reasons:
        if r:
            report.rejected[r] = report.rejected.get(r, 0) + 1
    report.usable = int(plan.usable.sum())
    if report.usable < 0.2 * n:
        top = max(report.rejected, key=lambda k: report.rejected[k])
        raise PackError(f"video = {str(video)!r}: the face is usable in only {report.usable} of {n} frames "
                        f"(mostly: {top}); record the person facing the camera, alone, in steady light")
    graph = _loop_graph(plan, tr, fps, int(base_seconds * fps))
    chosen, fallback, shapes = _bank(plan, tr)
    report.base_frames, report.runs = len(graph["frames"]), len(graph["runs"])
    natural_joins = ~graph["forced"]
    report.transitions = int(natural_joins.sum())
    report.seams = int(graph["forced"].sum())
    report.loop_cost = round(float(np.median(graph["cost"][natural_joins])) if natural_joins.any() else 0.0, 3)
    report.natural_step = round(graph["step"], 3)
    report.worst_seam = round(float(graph["cost"][graph["forced"]].max()) if report.seams else 0.0, 3)
    report.visemes = {v.name: len(chosen.get(v, [])) for v in PROTOTYPES}
    report.missing = [v.name for v in PROTOTYPES if v not in chosen]
    report.fallback = fallback
    if seconds < 60:
        report.warnings.append(f"a short recording ({seconds:.0f} s): 2 to 5 minutes give a richer loop and mouth bank")
    if report.usable < 0.6 * n:
        report.warnings.append(f"only {100 * report.usable / n:.0f}% of the frames are usable")
    if report.missing:
        report.warnings.append(f"{len(report.missing)} viseme(s) have no sample of their own")

    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{name}.building-"))
    try:
        _cut(video, tmp, plan, graph, chosen, fallback, report, width, height, fps, tracker.name,
             source_sha256, progress)
        report.build_seconds = round(time.monotonic() - started, 2)
        (tmp / "report.json").write_text(jsonio.dumps(report.as_json(), indent=1), encoding="utf-8")
        if target.exists():
            old = folder / f".{name}.replaced-{os.getpid()}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _cut(video: Path, out: Path, plan: _Plan, graph: dict[str, Any], chosen: dict[Viseme, list[int]],
         fallback: dict[str, str], report: PackReport, width: int, height: int, fps: int, tracker: str,
         sha: str, progress: ProgressFn | None) -> None:
    frames = graph["frames"]
    base_slot = {int(k): i for i, k in enumerate(frames)}
    sample_frames = sorted({k for ks in chosen.values() for k in ks})
    wanted_src: dict[int, list[int]] = {}
    for k in sorted(set(base_slot) | set(sample_frames)):
        wanted_src.setdefault(int(plan.source_of[k]), []).append(k)
    scale, x_off, y_off = plan.crop
    base = np.lib.format.open_memmap(out / "base.npy", mode="w+", dtype=np.uint8, shape=(len(frames), height * 3 // 2, width))
    mask = blend_mask()
    base_mean = np.zeros((len(frames), 3), np.float32)
    sample_y, sample_uv, sample_rgb = {}, {}, {}
    thumbs: list[np.ndarray] = []
    thumb_every = max(1, len(frames) // 24)
    done, todo = 0, len(wanted_src)
    for j, _t, frame in _frames(video):
        ks = wanted_src.get(j)
        if not ks:
            continue
        yuv = _crop_yuv(frame, scale, x_off, y_off, width, height)
        for k in ks:
            py, puv = _warp_patch(yuv, width, height, patch_transform(plan.points[k]))
            if k in base_slot:
                i = base_slot[k]
                base[i] = yuv
                base_mean[i] = _masked_mean(py, puv, mask)
                if i % thumb_every == 0 and len(thumbs) < 24:
                    thumbs.append(_small_rgb(yuv, width, height))
            if k in sample_frames:
                sample_y[k], sample_uv[k], sample_rgb[k] = py, puv, _patch_rgb(py, puv)
        done += 1
        if progress is not None:
            progress("cutting", done, todo)
        if done == todo:
            break
    base.flush()
    del base
    order = sample_frames
    index = {k: i for i, k in enumerate(order)}
    visemes = {v.name: [index[k] for k in ks] for v, ks in chosen.items()}
    samples_y = np.stack([sample_y[k] for k in order])
    samples_uv = np.stack([sample_uv[k] for k in order])
    sample_mean = np.stack([_masked_mean(sample_y[k], sample_uv[k], mask) for k in order])
    np.savez(out / "pack.npz", anchors=plan.points[frames][:, list(ANCHORS)].astype(np.float32),
             points=plan.points[frames].astype(np.float32), base_mean=base_mean, run_end=graph["run_end"],
             src=graph["src"], dst=graph["dst"], cost=graph["cost"], samples_y=samples_y, samples_uv=samples_uv,
             sample_mean=sample_mean, mask=mask, source_frames=frames.astype(np.int32))
    manifest = {
        "version": PACK_VERSION, "name": report.name, "created": time.time(), "width": width, "height": height,
        "fps": fps, "patch": {"size": PATCH, "x0": PATCH_X0, "y0": PATCH_Y0, "span": PATCH_SPAN},
        "source": {"name": video.name, "sha256": sha, "seconds": report.seconds, "tracker": tracker},
        "consent": report.consent, "base_frames": len(frames), "visemes": visemes, "fallback": fallback,
        "sample_frames": [int(plan.source_of[k]) for k in order],  # each sample's frame in the recording
        "crop": {"scale": scale, "x": x_off, "y": y_off},
    }
    (out / "pack.json").write_text(jsonio.dumps(manifest, indent=1), encoding="utf-8")
    sheet = _contact_sheet(thumbs, {v: [sample_rgb[k] for k in ks] for v, ks in chosen.items()}, report)
    sheet.save(out / "contact.png")


# -- reading a pack --------------------------------------------------------------------------------------------
@dataclass
class AvatarPack:
    """A pack as the renderer reads it (the base frames memory-mapped, shared by every channel)."""

    name: str
    path: Path
    manifest: dict[str, Any]
    base: np.ndarray  # (N, H*3/2, W) uint8 yuv420p
    anchors: np.ndarray  # (N, 6, 2)
    base_mean: np.ndarray  # (N, 3)
    run_end: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    cost: np.ndarray
    samples_y: np.ndarray  # (M, P, P) uint8
    samples_uv: np.ndarray  # (M, 2, P/2, P/2) uint8
    sample_mean: np.ndarray  # (M, 3)
    mask: np.ndarray  # (P, P) float32
    by_viseme: dict[int, list[int]]  # viseme -> sample indices (fallbacks resolved)

    @property
    def width(self) -> int:
        return int(self.manifest["width"])

    @property
    def height(self) -> int:
        return int(self.manifest["height"])

    @property
    def consent(self) -> str:
        return str(self.manifest.get("consent") or "")

    @property
    def source_sha256(self) -> str:
        return str(self.manifest["source"].get("sha256") or "")

    def report(self) -> dict[str, Any]:
        return dict(json.loads((self.path / "report.json").read_text(encoding="utf-8")))

    @classmethod
    def load(cls, path: str | Path) -> AvatarPack:
        path = Path(path)
        try:
            manifest = jsonio.loads((path / "pack.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PackError(f"avatar pack {str(path)!r}: not found (livehost avatar create ...)") from None
        except (OSError, ValueError) as e:
            raise PackError(f"avatar pack {str(path)!r}: unreadable manifest: {e}") from None
        if not isinstance(manifest, dict) or manifest.get("version") != PACK_VERSION:
            raise PackError(f"avatar pack {str(path)!r}: version {manifest.get('version') if isinstance(manifest, dict) else '?'}"
                            f" is not {PACK_VERSION}; build it again with livehost avatar create")
        try:
            arrays = np.load(path / "pack.npz")
            base = np.load(path / "base.npy", mmap_mode="r")
        except (OSError, ValueError) as e:
            raise PackError(f"avatar pack {str(path)!r}: damaged: {e}") from None
        by_name = {k: list(v) for k, v in manifest["visemes"].items()}
        by_viseme = {int(v): by_name.get(v.name) or by_name[manifest["fallback"][v.name]] for v in Viseme}
        return cls(name=str(manifest["name"]), path=path, manifest=manifest, base=base,
                   **{k: arrays[k] for k in ("anchors", "base_mean", "run_end", "src", "dst", "cost", "samples_y",
                                             "samples_uv", "sample_mean", "mask")},
                   by_viseme=by_viseme)


class LoopWalker:
    """Which base frame comes next: the stretch plays on, and now and then (always at a stretch's end) jumps
    along a join to another frame that looks like the one it replaces.  Seeded, so a channel's picture is
    reproducible, and random, so a day of it has no period."""

    def __init__(self, pack: AvatarPack, seed: int = 0, mean_stay_s: float = 4.0) -> None:
        self.rng = np.random.default_rng(seed)
        n = len(pack.base)
        self.exits: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for s, d, c in zip(pack.src, pack.dst, pack.cost, strict=True):
            self.exits[int(s)].append((int(d), float(c)))
        self.run_end = pack.run_end
        self.p_jump = 1.0 / (mean_stay_s * int(pack.manifest["fps"]))
        self.n = n
        self.i = int(self.rng.integers(0, n))
        self.jumps = 0

    def step(self) -> int:
        i = self.i
        exits = self.exits[i]
        if self.run_end[i] or i + 1 >= self.n or (exits and self.rng.random() < self.p_jump):
            if exits:
                w = np.exp(-np.array([c for _, c in exits]))
                nxt = exits[int(self.rng.choice(len(exits), p=w / w.sum()))][0]
                self.jumps += 1
            else:
                nxt = 0
        else:
            nxt = i + 1
        self.i = nxt
        return i
