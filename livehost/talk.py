"""What the host says, assembled from a channel config: the gate, the text models, the reply writer, triage.

Shared by the channel session and the ``livehost script`` / ``livehost reply``
commands, so both speak exactly as a running channel would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from livehost.config import ChannelConfig
from products.model import Catalog
from scripts_gen.gate import Gate
from scripts_gen.replies import PromptSet, ReplyWriter
from scripts_gen.triage import Triage


def make_gate(config: ChannelConfig, catalog: Catalog, now: Callable[[], datetime]) -> Gate:
    return Gate(catalog, platform=config.platform, terms=config.shop_terms, tz=ZoneInfo(config.show.timezone), now=now)


def make_models(config: ChannelConfig) -> list:
    """The configured text models, in order (none: the templates speak alone)."""
    if not config.llm.models:
        return []
    from scripts_gen.llm import make_model

    return [make_model(m.as_factory_dict()) for m in config.llm.models]


def make_reply_writer(config: ChannelConfig, catalog: Catalog, gate: Gate, now: Callable[[], datetime],
                      models: list | None = None) -> ReplyWriter:
    return ReplyWriter(
        catalog, gate, models=make_models(config) if models is None else models,
        prompts=PromptSet(versions=config.llm.prompt_versions), budget=config.llm.budget_seconds,
        terms=config.shop_terms, lang=config.lang, seed=config.seed, now=now,
        max_tokens=config.llm.max_tokens, temperature=config.llm.temperature,
    )


def make_triage(config: ChannelConfig) -> Triage:
    return Triage(**config.comments.triage_kwargs())


async def close_models(models: list) -> None:
    for model in models:
        await model.aclose()
