"""A channel for the life of the process: its session started, stopped and restarted on command.

A :class:`~livehost.app.session.ChannelSession` is one run of a channel, from
the first frame to the last.  The runner outlives it: it publishes the
channel's state to Redis whether or not a session is running (``stopped``,
``failed`` with the error, ``starting``, then whatever the session says),
and carries out the commands sent to the channel, ``start`` included.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from livehost.app.config import ChannelConfig
from livehost.app.control.commands import execute
from livehost.app.control.plane import follow_commands, publish
from livehost.app.session import ChannelSession
from livehost.app.stats import ChannelStats
from livehost.core.config import ConfigError
from livehost.core.states import ChannelState
from livehost.core.store import Store
from livehost.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class ChannelRunner:
    def __init__(self, config: ChannelConfig, store: Store | None,
                 session_factory: Callable[[ChannelConfig, Store | None], ChannelSession] | None = None) -> None:
        """``session_factory`` builds each run's session (default: ``ChannelSession(config, store)``)."""
        self.config = config
        self.channel = config.id
        self.store = store
        self._make = session_factory or (lambda c, s: ChannelSession(c, s))
        self.session: ChannelSession | None = None
        self.last_error: str | None = None
        self.failed = False
        self.last_stats: ChannelStats | None = None
        self.stopped_by: str | None = None  # the user whose command stopped the last run, if one did
        self.runs = 0
        self._task: asyncio.Task | None = None
        self._ended = asyncio.Event()
        self._ended.set()
        self._started = asyncio.Event()  # set while a session runs

    # -- state ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def state(self) -> ChannelState:
        session = self.session
        if session is not None:
            return ChannelState.STARTING if session.started_wall is None else session.state
        return ChannelState.FAILED if self.failed else ChannelState.STOPPED

    # -- control -------------------------------------------------------------------
    def start(self, duration: float | None = None) -> str:
        """Start a session (ConfigError if the channel cannot be built: bad catalog, missing voice...)."""
        if self.running:
            return "already running"
        self.stopped_by = None
        try:
            session = self._make(self.config, self.store)
        except Exception as e:  # noqa: BLE001 - a catalog, voice or model that cannot be had: say which
            self.failed, self.last_error = True, f"channel {self.channel}: cannot start: {e}"
            log.error("%s", self.last_error)
            raise ConfigError(self.last_error) from e
        self.session, self.failed, self.last_error = session, False, None
        self.runs += 1
        self._ended.clear()
        self._started.set()
        self._task = asyncio.create_task(self._run(session, duration), name=f"channel {self.channel}")
        return "starting"

    async def _run(self, session: ChannelSession, duration: float | None) -> None:
        try:
            self.last_stats = await session.run(duration)
        except Exception as e:  # noqa: BLE001 - the channel failed; the process (and other channels) go on
            log.exception("channel %s failed", self.channel)
            self.failed, self.last_error = True, f"{type(e).__name__}: {e}"
        else:
            self.last_error = session.last_error
        finally:
            self.session = None
            self._started.clear()
            self._ended.set()

    def stop(self, by: str | None = None) -> str:
        if self.session is None:
            return "not running"
        self.stopped_by = by
        self.session.request_stop()
        return "stopping"

    async def wait_ended(self) -> None:
        await self._ended.wait()

    async def wait_started(self) -> None:
        await self._started.wait()

    def execute(self, action: str, args: dict[str, Any], *, user: str = "") -> str:
        """One command from the control stream (ValueError, naming the problem, when it cannot be done)."""
        if action == "start":
            try:
                return self.start()
            except ConfigError as e:
                raise ValueError(str(e)) from None
        if action == "stop":
            return self.stop(by=user or None)
        session = self.session
        if session is None or session.started_wall is None:
            raise ValueError(f"channel {self.channel} is {self.state}: {action} needs it on air")
        return execute(session, action, args)

    # -- the control plane ---------------------------------------------------------------
    async def control_plane(self) -> None:
        """Publish state and follow commands in Redis until cancelled."""
        if self.store is None:
            raise RuntimeError("the control plane needs a store")
        client = self.store.aio()
        try:
            await asyncio.gather(publish(client, self), follow_commands(client, self))
        finally:
            await client.aclose()

    async def close(self, deadline: float = 15.0) -> None:
        """Stop the session (if any) and wait for it, at most ``deadline`` seconds."""
        self.stop()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=deadline)
            if not done:
                log.error("channel %s did not stop within %.0f s: cancelled", self.channel, deadline)
                await cancel_and_wait([self._task], 2.0, f"channel {self.channel}")

