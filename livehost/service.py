"""Running channels with their console: ``livehost demo`` (one channel) and ``livehost serve`` (a fleet file).

A fleet file (YAML or TOML)::

    console: {host: 127.0.0.1, port: 8080}    # optional; flags override it
    channels:
      - id: shop-a                           # a channel config, inline...
        tenant: acme
        catalog: catalogs/a.csv
        output: {url: "rtmp://127.0.0.1/live/a"}
      - config: channels/b.yaml              # ...or a channel config file (relative to this file)
        autostart: false                     # published as stopped; started from the console

Every channel gets a :class:`~livehost.runner.ChannelRunner`; the console
(``dashboards.console``) runs in the same process and reads everything
from Redis, so more consoles (or ``livehost serve`` with no channels) can
watch the same fleet from elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from livehost.config import ChannelConfig, ConfigError, build_config, load_config, read_mapping
from livehost.runner import ChannelRunner
from livehost.store import Store, livehost_home
from livehost.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass
class Fleet:
    channels: list[tuple[ChannelConfig, bool]] = field(default_factory=list)  # (config, autostart)
    console_host: str = "127.0.0.1"
    console_port: int = 8080


def load_fleet(path: str | Path) -> Fleet:
    p = Path(path)
    data = read_mapping(p)
    unknown = set(data) - {"channels", "console"}
    if unknown:
        raise ConfigError(f"--config {str(p)!r}: unknown key(s) {', '.join(sorted(unknown))} (expected channels, console)")
    fleet = Fleet()
    console = data.get("console") or {}
    if not isinstance(console, dict) or set(console) - {"host", "port"}:
        raise ConfigError(f"console = {console!r}: expected {{host: ..., port: ...}}")
    fleet.console_host = str(console.get("host", fleet.console_host))
    port = console.get("port", fleet.console_port)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"console.port = {port!r}: expected a port number")
    fleet.console_port = port
    entries = data.get("channels") or []
    if not isinstance(entries, list):
        raise ConfigError(f"channels = {entries!r}: expected a list of channel configs")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"channels[{i}] = {entry!r}: expected a mapping")
        entry = dict(entry)
        autostart = entry.pop("autostart", True)
        if not isinstance(autostart, bool):
            raise ConfigError(f"channels[{i}].autostart = {autostart!r}: expected true or false")
        try:
            if "config" in entry:
                ref = p.parent / str(entry.pop("config"))
                config = load_config(ref, _flatten(entry))
            else:
                config = build_config(entry)
        except ConfigError as e:
            raise ConfigError(f"channels[{i}]: {e}") from None
        if config.id in seen:
            raise ConfigError(f"channels[{i}].id = {config.id!r}: used by another channel")
        seen.add(config.id)
        fleet.channels.append((config, autostart))
    return fleet


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


async def run_service(fleet: Fleet, *, console: bool = True, duration: float | None = None, quiet: bool = False,
                      single: bool = False) -> int:
    """Run the fleet's channels (and the console) until a signal, or -- for ``single`` (the demo) -- until its
    channel ends by itself: after ``duration``, or stopped without a console to start it again."""
    from dashboards.console import first_start_hint, start_console

    if not fleet.channels and not console:
        raise ConfigError("nothing to run: no channels and --no-console")
    store = Store()
    home = livehost_home()
    runners = [ChannelRunner(config, store) for config, _ in fleet.channels]
    quit_ = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, quit_.set)
    web = None
    tasks: list[asyncio.Task] = []
    from livehost.scheduler import FeedScheduler

    feeds = FeedScheduler.for_store(store)
    try:
        if console:
            try:
                web, url = await start_console(store, home, fleet.console_host, fleet.console_port)
            except OSError as e:
                raise ConfigError(str(e)) from None
            print(f"livehost: console at {url}", flush=True)
            hint = first_start_hint(home)
            if hint:
                print(f"livehost: {hint}", flush=True)
        feeds.start()  # scheduled catalog refreshes run while the channels are on air
        for runner in runners:
            tasks.append(asyncio.create_task(runner.control_plane(), name=f"control {runner.channel}"))
        for runner, (config, autostart) in zip(runners, fleet.channels):
            out = config.output.url
            print(f"livehost: channel {config.id!r} -> {out}  ({config.size} @ {config.fps} fps, "
                  f"store: {store.description})", flush=True)
            if autostart:
                runner.start(duration)
        if single and runners and not quiet:
            tasks.append(asyncio.create_task(_progress(runners[0]), name="progress"))
        await _wait(runners, quit_, single=single, console=console)
    finally:
        for runner in runners:
            await runner.close()
        await cancel_and_wait(tasks, 5.0, "service")
        if web is not None:
            await web.cleanup()
        feeds.shutdown()
        store.close()
    for runner in runners:
        s = runner.last_stats
        if s is not None:
            print(f"livehost: {runner.channel} stopped after {s.media_seconds:.1f}s of media: {s.frames_sent} frames "
                  f"sent, {s.frames_dropped} dropped, {s.spoken} sentences spoken, {s.cut} cut, {s.reconnects} "
                  f"reconnects; output {runner.config.output.url}", flush=True)
        if runner.failed:
            print(f"livehost: {runner.channel} failed: {runner.last_error}", file=sys.stderr, flush=True)
    return 1 if any(r.failed for r in runners) else 0


async def _wait(runners: list[ChannelRunner], quit_: asyncio.Event, *, single: bool, console: bool) -> None:
    quitting = asyncio.create_task(quit_.wait())
    try:
        while not quit_.is_set():
            if single and runners:
                runner = runners[0]
                ended = asyncio.create_task(runner.wait_ended())
                await asyncio.wait([quitting, ended], return_when=asyncio.FIRST_COMPLETED)
                ended.cancel()
                if quit_.is_set():
                    return
                if runner.stopped_by is None or not console:
                    return  # it ran its duration, failed, or was stopped with no console to start it again
                print(f"livehost: {runner.channel} stopped from the console by {runner.stopped_by}; start it there, "
                      f"or Ctrl-C to quit", flush=True)
                started = asyncio.create_task(runner.wait_started())
                await asyncio.wait([quitting, started], return_when=asyncio.FIRST_COMPLETED)
                started.cancel()
            else:
                await quitting
    finally:
        quitting.cancel()


async def _progress(runner: ChannelRunner) -> None:
    while True:
        await asyncio.sleep(1.0)
        session = runner.session
        if session is None or session.started_wall is None:
            continue
        s = session.stats()
        elapsed = time.monotonic() - session.started_wall
        line = (f"[{_hms(elapsed)}] {s.state:<10} frames {s.frames_sent:>7}  {s.fps:5.1f} fps  {s.kbps:6.0f} kb/s"
                f"  spoken {s.spoken:>4}  cut {s.cut:>3}")
        if s.frames_dropped:
            line += f"  dropped {s.frames_dropped}"
        if s.speaking:
            line += f"  ▶ {s.speaking}"
        print(line, flush=True)


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
