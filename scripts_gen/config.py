"""The channel config sections scripts_gen owns: text models, comment triage, the gate's platform list."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from livehost.core.config import Strict


class ModelConfig(Strict):
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

    def as_factory_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class LlmConfig(Strict):
    """Who writes what the host says.  No models: the built-in templates (offline default)."""

    models: list[ModelConfig] = Field(default_factory=list, description="tried in order; the templates answer last")
    budget_seconds: float = Field(default=3.0, gt=0.1, le=30, description="a reply is spoken within this, model or not")
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=96, ge=8, le=1024)
    script: bool = Field(default=False,
                         description="let the models write the selling talk too (checked and backed by templates)")
    prompt_versions: dict[str, int] = Field(default_factory=dict, description="pin prompt files, e.g. {reply: 1}")


class CommentsConfig(Strict):
    """Comment triage limits (see :class:`scripts_gen.triage.Triage`)."""

    max_queue: int = Field(default=64, ge=1, le=10_000)
    max_age_seconds: float = Field(default=60.0, gt=0, le=3600)
    per_user: int = Field(default=3, ge=1, le=1000)
    per_user_window_seconds: float = Field(default=10.0, gt=0, le=3600)
    dup_window_seconds: float = Field(default=30.0, gt=0, le=3600)
    flood_threshold: int = Field(default=200, ge=2, le=100_000)
    flood_window_seconds: float = Field(default=10.0, gt=0, le=3600)
    replies_ahead: int = Field(default=2, ge=1, le=16, description="answers written ahead of the voice: the next "
                               "question is chosen only when fewer wait to be spoken, so answers stay fresh")
    fresh_seconds: float = Field(default=20.0, gt=0, le=3600, description="questions of equal worth are answered oldest "
                                 "first while they have waited at most this long; past it (a busy chat), newest first")
    greet_every_seconds: float = Field(default=20.0, gt=0, le=3600, description="batched welcomes at most this often")
    thanks_every_seconds: float = Field(default=15.0, gt=0, le=3600, description="batched thanks for gifts, follows "
                                        "and likes from chat at most this often")

    def triage_kwargs(self) -> dict[str, Any]:
        return {"max_queue": self.max_queue, "max_age": self.max_age_seconds, "per_user": self.per_user,
                "per_user_window": self.per_user_window_seconds, "dup_window": self.dup_window_seconds,
                "flood_threshold": self.flood_threshold, "flood_window": self.flood_window_seconds,
                "fresh": self.fresh_seconds}
