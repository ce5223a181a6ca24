"""Feed refresh jobs: kept in Redis across restarts; a refresh uses ETags and never installs a bad feed."""

import json
import subprocess
import sys

import pytest
from aiohttp import web
from apscheduler.schedulers.background import BackgroundScheduler

from products.feeds.netpolicy import NetPolicy
from products.feeds.sources import FeedAccess
from products.refresh import FeedScheduler, refresh_feed
from products.store import CatalogStore
from tests.env import store_from_env

pytestmark = pytest.mark.integration

LOOPBACK = FeedAccess(net=NetPolicy.allowing("127.0.0.1"))  # the feed server's address, refused by default


def _doc(price="18.00", bad=False):
    items = [{"sku": f"S{i}", "title": f"Item {i}", "lang": "en", "price": "x" if bad else price, "currency": "USD",
              "stock": 5} for i in range(3)]
    return json.dumps({"products": items}).encode()


@pytest.fixture
async def feed_server():
    state = {"body": _doc(), "etag": '"v1"', "requests": []}

    async def feed(request):
        state["requests"].append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == state["etag"]:
            return web.Response(status=304, headers={"ETag": state["etag"]})
        return web.Response(body=state["body"], content_type="application/json", headers={"ETag": state["etag"]})

    app = web.Application()
    app.router.add_get("/feed.json", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state["url"] = f"http://127.0.0.1:{port}/feed.json"
    yield state
    await runner.cleanup()


async def test_refresh_uses_etag_and_keeps_the_last_good_catalog(feed_server, livehost_home):
    url = feed_server["url"]
    store = store_from_env()
    first = await refresh_feed(url, "auto", "ch1", store, LOOPBACK)
    assert first["accepted"] and first["imported"] == 3
    again = await refresh_feed(url, "auto", "ch1", store, LOOPBACK)
    assert again["not_modified"] and feed_server["requests"] == [None, '"v1"']

    feed_server.update(body=_doc(bad=True), etag='"v2"')
    bad = await refresh_feed(url, "auto", "ch1", store, LOOPBACK)
    assert not bad["accepted"] and "no valid product" in bad["error"]

    cs = CatalogStore(store.sync(), "ch1")
    assert cs.current_version() == first["version"] and cs.last_import()["accepted"] == "0"
    feed_server.update(body=_doc(price="16.00"), etag='"v3"')
    good = await refresh_feed(url, "auto", "ch1", store, LOOPBACK)
    assert good["accepted"] and cs.load()["S0"].price == 16
    assert {c["type"] for c in good["changes"]} == {"price_changed"}
    store.close()


def test_jobs_survive_a_restart_and_bad_schedules_are_named(livehost_home, tmp_path):
    store = store_from_env()
    feeds = FeedScheduler(store, scheduler_cls=BackgroundScheduler)
    feeds.start(paused=True)
    job = feeds.add("https://shop.example/feed.xml", scope="ch1", every_minutes=15)
    with pytest.raises(ValueError, match=r"cron = '61 \* \* \* \*'"):
        feeds.add("https://shop.example/feed.xml", cron="61 * * * *")
    with pytest.raises(ValueError, match="every_minutes = -1"):
        feeds.add("https://shop.example/feed.xml", every_minutes=-1)
    feeds.shutdown()

    # another process (the CLI) sees it, and adds one
    catalog = tmp_path / "c.json"
    catalog.write_bytes(_doc())
    run = subprocess.run([sys.executable, "-m", "livehost", "catalog", "schedule", str(catalog), "--cron", "*/5 * * * *",
                          "--channel", "ch2", "--json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    listed = subprocess.run([sys.executable, "-m", "livehost", "catalog", "jobs", "--json"], capture_output=True,
                            text=True, timeout=60)
    jobs = {j["id"]: j for j in json.loads(listed.stdout)}
    assert jobs[job]["source"] == "https://shop.example/feed.xml" and jobs[job]["trigger"] == "interval[0:15:00]"
    assert jobs[json.loads(run.stdout)["id"]]["scope"] == "ch2"
    store.close()


def test_jobs_stored_by_an_earlier_livehost_are_kept(livehost_home, tmp_path):
    """Before the layout of 2026-11 the job function was livehost.scheduler:_run_refresh (four arguments); a stored
    job APScheduler cannot load would be dropped, so it is moved to today's function, not lost."""
    import pickle

    from livehost.core import keys

    store = store_from_env()
    feeds = FeedScheduler(store, scheduler_cls=BackgroundScheduler)
    feeds.start(paused=True)
    job = feeds.add("https://shop.example/feed.xml", scope="ch1", every_minutes=15)
    feeds.shutdown()
    client = store.sync()
    state = pickle.loads(client.hget(keys.SCHEDULER_JOBS, job))
    state["func"], state["args"] = "livehost.scheduler:_run_refresh", state["args"][:4]
    client.hset(keys.SCHEDULER_JOBS, job, pickle.dumps(state))

    again = FeedScheduler(store, scheduler_cls=BackgroundScheduler)
    again.start(paused=True)
    try:
        listed = {j["id"]: j for j in again.jobs()}
        assert listed[job]["source"] == "https://shop.example/feed.xml" and listed[job]["scope"] == "ch1"
        stored = again.scheduler.get_job(job)
        assert stored.func.__module__ == "products.refresh" and stored.args[4] == str(livehost_home)
    finally:
        again.shutdown()
        store.close()


async def test_a_reader_error_found_while_reading_is_recorded_not_raised(livehost_home, tmp_path):
    """A bad byte deep in a CSV is found while the items are read (the reader streams): the refresh
    records it like any feed error and the last good version keeps selling."""
    path = tmp_path / "feed.csv"
    rows = "".join(f"S{i},Item {i},18.00,USD\n" for i in range(5000))
    path.write_bytes(b"sku,title,price,currency\n" + rows.encode() + b"S9,bad \xff\xfe row,1.00,USD\n")
    store = store_from_env()
    try:
        summary = await refresh_feed(str(path), "csv", "ch-bytes", store)
        assert summary["imported"] == 0 and "byte" in summary["error"]
        assert "byte" in CatalogStore(store.sync(), "ch-bytes").last_import()["error"]
    finally:
        store.close()
