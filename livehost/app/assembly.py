"""What a channel is made of, built from its config: the catalog, the gate, the text models, the replies,
triage, the voice, the host and the output.

Shared by the channel session and the ``livehost script`` / ``livehost reply``
commands, so both speak exactly as a running channel would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from livehost.app.config import ChannelConfig
from livehost.core.config import ConfigError
from livehost.core.store import Store
from products.catalog import load_catalog, sample_catalog_path
from products.follow import NothingImported, load_for_channel
from products.model import Catalog
from scripts_gen.gate import Gate
from scripts_gen.llm import TextModel, make_model
from scripts_gen.prompts import PromptSet
from scripts_gen.responder import Responder
from scripts_gen.triage import Triage
from streaming.avatar import Avatar2D
from streaming.output.encoder import EncodeSettings
from streaming.output.sinks import FileOutput, Output, RtmpOutput


def load_channel_catalog(config: ChannelConfig, store: Store | None) -> tuple[str | None, Catalog]:
    """(store scope or None, catalog): the configured file, the bundled sample, or what was imported."""
    if config.catalog != "store":
        return None, load_catalog(config.catalog or sample_catalog_path())
    if store is None:
        raise ConfigError("catalog = 'store' needs the store")
    try:
        return load_for_channel(store, config.id)
    except NothingImported as e:
        raise ConfigError(str(e)) from None


def make_gate(config: ChannelConfig, catalog: Catalog, now: Callable[[], datetime]) -> Gate:
    return Gate(catalog, platform=config.platform, terms=config.shop_terms, tz=ZoneInfo(config.show.timezone), now=now)


def make_models(config: ChannelConfig, environ: Mapping[str, str] | None = None) -> list[TextModel]:
    """The configured text models, in order (none: the templates speak alone)."""
    return [make_model(m.as_factory_dict(), environ) for m in config.llm.models]


def make_responder(config: ChannelConfig, catalog: Catalog, gate: Gate, now: Callable[[], datetime],
                   models: list[TextModel]) -> Responder:
    return Responder(
        catalog, gate, models=models, prompts=PromptSet(versions=config.llm.prompt_versions),
        budget=config.llm.budget_seconds, terms=config.shop_terms, lang=config.lang, seed=config.seed, now=now,
        max_tokens=config.llm.max_tokens, temperature=config.llm.temperature,
    )


def make_triage(config: ChannelConfig) -> Triage:
    return Triage(**config.comments.triage_kwargs())


async def close_models(models: list[TextModel]) -> None:
    for model in models:
        await model.aclose()


def make_output(config: ChannelConfig) -> Output:
    out = config.output
    settings = EncodeSettings(config.width, config.height, config.fps, out.video_bitrate_kbps, out.audio_bitrate_kbps,
                              out.keyframe_seconds, out.preset)
    return RtmpOutput(out.url, settings) if out.is_rtmp else FileOutput(out.url, settings)


def make_avatar(config: ChannelConfig) -> Avatar2D:
    return Avatar2D(config.width, config.height, fps=config.fps, seed=config.seed)
