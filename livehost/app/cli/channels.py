"""``livehost demo`` (one channel on embedded defaults) and ``livehost serve`` (the channels of a fleet file)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from livehost.app.cli import Edge
from livehost.app.config import ChannelConfig, build_config, load_config
from livehost.app.fleet import Fleet, load_fleet
from livehost.app.service import run_service
from livehost.core.config import ConfigError, merge


def add_parsers(sub: Any) -> None:
    d = sub.add_parser("demo", help="run the demo channel (bundled catalog, voice and host)")
    d.add_argument("--output", "-o", help="out.flv | out.mp4 | rtmp://host/app/key (default out.flv)")
    d.add_argument("--duration", type=float, help="seconds of stream, then stop (default: until Ctrl-C)")
    d.add_argument("--size", help="WIDTHxHEIGHT (default 720x1280)")
    d.add_argument("--fps", type=int, help="frames per second (default 25)")
    d.add_argument("--voice", choices=["auto", "espeak", "piper"], help="TTS engine (default auto)")
    d.add_argument("--avatar", help="a photoreal avatar pack (livehost avatar create); default: the drawn host")
    d.add_argument("--device", help="where a photoreal host renders: auto, cpu, cuda[:N] (default auto)")
    d.add_argument("--catalog", help="catalog JSON file (default: bundled sample)")
    d.add_argument("--lang", choices=["auto", "zh", "en"], help="only products in this language")
    d.add_argument("--seed", type=int, help="script phrasing seed")
    d.add_argument("--video-kbps", type=int, help="video bitrate (default 2500)")
    d.add_argument("--config", help="channel config file (YAML or TOML); flags override it")
    d.add_argument("--fast", action="store_true", help="do not pace to the wall clock (files only: render as fast as possible)")
    d.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    _console_flags(d)
    d.set_defaults(run=demo)

    sv = sub.add_parser("serve", help="run the channels of a fleet file, with the console")
    sv.add_argument("--config", help="fleet file (YAML or TOML): channels and console; none: the console alone")
    sv.add_argument("--cluster", help="run the channels on this Ray cluster (auto, HOST:PORT or ray://HOST:10001); "
                    "needs the fleet extra: pip install 'livehost[fleet]'")
    _console_flags(sv)
    sv.set_defaults(run=serve)


def _console_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--console-host", help="address the console listens on (default 127.0.0.1)")
    p.add_argument("--console-port", type=int, help="console port (default 8080; 0: any free port)")
    p.add_argument("--no-console", action="store_true", help="run without the web console")


def _with_console_flags(fleet: Fleet, args: argparse.Namespace) -> Fleet:
    if args.console_host:
        fleet.console_host = args.console_host
    if args.console_port is not None:
        if not 0 <= args.console_port <= 65535:
            raise ConfigError(f"--console-port {args.console_port}: not a port number")
        fleet.console_port = args.console_port
    return fleet


def _demo_config(args: argparse.Namespace) -> ChannelConfig:
    overrides = {
        "output.url": args.output,
        "size": args.size,
        "fps": args.fps,
        "voice.engine": args.voice,
        "avatar": args.avatar,
        "render.device": args.device,
        "catalog": args.catalog,
        "lang": args.lang,
        "seed": args.seed,
        "output.realtime": False if args.fast else None,
        "output.video_bitrate_kbps": args.video_kbps,
    }
    if args.config:
        return load_config(args.config, overrides)
    return build_config(merge({}, overrides))


def demo(args: argparse.Namespace, edge: Edge) -> int:
    config = _demo_config(args)
    if args.fast and config.output.is_live:
        raise ConfigError("--fast: a stream (RTMP, or the feed OBS reads) must be paced to the wall clock")
    fleet = _with_console_flags(Fleet(channels=[(config, True)]), args)
    return asyncio.run(run_service(fleet, edge.settings, console=None if args.no_console else edge.console,
                                   duration=args.duration, quiet=args.quiet, single=True))


def serve(args: argparse.Namespace, edge: Edge) -> int:
    fleet = _with_console_flags(load_fleet(args.config) if args.config else Fleet(), args)
    cluster = args.cluster or fleet.cluster
    if cluster:
        try:
            import ray  # noqa: F401

            from livehost.app.cluster import run_cluster
        except ImportError:
            raise ConfigError("--cluster: Ray is not installed (pip install 'livehost[fleet]')") from None
        return asyncio.run(run_cluster(fleet, edge.settings, cluster, console=None if args.no_console else edge.console))
    return asyncio.run(run_service(fleet, edge.settings, console=None if args.no_console else edge.console))
