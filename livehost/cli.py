"""The ``livehost`` command."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys

from livehost.config import ChannelConfig, ConfigError, build_config, load_config, merge


def _demo_config(args: argparse.Namespace) -> ChannelConfig:
    overrides = {
        "output.url": args.output,
        "size": args.size,
        "fps": args.fps,
        "voice.engine": args.voice,
        "catalog": args.catalog,
        "lang": args.lang,
        "seed": args.seed,
        "output.realtime": False if args.fast else None,
        "output.video_bitrate_kbps": args.video_kbps,
    }
    if args.config:
        return load_config(args.config, overrides)
    return build_config(merge({}, overrides))


def _console_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--console-host", help="address the console listens on (default 127.0.0.1)")
    p.add_argument("--console-port", type=int, help="console port (default 8080; 0: any free port)")
    p.add_argument("--no-console", action="store_true", help="run without the web console")


def _with_console_flags(fleet, args: argparse.Namespace):
    if args.console_host:
        fleet.console_host = args.console_host
    if args.console_port is not None:
        if not 0 <= args.console_port <= 65535:
            raise ConfigError(f"--console-port {args.console_port}: not a port number")
        fleet.console_port = args.console_port
    return fleet


def _demo(args: argparse.Namespace) -> int:
    from livehost.service import Fleet, run_service

    config = _demo_config(args)
    if args.fast and config.output.is_rtmp:
        raise ConfigError("--fast: an RTMP push must be paced to the wall clock")
    fleet = _with_console_flags(Fleet(channels=[(config, True)]), args)
    return asyncio.run(run_service(fleet, console=not args.no_console, duration=args.duration, quiet=args.quiet,
                                   single=True))


def _serve(args: argparse.Namespace) -> int:
    from livehost.service import Fleet, load_fleet, run_service

    fleet = _with_console_flags(load_fleet(args.config) if args.config else Fleet(), args)
    return asyncio.run(run_service(fleet, console=not args.no_console))


def _user(args: argparse.Namespace) -> int:
    import getpass

    from dashboards.users import UserError, UserStore
    from livehost.store import livehost_home

    users = UserStore(livehost_home())

    def ask_password() -> str:
        if args.password_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != first:
            raise UserError("password: the two entries differ")
        return first

    try:
        if args.user_command == "add":
            password = None if args.no_password else ask_password()
            user = users.add(args.name, args.role, args.tenant, password)
            scope = f"tenant {user.tenant}" if user.tenant else "all tenants"
            print(f"added {user.name}: {user.role}, {scope}" + (" (API tokens only)" if password is None else ""))
            if args.token:
                print(users.new_token(user.name, "created with the user"))
        elif args.user_command == "token":
            print(users.new_token(args.name, args.label or ""))
            print(f"(a token for {args.name}: shown once, keep it safe)", file=sys.stderr)
        elif args.user_command == "passwd":
            users.set_password(args.name, ask_password())
            print(f"password changed for {args.name}")
        elif args.user_command == "remove":
            users.remove(args.name)
            print(f"removed {args.name}")
        else:
            listed = [u.public() for u in users.users().values()]
            if args.json:
                print(json.dumps(listed))
            else:
                for u in listed:
                    print(f"{u['name']:<20} {u['role']:<9} {u['tenant'] or '(all tenants)':<16} {u['tokens']} token(s)")
    except UserError as e:
        print(f"livehost: user {args.user_command}: {e}", file=sys.stderr)
        return 2
    return 0


def _audit(args: argparse.Namespace) -> int:
    from livehost.audit import read_audit
    from livehost.store import Store

    store = Store()
    try:
        entries = read_audit(store.sync(), args.channel, args.last)
    finally:
        store.close()
    for e in entries:
        if args.json:
            print(json.dumps(e.__dict__, ensure_ascii=False))
        else:
            mark = f"CUT({e.reason})" if e.cut else "    "
            print(f"{e.pts_start / 48000:9.2f}-{e.pts_end / 48000:9.2f}s {mark:<14} {e.source:<8} {e.text}")
    return 0


def _catalog(args: argparse.Namespace) -> int:
    from livehost.store import Store
    from products.store import CatalogStore

    store = Store()
    try:
        cs = CatalogStore(store.sync(), args.channel or "shared")
        if args.catalog_command == "import":
            return asyncio.run(_catalog_import(cs, args))
        if args.catalog_command == "show":
            return _catalog_show(cs, args)
        if args.catalog_command in ("schedule", "jobs", "unschedule"):
            return _catalog_jobs(store, args)
        return _catalog_diff(cs, args)
    finally:
        store.close()


async def _catalog_import(cs, args: argparse.Namespace) -> int:
    from products.feeds.base import FeedError
    from products.store import import_source

    def progress(valid: int, rejected: int) -> None:
        if not args.json:
            print(f"\r  {valid} valid, {rejected} rejected ...", end="", file=sys.stderr, flush=True)

    try:
        result = await import_source(cs, args.source, args.format, currency=args.currency, force=args.force,
                                     progress=progress)
    except FeedError as e:
        if args.json:
            print(json.dumps({"imported": 0, "rejected": [], "version": cs.current_version(), "error": str(e)}, ensure_ascii=False))
        else:
            print(f"livehost: catalog import: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, default=str))
    else:
        if result.valid >= 500:
            print(file=sys.stderr)
        for r in result.rejected:
            print(f"  rejected {r}")
        if result.rejected_count > len(result.rejected):
            print(f"  ... {result.rejected_count - len(result.rejected)} more rejected")
        if result.error:
            print(f"livehost: catalog import: {result.error}", file=sys.stderr)
        elif result.unchanged:
            print(f"catalog [{cs.scope}] unchanged: version {result.version}, {result.imported} products ({result.format})")
        else:
            print(f"catalog [{cs.scope}] version {result.version}: {result.imported} products imported, "
                  f"{result.rejected_count} rejected ({result.format}); {len(result.changes)} changes")
            for c in result.changes[:20]:
                print(f"  {c}")
    return 0 if result.imported else 2


def _catalog_show(cs, args: argparse.Namespace) -> int:
    catalog = cs.load()
    last = cs.last_import()
    if args.json:
        print(json.dumps({
            "scope": cs.scope, "version": catalog.version if catalog else None,
            "source": catalog.source if catalog else None,
            "products": [p.model_dump(mode="json") for p in catalog] if catalog else [],
            "last_import": last or None,
        }, ensure_ascii=False))
        return 0 if catalog else 2
    if catalog is None:
        print(f"livehost: no catalog stored for {cs.scope!r} (livehost catalog import SOURCE --channel ...)", file=sys.stderr)
        return 2
    print(f"catalog [{cs.scope}] version {catalog.version} from {catalog.source}: {len(catalog)} products")
    for p in catalog:
        sale = f" sale {p.display_price()}" if p.on_sale else ""
        stock = "?" if p.stock is None else p.stock
        flag = "" if p.in_stock else "  OUT OF STOCK"
        print(f"  {p.sku:<20} {p.currency} {p.price:>10}{sale:<16} stock {stock:>6}  {p.title}{flag}")
    if last.get("error"):
        print(f"last import failed: {last['error']}")
    return 0


def _catalog_jobs(store, args: argparse.Namespace) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler

    from livehost.scheduler import FeedScheduler

    feeds = FeedScheduler.for_store(store, scheduler_cls=BackgroundScheduler)
    feeds.start(paused=True)  # paused: this command edits the stored jobs, the channel processes run them
    try:
        if args.catalog_command == "schedule":
            from products.feeds.sources import is_url

            if not is_url(args.source):  # the job may run from another directory
                if not os.path.isfile(args.source):
                    print(f"livehost: catalog schedule: SOURCE = {args.source!r}: no such file", file=sys.stderr)
                    return 2
                args.source = os.path.abspath(args.source)
            try:
                job = feeds.add(args.source, fmt=args.format, scope=args.channel or "shared",
                                every_minutes=args.every, cron=args.cron, timezone_name=args.timezone)
            except ValueError as e:
                print(f"livehost: catalog schedule: {e}", file=sys.stderr)
                return 2
            print(json.dumps({"id": job}) if args.json else f"scheduled {job}: refresh {args.source}")
        elif args.catalog_command == "unschedule":
            try:
                feeds.remove(args.job)
            except Exception:  # noqa: BLE001 - apscheduler raises JobLookupError
                print(f"livehost: catalog unschedule: no job {args.job!r}", file=sys.stderr)
                return 2
            print(f"removed {args.job}")
        else:
            jobs = feeds.jobs()
            if args.json:
                print(json.dumps(jobs, ensure_ascii=False))
            for j in jobs if not args.json else []:
                print(f"{j['id']}  {j['trigger']:<28} {j['scope']:<10} {j['source']}")
        return 0
    finally:
        feeds.shutdown()


def _catalog_diff(cs, args: argparse.Namespace) -> int:
    changes = cs.diff(args.old, args.new)
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(c) for c in changes], ensure_ascii=False, default=str))
        return 0
    if not changes:
        print(f"catalog [{cs.scope}]: no changes between the last two versions")
    for c in changes:
        print(c)
    return 0


def _load_any_catalog(source: str, fmt: str = "auto"):
    """A catalog from any source `livehost catalog import` reads; exits 2 with the reason when unusable."""
    from products.feeds.base import FeedError, build_catalog
    from products.feeds.sources import open_source

    try:
        opened = asyncio.run(open_source(source, fmt))
        catalog = build_catalog(opened.items, source=source)
    except FeedError as e:
        raise ConfigError(f"--catalog {source}: {e}") from None
    if not catalog.products:
        raise ConfigError(f"--catalog {source}: no valid product ({len(catalog.rejected)} rejected)")
    return catalog


def _script(args: argparse.Namespace) -> int:
    catalog = _catalog_with_sku(args)
    product = catalog[args.sku]
    if args.lang and args.lang != product.lang:
        raise ConfigError(f"--lang {args.lang}: product {args.sku} is written in {product.lang!r}")
    if args.minutes <= 0:
        raise ConfigError(f"--minutes {args.minutes!r}: must be positive")
    config = _channel_config(args.config, seed=args.seed)
    return asyncio.run(_plan_script(args, config, catalog))


async def _plan_script(args: argparse.Namespace, config: ChannelConfig, catalog) -> int:
    from datetime import datetime, timezone

    from livehost.talk import close_models, make_gate, make_models
    from scripts_gen.engine import PhraseHistory, TemplateScriptWriter, speaking_seconds

    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    gate = make_gate(config, catalog, now)
    history = PhraseHistory()
    writer = TemplateScriptWriter(catalog, seed=config.seed, now=now, history=history)
    models = make_models(config) if config.llm.script else []
    talk = None
    if models:
        from scripts_gen.model_script import ModelScriptWriter

        talk = ModelScriptWriter(catalog, gate, models, history=history, budget=config.llm.budget_seconds, now=now,
                                 max_tokens=config.llm.max_tokens, temperature=config.llm.temperature)
    planned, air, cycle = [], 0.0, 0
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
                    print(f"{mark}{line.segment:<9} {decision.text}", flush=True)
                if air >= args.minutes * 60:
                    break
            cycle += 1
    finally:
        await close_models(models)
    if args.json:
        print(json.dumps(planned, ensure_ascii=False))
    else:
        by_model = sum(1 for p in planned if p["source"] != "template")
        extra = f", {by_model} phrased by a model" if talk is not None else ""
        print(f"-- {len(planned)} sentences{extra}, about {air / 60:.1f} minutes of air time", file=sys.stderr)
    return 0


def _catalog_with_sku(args: argparse.Namespace):
    """The ``--catalog`` with ``--sku`` in it (ConfigError naming the sku otherwise)."""
    catalog = _load_any_catalog(args.catalog, args.format)
    if args.sku not in catalog:
        raise ConfigError(f"--sku {args.sku!r}: not in the catalog (it has {', '.join(catalog.skus()[:10])}...)")
    return catalog


def _channel_config(path: str | None, **overrides) -> ChannelConfig:
    return load_config(path, overrides) if path else build_config(merge({}, overrides))


def _read_comments(path: str, interval: float):
    """(line number, Comment or None, error) for each non-blank line of a JSON Lines file ("-": stdin)."""
    from scripts_gen.triage import Comment

    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8-sig")
    except OSError as e:
        raise ConfigError(f"--comments {path}: cannot read: {e.strerror or e}") from None
    with handle:
        n = 0
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield number, None, f"line {number}: not JSON ({e.msg} at column {e.colno})"
                continue
            if not isinstance(obj, dict):
                yield number, None, f"line {number}: expected a JSON object, got {type(obj).__name__}"
                continue
            text, user = obj.get("text"), obj.get("user", "")
            if not isinstance(text, str):
                yield number, None, f"line {number}: field 'text' = {text!r}: must be a string"
                continue
            if not isinstance(user, (str, int)):
                yield number, None, f"line {number}: field 'user' = {user!r}: must be a string"
                continue
            at = obj.get("at")
            if not isinstance(at, (int, float)) or isinstance(at, bool):
                at = n * interval
            yield number, Comment(str(user), text, float(at), str(obj.get("id", number))), ""
            n += 1


async def _replies(args: argparse.Namespace, config: ChannelConfig, catalog) -> int:
    from datetime import datetime, timezone

    from livehost.talk import close_models, make_gate, make_models, make_reply_writer, make_triage
    from scripts_gen.replies import Reply
    from scripts_gen.triage import Action, Intent

    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    gate = make_gate(config, catalog, now)
    models = make_models(config)
    writer = make_reply_writer(config, catalog, gate, now, models)
    triage = make_triage(config)
    done = bad = 0
    try:
        for number, comment, error in _read_comments(args.comments, args.interval):
            if comment is None:
                bad += 1
                print(f"livehost: --comments {args.comments}: {error}", file=sys.stderr)
                row = {"action": "ignore", "intent": Intent.OFF_TOPIC.value, "speech": None,
                       "gate": {"passed": False, "rules": []}, "error": error}
            else:
                triaged = triage.add(comment)
                if triaged.action is Action.ANSWER:
                    triage.next_answer(comment.at)  # answered now, in order: it leaves the queue
                    reply = await writer.answer(triaged, args.sku)
                elif triaged.action is Action.GREET:
                    triage.take_greetings(comment.at)
                    reply = writer.greet([comment], args.sku) or Reply(comment, triaged.action, triaged.intent, None, None)
                    reply = dataclasses.replace(reply, reason=triaged.reason)
                else:
                    reply = await writer.answer(triaged, args.sku)
                row = {**reply.as_json(), "line": number}
            done += 1
            if args.json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
            else:
                said = row["speech"] if row["speech"] is not None else f"({row.get('reason') or row.get('error', '')})"
                print(f"{row['action']:<6} {row['intent']:<13} {row.get('user', '')}: {said}", flush=True)
    finally:
        await close_models(models)
    if bad:
        print(f"livehost: {bad} of {done} comment lines could not be read (reported above)", file=sys.stderr)
    return 0 if done > bad else 2


def _reply(args: argparse.Namespace) -> int:
    config = _channel_config(args.config, lang=args.lang, seed=args.seed, platform=args.platform)
    catalog = _catalog_with_sku(args)
    if args.interval <= 0:
        raise ConfigError(f"--interval {args.interval!r}: must be positive")
    return asyncio.run(_replies(args, config, catalog))


def build_parser() -> argparse.ArgumentParser:
    from dashboards.users import ROLES

    p = argparse.ArgumentParser(prog="livehost", description="AI hosts for 24-hour live-stream selling")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the demo channel (bundled catalog, voice and host)")
    d.add_argument("--output", "-o", help="out.flv | out.mp4 | rtmp://host/app/key (default out.flv)")
    d.add_argument("--duration", type=float, help="seconds of stream, then stop (default: until Ctrl-C)")
    d.add_argument("--size", help="WIDTHxHEIGHT (default 720x1280)")
    d.add_argument("--fps", type=int, help="frames per second (default 25)")
    d.add_argument("--voice", choices=["auto", "espeak", "piper"], help="TTS engine (default auto)")
    d.add_argument("--catalog", help="catalog JSON file (default: bundled sample)")
    d.add_argument("--lang", choices=["auto", "zh", "en"], help="only products in this language")
    d.add_argument("--seed", type=int, help="script phrasing seed")
    d.add_argument("--video-kbps", type=int, help="video bitrate (default 2500)")
    d.add_argument("--config", help="channel config file (YAML or TOML); flags override it")
    d.add_argument("--fast", action="store_true", help="do not pace to the wall clock (files only: render as fast as possible)")
    d.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    _console_flags(d)

    sv = sub.add_parser("serve", help="run the channels of a fleet file, with the console")
    sv.add_argument("--config", help="fleet file (YAML or TOML): channels and console; none: the console alone")
    _console_flags(sv)

    us = sub.add_parser("user", help="console users and API tokens (kept in $LIVEHOST_HOME/users.json)")
    usub = us.add_subparsers(dest="user_command", required=True)
    ua = usub.add_parser("add", help="create a user (asks for the password)")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=ROLES)
    ua.add_argument("--tenant", help="the tenant whose channels the user sees (default: all)")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    ua.add_argument("--no-password", action="store_true", help="no console login: API tokens only")
    ua.add_argument("--token", action="store_true", help="also create an API token and print it")
    ut = usub.add_parser("token", help="create an API token for a user (printed once)")
    ut.add_argument("name")
    ut.add_argument("--label", help="what the token is for, e.g. prometheus")
    upw = usub.add_parser("passwd", help="set a user's password")
    upw.add_argument("name")
    upw.add_argument("--password-stdin", action="store_true")
    ur = usub.add_parser("remove", help="delete a user and their tokens")
    ur.add_argument("name")
    ul = usub.add_parser("list", help="the users")
    ul.add_argument("--json", action="store_true")

    a = sub.add_parser("audit", help="print the log of spoken sentences")
    a.add_argument("--channel", default="demo")
    a.add_argument("--last", type=int, help="only the last N entries")
    a.add_argument("--json", action="store_true")

    sc = sub.add_parser("script", help="print the selling talk planned for a product")
    sc.add_argument("--catalog", required=True, help="catalog source: a path or URL, any format `catalog import` reads")
    sc.add_argument("--format", default="auto", choices=["auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce"])
    sc.add_argument("--sku", required=True)
    sc.add_argument("--minutes", type=float, default=5.0, help="air time to plan (default 5)")
    sc.add_argument("--lang", choices=["zh", "en"], help="check the product is in this language")
    sc.add_argument("--seed", type=int, help="phrasing seed (default: the config's, else 0)")
    sc.add_argument("--config", help="channel config (YAML or TOML): platform, shop terms, llm models (llm.script: true)")
    sc.add_argument("--json", action="store_true", help='a JSON list of {"text", "segment", "gate"}')

    rp = sub.add_parser("reply", help="triage viewer comments and print the host's replies")
    rp.add_argument("--catalog", required=True, help="catalog source: a path or URL, any format `catalog import` reads")
    rp.add_argument("--format", default="auto", choices=["auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce"])
    rp.add_argument("--sku", required=True, help="the product on air")
    rp.add_argument("--comments", required=True, help='JSON Lines file ("-": stdin), one {"user": ..., "text": ...} per line')
    rp.add_argument("--lang", choices=["auto", "zh", "en"], help="the channel's language (default: the product's)")
    rp.add_argument("--platform", help="platform term list for the gate (douyin, tiktok)")
    rp.add_argument("--config", help="channel config (YAML or TOML): llm models, shop terms, comment limits")
    rp.add_argument("--interval", type=float, default=1.0,
                    help="seconds between comments that carry no 'at' field, for rate limits (default 1)")
    rp.add_argument("--seed", type=int)
    rp.add_argument("--json", action="store_true",
                    help='one JSON object per comment: {"action", "intent", "speech", "gate": {"passed", "rules"}, ...}')

    c = sub.add_parser("catalog", help="import, show and diff product catalogs")
    csub = c.add_subparsers(dest="catalog_command", required=True)
    ci = csub.add_parser("import", help="import a catalog from a file or URL")
    ci.add_argument("source", help="path or URL")
    ci.add_argument("--format", default="auto", choices=["auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce"])
    ci.add_argument("--currency", default="CNY", help="currency of Shopify and WooCommerce prices, which their feeds do not state (default CNY)")
    ci.add_argument("--force", action="store_true", help="accept a feed even if most of its items are rejected")
    cshow = csub.add_parser("show", help="the catalog selling now")
    cdiff = csub.add_parser("diff", help="what changed between the last two versions")
    cdiff.add_argument("--old", help="version id (default: the one before --new)")
    cdiff.add_argument("--new", help="version id (default: current)")
    cs = csub.add_parser("schedule", help="refresh a feed on a schedule (kept in Redis; run by livehost channels)")
    cs.add_argument("source", help="path or URL")
    cs.add_argument("--format", default="auto", choices=["auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce"])
    when = cs.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", type=float, metavar="MINUTES", help="refresh interval in minutes")
    when.add_argument("--cron", help="crontab expression, e.g. '*/15 * * * *'")
    cs.add_argument("--timezone", default="Asia/Shanghai", help="time zone of --cron (default Asia/Shanghai)")
    cj = csub.add_parser("jobs", help="the scheduled feed refreshes")
    cu = csub.add_parser("unschedule", help="remove a scheduled refresh")
    cu.add_argument("job", help="job id from `livehost catalog jobs`")
    for sp in (ci, cshow, cdiff, cs, cj, cu):
        sp.add_argument("--channel", help="the channel's catalog (default: the shared one)")
        sp.add_argument("--json", action="store_true", help="one JSON document on stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "user":
            return _user(args)
        if args.command == "audit":
            return _audit(args)
        if args.command == "catalog":
            return _catalog(args)
        if args.command == "script":
            return _script(args)
        if args.command == "reply":
            return _reply(args)
    except ConfigError as e:
        print(f"livehost: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `livehost ... | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
