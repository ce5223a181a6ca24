"""The ``livehost`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time

from livehost.config import ChannelConfig, ConfigError, build_config, load_config, merge


def _demo_config(args: argparse.Namespace) -> ChannelConfig:
    overrides = {
        "output.url": args.output,
        "size": args.size,
        "fps": args.fps,
        "voice.engine": args.voice,
        "catalog": args.catalog,
        "lang": args.lang,
        "seed": args.seed,
        "output.realtime": False if args.fast else None,
        "output.video_bitrate_kbps": args.video_kbps,
    }
    if args.config:
        return load_config(args.config, overrides)
    return build_config(merge({}, overrides))


async def _run_demo(config: ChannelConfig, duration: float | None, quiet: bool) -> int:
    from livehost.session import ChannelSession
    from livehost.store import Store

    store = Store()
    print(f"livehost: channel {config.id!r} -> {config.output.url}  ({config.size} @ {config.fps} fps, store: {store.description})", flush=True)
    session = ChannelSession(config, store)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, session.request_stop)

    async def progress() -> None:
        while True:
            await asyncio.sleep(1.0)
            if session.started_wall is None:
                continue
            s = session.stats()
            elapsed = time.monotonic() - session.started_wall
            line = (
                f"[{_hms(elapsed)}] {s.state:<10} frames {s.frames_sent:>7}  {s.fps:5.1f} fps  {s.kbps:6.0f} kb/s"
                f"  spoken {s.spoken:>4}  cut {s.cut:>3}"
            )
            if s.frames_dropped:
                line += f"  dropped {s.frames_dropped}"
            if s.speaking:
                line += f"  ▶ {s.speaking}"
            print(line, flush=True)

    reporter = None if quiet else asyncio.create_task(progress())
    try:
        stats = await session.run(duration)
    finally:
        if reporter is not None:
            reporter.cancel()
            await asyncio.wait([reporter], timeout=1)
        store.close()
    print(
        f"livehost: stopped after {stats.media_seconds:.1f}s of media: {stats.frames_sent} frames sent, "
        f"{stats.frames_dropped} dropped, {stats.spoken} sentences spoken, {stats.cut} cut, "
        f"{stats.reconnects} reconnects; output {config.output.url}",
        flush=True,
    )
    return 0


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _audit(args: argparse.Namespace) -> int:
    from livehost.audit import read_audit
    from livehost.store import Store

    store = Store()
    try:
        entries = read_audit(store.sync(), args.channel, args.last)
    finally:
        store.close()
    for e in entries:
        if args.json:
            print(json.dumps(e.__dict__, ensure_ascii=False))
        else:
            mark = f"CUT({e.reason})" if e.cut else "    "
            print(f"{e.pts_start / 48000:9.2f}-{e.pts_end / 48000:9.2f}s {mark:<14} {e.source:<8} {e.text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livehost", description="AI hosts for 24-hour live-stream selling")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the demo channel (bundled catalog, voice and host)")
    d.add_argument("--output", "-o", help="out.flv | out.mp4 | rtmp://host/app/key (default out.flv)")
    d.add_argument("--duration", type=float, help="seconds of stream, then stop (default: until Ctrl-C)")
    d.add_argument("--size", help="WIDTHxHEIGHT (default 720x1280)")
    d.add_argument("--fps", type=int, help="frames per second (default 25)")
    d.add_argument("--voice", choices=["auto", "espeak", "piper"], help="TTS engine (default auto)")
    d.add_argument("--catalog", help="catalog JSON file (default: bundled sample)")
    d.add_argument("--lang", choices=["auto", "zh", "en"], help="only products in this language")
    d.add_argument("--seed", type=int, help="script phrasing seed")
    d.add_argument("--video-kbps", type=int, help="video bitrate (default 2500)")
    d.add_argument("--config", help="channel config file (YAML or TOML); flags override it")
    d.add_argument("--fast", action="store_true", help="do not pace to the wall clock (files only: render as fast as possible)")
    d.add_argument("--quiet", "-q", action="store_true", help="no progress lines")

    a = sub.add_parser("audit", help="print the log of spoken sentences")
    a.add_argument("--channel", default="demo")
    a.add_argument("--last", type=int, help="only the last N entries")
    a.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "demo":
            config = _demo_config(args)
            if args.fast and config.output.is_rtmp:
                raise ConfigError("--fast: an RTMP push must be paced to the wall clock")
            return asyncio.run(_run_demo(config, args.duration, args.quiet))
        if args.command == "audit":
            return _audit(args)
    except ConfigError as e:
        print(f"livehost: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
