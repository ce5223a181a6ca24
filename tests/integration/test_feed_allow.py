"""Catalog URLs on loopback or the LAN are refused by every way in (CLI, console, scheduled refresh) unless
LIVEHOST_FEED_ALLOW allows them, and what such a server sent never comes back in an error."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aiohttp
import pytest
from aiohttp import web

from dashboards.app import start_console
from dashboards.users import UserStore
from products.feeds.netpolicy import NetPolicy
from products.feeds.sources import FeedAccess
from products.refresh import refresh_feed
from products.store import CatalogStore
from tests.env import store_from_env

pytestmark = pytest.mark.integration

SECRET = "SECRET_API_KEY=sk-live-4f2a9c"
FEED = b"sku,title,price,currency,stock,lang\nPEN,pen,2.00,USD,9,en\nCUP,cup,5.00,USD,3,en\n"


@pytest.fixture
async def internal():
    """A server on 127.0.0.1: ``/feed.csv`` is a catalog, anything else a secret; ``seen`` lists what it was asked."""
    seen: list[str] = []

    async def answer(request):
        seen.append(request.path)
        return web.Response(body=FEED if request.path == "/feed.csv" else (SECRET + "\n").encode())

    app = web.Application()
    app.router.add_get("/{p:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


async def _livehost(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "livehost", *args, env={**os.environ, **(env or {})},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_import_refuses_loopback_unless_allowed(internal, livehost_home):
    base, seen = internal
    code, out, err = await _livehost("catalog", "import", f"{base}/feed.csv")
    assert code == 2 and "refused: 127.0.0.1 is a loopback address" in err and "LIVEHOST_FEED_ALLOW" in err
    assert seen == []
    code, out, err = await _livehost("catalog", "import", f"{base}/feed.csv", "--json",
                                     env={"LIVEHOST_FEED_ALLOW": "127.0.0.1"})
    assert code == 0 and json.loads(out)["imported"] == 2 and seen == ["/feed.csv"]
    code, out, err = await _livehost("catalog", "import", f"{base}/.env", "--json", env={"LIVEHOST_FEED_ALLOW": "127.0.0.1"})
    assert code == 2 and "is not a readable csv catalog feed" in json.loads(out)["error"]
    assert "SECRET" not in out + err and "sk-live" not in out + err
    code, out, err = await _livehost("catalog", "import", f"{base}/feed.csv", env={"LIVEHOST_FEED_ALLOW": "10.0.0.0/33"})
    assert code == 2 and "LIVEHOST_FEED_ALLOW: '10.0.0.0/33' is neither" in err and seen == ["/feed.csv", "/.env"]


async def test_console_import_refuses_loopback_and_never_echoes_the_answer(internal, livehost_home):
    base, seen = internal
    users = UserStore(livehost_home)
    users.add("root", "admin", None, "correct horse battery")
    headers = {"Authorization": f"Bearer {users.new_token('root', 'tests')}"}
    store = store_from_env()
    strict, strict_url = await start_console(store, livehost_home, "127.0.0.1", 0)
    lan, lan_url = await start_console(store, livehost_home, "127.0.0.1", 0, FeedAccess(net=NetPolicy.allowing("127.0.0.1")))
    try:
        async with aiohttp.ClientSession() as http:
            async def post(console: str, url: str) -> tuple[int, dict]:
                async with http.post(console + "api/catalog/import", json={"url": url}, headers=headers) as r:
                    return r.status, await r.json()

            status, body = await post(strict_url, f"{base}/feed.csv")
            assert status == 422 and body["imported"] == 0 and "refused: 127.0.0.1 is a loopback address" in body["error"]
            status, body = await post(strict_url, "http://169.254.169.254/latest/meta-data/")
            assert status == 422 and "the cloud metadata address" in body["error"]
            assert seen == []
            status, body = await post(lan_url, f"{base}/.env")
            assert status == 422 and "is not a readable csv catalog feed" in body["error"]
            assert "SECRET" not in json.dumps(body) and "sk-live" not in json.dumps(body)
            status, body = await post(lan_url, f"{base}/feed.csv")
            assert status == 200 and body["imported"] == 2 and seen == ["/.env", "/feed.csv"]
    finally:
        await strict.cleanup()
        await lan.cleanup()
        store.close()


async def test_a_scheduled_refresh_keeps_to_the_policy(internal, livehost_home):
    base, seen = internal
    store = store_from_env()
    try:
        refused = await refresh_feed(f"{base}/feed.csv", "auto", "ch1", store)  # as a job runs without settings
        assert refused["imported"] == 0 and "refused: 127.0.0.1 is a loopback address" in refused["error"]
        assert "loopback" in CatalogStore(store.sync(), "ch1").last_import()["error"] and seen == []
        allowed = await refresh_feed(f"{base}/feed.csv", "auto", "ch1", store,
                                     FeedAccess(net=NetPolicy.allowing("127.0.0.0/8")))
        assert allowed["imported"] == 2 and seen == ["/feed.csv"]
    finally:
        store.close()
