"""What a channel is made of, built from its config: the catalog, the gate, the text models, the replies,
triage, the voice, the host and the output.

Shared by the channel session and the ``livehost script`` / ``livehost reply``
commands, so both speak exactly as a running channel would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from livehost.app import avatars, profiles
from livehost.app.config import ChannelConfig
from livehost.core.config import ConfigError
from livehost.core.consent import ConsentBook, ConsentRecord
from livehost.core.store import Store
from products.catalog import CatalogError, load_catalog, read_catalog, sample_catalog_path
from products.feeds.sources import FeedAccess
from products.follow import NothingImported, load_for_channel
from products.model import Catalog
from scripts_gen.gate import Gate, GateDecision
from scripts_gen.llm import BackendError, TextModel, make_model
from scripts_gen.llm.chain import Draft
from scripts_gen.model_writer import ModelScriptWriter
from scripts_gen.prompts import PromptSet
from scripts_gen.responder import Responder
from scripts_gen.triage import Triage
from scripts_gen.writer import PhraseHistory
from streaming.avatar import Avatar2D, Host
from streaming.avatar.neural import NeuralHost, NeuralModel, NeuralRenderer
from streaming.avatar.photoreal import FaceRenderer, PhotorealHost
from streaming.avatar.service import BatchRenderer, RenderError, pick_device, shared_service
from streaming.output import provenance
from streaming.output.aigc import aigc_metadata
from streaming.output.encoder import EncodeSettings
from streaming.output.feed import UdpFeedOutput
from streaming.output.obs import ObsDirector
from streaming.output.sinks import FileOutput, Output, RtmpOutput
from streaming.tts import TtsBackend, TtsError, make_tts

log = logging.getLogger(__name__)


def load_channel_catalog(config: ChannelConfig, store: Store | None,
                         access: FeedAccess | None = None) -> tuple[str | None, Catalog]:
    """(store scope or None, catalog): the configured source (any format), the bundled sample, or what was imported.

    Rows a source rejects are logged one by one; a source with no valid product is a ConfigError listing them.
    """
    if config.catalog is None:
        return None, load_catalog(sample_catalog_path())
    if config.catalog != "store":
        try:
            catalog = read_catalog(config.catalog, config.catalog_format, access=access)
        except CatalogError as e:
            raise ConfigError(f"catalog = {config.catalog!r}: {e}") from None
        for row in catalog.rejected:
            log.warning("channel %s: catalog %s: rejected %s", config.id, config.catalog, row)
        return None, catalog
    if store is None:
        raise ConfigError("catalog = 'store' needs the store")
    try:
        return load_for_channel(store, config.id)
    except NothingImported as e:
        raise ConfigError(str(e)) from None


def make_gate(config: ChannelConfig, catalog: Catalog, now: Callable[[], datetime],
              record: Callable[[dict[str, Any]], None] | None = None) -> Gate:
    """The gate for this catalog; ``record`` (the audit trail) gets every sentence it refuses, with rule and span."""

    def refused(decision: GateDecision) -> None:
        if record is not None and not decision.passed:
            record({"text": decision.text, "lang": decision.lang, "sku": decision.sku or "", "action": "dropped",
                    "rules": [h.as_json() for h in decision.rules]})

    # dates are said (and read) in the channel's zone when its config names one; otherwise in the zone the catalog
    # wrote them in (a US shop's "sale ends 2027-06-30T23:59:59-05:00" ends June 30, not July 1 in Shanghai)
    tz = ZoneInfo(config.show.timezone) if "timezone" in config.show.model_fields_set else None
    return Gate(catalog, platform=profiles.load(config.platform or "generic").terms, terms=config.shop_terms, tz=tz, now=now,
                on_decision=refused)


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


def make_model_writer(config: ChannelConfig, catalog: Catalog, gate: Gate, models: list[TextModel],
                      history: PhraseHistory, now: Callable[[], datetime],
                      record: Callable[[dict[str, Any]], None]) -> ModelScriptWriter | None:
    """A model phrasing the selling talk (``llm.script``), or None; ``record`` gets the drafts it did not use."""
    if not (config.llm.script and models):
        return None
    return ModelScriptWriter(
        catalog, gate, models, history=history, budget=config.llm.budget_seconds, now=now,
        max_tokens=config.llm.max_tokens, temperature=config.llm.temperature,
        on_draft=lambda line, d: record(draft_record(d, lang=line.lang, sku=line.sku, action="rewritten",
                                                     item_id=line.item_id)))


def draft_record(draft: Draft, *, lang: str, sku: str | None, action: str, **ref: str) -> dict[str, Any]:
    """A model's draft that was not used, as the audit trail keeps it (``ref``: the comment or script item)."""
    return {"text": draft.text, "lang": lang, "sku": sku or "", "action": action, "source": draft.source,
            "error": draft.error, **ref, "rules": [h.as_json() for h in draft.rules]}


async def load_model(model: TextModel, channel: str) -> None:
    """Load a local model in the background (the templates speak meanwhile); a failure is logged, not raised."""
    load = getattr(model, "load", None)
    if load is None:
        return
    try:
        await load()
        log.info("channel %s: text model %s loaded in %.1f s", channel, model.name, getattr(model, "load_seconds", 0))
    except BackendError as e:
        log.error("channel %s: %s; the templates answer instead", channel, e)


