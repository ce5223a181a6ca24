"""A fleet file: the channels ``livehost serve`` runs, and its console.

YAML or TOML::

    console: {host: 127.0.0.1, port: 8080}    # optional; flags override it
    channels:
      - id: shop-a                           # a channel config, inline...
        tenant: acme
        catalog: catalogs/a.csv
        output: {url: "rtmp://127.0.0.1/live/a"}
      - config: channels/b.yaml              # ...or a channel config file (relative to this file)
        autostart: false                     # published as stopped; started from the console
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from livehost.app.config import ChannelConfig, build_config, load_config, read_mapping
from livehost.core.config import ConfigError, Strict, describe_errors, flatten


class ConsoleConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class ChannelEntry(BaseModel):
    """One channel: its config inline, or ``config:`` a file, plus whether it starts with the fleet."""

    model_config = ConfigDict(extra="allow", frozen=True)
    autostart: StrictBool = True
    config: str | None = Field(None, description="a channel config file, relative to the fleet file")

    def channel_config(self, base: Path) -> ChannelConfig:
        settings = dict(self.model_extra or {})
        if self.config is not None:
            return load_config(base / self.config, flatten(settings))
        return build_config(settings)


class ClusterConfig(Strict):
    ray: str | None = Field(default=None, description="the Ray cluster's address (auto, HOST:PORT or ray://HOST:10001)")


class FleetFile(Strict):
    console: ConsoleConfig = ConsoleConfig()
    cluster: ClusterConfig = ClusterConfig()
    channels: list[ChannelEntry] = Field(default_factory=list)


@dataclass
class Fleet:
    channels: list[tuple[ChannelConfig, bool]] = field(default_factory=list)  # (config, autostart)
    console_host: str = "127.0.0.1"
    console_port: int = 8080
    cluster: str | None = None  # a Ray cluster's address: the channels run there


def load_fleet(path: str | Path) -> Fleet:
    p = Path(path)
    data: dict[str, Any] = read_mapping(p)
    try:
        parsed = FleetFile.model_validate(data)
    except ValidationError as e:
        unknown = sorted(str(err["loc"][0]) for err in e.errors() if err["type"] == "extra_forbidden" and len(err["loc"]) == 1)
        if unknown:
            raise ConfigError(f"--config {str(p)!r}: unknown key(s) {', '.join(unknown)} (expected channels, console, cluster)") from None
        raise ConfigError(f"--config {str(p)!r}: " + "; ".join(describe_errors(e))) from None
    fleet = Fleet(console_host=parsed.console.host, console_port=parsed.console.port, cluster=parsed.cluster.ray)
    seen: set[str] = set()
    for i, entry in enumerate(parsed.channels):
        try:
            config = entry.channel_config(p.parent)
        except ConfigError as e:
            raise ConfigError(f"channels[{i}]: {e}") from None
        if config.id in seen:
            raise ConfigError(f"channels[{i}].id = {config.id!r}: used by another channel")
        seen.add(config.id)
        fleet.channels.append((config, entry.autostart))
    return fleet
