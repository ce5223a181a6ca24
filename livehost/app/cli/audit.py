"""``livehost audit``: what a channel actually said, with stream times."""

from __future__ import annotations

import argparse
from typing import Any

from livehost.app.cli import Edge
from livehost.core import jsonio
from livehost.core.audit import read_audit
from livehost.core.clock import SAMPLE_RATE
from livehost.core.store import Store


def add_parsers(sub: Any) -> None:
    a = sub.add_parser("audit", help="print the log of spoken sentences")
    a.add_argument("--channel", default="demo")
    a.add_argument("--last", type=int, help="only the last N entries")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=audit)


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
