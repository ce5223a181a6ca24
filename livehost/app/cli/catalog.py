"""``livehost catalog``: import, show, diff and schedule product catalogs in the store."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from livehost.app.cli import Edge, printable
from livehost.core import jsonio
from livehost.core.store import Store
from products.feeds.base import FeedError
from products.feeds.sources import FORMATS, FeedAccess, is_url
from products.refresh import FeedScheduler
from products.store import CatalogStore, import_source


def add_parsers(sub: Any) -> None:
    c = sub.add_parser("catalog", help="import, show and diff product catalogs")
    csub = c.add_subparsers(dest="catalog_command", required=True)
    ci = csub.add_parser("import", help="import a catalog from a file or URL")
    ci.add_argument("source", help="path or URL")
    ci.add_argument("--format", default="auto", choices=FORMATS)
    ci.add_argument("--currency", default="CNY", help="currency of Shopify and WooCommerce prices, which their feeds do not state (default CNY)")
    ci.add_argument("--force", action="store_true", help="accept a feed even if most of its items are rejected")
    cshow = csub.add_parser("show", help="the catalog selling now")
    cdiff = csub.add_parser("diff", help="what changed between the last two versions")
    cdiff.add_argument("--old", help="version id (default: the one before --new)")
    cdiff.add_argument("--new", help="version id (default: current)")
    cs = csub.add_parser("schedule", help="refresh a feed on a schedule (kept in Redis; run by livehost channels)")
    cs.add_argument("source", help="path or URL")
    cs.add_argument("--format", default="auto", choices=FORMATS)
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
    c.set_defaults(run=catalog)


def catalog(args: argparse.Namespace, edge: Edge) -> int:
    settings = edge.settings
    store = Store(settings.redis_url, settings.home)
    access = FeedAccess.from_settings(settings)
    try:
        cs = CatalogStore(store.sync(), args.channel or "shared")
        if args.catalog_command == "import":
            return asyncio.run(_catalog_import(cs, args, access))
        if args.catalog_command == "show":
            return _catalog_show(cs, args)
        if args.catalog_command in ("schedule", "jobs", "unschedule"):
            return _catalog_jobs(store, args)
        return _catalog_diff(cs, args)
    finally:
        store.close()


async def _catalog_import(cs: CatalogStore, args: argparse.Namespace, access: FeedAccess) -> int:
    def progress(valid: int, rejected: int) -> None:
        if not args.json:
            print(f"\r  {valid} valid, {rejected} rejected ...", end="", file=sys.stderr, flush=True)

    try:
        result = await import_source(cs, args.source, args.format, currency=args.currency, force=args.force,
                                     progress=progress, access=access)
    except FeedError as e:
        if args.json:
            print(jsonio.dumps({"imported": 0, "rejected": [], "version": cs.current_version(), "error": str(e)}))
        else:
            print(f"livehost: catalog import: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(jsonio.dumps(result.as_json()))
    else:
        if result.valid >= 500:
            print(file=sys.stderr)
        for r in result.rejected:
            print(printable(f"  rejected {r}"))
        if result.problem_count > len(result.rejected):
            print(f"  ... {result.problem_count - len(result.rejected)} more problems")
        if result.error:
            print(printable(f"livehost: catalog import: {result.error}"), file=sys.stderr)
        elif result.unchanged:
            print(f"catalog [{cs.scope}] unchanged: version {result.version}, {result.imported} products ({result.format})")
        else:
            print(f"catalog [{cs.scope}] version {result.version}: {result.imported} products imported, "
                  f"{result.rejected_count} rejected ({result.format}); {len(result.changes)} changes")
            for c in result.changes[:20]:
                print(f"  {c}")
    return 0 if result.imported else 2


def _catalog_show(cs: CatalogStore, args: argparse.Namespace) -> int:
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


def _catalog_jobs(store: Store, args: argparse.Namespace) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler

    feeds = FeedScheduler(store, scheduler_cls=BackgroundScheduler)
    feeds.start(paused=True)  # paused: this command edits the stored jobs, the channel processes run them
    try:
        if args.catalog_command == "schedule":
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
                print(jsonio.dumps(jobs))
            for j in jobs if not args.json else []:
                print(f"{j['id']}  {j['trigger']:<28} {j['scope']:<10} {j['source']}")
        return 0
    finally:
        feeds.shutdown()


def _catalog_diff(cs: CatalogStore, args: argparse.Namespace) -> int:
    changes = cs.diff(args.old, args.new)
    if args.json:
        print(jsonio.dumps([asdict(c) for c in changes]))
        return 0
    if not changes:
        print(f"catalog [{cs.scope}]: no changes between the last two versions")
    for c in changes:
        print(c)
    return 0
