"""The states a channel is in, as published to the store and shown on the console."""

from __future__ import annotations

import enum


class ChannelState(str, enum.Enum):
    STARTING = "starting"  # building, or waiting for its first sentence
    LIVE = "live"
    RECONNECTING = "reconnecting"  # the output is down or connecting; the picture goes on
    PAUSED = "paused"  # an operator paused the talk
    TAKEOVER = "takeover"  # an operator silenced the host; a holding card is shown
    STOPPED = "stopped"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def on_air(self) -> bool:
        return self in (ChannelState.LIVE, ChannelState.PAUSED, ChannelState.TAKEOVER)


class OutputState(str, enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    DOWN = "down"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value

    @property
    def up(self) -> bool:
        """Frames may be written (a connecting link takes them as its first)."""
        return self in (OutputState.LIVE, OutputState.CONNECTING)
