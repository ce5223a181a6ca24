"""Pack quality on presenters the code was not written against: MediaPipe's landmarks against the truth, and
the mouth bank's samples against the viseme each sample frame truly shows.

For each seed (default: 101 102 103, never used while writing the tracker, the thresholds or the viseme
prototypes) a synthetic presenter is drawn, tracked by MediaPipe (not the ground-truth adapter), and
packed; printed per seed and overall:

  (a) landmark error, mean over frames, in eye distances: anchors (eyes, nose) and mouth points
  (b) bank agreement: samples whose frame truly shows their viseme (REST/MBP and FV/TEETH count as one),
      against chance (the share of frames showing that viseme)
  (c) coverage: visemes with samples of their own

    .venv/bin/python bench/pack_quality.py [--seeds 101 102 103] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

from streaming.avatar.face import ANCHORS, GroundTruthTracker, MediaPipeTracker, P, measure  # noqa: E402
from streaming.avatar.pack import AvatarPack, build_pack  # noqa: E402
from streaming.avatar.synthetic import write_recording  # noqa: E402
from streaming.tts.visemes import Viseme  # noqa: E402

MOUTH = [P[n] for n in ("mouth_l", "mouth_r", "lip_upper_inner", "lip_lower_inner")]
TWINS = {frozenset({Viseme.REST, Viseme.MBP}), frozenset({Viseme.FV, Viseme.TEETH})}


def one(seed: int, seconds: float, folder: Path) -> dict[str, float]:
    video = folder / f"p{seed}.mp4"
    side = write_recording(video, seconds, width=720, height=1280, seed=seed)
    truth = GroundTruthTracker(side)
    tracker = MediaPipeTracker()
    anchor_err, mouth_err, lost = [], [], 0
    with av.open(str(video)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            rgb = frame.to_ndarray(format="rgb24")
            found, want = tracker.track(i, rgb), truth.track(i, rgb)[0].points
            if len(found) != 1:
                lost += 1
                continue
            iod = measure(want).iod
            err = np.linalg.norm(found[0].points - want, axis=1) / iod
            anchor_err.append(err[list(ANCHORS)].mean())
            mouth_err.append(err[MOUTH].mean())
    tracker.close()
    build_pack(video, "q", folder / f"packs{seed}", MediaPipeTracker(), width=720, height=1280, base_seconds=10)
    pack = AvatarPack.load(folder / f"packs{seed}" / "q")
    shown = json.loads(side.read_text())["visemes"]
    good = total = 0
    chance = []
    for name, idx in pack.manifest["visemes"].items():
        v = Viseme[name]
        share = np.mean([Viseme(s) == v or frozenset({Viseme(s), v}) in TWINS for s in shown])
        for i in idx:
            got = Viseme(shown[pack.manifest["sample_frames"][i]])
            total += 1
            good += got == v or frozenset({got, v}) in TWINS
            chance.append(share)
    covered = sum(1 for v in Viseme if pack.manifest["visemes"].get(v.name))
    return {"anchor": float(np.mean(anchor_err)), "mouth": float(np.mean(mouth_err)), "lost": lost,
            "agree": good / max(total, 1), "chance": float(np.mean(chance)), "covered": covered}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for seed in args.seeds:
            r = one(seed, args.seconds, Path(d))
            rows.append(r)
            print(f"seed {seed}: landmarks off by {r['anchor']:.3f} (anchors) / {r['mouth']:.3f} (mouth) eye distances, "
                  f"{r['lost']} frames without one face; bank agreement {100 * r['agree']:.0f}% "
                  f"(chance {100 * r['chance']:.0f}%); {r['covered']}/9 visemes sampled")
    print(f"overall: anchors {np.mean([r['anchor'] for r in rows]):.3f}, mouth {np.mean([r['mouth'] for r in rows]):.3f} "
          f"eye distances; bank agreement {100 * np.mean([r['agree'] for r in rows]):.0f}% "
          f"(chance {100 * np.mean([r['chance'] for r in rows]):.0f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