def make_triage(config: ChannelConfig, responder: Responder | None = None) -> Triage:
    """Comment triage; with the ``responder``, questions about the catalog's facts and options are answered."""
    return Triage(**config.comments.triage_kwargs(), about_product=responder.about_product if responder else None)


async def close_models(models: list[TextModel]) -> None:
    for model in models:
        await model.aclose()


def make_output(config: ChannelConfig, session: str | None = None, home: Path | None = None) -> Output:
    """The channel's output; every container it writes carries the AIGC metadata (GB 45438) for ``session``, and
    an MP4 file a signed C2PA manifest (the configured certificate, else the ``home``'s local one; none without)."""
    out = config.output
    metadata = aigc_metadata(out.aigc_producer, config.id, session)
    settings = EncodeSettings(config.width, config.height, config.fps, out.video_bitrate_kbps, out.audio_bitrate_kbps,
                              out.keyframe_seconds, out.preset, aac_coder=out.aac_coder, metadata=metadata)
    if out.obs is not None:
        return UdpFeedOutput(out.obs.feed, settings)
    if out.is_rtmp:
        return RtmpOutput(out.url, settings)
    finish = None
    if out.url.lower().endswith(".mp4") and (out.c2pa_cert or home is not None):
        try:
            identity = (provenance.identity_from_files(out.c2pa_cert, out.c2pa_key) if out.c2pa_cert and out.c2pa_key
                        else provenance.local_identity(home) if home is not None else None)
        except provenance.ProvenanceError as e:
            raise ConfigError(str(e)) from None
        if identity is not None:
            def finish(path: Path, identity: provenance.C2paIdentity = identity) -> None:
                provenance.sign_mp4(path, identity, title=f"livehost {config.id}", metadata=metadata)
    return FileOutput(out.url, settings, finish=finish)


def make_obs(config: ChannelConfig, environ: Mapping[str, str], frames_sent: Callable[[], int]) -> ObsDirector | None:
    """The OBS director for ``output.obs`` (None without it); a ConfigError naming a missing secret or extra."""
    obs = config.output.obs
    if obs is None:
        return None
    try:
        import obsws_python  # noqa: F401 - the optional extra
    except ImportError:
        raise ConfigError("output.obs needs obsws-python: pip install 'livehost[obs]' (GPL-3.0)") from None
    secrets = {}
    for field, name in (("password_env", obs.password_env), ("stream.key_env", obs.stream and obs.stream.key_env)):
        if name:
            if not environ.get(name):
                raise ConfigError(f"output.obs.{field}: environment variable {name!r} is not set")
            secrets[field] = environ[name]
    return ObsDirector(obs, config.id, password=secrets.get("password_env"), stream_key=secrets.get("stream.key_env"),
                       frames_sent=frames_sent)


def make_voice(config: ChannelConfig, store: Store | None = None, home: Path | None = None,
               use: str = "") -> tuple[TtsBackend, ConsentRecord | None]:
    """The channel's voice and, for a cloned one, the consent record that allows it (checked before the model
    is loaded; a :class:`ConfigError` naming the voice and why without one, or when the model cannot be used)."""
    v = config.voice
    if v.engine != "coqui":
        return make_tts(v.engine), None
    if store is None or home is None:
        raise ConfigError("voice.engine = 'coqui': a cloned voice needs the store (its consent record)")
    record = avatars.voice_consent(ConsentBook(store.sync(), home), v, use or f"channel {config.id}")
    try:
        tts = make_tts("coqui", model=v.model, reference=v.reference, device=v.device,
                       allow_noncommercial=v.allow_noncommercial, threads=v.threads)
    except TtsError as e:
        raise ConfigError(str(e)) from None
    speaks = getattr(tts, "backends", {}).get(config.lang)
    if speaks is not None and not speaks.name.startswith("coqui"):
        tts.close()
        raise ConfigError(f"voice.model = {v.model!r}: the model cannot speak the channel's language {config.lang!r}")
    return tts, record


def make_avatar(config: ChannelConfig, store: Store | None = None, home: Path | None = None,
                use: str = "") -> tuple[Host, ConsentRecord | None]:
    """The channel's host and, for a photoreal one, the consent record that allows its face.

    A photoreal host renders on the process's shared render service for ``render.device``; it is refused
    (a :class:`ConfigError` naming the avatar and why) without a valid consent record, which needs the store."""
    label = profiles.load(config.platform or "generic").label.style()
    if config.avatar is None:
        return Avatar2D(config.width, config.height, fps=config.fps, seed=config.seed, label=label), None
    if store is None or home is None:
        raise ConfigError(f"avatar = {config.avatar!r}: a photoreal host needs the store (its consent record)")
    pack = avatars.load_pack(home, config.avatar)
    record = avatars.face_consent(ConsentBook(store.sync(), home), pack, use or f"channel {config.id}")
    r = config.render
    kind = NeuralHost if r.backend == "neural" else PhotorealHost
    try:
        device = pick_device(r.device)
        neural = r.neural_model if r.backend == "neural" else None

        def renderer() -> BatchRenderer:
            return NeuralRenderer(NeuralModel(neural, device)) if neural else FaceRenderer(device)

        service = shared_service(f"{device}|{neural or 'samples'}", renderer)
        host: Host = kind(pack, service, width=config.width, height=config.height, fps=config.fps, seed=config.seed,
                          channel=config.id, budget_frames=r.budget_frames, label=label)
    except RenderError as e:
        raise ConfigError(f"avatar = {config.avatar!r}: {e}") from None
    return host, record
