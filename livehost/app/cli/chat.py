"""``livehost chat check``: connect every chat room a channel config names, show what they hear, name what failed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from livehost.app.cli import Edge, printable
from livehost.app.config import load_config
from livehost.core.config import ConfigError
from livehost.core.tasks import cancel_and_wait
from streaming.chat import ChatEvent, Connector, State, make_connector


def add_parsers(sub: Any) -> None:
    c = sub.add_parser("chat", help="the live rooms a channel hears")
    cs = c.add_subparsers(dest="chat_command", required=True)
    k = cs.add_parser("check", help="connect each configured room for a while and print the first events it hears; "
                                    "exits 1 naming any room that did not connect")
    k.add_argument("--config", required=True, help="channel config file (YAML or TOML) with a chat: list")
    k.add_argument("--seconds", type=float, default=20.0, help="how long to listen (default 20)")
    k.add_argument("--events", type=int, default=20, help="events printed per room at most (default 20)")
    k.add_argument("--json", action="store_true", help="print each room's status as JSON at the end")
    c.set_defaults(run=chat)


def chat(args: argparse.Namespace, edge: Edge) -> int:
    config = load_config(args.config, {})
    if not config.chat:
        raise ConfigError(f"chat: {args.config} names no chat rooms (add a chat: list)")
    if not 1 <= args.seconds <= 3600:
        raise ConfigError(f"seconds = {args.seconds}: give 1 to 3600")
    printed: dict[str, int] = {}

    def show(name: str) -> Any:
        def deliver(e: ChatEvent) -> None:
            printed[name] = printed.get(name, 0) + 1
            if printed[name] <= args.events:
                what = e.text or f"{e.gift} x{e.count}".strip()
                lag = f"  lag {e.lag:.2f} s" if e.lag is not None else ""
                print(printable(f"{name}  {e.kind.value:<9} {e.user}: {what}{lag}"), flush=True)
        return deliver

    try:
        connectors = [make_connector(c, show(c.label), edge.settings.environ) for c in config.chat]
    except ValueError as e:
        raise ConfigError(str(e)) from None
    asyncio.run(_listen(connectors, args.seconds))
    failed = [c for c in connectors if c.connects == 0]
    for c in connectors:
        s = c.status()
        state = "connected" if c.connects else f"NOT connected: {s['reason'] or s['state']}"
        heard = ", ".join(f"{k} {v}" for k, v in sorted(s["events"].items())) or "nothing"
        refused = ", ".join(f"{k} {v}" for k, v in sorted(s["rejected"].items()))
        print(printable(f"{c.name} ({c.platform}, room {c.room}): {state}; heard {heard}"
                        + (f"; refused {refused}" if refused else "")), file=sys.stderr)
    if args.json:
        print(json.dumps([c.status() for c in connectors], ensure_ascii=False, indent=1))
    if failed:
        print(f"livehost: chat check: {', '.join(c.name for c in failed)} did not connect", file=sys.stderr)
        return 1
    return 0


async def _listen(connectors: list[Connector], seconds: float) -> None:
    tasks = [asyncio.create_task(c.run(), name=f"chat {c.name}") for c in connectors]
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            await asyncio.sleep(0.2)
            if all(c.state is State.FAILED for c in connectors):
                break  # nothing will connect: say so now
    finally:
        await cancel_and_wait(tasks, 10.0, "chat check")
