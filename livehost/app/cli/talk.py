"""``livehost script`` (the selling talk planned for a product) and ``livehost reply`` (answers to comments),
exactly as a running channel with the same config would say them."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from livehost.app.assembly import close_models, make_gate, make_models, make_responder, make_triage
from livehost.app.cli import Edge, printable
from livehost.app.config import ChannelConfig, build_config, load_config
from livehost.core import jsonio
from livehost.core.config import ConfigError, merge
from products.feeds.base import FeedError, build_catalog
from products.feeds.sources import FORMATS, FeedAccess, open_source
from products.model import Catalog
from scripts_gen.intents import Intent
from scripts_gen.model_writer import ModelScriptWriter
from scripts_gen.responder import Reply
from scripts_gen.triage import Action, Comment
from scripts_gen.writer import PhraseHistory, TemplateScriptWriter, speaking_seconds


def add_parsers(sub: Any) -> None:
    sc = sub.add_parser("script", help="print the selling talk planned for a product")
    sc.add_argument("--catalog", required=True, help="catalog source: a path or URL, any format `catalog import` reads")
    sc.add_argument("--format", default="auto", choices=FORMATS)
    sc.add_argument("--sku", required=True)
    sc.add_argument("--minutes", type=float, default=5.0, help="air time to plan (default 5)")
    sc.add_argument("--lang", choices=["zh", "en"], help="check the product is in this language")
    sc.add_argument("--seed", type=int, help="phrasing seed (default: the config's, else 0)")
    sc.add_argument("--config", help="channel config (YAML or TOML): platform, shop terms, llm models (llm.script: true)")
    sc.add_argument("--json", action="store_true", help='a JSON list of {"text", "segment", "gate"}')
    sc.add_argument("--at", type=_moment, help="plan as at this time (ISO 8601 with offset), e.g. inside a sale window")
    sc.set_defaults(run=script)

    rp = sub.add_parser("reply", help="triage viewer comments and print the host's replies")
    rp.add_argument("--catalog", required=True, help="catalog source: a path or URL, any format `catalog import` reads")
    rp.add_argument("--format", default="auto", choices=FORMATS)
    rp.add_argument("--sku", required=True, help="the product on air")
    rp.add_argument("--comments", required=True, help='JSON Lines file ("-": stdin), one {"user": ..., "text": ...} per line')
    rp.add_argument("--lang", choices=["auto", "zh", "en"], help="the channel's language (default: the product's)")
    rp.add_argument("--platform", help="the platform profile (douyin, tiktok, ...): its banned-term list for the gate")
    rp.add_argument("--config", help="channel config (YAML or TOML): llm models, shop terms, comment limits")
    rp.add_argument("--interval", type=float, default=1.0,
                    help="seconds between comments that carry no 'at' field, for rate limits (default 1)")
    rp.add_argument("--seed", type=int)
    rp.add_argument("--json", action="store_true",
                    help='one JSON object per comment: {"action", "intent", "speech", "gate": {"passed", "rules"}, ...}')
    rp.add_argument("--at", type=_moment, help="answer as at this time (ISO 8601 with offset), e.g. inside a sale window")
    rp.set_defaults(run=reply)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-11-28T20:00:00+08:00") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time zone offset, like +08:00")
    return moment


def _clock(args: argparse.Namespace) -> Callable[[], datetime]:
    """The command's clock: ``--at`` when given, else now."""
    at = args.at
    return (lambda: at) if at is not None else (lambda: datetime.now(UTC))


def _catalog_with_sku(args: argparse.Namespace, edge: Edge) -> Catalog:
    """The ``--catalog`` (any source `livehost catalog import` reads) with ``--sku`` in it; ConfigError otherwise."""
    source, settings = args.catalog, edge.settings
    try:
        opened = asyncio.run(open_source(source, args.format, access=FeedAccess.from_settings(settings)))
        catalog = build_catalog(opened.items, source=source)
    except FeedError as e:
        raise ConfigError(f"--catalog {source}: {e}") from None
    if not catalog.products:
        raise ConfigError(f"--catalog {source}: no valid product ({len(catalog.rejected)} rejected)")
    sku = catalog.sku_of(args.sku)  # a variant id names its product
    if sku is None:
        raise ConfigError(f"--sku {args.sku!r}: not in the catalog (it has {', '.join(catalog.skus()[:10])}...)")
    args.variant, args.sku = (args.sku if sku != args.sku else None), sku
    return catalog


