"""A channel's typed configuration, assembled from the sections each package owns.

Read once at the edge (a file or flags) and passed into constructors.  Bad
values fail with a message that names the field and the value.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from livehost.app import profiles
from livehost.core import jsonio
from livehost.core.clock import SAMPLE_RATE
from livehost.core.config import ConfigError, Strict, describe, merge
from products.show import ShowConfig
from scripts_gen.config import CommentsConfig, LlmConfig
from streaming.config import ChatConfig, OutputConfig, RenderConfig, VoiceConfig

__all__ = ["ChannelConfig", "ConfigError", "build_config", "load_config", "read_mapping"]


def parse_size(v: str) -> tuple[int, int]:
    """(width, height) of a WIDTHxHEIGHT canvas; ValueError saying what is wrong."""
    m = re.fullmatch(r"(\d+)x(\d+)", v.strip())
    if not m:
        raise ValueError(f"{v!r} is not WIDTHxHEIGHT, e.g. 720x1280")
    w, h = int(m[1]), int(m[2])
    if w % 2 or h % 2 or not (64 <= w <= 3840 and 64 <= h <= 3840):
        raise ValueError(f"{v!r}: width and height must be even and between 64 and 3840")
    return w, h


class LeaseConfig(Strict):
    """One channel, one place: the lease a channel takes in Redis before it pushes (see livehost.core.lease)."""

    enabled: bool = Field(default=True, description="take the channel's lease before pushing (needs the store)")
    ttl_seconds: float = Field(default=15.0, ge=2, le=300, description="the lease runs out this long after the last renewal "
                               "(renewed every third of it); a holder stops pushing 20% earlier by its own clock")
    on_store_outage: Literal["keep", "stop"] = Field(
        default="keep", description="Redis unreachable: keep pushing (one box: nobody else can take the lease while it is "
        "down) or stop when the lease runs out (a cluster: another node may still reach Redis)")


class PlacementConfig(Strict):
    """What the channel asks of a node in a cluster (livehost serve --cluster)."""

    cpu: float | None = Field(default=None, gt=0, le=64, description="CPU share (default 0.25; 0.75 for a photoreal "
                              "host)")
    gpu: float | None = Field(default=None, ge=0, le=8, description="GPU share (default 0.25 for a photoreal or neural host "
                              "on a GPU, else 0)")
    resources: dict[str, float] = Field(default_factory=dict, description="custom Ray resources the node must "
                                        "offer, e.g. {region-cn: 1} or {douyin-egress: 1}")


class ChannelConfig(Strict):
    id: str = Field("demo", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    tenant: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,64}$",
                        description="who the channel belongs to: console users of another tenant do not see it")
    catalog: str | None = Field(
        None, description="catalog file or URL in any format `livehost catalog import` reads, or 'store' for the "
        "catalog imported for this channel (else the shared one); default: the bundled sample")
    catalog_format: Literal["auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce"] = Field(
        "auto", description="the catalog's format when its name and first bytes do not say")
    lang: Literal["auto", "zh", "en"] = Field("auto", description="auto: each product's own language")
    voice: VoiceConfig = VoiceConfig()
    avatar: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                               description="a photoreal avatar pack (livehost avatar create NAME); default: the drawn host")
    render: RenderConfig = RenderConfig()
    size: str = "720x1280"
    fps: int = 25
    seed: int = 0
    sentences_per_product: int = Field(8, ge=1, le=1000)
    output: OutputConfig = OutputConfig()
    show: ShowConfig = ShowConfig()
    llm: LlmConfig = LlmConfig()
    comments: CommentsConfig = CommentsConfig()
    chat: list[ChatConfig] = Field(default_factory=list, max_length=8, description="the live rooms the host hears "
                                   "(and answers in, where reply_in_chat): twitch, douyin, webhook, websocket")
    lease: LeaseConfig = LeaseConfig()
    placement: PlacementConfig = PlacementConfig()
    audit_keep_links: int | None = Field(None, ge=1000, description="retention: keep about this many newest links "
                                         "of the audit chain (older ones are trimmed behind a signed anchor, so the "
                                         "rest still verifies); default: keep everything")
    disclose: bool = Field(True, description="the host says it is an AI host (see disclose_every_minutes); "
                           "`livehost video` turns it off: a product video carries the label and the AIGC metadata")
    disclose_every_minutes: float | None = Field(None, ge=0, le=240, description="the host says it is an AI host "
                                                 "when the session starts and again every N minutes of air time (0: "
                                                 "at the start only); default: the platform profile's, else 15")
    platform: str | None = Field(None, description="the platform profile (livehost/app/platforms): douyin, kuaishou, "
                                 "taobao, tiktok, youtube, bilibili, twitch, generic (the default)")
    shop_terms: list[str] = Field(default_factory=list, description="the shop's stated returns/shipping/offer terms; "
                                  "the host may repeat these, and no other such promise")

    @field_validator("chat")
    @classmethod
    def _chat_names(cls, v: list[Any]) -> list[Any]:
        labels = [c.label for c in v]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"two rooms are both called {twice[0]!r}: give each a name")
        return v

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str | None) -> str | None:
        if v is not None and v not in profiles.names():
            raise ValueError(f"{v!r}: no platform profile (have: {', '.join(profiles.names())})")
        return v

    @property
    def profile(self) -> profiles.PlatformProfile:
        return profiles.load(self.platform or "generic")

    @property
    def disclosure_minutes(self) -> float:
        """How often the host says it is an AI host: the config's, else the profile's, else every 15 minutes."""
        if self.disclose_every_minutes is not None:
            return self.disclose_every_minutes
        rule = self.profile.disclosure_minutes
        return float(rule.value) if rule.known else 15.0

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        w, h = parse_size(v)
        return f"{w}x{h}"

    @field_validator("fps")
    @classmethod
    def _fps(cls, v: int) -> int:
        if v <= 0 or v > 60 or SAMPLE_RATE % v:
            raise ValueError(f"{v!r} must divide {SAMPLE_RATE} and be at most 60 (e.g. 24, 25, 30, 50, 60)")
        return v

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])

    @property
    def needs_consent(self) -> bool:
        """A real person's face (a photoreal avatar) or voice (a cloned one): the store must hold the consent."""
        return self.avatar is not None or self.voice.engine == "coqui"

    @property
    def spoken_lang(self) -> str | None:
        """The one language the channel speaks, if it is set to one."""
        return self.lang if self.lang in ("zh", "en") else None


