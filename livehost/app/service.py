"""Running channels with their console: ``livehost demo`` (one channel) and ``livehost serve`` (a fleet file).

Every channel gets a :class:`~livehost.app.runner.ChannelRunner`; the
console, when one is handed in (:class:`ConsoleStarter`, from
:mod:`livehost.main`), runs in the same process and reads everything from
Redis, so more consoles (or ``livehost serve`` with no channels) can watch
the same fleet from elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol

from livehost.app.fleet import Fleet
from livehost.app.runner import ChannelRunner
from livehost.app.session import ChannelSession
from livehost.core.config import ConfigError
from livehost.core.settings import Settings
from livehost.core.store import Store
from livehost.core.tasks import cancel_and_wait
from products.feeds.sources import FeedAccess
from products.refresh import FeedScheduler

log = logging.getLogger(__name__)


class RunningConsole(Protocol):
    async def cleanup(self) -> None: ...


class ConsoleStarter(Protocol):
    """The web console, as livehost.main hands it to the service."""

    def start(self, store: Store, settings: Settings, host: str, port: int) -> Awaitable[tuple[RunningConsole, str]]:
        """Serve it; (something to ``cleanup()``, its URL).  OSError when the port cannot be had."""
        ...

    def first_start_hint(self, home: Path) -> str | None:
        """What to print when nobody can log in yet."""
        ...


async def run_service(fleet: Fleet, settings: Settings, *, console: ConsoleStarter | None = None,
                      duration: float | None = None, quiet: bool = False, single: bool = False) -> int:
    """Run the fleet's channels (and the console) until a signal, or -- for ``single`` (the demo) -- until its
    channel ends by itself: after ``duration``, or stopped without a console to start it again."""
    if not fleet.channels and console is None:
        raise ConfigError("nothing to run: no channels and --no-console")
    store = Store(settings.redis_url, settings.home)
    home = settings.home

    def session(config, store):  # every run of a channel sees this process's settings
        return ChannelSession(config, store, settings=settings)

    runners = [ChannelRunner(config, store, session) for config, _ in fleet.channels]
    quit_ = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, quit_.set)
    web = None
    tasks: list[asyncio.Task] = []
    feeds = FeedScheduler(store, access=FeedAccess.from_settings(settings))
    try:
        if console is not None:
            try:
                web, url = await console.start(store, settings, fleet.console_host, fleet.console_port)
            except OSError as e:
                raise ConfigError(str(e)) from None
            print(f"livehost: console at {url}", flush=True)
            hint = console.first_start_hint(home)
            if hint:
                print(f"livehost: {hint}", flush=True)
        feeds.start()  # scheduled catalog refreshes run while the channels are on air
        for runner in runners:
            tasks.append(asyncio.create_task(runner.control_plane(), name=f"control {runner.channel}"))
        for runner, (config, autostart) in zip(runners, fleet.channels):
            out = config.output.target
            print(f"livehost: channel {config.id!r} -> {out}  ({config.size} @ {config.fps} fps, "
                  f"store: {store.description})", flush=True)
            if autostart:
                runner.start(duration)
        if single and runners and not quiet:
            tasks.append(asyncio.create_task(_progress(runners[0]), name="progress"))
        await _wait(runners, quit_, single=single, console=console is not None)
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
                  f"reconnects; output {runner.config.output.target}", flush=True)
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
        if s.render_dropped:
            line += f"  late renders {s.render_dropped}"
        if s.speaking:
            line += f"  ▶ {s.speaking}"
        print(line, flush=True)


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