def _channel_config(path: str | None, **overrides: Any) -> ChannelConfig:
    return load_config(path, overrides) if path else build_config(merge({}, overrides))


# -- script ---------------------------------------------------------------------------------------
def script(args: argparse.Namespace, edge: Edge) -> int:
    catalog = _catalog_with_sku(args, edge)
    product = catalog[args.sku]
    if args.lang and args.lang != product.lang:
        raise ConfigError(f"--lang {args.lang}: product {args.sku} is written in {product.lang!r}")
    if args.minutes <= 0:
        raise ConfigError(f"--minutes {args.minutes!r}: must be positive")
    config = _channel_config(args.config, seed=args.seed)
    return asyncio.run(_plan_script(args, config, catalog, edge))


async def _plan_script(args: argparse.Namespace, config: ChannelConfig, catalog: Catalog, edge: Edge) -> int:
    now = _clock(args)
    gate = make_gate(config, catalog, now)
    history = PhraseHistory()
    writer = TemplateScriptWriter(catalog, seed=config.seed, now=now, history=history)
    models = make_models(config, edge.settings.environ) if config.llm.script else []
    talk = None
    if models:
        talk = ModelScriptWriter(catalog, gate, models, history=history, budget=config.llm.budget_seconds, now=now,
                                 max_tokens=config.llm.max_tokens, temperature=config.llm.temperature)
    planned: list[dict[str, Any]] = []
    air, cycle = 0.0, 0
    try:
        while air < args.minutes * 60 and cycle <= 10_000:
            for line in writer.cycle(args.sku, cycle):
                if talk is not None:
                    line = await talk.rewrite(line)
                decision = gate.check(line.text, line.lang, sku=line.sku)
                seconds = speaking_seconds(decision.text, line.lang) if decision.passed else 0.0
                planned.append({"text": decision.text, "segment": line.segment, "id": line.item_id, "seconds": seconds,
                                "source": line.writer,
                                "gate": {"passed": decision.passed, "rules": list(decision.rule_names)}})
                air += seconds
                if not args.json:
                    mark = "   " if decision.passed else "✗  "
                    print(printable(f"{mark}{line.segment:<9} {decision.text}"), flush=True)
                if air >= args.minutes * 60:
                    break
            cycle += 1
    finally:
        await close_models(models)
    if args.json:
        print(jsonio.dumps(planned))
    else:
        by_model = sum(1 for p in planned if p["source"] != "template")
        extra = f", {by_model} phrased by a model" if talk is not None else ""
        print(f"-- {len(planned)} sentences{extra}, about {air / 60:.1f} minutes of air time", file=sys.stderr)
    return 0


# -- reply ----------------------------------------------------------------------------------------
def reply(args: argparse.Namespace, edge: Edge) -> int:
    config = _channel_config(args.config, lang=args.lang, seed=args.seed, platform=args.platform)
    catalog = _catalog_with_sku(args, edge)
    if args.interval <= 0:
        raise ConfigError(f"--interval {args.interval!r}: must be positive")
    return asyncio.run(_replies(args, config, catalog, edge))


#: The longest comment line read; a platform's comment is a few hundred characters.
MAX_LINE = 64 << 10
#: The latest ``at`` a comment may carry, in seconds from the start of the file (ten years).
MAX_AT = 10 * 365 * 86400.0


