"""``livehost consent``: the records that allow a real person's face or voice to be used."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from livehost.app.cli import Edge, printable
from livehost.core import jsonio
from livehost.core.config import ConfigError
from livehost.core.consent import SCOPES, ConsentBook, ConsentError, ConsentRecord
from livehost.core.store import Store


def add_parsers(sub: Any) -> None:
    c = sub.add_parser("consent", help="consent records for a real person's face and voice")
    cs = c.add_subparsers(dest="consent_command", required=True)
    a = cs.add_parser("add", help="record a grant (the evidence and recording are hashed, not copied)")
    a.add_argument("--subject", required=True, help="the person whose face or voice it is")
    a.add_argument("--scope", action="append", required=True, choices=SCOPES, help="face, voice (repeat for both)")
    a.add_argument("--granted-by", required=True, help="who signed (the subject, or their agent)")
    a.add_argument("--expires", required=True, help="the last day it holds, e.g. 2027-12-31")
    a.add_argument("--granted-on", help="the day it was signed (default today)")
    a.add_argument("--evidence", required=True, help="the signed form (PDF, scan)")
    a.add_argument("--recording", help="the recording the face grant covers (required with --scope face)")
    a.add_argument("--json", action="store_true")
    ls = cs.add_parser("list", help="every record with its state today")
    ls.add_argument("--json", action="store_true")
    sh = cs.add_parser("show", help="one record and its latest events")
    sh.add_argument("id")
    ex = cs.add_parser("export", help="every record and event as one JSON document (for an auditor)")
    ex.add_argument("--output", "-o", help="file to write (default: standard output)")
    rv = cs.add_parser("revoke", help="withdraw a grant")
    rv.add_argument("id")
    rv.add_argument("--reason", default="")
    rv.add_argument("--by", help="who revokes it (default: this login)")
    c.set_defaults(run=consent)


def consent(args: argparse.Namespace, edge: Edge) -> int:
    store = Store(edge.settings.redis_url, edge.settings.home)
    try:
        book = ConsentBook(store.sync(), edge.settings.home)
        try:
            return _COMMANDS[args.consent_command](book, args)
        except ConsentError as e:
            raise ConfigError(f"consent {args.consent_command}: {e}") from None
    finally:
        store.close()


def _line(r: ConsentRecord, today: Any) -> str:
    what = f"recording {r.recording_name} ({r.recording_sha256[:12]})" if r.recording_sha256 else "no recording"
    return printable(f"{r.id}  {r.status(today):<8} {r.subject}  {'+'.join(r.scopes)}  until {r.expires}  "
                     f"granted by {r.granted_by}  {what}")


def _add(book: ConsentBook, args: argparse.Namespace) -> int:
    record = book.add(subject=args.subject, scopes=args.scope, granted_by=args.granted_by, expires=args.expires,
                      evidence=args.evidence, recording=args.recording, granted_on=args.granted_on)
    print(jsonio.dumps(record.as_json()) if args.json else f"recorded {_line(record, datetime.now(UTC).date())}")
    return 0


def _list(book: ConsentBook, args: argparse.Namespace) -> int:
    today = datetime.now(UTC).date()
    records = book.records()
    if args.json:
        print(jsonio.dumps([{**r.as_json(), "status": r.status(today)} for r in records]))
    elif not records:
        print("no consent records (livehost consent add --help)", file=sys.stderr)
    for r in records if not args.json else ():
        print(_line(r, today))
    return 0


def _show(book: ConsentBook, args: argparse.Namespace) -> int:
    record = book.get(args.id)
    print(jsonio.dumps({**record.as_json(), "status": record.status(datetime.now(UTC).date()),
                        "events": [e for e in book.events(1000) if e.get("consent") == record.id][:50]}, indent=1))
    return 0


def _export(book: ConsentBook, args: argparse.Namespace) -> int:
    doc = jsonio.dumps({"exported_at": datetime.now(UTC).isoformat(), "records": [r.as_json() for r in book.records()],
                        "events": book.events(100_000)}, indent=1)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(doc + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(doc)
    return 0


def _revoke(book: ConsentBook, args: argparse.Namespace) -> int:
    record = book.revoke(args.id, by=args.by or getpass.getuser(), reason=args.reason)
    print(f"revoked {_line(record, datetime.now(UTC).date())}")
    return 0


_COMMANDS = {"add": _add, "list": _list, "show": _show, "export": _export, "revoke": _revoke}
