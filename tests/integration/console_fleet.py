"""A small real fleet for console tests: two tenants' channels, users of each role, the console on a free port.

* ``shop-a`` (tenant ``acme``): on air, 160x288 @ 25 fps, paced to the wall clock, to a file.
* ``shop-b`` (tenant ``beta``): configured but not started (published as stopped).

Users: ``root`` (admin, all tenants), ``ann`` (operator, acme), ``vic`` (viewer, acme), ``bea`` (operator, beta),
each with a password (:data:`PASSWORD`) and an API token.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dashboards.app import start_console
from dashboards.users import UserStore
from livehost.app.config import build_config
from livehost.app.runner import ChannelRunner
from livehost.app.session import ChannelSession
from livehost.core.store import Store
from livehost.core.tasks import cancel_and_wait
from tests.env import store_from_env
from tests.integration.test_show_session import FixedTts, _write_catalog

PASSWORD = "correct horse battery"
USERS = {"root": ("admin", None), "ann": ("operator", "acme"), "vic": ("viewer", "acme"), "bea": ("operator", "beta")}


@dataclass
class ConsoleFleet:
    url: str
    store: Store
    runners: dict[str, ChannelRunner]
    tokens: dict[str, str] = field(default_factory=dict)
    home: Path | None = None


async def _no_tasks_left(grace: float = 5.0) -> None:
    """Fail, naming them, if tasks outlive the fleet (they would hang the event loop's close)."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=grace)
    left = [t for t in others if not t.done()]
    if left:
        import io
        out = io.StringIO()
        for t in left:
            t.print_stack(file=out)
            t.cancel()
        raise AssertionError(f"{len(left)} task(s) outlived the fleet:\n{out.getvalue()}")


@asynccontextmanager
async def console_fleet(tmp: Path, tts=FixedTts):
    home = tmp / "home"
    saved = {k: os.environ.get(k) for k in ("LIVEHOST_HOME", "LIVEHOST_REDIS_URL")}
    os.environ["LIVEHOST_HOME"] = str(home)
    os.environ.pop("LIVEHOST_REDIS_URL", None)
    users = UserStore(home)
    tokens = {}
    for name, (role, tenant) in USERS.items():
        users.add(name, role, tenant, PASSWORD)
        tokens[name] = users.new_token(name, "tests")
    store = store_from_env()
    catalog = str(_write_catalog(tmp / "catalog.json"))
    runners = {}
    for cid, tenant in (("shop-a", "acme"), ("shop-b", "beta")):
        config = build_config({
            "id": cid, "tenant": tenant, "catalog": catalog, "size": "160x288", "voice": {"engine": "espeak"},
            "output": {"url": str(tmp / f"{cid}.flv"), "realtime": True},
        })
        runners[cid] = ChannelRunner(config, store, lambda c, s: ChannelSession(c, s, tts=tts()))
    planes = [asyncio.create_task(r.control_plane()) for r in runners.values()]
    web, url = await start_console(store, home, "127.0.0.1", 0)
    runners["shop-a"].start()
    try:
        yield ConsoleFleet(url.rstrip("/"), store, runners, tokens, home)
    finally:
        for r in runners.values():
            await r.close()
        await cancel_and_wait(planes, 5.0, "control planes")
        await web.cleanup()
        store.close()
        await _no_tasks_left()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
