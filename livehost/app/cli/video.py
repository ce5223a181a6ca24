"""``livehost video``: one product's selling segment (hook, facts, price, call to action) to an MP4 file,
with the drawn or a photoreal host, as fast as the machine renders it; optionally with subtitles."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from livehost.app.cli import Edge
from livehost.app.config import ChannelConfig, build_config, read_mapping
from livehost.app.session import ChannelSession
from livehost.core.config import ConfigError, merge
from livehost.core.frames import Frame, OnAir
from livehost.core.store import Store
from streaming.subtitles import SubtitleStage, srt


def add_parsers(sub: Any) -> None:
    v = sub.add_parser("video", help="render one product's selling segment to an MP4 (not paced: as fast as it goes)")
    v.add_argument("--sku", required=True, help="the product (or variant) to sell")
    v.add_argument("--output", "-o", required=True, help="the MP4 to write")
    v.add_argument("--seconds", type=float, default=60.0, help="length of the video (default 60)")
    v.add_argument("--avatar", help="a photoreal avatar pack (default: the drawn host)")
    v.add_argument("--device", help="where a photoreal host renders: auto, cpu, cuda[:N]")
    v.add_argument("--subtitles", action="store_true", help="burn the spoken sentences in (an .srt is always written)")
    v.add_argument("--catalog", help="catalog file (default: the bundled sample)")
    v.add_argument("--config", help="channel config file (YAML or TOML); flags override it")
    v.add_argument("--size", help="WIDTHxHEIGHT (default 720x1280)")
    v.add_argument("--voice", choices=["auto", "espeak", "piper"], help="TTS engine (default auto)")
    v.add_argument("--seed", type=int, help="script phrasing seed")
    v.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    v.set_defaults(run=video)


def _config(args: argparse.Namespace) -> ChannelConfig:
    out = Path(args.output)
    if out.suffix.lower() != ".mp4":
        raise ConfigError(f"output = {args.output!r}: livehost video writes .mp4")
    if not 1 <= args.seconds <= 3600:
        raise ConfigError(f"seconds = {args.seconds}: give 1 to 3600")
    overrides = {"output.url": str(out), "output.realtime": False, "disclose": False, "avatar": args.avatar,
                 "render.device": args.device, "catalog": args.catalog, "size": args.size, "voice.engine": args.voice, "seed": args.seed}
    data = read_mapping(args.config) if args.config else {}
    if isinstance(data.get("output"), dict):
        data["output"] = {k: v for k, v in data["output"].items() if k != "obs"}  # a video is a file, not OBS's feed
    config = build_config(merge(data, overrides))
    return config.model_copy(update={"id": "video"})


class _Progress:
    """Observer: a bar of media seconds written, and the speed against real time."""

    def __init__(self, seconds: float, quiet: bool) -> None:
        self.seconds, self.quiet, self.t0, self.shown = seconds, quiet, time.monotonic(), 0.0

    def on_frame(self, stage: str, frame: Frame) -> None:
        if self.quiet or stage != "encode" or not isinstance(frame, OnAir):
            return
        now = time.monotonic()
        if now - self.shown < 0.25:
            return
        self.shown = now
        done = frame.pts / 48000
        fill = int(30 * min(1.0, done / self.seconds))
        speed = done / max(now - self.t0, 1e-6)
        print(f"\r  rendering [{'#' * fill}{'.' * (30 - fill)}] {done:5.1f}/{self.seconds:.0f} s  {speed:.1f}x real time ",
              end="", file=sys.stderr, flush=True)


async def _render(config: ChannelConfig, store: Store | None, args: argparse.Namespace,
                  edge: Edge) -> tuple[ChannelSession, SubtitleStage, float]:
    subtitles = SubtitleStage(config.width, config.height, burn=args.subtitles)
    session = ChannelSession(config, store, settings=edge.settings, subtitles=subtitles)
    try:
        session.planner.pin(args.sku)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    session.pipeline.add_observer(_Progress(args.seconds, args.quiet))
    t0 = time.monotonic()
    await session.run(duration=args.seconds)
    subtitles.finish(session.playout_stage.pts)
    return session, subtitles, time.monotonic() - t0


def video(args: argparse.Namespace, edge: Edge) -> int:
    config = _config(args)
    out = Path(config.output.url)
    store = Store(edge.settings.redis_url, edge.settings.home) if config.needs_consent else None
    try:
        session, subtitles, took = asyncio.run(_render(config, store, args, edge))
    finally:
        if store is not None:
            store.close()
    if not args.quiet:
        print(file=sys.stderr)
    cues = out.with_suffix(".srt")
    cues.write_text(srt(subtitles.cues), encoding="utf-8")
    stats = session.stats()
    print(f"wrote {out} ({stats.media_seconds:.1f} s, {stats.spoken} sentences, "
          f"{'subtitles burned in, ' if args.subtitles else ''}cues in {cues}) in {took:.1f} s: "
          f"{stats.media_seconds / took:.1f}x faster than real time")
    return 0
