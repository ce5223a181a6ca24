"""Benchmark: rendering the built-in 2D host against the cheapest possible picture.

Renders N frames (default 200) of Avatar2D at 720x1280 while speaking, with a
Chinese product card, and compares the time per frame with copying one
finished yuv420p frame of the same size (the least any renderer does per
frame), measured in the same run:

  (a) ms per rendered frame     target: well under one 40 ms frame period at 25 fps
  (b) render / frame copy

    .venv/bin/python bench/avatar_render.py [--frames 200] [--size 720x1280]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from streaming.avatar import Avatar2D, ProductCard  # noqa: E402

CARD = ProductCard(name="有机冷榨山茶油 500ml 家庭装", price="¥59.00", sale_price="¥39.90", badge="限时特价")


def per_frame_ms(fn, n: int) -> float:
    for i in range(5):  # warm up
        fn(i)
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) * 1e3 / n


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--size", default="720x1280")
    args = p.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    avatar = Avatar2D(w, h, seed=0)
    t0 = time.perf_counter()
    avatar.set_card(CARD)
    set_card_ms = (time.perf_counter() - t0) * 1e3
    render = per_frame_ms(lambda i: avatar.render(i, i % 9, speaking=True), args.frames)
    frame = avatar.render(0, 0)
    copy = per_frame_ms(lambda i: np.copy(frame), args.frames)
    print(f"Avatar2D {w}x{h}: {args.frames} frames, set_card {set_card_ms:.1f} ms")
    print(f"(a) render:          {render:7.3f} ms per frame (frame period at 25 fps: 40 ms)")
    print(f"    frame copy:      {copy:7.3f} ms per frame")
    print(f"(b) render / copy:   {render / copy:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
