"""A synthetic presenter recording: a drawn face that talks, with the true position of every landmark.

Nobody's likeness is in it, so it needs no one's consent to animate beyond the record the pack rules ask
for; the tests, benchmarks and ``livehost avatar sample`` build avatar packs from it.  The face moves its
head (shift, roll, scale), blinks, and speaks in stretches of mouth shapes drawn from the nine visemes,
with idle pauses between; the sidecar gives its 16 points per frame (the ground-truth tracker reads it)
and the viseme each frame shows (for checking the pack's classification).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from livehost.core import jsonio
from streaming.avatar.face import LAYOUT, POINTS, P
from streaming.tts.visemes import Viseme

# (opening, width, teeth) of each viseme, in iods: the shapes the synthetic face makes.
NEUTRAL_WIDTH = 0.52
SHAPES: dict[Viseme, tuple[float, float, float]] = {
    Viseme.REST: (0.0, NEUTRAL_WIDTH, 0.0), Viseme.MBP: (0.0, NEUTRAL_WIDTH * 0.95, 0.0),
    Viseme.FV: (0.035, NEUTRAL_WIDTH, 1.0), Viseme.TEETH: (0.06, NEUTRAL_WIDTH * 1.03, 1.0),
    Viseme.I: (0.09, NEUTRAL_WIDTH * 1.14, 0.6), Viseme.E: (0.16, NEUTRAL_WIDTH * 1.06, 0.4),
    Viseme.AA: (0.32, NEUTRAL_WIDTH, 0.3), Viseme.O: (0.22, NEUTRAL_WIDTH * 0.78, 0.0),
    Viseme.U: (0.08, NEUTRAL_WIDTH * 0.7, 0.0),
}
SKIN = (224, 178, 150)
LIP = (178, 92, 92)


@dataclass(frozen=True)
class Pose:
    cx: float
    cy: float
    iod: float  # pixels
    roll: float  # degrees
    opening: float
    width: float
    teeth: float
    blink: float  # 0 open .. 1 closed
    light: float  # gain
    viseme: int


def design_points(opening: float, width: float) -> np.ndarray:
    """The 16 points in iod units (origin between the eyes, y down)."""
    mouth_y = 0.86
    pts = np.zeros((len(POINTS), 2))
    pts[P["eye_l_outer"]], pts[P["eye_l_inner"]] = (-0.5, 0.0), (-0.2, 0.0)
    pts[P["eye_r_inner"]], pts[P["eye_r_outer"]] = (0.2, 0.0), (0.5, 0.0)
    pts[P["nose_bridge"]], pts[P["nose_tip"]] = (0.0, 0.02), (0.0, 0.56)
    pts[P["mouth_l"]], pts[P["mouth_r"]] = (-width / 2, mouth_y), (width / 2, mouth_y)
    pts[P["lip_upper_inner"]] = (0.0, mouth_y - 0.35 * opening)
    pts[P["lip_lower_inner"]] = (0.0, mouth_y + 0.65 * opening)
    pts[P["lip_top"]] = (0.0, mouth_y - 0.35 * opening - 0.075)
    pts[P["lip_bottom"]] = (0.0, mouth_y + 0.65 * opening + 0.09)
    pts[P["chin"]] = (0.0, 1.36 + 0.55 * opening)
    pts[P["jaw_l"]], pts[P["jaw_r"]] = (-0.56, 1.12 + 0.3 * opening), (0.56, 1.12 + 0.3 * opening)
    pts[P["forehead"]] = (0.0, -0.78)
    return pts


class SyntheticPresenter:
    """Draws the presenter frame by frame at ``width`` x ``height``; ``faces=2`` adds a second person,
    ``faces=0`` draws the set with nobody in it."""

    def __init__(self, width: int = 720, height: int = 1280, *, fps: int = 25, seed: int = 0, faces: int = 1) -> None:
        self.width, self.height, self.fps, self.faces = width, height, fps, faces
        self.rng = np.random.default_rng(seed)
        self.iod = 0.21 * min(width, height)
        self.scale = 200.0  # head canvas px per iod
        self._background = self._draw_background()
        self._head = self._draw_head()
        self._script = self._talk_script()

    # -- drawing ---------------------------------------------------------------------------------------------
    def _draw_background(self) -> Image.Image:
        w, h = self.width, self.height
        y = np.linspace(0, 1, h)[:, None, None]
        x = np.linspace(0, 1, w)[None, :, None]
        top, bottom = np.array([70, 86, 110]), np.array([34, 40, 52])
        bg = top * (1 - y) + bottom * y + 10 * np.sin(6 * x) * (1 - y)
        img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(img)
        for i in range(5):  # shelves with boxes behind the presenter
            sy = int(h * (0.12 + 0.1 * i))
            d.rectangle((0, sy, w, sy + max(2, h // 160)), fill=(120, 98, 80))
            for j in range(7):
                bx = int(w * (0.02 + 0.14 * j + 0.03 * ((i * 7 + j) % 3)))
                bh = int(h * (0.03 + 0.02 * ((i + j) % 3)))
                d.rectangle((bx, sy - bh, bx + int(w * 0.08), sy), fill=(90 + 30 * (j % 4), 70 + 25 * (i % 3), 60 + 20 * (j % 2)))
        # shoulders and neck of a presenter in a dark top
        cx, iod = w / 2, self.iod
        neck_top, shoulder = h * 0.3 + 1.1 * iod, h * 0.3 + 1.9 * iod
        if self.faces:
            d.rectangle((cx - 0.42 * iod, neck_top, cx + 0.42 * iod, shoulder + iod), fill=(196, 150, 124))
            d.ellipse((cx - 2.2 * iod, shoulder, cx + 2.2 * iod, shoulder + 3.5 * iod), fill=(40, 46, 70))
        return img.filter(ImageFilter.GaussianBlur(0.6))

    def _draw_head(self) -> Image.Image:
        """The head without the mouth and jaw, unrotated: (pixels per iod = ``scale``), RGBA."""
        s = self.scale
        size = (int(2.0 * s), int(2.6 * s))
        ox, oy = size[0] / 2, 0.95 * s  # where the eye midpoint sits in the canvas
        self._origin = (ox, oy)
        img = Image.new("RGBA", size, (0, 0, 0, 0))
        d = ImageDraw.Draw(img)

        def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
            return (ox + x0 * s, oy + y0 * s, ox + x1 * s, oy + y1 * s)

        d.ellipse(box(-0.8, -0.95, 0.8, 1.2), fill=SKIN + (255,))
        d.ellipse(box(-0.86, -1.02, 0.86, -0.1), fill=(52, 36, 30, 255))  # hair
        d.rectangle(box(-0.86, -0.55, -0.7, 0.5), fill=(52, 36, 30, 255))
        d.rectangle(box(0.7, -0.55, 0.86, 0.5), fill=(52, 36, 30, 255))
        d.ellipse(box(-0.72, -0.45, 0.72, 0.3), fill=SKIN + (255,))  # face below the fringe
        for sx in (-1, 1):
            d.ellipse(box(sx * 0.35 - 0.16, -0.07, sx * 0.35 + 0.16, 0.07), fill=(250, 250, 246, 255))
            d.ellipse(box(sx * 0.35 - 0.07, -0.07, sx * 0.35 + 0.07, 0.07), fill=(70, 50, 40, 255))
            d.ellipse(box(sx * 0.35 - 0.03, -0.03, sx * 0.35 + 0.03, 0.03), fill=(15, 10, 10, 255))
            d.line([box(sx * 0.35 - 0.18, -0.2, sx * 0.35 + 0.18, -0.22)[:2], box(0, 0, sx * 0.35 + 0.18, -0.2)[2:]],
                   fill=(60, 40, 32, 255), width=max(2, int(0.04 * s)))
            d.ellipse(box(sx * 0.42 - 0.14, 0.36, sx * 0.42 + 0.14, 0.56), fill=(232, 160, 150, 120))  # cheeks
        d.polygon([(ox, oy + 0.1 * s), (ox - 0.1 * s, oy + 0.56 * s), (ox + 0.1 * s, oy + 0.56 * s)], fill=(206, 158, 132, 255))
        noise = self.rng.normal(0, 5.0, (size[1], size[0]))[..., None]  # skin texture, so a misplaced patch shows
        yy, xx = np.mgrid[0:size[1], 0:size[0]]
        shade = (1.0 - 0.22 * (((xx - ox) / (0.8 * s)) ** 2))[..., None]  # rounder: darker towards the sides

        def textured(a: np.ndarray) -> Image.Image:
            a = a.astype(np.float32)
            a[..., :3] = np.clip(a[..., :3] * shade + noise, 0, 255)
            return Image.fromarray(a.astype(np.uint8), "RGBA")

        self._skin = textured(np.broadcast_to(np.array(SKIN + (255,), np.float32), (size[1], size[0], 4)).copy())
        return textured(np.asarray(img))

    def _draw_face(self, pose: Pose) -> Image.Image:
        s, (ox, oy) = self.scale, self._origin
        head = self._head.copy()
        d = ImageDraw.Draw(head)
        pts = design_points(pose.opening, pose.width) * s + np.array([ox, oy])
        jaw = [tuple(pts[P["jaw_l"]]), (ox - 0.3 * s, pts[P["chin"]][1] - 0.05 * s), tuple(pts[P["chin"]]),
               (ox + 0.3 * s, pts[P["chin"]][1] - 0.05 * s), tuple(pts[P["jaw_r"]]), (ox + 0.7 * s, oy + 0.6 * s),
               (ox - 0.7 * s, oy + 0.6 * s)]
        mask = Image.new("L", head.size, 0)
        ImageDraw.Draw(mask).polygon(jaw, fill=255)
        head.paste(self._skin, (0, 0), mask)
        ml, mr = pts[P["mouth_l"]], pts[P["mouth_r"]]
        ui, li, top, bot = pts[P["lip_upper_inner"]], pts[P["lip_lower_inner"]], pts[P["lip_top"]], pts[P["lip_bottom"]]
        outer = [tuple(ml), (ml[0] + 0.3 * (mr[0] - ml[0]), top[1] + 0.01 * s), tuple(top),
                 (mr[0] - 0.3 * (mr[0] - ml[0]), top[1] + 0.01 * s), tuple(mr),
                 (mr[0] - 0.25 * (mr[0] - ml[0]), bot[1] - 0.01 * s), tuple(bot), (ml[0] + 0.25 * (mr[0] - ml[0]), bot[1] - 0.01 * s)]
        d.polygon(outer, fill=LIP + (255,))
        if pose.opening > 0.005:
            inner = [tuple(ml + [0.03 * s, 0]), tuple(ui), tuple(mr - [0.03 * s, 0]), tuple(li)]
            d.polygon(inner, fill=(60, 20, 24, 255))
            if pose.teeth > 0.2:
                tw = 0.4 * (mr[0] - ml[0])
                d.rectangle((ox - tw, ui[1], ox + tw, ui[1] + min(0.05 * s, (li[1] - ui[1]) * (0.3 + 0.5 * pose.teeth))),
                            fill=(236, 232, 224, 255))
        else:
            d.line([tuple(ml), tuple(ui), tuple(mr)], fill=(120, 50, 54, 255), width=max(2, int(0.02 * s)))
        if pose.blink > 0.05:
            for sx in (-1, 1):
                lid = -0.08 + 0.16 * pose.blink
                d.rectangle((ox + (sx * 0.35 - 0.17) * s, oy - 0.09 * s, ox + (sx * 0.35 + 0.17) * s, oy + lid * s),
                            fill=(214, 168, 140, 255))
        return head

    def _transform(self, pose: Pose) -> np.ndarray:
        """Head canvas pixel -> frame pixel (2x3)."""
        k = pose.iod / self.scale
        a = math.radians(pose.roll)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * k
        m = np.zeros((2, 3))
        m[:, :2] = rot
        m[:, 2] = np.array([pose.cx, pose.cy]) - rot @ np.array(self._origin)
        return m

    def frame(self, pose: Pose) -> tuple[np.ndarray, list[np.ndarray]]:
        """(RGB frame, the faces' points in frame pixels)."""
        img = self._background.copy()
        faces = []
        poses = [pose] if self.faces == 1 else [] if self.faces == 0 else [
            pose, Pose(**{**pose.__dict__, "cx": pose.cx + 0.5 * self.width * (1 if pose.cx < self.width / 2 else -1)})]
        for p in poses:
            head = self._draw_face(p)
            m = self._transform(p)
            inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
            layer = head.transform(img.size, Image.Transform.AFFINE, tuple(inv.reshape(-1)), Image.Resampling.BILINEAR)
            img.paste(layer, (0, 0), layer)
            design = design_points(p.opening, p.width) * self.scale + np.array(self._origin)
            faces.append((design @ m[:, :2].T + m[:, 2]).astype(np.float32))
        arr = np.asarray(img).astype(np.float32) * pose.light
        return np.clip(arr, 0, 255).astype(np.uint8), faces

    # -- the performance -------------------------------------------------------------------------------------
    def _talk_script(self) -> Iterator[int]:
        """Visemes, one per frame: talking stretches of 2-5 s, idle pauses of 1-2.5 s."""
        rng, fps = self.rng, self.fps
        speech = [v for v in Viseme if v is not Viseme.REST]
        while True:
            end = int(rng.uniform(2, 5) * fps)
            n = 0
            while n < end:
                v = int(rng.choice(speech))
                hold = int(rng.integers(2, 6))
                for _ in range(hold):
                    yield v
                n += hold
            for _ in range(int(rng.uniform(1, 2.5) * fps)):
                yield int(Viseme.REST)

    def poses(self, frames: int) -> Iterator[Pose]:
        rng, fps, w, h = self.rng, self.fps, self.width, self.height
        phase = rng.uniform(0, 2 * math.pi, 6)
        o, wd, t = SHAPES[Viseme.REST]
        next_blink = int(rng.uniform(2, 5) * fps)
        for i in range(frames):
            v = next(self._script)
            to, tw, tt = SHAPES[Viseme(v)]
            o, wd, t = o + 0.6 * (to - o), wd + 0.6 * (tw - wd), tt  # the lips move over about two frames
            if i >= next_blink + 4:
                next_blink = i + int(rng.uniform(2, 6) * fps)
            blink = max(0.0, 1.0 - abs(i - next_blink - 2) / 2.0) if i >= next_blink else 0.0
            sec = i / fps
            yield Pose(
                cx=w / 2 + 0.05 * self.iod * math.sin(0.7 * sec + phase[0]),
                cy=h * 0.3 + 0.04 * self.iod * math.sin(0.5 * sec + phase[1]),
                iod=self.iod * (1 + 0.015 * math.sin(0.3 * sec + phase[2])),
                roll=2.5 * math.sin(0.4 * sec + phase[3]), opening=o, width=wd, teeth=t, blink=blink,
                light=1.0 + 0.015 * math.sin(0.2 * sec + phase[4]), viseme=v,
            )


def write_recording(path: str | Path, seconds: float, *, width: int = 720, height: int = 1280, fps: int = 25,
                    seed: int = 0, faces: int = 1, vfr: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the presenter to ``path`` (H.264 MP4) and its sidecar ``path.landmarks.json``; returns the sidecar.

    ``vfr`` stamps frames at uneven times (alternately 30 and 50 ms apart, like a phone under load)."""
    import av

    path = Path(path)
    presenter = SyntheticPresenter(width, height, fps=fps, seed=seed, faces=faces)
    frames = int(round(seconds * fps))
    sidecar: list[list[list[list[float]]]] = []
    visemes: list[int] = []
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        t_ms = 0
        for i, pose in enumerate(presenter.poses(frames)):
            rgb, faces_pts = presenter.frame(pose)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = t_ms, Fraction(1, 1000)
            t_ms += (30 if i % 2 else 50) if vfr else 1000 // fps
            for packet in stream.encode(frame):
                out.mux(packet)
            sidecar.append([[[round(float(x), 2), round(float(y), 2)] for x, y in f] for f in faces_pts])
            visemes.append(pose.viseme)
            if progress is not None:
                progress(i + 1, frames)
        for packet in stream.encode():
            out.mux(packet)
    side = path.with_name(path.name + ".landmarks.json")
    side.write_text(jsonio.dumps({"layout": LAYOUT, "width": width, "height": height, "frames": sidecar,
                                  "visemes": visemes, "synthetic": True}), encoding="utf-8")
    return side
