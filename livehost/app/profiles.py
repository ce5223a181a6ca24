"""Platform profiles: what a platform (and the law behind it) asks of an AI host, one versioned file each.

``platform: douyin | kuaishou | taobao | tiktok | youtube | bilibili | twitch | generic`` in a channel
config selects ``livehost/app/platforms/<name>.yaml``.  Every rule there carries its source (a URL) and
the date of that source; a rule nobody could source says ``unknown`` and livehost then applies its own
safe default (say it is an AI, label every frame), never a guess.

What a profile drives today: the on-screen label's text, size (never smaller than 5% of the picture's
shorter side; livehost draws 6% unless asked for more) and top corner, the spoken-disclosure interval, the gate's banned-term list, whether the channel may run at all
with an AI host or an AI voice (it does not start otherwise, and says why), the longest continuous
session (the channel stops there, saying why), and, where ``supervisor_required``, how long the channel
may run with nobody on duty (``unattended_minutes``) before it holds: see
:class:`livehost.app.supervision.Supervision`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from livehost.core.config import ConfigError, Strict, describe_errors
from streaming.avatar.renderer2d import AiLabel

HERE = Path(__file__).resolve().parent / "platforms"
DRAWN_FRACTION = 0.06  # the label's height livehost draws when a profile asks for no more
UNKNOWN = "unknown"


class Rule(Strict):
    """One rule: its value (or ``unknown``), where it comes from and when that source is dated."""

    value: Any = UNKNOWN
    source: str | None = Field(default=None, description="URL of the rule or of a report of it")
    date: str | None = Field(default=None, description="the source's date, YYYY-MM-DD")
    note: str = ""

    @property
    def known(self) -> bool:
        return self.value != UNKNOWN

    def cite(self) -> str:
        return f"{self.source} ({self.date})" if self.source else "no source"


class Label(Strict):
    text: str = Field(default="AI生成 / AI generated", min_length=1, max_length=40)
    min_fraction: float = Field(default=0.05, ge=0.05, le=0.15, description="the least text height, as a fraction "
                                "of the picture's shorter side (livehost draws at least 0.06)")
    position: Literal["top-left", "top-right"] = Field(
        default="top-left", description="the top corner it sits in (the product card holds the lower part)")
    source: str | None = None
    date: str | None = None

    def style(self) -> AiLabel:
        """How the renderers draw it: this text, at least this size (never under livehost's 6%), in this corner."""
        return AiLabel(text=self.text, fraction=max(DRAWN_FRACTION, self.min_fraction), corner=self.position)


class PlatformProfile(Strict):
    platform: str
    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="when this profile was last checked")
    label: Label = Label()
    terms: str | None = Field(default=None, description="the gate's banned-term list for this platform")
    disclosure_minutes: Rule = Rule()
    ai_host_allowed: Rule = Rule()
    ai_voice_allowed: Rule = Rule()
    supervisor_required: Rule = Rule()
    unattended_minutes: Rule = Rule(value=5, note="livehost's default: how long nobody may be on duty where a "
                                    "supervisor is required")
    max_session_hours: Rule = Rule()
    notes: list[str] = Field(default_factory=list)

    @field_validator("disclosure_minutes", "max_session_hours", "unattended_minutes")
    @classmethod
    def _number(cls, v: Rule) -> Rule:
        if v.known and (not isinstance(v.value, int | float) or v.value <= 0):
            raise ValueError(f"value {v.value!r}: a positive number or 'unknown'")
        return v

    @field_validator("ai_host_allowed", "ai_voice_allowed", "supervisor_required")
    @classmethod
    def _flag(cls, v: Rule) -> Rule:
        if v.known and not isinstance(v.value, bool):
            raise ValueError(f"value {v.value!r}: true, false or 'unknown'")
        return v

    def refusal(self) -> str | None:
        """Why a channel with an AI host and an AI voice may not run on this platform, if it may not."""
        for rule, what in ((self.ai_host_allowed, "an AI host"), (self.ai_voice_allowed, "an AI voice")):
            if rule.value is False:
                return (f"platform {self.platform!r} (profile {self.version}) does not allow {what}: "
                        f"{rule.note or 'see'} {rule.cite()}")
        return None


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


@cache
def load(name: str) -> PlatformProfile:
    import yaml

    path = HERE / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"platform: {name!r} has no profile (have: {', '.join(names())})")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        profile = PlatformProfile.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"platform profile {str(path)!r}: " + "; ".join(describe_errors(e))) from None
    if profile.platform != name:
        raise ConfigError(f"platform profile {str(path)!r}: says platform {profile.platform!r}")
    return profile