def read_comments(path: str, interval: float) -> Iterator[tuple[int, Comment | None, str]]:
    """(line number, Comment or None, error) for each non-blank line of a JSON Lines file ("-": stdin).

    Every line stands alone: bytes that are not UTF-8, JSON that is not strict or nests too deep, a
    line over :data:`MAX_LINE` bytes, a field of the wrong type or an ``at`` that is not a time are
    that line's error, and reading goes on with the next line.
    """
    try:
        handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise ConfigError(f"--comments {path}: cannot read: {e.strerror or e}") from None
    with handle:
        n = 0
        for number, raw in enumerate(_lines(handle), start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a BOM
            if not raw.strip():
                continue
            try:
                comment = _comment(raw, number, n * interval)
            except ValueError as e:
                yield number, None, f"line {number}: {e}"
                continue
            yield number, comment, ""
            n += 1


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    """The file's lines, each cut at :data:`MAX_LINE` + 1 bytes (the rest of a longer line is skipped)."""
    while line := handle.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := handle.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
        yield line


def _comment(raw: bytes, number: int, default_at: float) -> Comment:
    """One line as a comment; ``ValueError`` naming the field and value otherwise."""
    if len(raw) > MAX_LINE:
        raise ValueError(f"longer than {MAX_LINE} bytes")
    try:
        obj = jsonio.loads(raw, depth=8)
    except jsonio.JsonError as e:
        raise ValueError(str(e)) from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    text, user, at, ident = obj.get("text"), obj.get("user", ""), obj.get("at"), obj.get("id", number)
    if not isinstance(text, str):
        raise ValueError(f"field 'text' = {_shown(text)}: must be a string")
    if not isinstance(user, (str, int)) or isinstance(user, bool):
        raise ValueError(f"field 'user' = {_shown(user)}: must be a string")
    if not isinstance(ident, (str, int)) or isinstance(ident, bool):
        raise ValueError(f"field 'id' = {_shown(ident)}: must be a string")
    if at is None:
        at = default_at
    elif isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at <= MAX_AT:
        raise ValueError(f"field 'at' = {_shown(at)}: must be seconds from the start, 0 to {MAX_AT:.0f}")
    return Comment(str(user), text, float(at), str(ident))


def _shown(value: Any) -> str:
    """A field's value for an error message: JSON, at most 60 characters."""
    text = jsonio.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


async def _replies(args: argparse.Namespace, config: ChannelConfig, catalog: Catalog, edge: Edge) -> int:
    now = _clock(args)
    gate = make_gate(config, catalog, now)
    models = make_models(config, edge.settings.environ)
    responder = make_responder(config, catalog, gate, now, models)
    triage = make_triage(config, responder)
    done = bad = 0
    try:
        for number, comment, error in read_comments(args.comments, args.interval):
            if comment is None:
                bad += 1
                print(printable(f"livehost: --comments {args.comments}: {error}"), file=sys.stderr)
                row: dict[str, Any] = {"action": "ignore", "intent": Intent.OFF_TOPIC.value, "speech": None,
                                       "gate": {"passed": False, "rules": []}, "error": error, "line": number}
            else:
                triaged = triage.add(comment)
                if triaged.action is Action.ANSWER:
                    triage.next_answer(comment.at)  # answered now, in order: it leaves the queue
                    answer = await responder.answer(triaged, args.sku, args.variant)
                elif triaged.action is Action.GREET:
                    triage.take_greetings(comment.at)
                    answer = (responder.greet([comment], args.sku)
                              or Reply(comment, triaged.action, triaged.intent, None, None))
                    answer = dataclasses.replace(answer, reason=triaged.reason)
                else:
                    answer = await responder.answer(triaged, args.sku, args.variant)
                row = {**answer.as_json(), "line": number}
            done += 1
            if args.json:
                print(jsonio.dumps(row), flush=True)
            else:
                said = row["speech"] if row["speech"] is not None else f"({row.get('reason') or row.get('error', '')})"
                print(printable(f"{row['action']:<6} {row['intent']:<13} {row.get('user', '')}: {said}"), flush=True)
    finally:
        await close_models(models)
    if bad:
        print(f"livehost: {bad} of {done} comment lines could not be read (reported above)", file=sys.stderr)
    return 0 if done > bad else 2
