"""``livehost audit``: what a channel actually said; ``verify``, ``export``, ``key``, ``trim`` for its chain."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from livehost.app import audit_bundle
from livehost.app.cli import Edge
from livehost.app.signing import Ed25519Signer, KeyRing, public_pem
from livehost.core import jsonio, keys
from livehost.core.audit import read_audit
from livehost.core.chain import trim, verify_store
from livehost.core.clock import SAMPLE_RATE
from livehost.core.config import ConfigError
from livehost.core.store import Store, as_text


def add_parsers(sub: Any) -> None:
    a = sub.add_parser("audit", help="the log of spoken sentences; verify, export and trim the tamper-evident chain")
    a.add_argument("--channel", default="demo")
    a.add_argument("--last", type=int, help="only the last N entries")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=audit)
    cmds = a.add_subparsers(dest="audit_command", metavar="{verify,export,key,trim}")
    v = cmds.add_parser("verify", help="check a channel's chain (every channel's without --channel) or a bundle; "
                                       "names the first broken link")
    v.add_argument("--channel", dest="verify_channel", help="one channel (default: every channel with a chain)")
    v.add_argument("--bundle", help="a folder written by `livehost audit export`")
    v.add_argument("--key", help="the public key (PEM) to trust for a bundle (default: the bundle's own)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(run=verify)
    e = cmds.add_parser("export", help="write a span of a channel's chain as a bundle that verifies elsewhere")
    e.add_argument("--channel", dest="export_channel", required=True)
    e.add_argument("--from", dest="since", help="ISO time or unix seconds (default: the start)")
    e.add_argument("--to", dest="until", help="ISO time or unix seconds (default: now)")
    e.add_argument("--out", required=True, help="a new folder")
    e.set_defaults(run=export)
    k = cmds.add_parser("key", help="print the public key (PEM) auditors verify with, and its id")
    k.set_defaults(run=key)
    t = cmds.add_parser("trim", help="keep only the newest N links of a channel's chain (a signed anchor is kept)")
    t.add_argument("--channel", dest="trim_channel", required=True)
    t.add_argument("--keep", type=int, required=True)
    t.set_defaults(run=trim_chain)


def audit(args: argparse.Namespace, edge: Edge) -> int:
    store = Store(edge.settings.redis_url, edge.settings.home)
    try:
        entries = read_audit(store.sync(), args.channel, args.last)
    finally:
        store.close()
    for e in entries:
        if args.json:
            print(jsonio.dumps(e.__dict__))
        else:
            mark = f"CUT({e.reason})" if e.cut else "    "
            print(f"{e.pts_start / SAMPLE_RATE:9.2f}-{e.pts_end / SAMPLE_RATE:9.2f}s {mark:<14} {e.source:<8} {e.text}")
    return 0


def _when(value: str | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{what} = {value!r}: give an ISO time (2026-12-07T10:00:00+08:00) or unix seconds") from None
    if moment.tzinfo is None:
        raise ConfigError(f"{what} = {value!r}: give the time zone (+08:00, Z)")
    return moment.timestamp()


def verify(args: argparse.Namespace, edge: Edge) -> int:
    if args.bundle:
        trusted = KeyRing.from_pem(Path(args.key).read_bytes()) if args.key else None
        reports = [audit_bundle.verify_bundle(Path(args.bundle), trusted)]
    else:
        checker = KeyRing.for_home(edge.settings.home)
        store = Store(edge.settings.redis_url, edge.settings.home)
        try:
            client = store.sync()
            if args.verify_channel:
                channels = [args.verify_channel]
            else:
                prefix = keys.chain("")
                channels = sorted(as_text(k)[len(prefix):] for k in client.scan_iter(match=f"{prefix}*", count=500)
                                  if ":" not in as_text(k)[len(prefix):])
            reports = [verify_store(client, c, checker) for c in channels]
        finally:
            store.close()
        if not reports:
            print("livehost audit verify: no channel has an audit chain yet")
            return 0
    for report in reports:
        print(jsonio.dumps(report.as_json()) if args.json else audit_bundle.describe(report))
    return 0 if all(r.ok for r in reports) else 1


def export(args: argparse.Namespace, edge: Edge) -> int:
    span = audit_bundle.Span(_when(args.since, "--from"), _when(args.until, "--to"))
    signer = Ed25519Signer.for_home(edge.settings.home)
    store = Store(edge.settings.redis_url, edge.settings.home)
    try:
        report, count = audit_bundle.export(store.sync(), args.export_channel, Path(args.out), signer,
                                            KeyRing.for_home(edge.settings.home), span)
    finally:
        store.close()
    print(f"livehost audit export: {count} links of {args.export_channel!r} to {args.out} "
          f"(the chain verified: {report.links} links, {report.checkpoints} checkpoints); key {signer.key_id}")
    return 0


def key(args: argparse.Namespace, edge: Edge) -> int:
    signer = Ed25519Signer.for_home(edge.settings.home)
    print(public_pem(signer.public), end="")
    print(f"# key id {signer.key_id}")
    return 0


def trim_chain(args: argparse.Namespace, edge: Edge) -> int:
    if args.keep < 1:
        raise ConfigError(f"--keep = {args.keep}: keep at least 1 link")
    store = Store(edge.settings.redis_url, edge.settings.home)
    try:
        client = store.sync()
        report = verify_store(client, args.trim_channel, KeyRing.for_home(edge.settings.home))
        if not report.ok:
            print(audit_bundle.describe(report))
            raise ConfigError("audit trim: the chain is broken; nothing trimmed (export or inspect it first)")
        dropped = trim(client, args.trim_channel, args.keep, Ed25519Signer.for_home(edge.settings.home))
    finally:
        store.close()
    print(f"livehost audit trim: {dropped} links of {args.trim_channel!r} dropped; a signed anchor marks the cut")
    return 0
