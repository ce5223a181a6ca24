"""Feed URLs cannot reach what only the server can reach: loopback, the LAN, the cloud metadata service.

Local aiohttp servers on 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to lo) stand in for internal
services; each records what it received, so a refusal is seen to send nothing.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from livehost.core.settings import Settings, SettingsError
from products.feeds.base import FeedError
from products.feeds.netpolicy import NetPolicy
from products.feeds.remote import FetchError, basic_auth_header, feed_session, fetch
from products.feeds.sources import FeedAccess, open_source

FAST = {"backoff": 0.01, "timeout": 5.0}
SECRET = "SECRET_API_KEY=sk-live-4f2a9c"


@pytest.fixture
async def serve():
    """``await serve(routes, host)`` starts an app on ``host`` and returns (base URL, paths it was asked for)."""
    runners = []

    async def start(routes: list, host: str = "127.0.0.1") -> tuple[str, list[str]]:
        seen: list[str] = []

        @web.middleware
        async def record(request, handler):
            seen.append(request.path_qs)
            return await handler(request)

        app = web.Application(middlewares=[record])
        app.add_routes(routes)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host, 0).start()
        runners.append(runner)
        return f"http://{host}:{runner.addresses[0][1]}", seen

    yield start
    for runner in runners:
        await runner.cleanup()


async def _secret(request):
    return web.Response(text=SECRET + "\n")


def _refused(err: pytest.ExceptionInfo, address: str) -> str:
    text = str(err.value)
    assert "refused" in text and address in text and "LIVEHOST_FEED_ALLOW" in text, text
    assert err.value.status is None and err.value.attempts == 1  # not retried, nothing answered
    assert SECRET not in text
    return text


# --------------------------------------------------------------------------- the policy


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "169.254.169.254", "169.254.1.1", "10.0.0.1",
    "172.16.5.4", "192.168.1.1", "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "240.0.0.1",
    "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "fec0::1", "2002:7f00:1::", "64:ff9b::a00:1", "::ffff:10.1.2.3",
    "192.0.2.7",
])
def test_non_public_addresses_are_refused_by_default(address):
    why = NetPolicy().refusal("feed.example", address)
    assert why is not None and "feed.example resolves to" in why and "LIVEHOST_FEED_ALLOW" in why


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_are_allowed(address):
    assert NetPolicy().refusal("feed.example", address) is None


def test_allow_list_by_network_address_and_host_name():
    policy = NetPolicy.allowing("10.0.0.0/8, 127.0.0.1 ERP.lan. fd00::/8")
    assert policy.refusal("10.1.2.3", "10.1.2.3") is None
    assert policy.refusal("feed.example", "::ffff:10.9.9.9") is None  # an IPv4-mapped address is judged as IPv4
    assert policy.refusal("127.0.0.1", "127.0.0.1") is None
    assert policy.refusal("erp.lan", "192.168.7.7") is None  # an allowed name may resolve to any address
    assert policy.refusal("fd00::5", "fd00::5") is None
    assert "127.0.0.2 is a loopback address" in (policy.refusal("127.0.0.2", "127.0.0.2") or "")
    assert "other.lan resolves to 192.168.7.7, a private address" in (policy.refusal("other.lan", "192.168.7.7") or "")
    assert "the cloud metadata address" in (policy.refusal("169.254.169.254", "169.254.169.254") or "")
    for bad in ("10.0.0.0/33", "not a host!", "a/b"):
        with pytest.raises(ValueError, match="neither an address"):
            NetPolicy.allowing(bad)


def test_the_allow_list_comes_from_the_environment():
    settings = Settings.from_env({"LIVEHOST_FEED_ALLOW": " 10.0.0.0/8,erp.lan  192.168.1.20 "})
    assert settings.feed_allow == ("10.0.0.0/8", "erp.lan", "192.168.1.20")
    net = FeedAccess.from_settings(settings).net
    assert net.refusal("erp.lan", "10.0.0.5") is None and net.refusal("x", "192.168.1.20") is None
    assert net.refusal("x", "192.168.1.21") is not None
    assert FeedAccess.from_settings(Settings.from_env({})).net == NetPolicy() == FeedAccess().net
    with pytest.raises(SettingsError, match="LIVEHOST_FEED_ALLOW: '10.0.0.0/33'"):
        FeedAccess.from_settings(Settings.from_env({"LIVEHOST_FEED_ALLOW": "10.0.0.0/33"}))


# --------------------------------------------------------------------------- fetch


async def test_loopback_is_refused_by_default_and_receives_nothing(serve):
    base, seen = await serve([web.get("/{p:.*}", _secret)])
    port = base.rsplit(":", 1)[1]
    for url, address in [(f"{base}/feed.csv", "127.0.0.1"),
                         (f"http://localhost:{port}/feed.csv", "localhost"),  # a name, judged after resolution
                         (f"http://[::ffff:127.0.0.1]:{port}/feed.csv", "(as 127.0.0.1)"),
                         (f"http://[::1]:{port}/feed.csv", "::1 is a loopback address"),
                         (f"http://0x7f.1:{port}/feed.csv", "")]:  # a legacy numeric form
        with pytest.raises(FetchError) as err:
            await fetch(url, retries=3, **FAST)
        if address:
            _refused(err, address)
        else:
            assert SECRET not in str(err.value) and err.value.attempts == 1, str(err.value)
    assert seen == []


async def test_metadata_and_lan_addresses_are_refused_without_connecting():
    for url, kind in [("http://169.254.169.254/latest/meta-data/iam/", "the cloud metadata address"),
                      ("http://10.0.0.1/feed.csv", "a private address"),
                      ("http://[fd00::1]/feed.csv", "a private address"),
                      ("http://100.64.0.1/feed.csv", "shared (CGNAT)")]:
        with pytest.raises(FetchError) as err:
            await fetch(url, timeout=0.5, retries=2, backoff=0.01)
        assert kind in _refused(err, url.split("/")[2].strip("[]"))


async def test_allowed_loopback_is_fetched(serve):
    base, seen = await serve([web.get("/{p:.*}", _secret)])
    port = base.rsplit(":", 1)[1]
    got = await fetch(f"{base}/a", policy=NetPolicy.allowing("127.0.0.1"), **FAST)
    assert got.body == (SECRET + "\n").encode()
    by_name = await fetch(f"http://localhost:{port}/b", policy=NetPolicy.allowing("localhost"), **FAST)
    assert by_name.status == 200 and seen == ["/a", "/b"]


async def test_a_redirect_to_a_refused_address_is_not_followed(serve):
    inner, inner_seen = await serve([web.get("/{p:.*}", _secret)])
    named = inner.replace("127.0.0.1", "localhost")

    async def hop(request):
        raise web.HTTPFound(request.query["to"])

    async def final(request):
        return web.Response(text="sku,title,price\n")

    outer, outer_seen = await serve([web.get("/hop", hop), web.get("/final", final)], host="127.0.0.2")
    only_outer = NetPolicy.allowing("127.0.0.2/32")
    for target, where in [(f"{inner}/admin", "127.0.0.1 is a loopback address"),
                          (f"{named}/admin", "localhost resolves to")]:
        with pytest.raises(FetchError) as err:
            await fetch(f"{outer}/hop?to={target}", policy=only_outer, **FAST)
        assert f"redirected to {target}: refused: {where}" in _refused(err, "")
    assert inner_seen == [] and len(outer_seen) == 2

    got = await fetch(f"{outer}/hop?to=/final", policy=only_outer, **FAST)  # a redirect that stays allowed
    assert got.url == f"{outer}/final" and got.body == b"sku,title,price\n"
    with pytest.raises(FetchError, match="to a file URL; only http.s. redirects are followed"):
        await fetch(f"{outer}/hop?to=file:///etc/passwd", policy=only_outer, **FAST)
    both = NetPolicy.allowing("127.0.0.1, 127.0.0.2")
    assert (await fetch(f"{outer}/hop?to={inner}/ok", policy=both, **FAST)).url == f"{inner}/ok"
    assert inner_seen == ["/ok"]


async def test_credentials_do_not_follow_a_redirect_to_another_origin(serve):
    heard = []

    async def listen(request):
        heard.append((request.host.split(":")[0], request.path, request.headers.get("Authorization")))
        return web.Response(text="ok")

    other, _ = await serve([web.get("/{p:.*}", listen)], host="127.0.0.2")

    async def hop(request):
        raise web.HTTPFound(request.query["to"])

    base, _ = await serve([web.get("/hop", hop), web.get("/here", listen)])
    both = NetPolicy.allowing("127.0.0.0/8")
    auth = {"Authorization": basic_auth_header("shop", "pw")}
    await fetch(f"{base}/hop?to=/here", headers=auth, policy=both, **FAST)
    await fetch(f"{base}/hop?to={other}/there", headers=auth, policy=both, **FAST)
    assert heard == [("127.0.0.1", "/here", auth["Authorization"]), ("127.0.0.2", "/there", None)]


async def test_a_session_of_the_caller_is_judged_too(serve):
    base, seen = await serve([web.get("/{p:.*}", _secret)])
    port = base.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as session:  # not made by feed_session: names are resolved and judged first
        for url in (f"{base}/a", f"http://localhost:{port}/b"):
            with pytest.raises(FetchError) as err:
                await fetch(url, session=session, **FAST)
            _refused(err, "loopback")
        got = await fetch(f"{base}/c", session=session, policy=NetPolicy.allowing("127.0.0.1"), **FAST)
    async with feed_session() as guarded:  # the strict policy by default, whatever fetch is told
        with pytest.raises(FetchError, match="refused"):
            await fetch(f"http://localhost:{port}/d", session=guarded, policy=NetPolicy.allowing("localhost"), **FAST)
    assert got.status == 200 and seen == ["/c"]


# --------------------------------------------------------------------------- what errors may say


async def test_errors_never_quote_what_a_server_sent(serve):
    async def forbidden(request):
        return web.Response(status=403, reason="SECRET_REASON", text=SECRET)

    async def xml(request):
        return web.Response(text="<SECRETROOT>hunter2</SECRETROOT>", content_type="application/xml")

    base, _ = await serve([web.get("/env", _secret), web.get("/403", forbidden), web.get("/xml", xml)])
    access = FeedAccess(net=NetPolicy.allowing("127.0.0.1"))
    for path, fmt in [("/env", "auto"), ("/env", "csv"), ("/env", "gmc"), ("/env", "json"), ("/xml", "auto"),
                      ("/xml", "gmc")]:
        with pytest.raises(FeedError) as err:
            opened = await open_source(base + path, fmt, access=access)
            list(opened.items)  # XML is read as the items are
        text = str(err.value)
        assert base + path in text and "is not a readable" in text and "content is not shown" in text, text
        assert "SECRET" not in text and "sk-live" not in text and "hunter2" not in text, text
    with pytest.raises(FetchError) as err:
        await fetch(base + "/403", policy=access.net, **FAST)
    assert "HTTP 403 Forbidden" in str(err.value) and "SECRET" not in str(err.value)


async def test_a_non_http_answer_is_not_quoted():
    async def banner(reader, writer):
        await reader.read(100)
        writer.write(f"-ERR {SECRET}\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(banner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(FetchError) as err:
            await fetch(f"http://127.0.0.1:{port}/", retries=0, policy=NetPolicy.allowing("127.0.0.1"), **FAST)
    finally:
        server.close()
        await server.wait_closed()
    assert "not well-formed HTTP" in str(err.value) and "SECRET" not in str(err.value)


# --------------------------------------------------------------------------- every way in


async def test_every_format_refuses_loopback_by_default(serve):
    base, seen = await serve([web.get("/{p:.*}", _secret)])
    for source, fmt in [(f"{base}/feed.csv", "auto"), (f"{base}/products.json", "auto"), (base, "shopify"),
                        (f"http://ck_1:cs_2@{base.removeprefix('http://')}", "woocommerce")]:
        with pytest.raises(FetchError) as err:
            await open_source(source, fmt)
        _refused(err, "127.0.0.1")
        assert "cs_2" not in str(err.value)
    allowed = FeedAccess(net=NetPolicy.allowing("127.0.0.1"))
    with pytest.raises(FeedError, match="is not a readable csv catalog feed"):
        await open_source(f"{base}/feed.csv", access=allowed)
    assert seen == ["/feed.csv"]