def build_config(data: dict[str, Any]) -> ChannelConfig:
    try:
        return ChannelConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe(e, "channel config")) from None


#: A channel config nests 4 levels (llm.models[].options); its lists are short.
MAX_DEPTH = 16
MAX_ITEMS = 100_000


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML or TOML file (by suffix) holding a mapping; ConfigError naming the file otherwise."""
    p = Path(path)
    kind = "TOML" if p.suffix == ".toml" else "YAML"
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"config: cannot read {str(p)!r}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config: {str(p)!r} is not UTF-8 text (byte at offset {e.start})") from None
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
        if jsonio.depth_of(data, MAX_DEPTH, max_items=MAX_ITEMS) > MAX_DEPTH:  # aliases can repeat a part 9^9 times
            raise jsonio.JsonError(f"nested more than {MAX_DEPTH} levels deep")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, jsonio.JsonError) as e:
        raise ConfigError(f"config: {str(p)!r} is not valid {kind}: {e}") from None
    except RecursionError:
        raise ConfigError(f"config: {str(p)!r} is not valid {kind}: nested too deep") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: {str(p)!r} must hold a mapping at the top, got {type(data).__name__}")
    return data


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ChannelConfig:
    """Load a channel config from YAML or TOML and apply flag ``overrides`` (dotted keys)."""
    return build_config(merge(read_mapping(path), overrides or {}))
