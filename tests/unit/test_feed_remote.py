"""products.feeds.remote.fetch against a local aiohttp server: conditional GET, retries, timeouts, size cap, masking."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from products.feeds.base import FeedError
from products.feeds.netpolicy import NetPolicy
from products.feeds.remote import FetchError, fetch, mask_secrets

FAST = {"backoff": 0.01, "policy": NetPolicy.allowing("127.0.0.1")}  # the test servers' address, refused by default


@pytest.fixture
async def serve():
    """``await serve(routes)`` starts an app on 127.0.0.1 and returns its base URL."""
    runners = []

    async def start(routes: list) -> str:
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_etag_gives_304_not_modified(serve):
    seen = []

    async def feed(request):
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=b'{"products": []}', content_type="application/json", headers={"ETag": '"v1"'})

    base = await serve([web.get("/feed.json", feed)])
    first = await fetch(f"{base}/feed.json", **FAST)
    assert (first.status, first.body, first.etag, first.not_modified) == (200, b'{"products": []}', '"v1"', False)
    assert first.content_type == "application/json" and first.json() == {"products": []}
    again = await fetch(f"{base}/feed.json", etag=first.etag, **FAST)
    assert (again.status, again.body, again.not_modified) == (304, None, True)
    assert seen == [None, '"v1"']


async def test_if_modified_since_gives_304(serve):
    stamp = "Tue, 24 Nov 2026 10:00:00 GMT"
    seen = []

    async def feed(request):
        seen.append(request.headers.get("If-Modified-Since"))
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(text="sku,title\n", headers={"Last-Modified": stamp})

    base = await serve([web.get("/feed.csv", feed)])
    first = await fetch(f"{base}/feed.csv", **FAST)
    assert first.last_modified == stamp and first.body == b"sku,title\n"
    again = await fetch(f"{base}/feed.csv", last_modified=first.last_modified, **FAST)
    assert again.not_modified and again.body is None
    assert seen == [None, stamp]


@pytest.mark.parametrize("status, extra", [(503, {}), (429, {"Retry-After": "0"}), (500, {})])
async def test_retries_then_succeeds(serve, status, extra):
    calls = []

    async def flaky(request):
        calls.append(request.path)
        if len(calls) < 3:
            return web.Response(status=status, headers=extra)
        return web.Response(body=b"ok")

    base = await serve([web.get("/feed", flaky)])
    got = await fetch(f"{base}/feed", retries=3, **FAST)
    assert got.body == b"ok" and got.status == 200
    assert len(calls) == 3


async def test_retries_run_out(serve):
    calls = []

    async def down(request):
        calls.append(1)
        return web.Response(status=503)

    base = await serve([web.get("/feed", down)])
    with pytest.raises(FetchError) as err:
        await fetch(f"{base}/feed", retries=2, **FAST)
    assert len(calls) == 3 and err.value.attempts == 3 and err.value.status == 503
    assert "HTTP 503 Service Unavailable" in str(err.value) and "after 3 attempts" in str(err.value)
    assert f"{base}/feed" in str(err.value)


async def test_404_fails_at_once(serve):
    calls = []

    async def missing(request):
        calls.append(1)
        return web.Response(status=404)

    base = await serve([web.get("/gone", missing)])
    with pytest.raises(FeedError, match="HTTP 404 Not Found") as err:
        await fetch(f"{base}/gone", retries=3, **FAST)
    assert calls == [1] and err.value.attempts == 1 and err.value.status == 404


async def test_timeout_is_retried_then_fails(serve):
    calls = []

    async def stuck(request):
        calls.append(1)
        await asyncio.Event().wait()  # never answers; cancelled when the client gives up

    base = await serve([web.get("/slow", stuck)])
    with pytest.raises(FetchError, match=r"timed out after 0\.1 s after 2 attempts") as err:
        await fetch(f"{base}/slow", timeout=0.1, retries=1, **FAST)
    assert len(calls) == 2 and err.value.status is None


async def test_size_cap_by_content_length(serve):
    calls = []

    async def big(request):
        calls.append(1)
        return web.Response(body=b"x" * 2000)

    base = await serve([web.get("/big", big)])
    with pytest.raises(FeedError, match="Content-Length 2000 exceeds the size cap of 1000 bytes"):
        await fetch(f"{base}/big", max_bytes=1000, **FAST)
    assert calls == [1]  # a too large feed is not fetched again
    assert (await fetch(f"{base}/big", max_bytes=2000, **FAST)).body == b"x" * 2000


async def test_size_cap_on_chunked_body(serve):
    sent = []

    async def stream(request):
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for _ in range(int(request.query["chunks"])):
                await resp.write(b"y" * 1000)
                sent.append(1000)
        except (ConnectionError, RuntimeError):
            return resp  # the client hung up
        await resp.write_eof()
        return resp

    base = await serve([web.get("/stream", stream)])
    exact = await fetch(f"{base}/stream?chunks=5", max_bytes=5000, **FAST)
    assert exact.body == b"y" * 5000 and "Content-Length" not in exact.headers
    with pytest.raises(FeedError, match="more than 5000 bytes arrived .*size cap.*stopped reading"):
        await fetch(f"{base}/stream?chunks=4000", max_bytes=5000, **FAST)


async def test_credentials_masked_in_http_error(serve):
    async def denied(request):
        return web.Response(status=401)

    base = await serve([web.get("/wp-json/wc/v3/products", denied)])
    url = f"{base}/wp-json/wc/v3/products?consumer_key=ck_live_123&consumer_secret=cs_live_456&page=2"
    with pytest.raises(FetchError) as err:
        await fetch(url, **FAST)
    text = str(err.value)
    assert "consumer_key=***&consumer_secret=***&page=2" in text and "HTTP 401 Unauthorized" in text
    assert "ck_live_123" not in text and "cs_live_456" not in text
    assert "cs_live_456" not in err.value.url


async def test_credentials_masked_in_connection_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as err:
        await fetch(f"http://shop:pw_789@127.0.0.1:{port}/feed?access_token=tok_abc", retries=1, **FAST)
    text = str(err.value)
    assert err.value.attempts == 2 and "after 2 attempts" in text
    assert "access_token=***" in text and "shop:***@" in text
    assert "tok_abc" not in text and "pw_789" not in text


def test_mask_secrets_leaves_other_parameters():
    assert mask_secrets("https://x.test/p?page=3&api_key=k1&sort=asc#top") == "https://x.test/p?page=3&api_key=***&sort=asc#top"
    assert mask_secrets("https://x.test/products.json?limit=250") == "https://x.test/products.json?limit=250"
