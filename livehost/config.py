"""Typed channel configuration.

Read once at the edge (file or flags) and passed into constructors.  Bad
values fail with a message that names the field and the value.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from livehost.clock import SAMPLE_RATE
from livehost.show import ShowConfig


class ConfigError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputConfig(_Strict):
    url: str = Field("out.flv", description="file path (.flv, .mp4, .mkv) or rtmp:// URL")
    video_bitrate_kbps: int = Field(2500, ge=200, le=20000)
    audio_bitrate_kbps: int = Field(128, ge=32, le=320)
    keyframe_seconds: int = Field(2, ge=1, le=10)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    realtime: bool | None = Field(None, description="pace to the wall clock; default: yes")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith(("rtmp://", "rtmps://")):
            if not re.match(r"^rtmps?://[^/\s]+/\S+", v):
                raise ValueError(f"{v!r} is not an RTMP URL of the form rtmp://host[:port]/app/key")
            return v
        if "://" in v:
            raise ValueError(f"{v!r}: unsupported scheme (use a file path or rtmp://)")
        if Path(v).suffix.lower() not in (".flv", ".mp4", ".mkv", ".ts"):
            raise ValueError(f"{v!r}: file must end in .flv, .mp4, .mkv or .ts")
        return v

    @property
    def is_rtmp(self) -> bool:
        return self.url.startswith(("rtmp://", "rtmps://"))


class VoiceConfig(_Strict):
    engine: Literal["auto", "espeak", "piper"] = "auto"


class ModelConfig(_Strict):
    """One text-generation backend: a local ``transformers`` model or an OpenAI-compatible endpoint."""

    kind: Literal["transformers", "openai"]
    model: str = Field(..., min_length=1, description="model path or id (transformers), model name (openai)")
    base_url: str | None = Field(None, description="openai: e.g. http://127.0.0.1:8000/v1")
    api_key_env: str | None = Field(None, description="openai: name of the environment variable holding the key")
    device: str = Field("cpu", description="transformers: cpu, cuda or auto")
    threads: int | None = Field(None, ge=1, le=256, description="transformers: torch threads (default 1 on <=2 cores)")
    timeout_seconds: float = Field(10.0, gt=0, le=300, description="openai: whole-request limit (the budget cuts it shorter)")
    retries: int = Field(2, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    def as_factory_dict(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class LlmConfig(_Strict):
    """Who writes what the host says.  No models: the built-in templates (offline default)."""

    models: list[ModelConfig] = Field(default_factory=list, description="tried in order; the templates answer last")
    budget_seconds: float = Field(3.0, gt=0.1, le=30, description="a reply is spoken within this, model or not")
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(96, ge=8, le=1024)
    script: bool = Field(False, description="let the models write the selling talk too (checked and backed by templates)")
    prompt_versions: dict[str, int] = Field(default_factory=dict, description="pin prompt files, e.g. {reply: 1}")


class CommentsConfig(_Strict):
    """Comment triage limits (see scripts_gen.triage.Triage)."""

    max_queue: int = Field(64, ge=1, le=10_000)
    max_age_seconds: float = Field(60.0, gt=0, le=3600)
    per_user: int = Field(3, ge=1, le=1000)
    per_user_window_seconds: float = Field(10.0, gt=0, le=3600)
    dup_window_seconds: float = Field(30.0, gt=0, le=3600)
    flood_threshold: int = Field(200, ge=2, le=100_000)
    flood_window_seconds: float = Field(10.0, gt=0, le=3600)
    greet_every_seconds: float = Field(20.0, gt=0, le=3600, description="batched welcomes at most this often")

    def triage_kwargs(self) -> dict:
        return {"max_queue": self.max_queue, "max_age": self.max_age_seconds, "per_user": self.per_user,
                "per_user_window": self.per_user_window_seconds, "dup_window": self.dup_window_seconds,
                "flood_threshold": self.flood_threshold, "flood_window": self.flood_window_seconds}


class ChannelConfig(_Strict):
    id: str = Field("demo", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    tenant: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,64}$",
                        description="who the channel belongs to: console users of another tenant do not see it")
    catalog: str | None = Field(
        None, description="catalog file, or 'store' for the catalog imported for this channel (else the shared one); "
        "default: the bundled sample")
    lang: Literal["auto", "zh", "en"] = Field("auto", description="auto: each product's own language")
    voice: VoiceConfig = VoiceConfig()
    size: str = "720x1280"
    fps: int = 25
    seed: int = 0
    sentences_per_product: int = Field(8, ge=1, le=1000)
    output: OutputConfig = OutputConfig()
    show: ShowConfig = ShowConfig()
    llm: LlmConfig = LlmConfig()
    comments: CommentsConfig = CommentsConfig()
    platform: str | None = Field(None, description="platform term list for the gate: douyin, tiktok")
    shop_terms: list[str] = Field(default_factory=list, description="the shop's stated returns/shipping/offer terms; "
                                  "the host may repeat these, and no other such promise")

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from scripts_gen.gate import platform_names

        if v not in platform_names():
            raise ValueError(f"{v!r}: no term list for this platform (have: {', '.join(platform_names())})")
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        m = re.fullmatch(r"(\d+)x(\d+)", v.strip())
        if not m:
            raise ValueError(f"{v!r} is not WIDTHxHEIGHT, e.g. 720x1280")
        w, h = int(m[1]), int(m[2])
        if w % 2 or h % 2 or not (64 <= w <= 3840 and 64 <= h <= 3840):
            raise ValueError(f"{v!r}: width and height must be even and between 64 and 3840")
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


def _describe(e: ValidationError) -> str:
    lines = []
    for err in e.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{field} = {err.get('input')!r}: {msg}")
    return "invalid channel config:\n  " + "\n  ".join(lines)


def build_config(data: dict) -> ChannelConfig:
    try:
        return ChannelConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e)) from None


def read_mapping(path: str | Path) -> dict:
    """A YAML or TOML file (by suffix) holding a mapping; ConfigError naming the file otherwise."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"config: cannot read {str(p)!r}: {e.strerror}") from None
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"config: {str(p)!r} is not valid {'TOML' if p.suffix == '.toml' else 'YAML'}: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: {str(p)!r} must hold a mapping at the top, got {type(data).__name__}")
    return data


def load_config(path: str | Path, overrides: dict | None = None) -> ChannelConfig:
    """Load a channel config from YAML or TOML and apply flag ``overrides`` (dotted keys)."""
    return build_config(merge(read_mapping(path), overrides or {}))


def merge(data: dict, overrides: dict) -> dict:
    """Apply ``{"output.url": ...}`` style overrides onto nested ``data``."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config: {part!r} must be a mapping")
        node[leaf] = value
    return out
