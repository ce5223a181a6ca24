"""The console's API against a real fleet: real channels, real Redis, the console over TCP."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time

import aiohttp
import pytest
import pytest_asyncio

from dashboards.routes import API
from tests.integration.console_fleet import PASSWORD, console_fleet

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fleet(tmp_path_factory):
    async with console_fleet(tmp_path_factory.mktemp("console")) as f:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await _until(lambda: _get(http, f, "ann", "/api/channels/shop-a"), lambda r: r[1].get("state") == "live")
        yield f


def _auth(fleet, user):
    return {"Authorization": f"Bearer {fleet.tokens[user]}"}


async def _get(http, fleet, user, path, **params):
    async with http.get(fleet.url + path, headers=_auth(fleet, user) if user else {}, params=params) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def _post(http, fleet, user, path, body=None):
    async with http.post(fleet.url + path, headers=_auth(fleet, user), json=body if body is not None else {}) as r:
        return r.status, await r.json()


async def _until(fetch, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        got = await fetch()
        if check(got):
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met in {timeout} s; last {str(got)[:400]}")
        await asyncio.sleep(0.2)


async def _login(http, fleet, name, password=PASSWORD, next_="/"):
    async with http.get(fleet.url + "/login") as r:
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())[1]
    async with http.post(fleet.url + "/login", data={"name": name, "password": password, "csrf_token": form_token,
                                                     "next": next_}, allow_redirects=False) as r:
        return r.status, r.headers, await r.text()


async def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, _h, body = await _login(http, fleet, "ann", "wrong password!")
        assert status == 401 and "Wrong name or password" in body
        status, headers, _ = await _login(http, fleet, "ann", next_="/channels/shop-a")
        assert status == 303 and headers["Location"] == "/channels/shop-a"
        cookie = [c for c in headers.getall("Set-Cookie") if c.startswith("lh_session=")][0]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with http.get(fleet.url + "/api/me") as r:
            me = await r.json()
        assert me["name"] == "ann" and me["role"] == "operator" and me["tenant"] == "acme" and me["csrf"]
        async with http.get(fleet.url + "/channels/shop-a") as r:
            page = await r.text()
            assert r.status == 200 and "Take over" in page and r.headers["Content-Security-Policy"].startswith("default-src 'self'")
        async with http.post(fleet.url + "/logout", data={"csrf_token": me["csrf"]}, allow_redirects=False) as r:
            assert r.status == 303
        async with http.get(fleet.url + "/api/me") as r:
            assert r.status == 401
        async with http.get(fleet.url + "/", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/login?next=")
        status, _h, _ = await _login(http, fleet, "ann", next_="//evil.example/")
        assert status == 303 and _h["Location"] == "/"  # never an open redirect


async def test_login_needs_the_forms_token_and_is_rate_limited(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(fleet.url + "/login", data={"name": "bea", "password": PASSWORD}) as r:
            assert r.status == 403  # no form token: a cross-site login attempt
        for _ in range(5):
            status, _h, _ = await _login(http, fleet, "bea", "not the password")
            assert status == 401
        status, headers, body = await _login(http, fleet, "bea")  # even the right password, for a while
        assert status == 429 and int(headers["Retry-After"]) > 0 and "Too many failed logins" in body
        status, _h, _ = await _login(http, fleet, "ann")  # another user is not locked out
        assert status == 303


async def test_tenants_see_only_their_channels(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, body = await _get(http, fleet, "root", "/api/channels")
        assert status == 200 and {c["id"] for c in body["channels"]} == {"shop-a", "shop-b"}
        states = {c["id"]: c["state"] for c in body["channels"]}
        assert states == {"shop-a": "live", "shop-b": "stopped"}
        status, body = await _get(http, fleet, "ann", "/api/channels")
        assert [c["id"] for c in body["channels"]] == ["shop-a"]
        status, body = await _get(http, fleet, "bea", "/api/channels")
        assert [c["id"] for c in body["channels"]] == ["shop-b"]
        for path in ("", "/transcript", "/comments", "/history", "/catalog", "/frame.jpg"):
            status, body = await _get(http, fleet, "bea", f"/api/channels/shop-a{path}")
            assert status == 404 and body == {"error": "channel: 'shop-a' not found"}, path
        status, body = await _post(http, fleet, "bea", "/api/channels/shop-a/stop")
        assert status == 404
        status, _ = await _get(http, fleet, "bea", "/api/audit", channel="shop-a")
        assert status == 404
        status, body = await _get(http, fleet, None, "/api/channels")
        assert status == 401 and "log in" in body["error"]
        async with http.get(fleet.url + "/api/channels", headers={"Authorization": "Bearer lh_forged"}) as r:
            assert r.status == 401


async def test_a_viewer_cannot_control_a_channel(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for action in ("stop", "pause", "takeover", "say", "comments"):
            status, body = await _post(http, fleet, "vic", f"/api/channels/shop-a/{action}", {"text": "hi"})
            assert status == 403 and "viewer may not" in body["error"], action
        status, body = await _get(http, fleet, "vic", "/api/channels/shop-a")
        assert status == 200 and body["state"] == "live"


async def test_a_cookie_request_without_the_csrf_token_is_refused(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert (await _login(http, fleet, "ann"))[0] == 303
        async with http.get(fleet.url + "/api/me") as r:
            token = (await r.json())["csrf"]
        async with http.post(fleet.url + "/api/channels/shop-a/comments", json={"text": "hello"}) as r:
            assert r.status == 403 and "csrf" in (await r.json())["error"]
        async with http.post(fleet.url + "/api/channels/shop-a/comments", json={"text": "hello"},
                             headers={"X-CSRF-Token": "x" + token}) as r:
            assert r.status == 403
        async with http.post(fleet.url + "/api/channels/shop-a/comments", json={"text": "hello"},
                             headers={"X-CSRF-Token": token}) as r:
            assert r.status == 200, await r.text()
        form = aiohttp.FormData()  # a plain form: the token in a field instead of the header
        form.add_field("file", b"sku,title,price,currency,stock,lang\nPEN,pen,2.00,USD,9,en\n", filename="pen.csv")
        form.add_field("channel", "shop-a")
        form.add_field("csrf_token", token)
        async with http.post(fleet.url + "/api/catalog/import", data=form) as r:
            assert r.status == 200 and (await r.json())["imported"] == 1


async def test_controls_and_what_the_viewers_hear(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/comments",
                                   {"user": "amy", "text": "how much is the yoga mat?"})
        assert status == 200 and body["ok"] and body["detail"] == "answer (price)"
        _s, got = await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a/transcript"),
                               lambda r: any(e["source"] == "reply" for e in r[1]["entries"]))
        reply = [e for e in got["entries"] if e["source"] == "reply"][0]
        assert re.search(r"\b(?:29\.99|18)\b", reply["text"]), reply  # the price of the product on air
        _s, comments = await _get(http, fleet, "ann", "/api/channels/shop-a/comments")
        mine = [c for c in comments["comments"] if c["user"] == "amy"][0]
        assert mine["intent"] == "price" and mine["reply"]

        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/say", {"text": "Only 1 dollar today!"})
        assert status == 422 and "gate rejected" in body["detail"]
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/say", {})
        assert status == 400 and body["error"] == "text: required"
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/say", {"text": "Welcome in, everyone."})
        assert status == 200
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a/transcript"),
                     lambda r: any(e["text"] == "Welcome in, everyone." for e in r[1]["entries"]))

        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/takeover", {"message": "back in 5"})
        assert status == 200 and body["detail"] == "host silenced, holding card shown"
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a"), lambda r: r[1]["state"] == "takeover")
        assert (await _post(http, fleet, "ann", "/api/channels/shop-a/release"))[0] == 200
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a"), lambda r: r[1]["state"] == "live")
        assert (await _post(http, fleet, "ann", "/api/channels/shop-a/pause"))[0] == 200
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a"), lambda r: r[1]["state"] == "paused")
        assert (await _post(http, fleet, "ann", "/api/channels/shop-a/resume"))[0] == 200
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/pin", {"sku": "MAT"})
        assert status == 200 and body["detail"] == "pinned MAT"
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a"),
                     lambda r: r[1]["product_sku"] == "MAT" and r[1]["pinned"] == "MAT")
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/pin", {"sku": "GONE"})
        assert status == 422 and "GONE" in body["detail"]
        assert (await _post(http, fleet, "ann", "/api/channels/shop-a/unpin"))[0] == 200
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/dance")
        assert status == 404 and "dance" in body["error"]

        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/stop")
        assert status == 200
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a"), lambda r: r[1]["state"] == "stopped")
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/pause")
        assert status == 422 and "shop-a is stopped" in body["detail"]
        assert (await _post(http, fleet, "ann", "/api/channels/shop-a/start"))[0] == 200
        await _until(lambda: _get(http, fleet, "ann", "/api/channels/shop-a"), lambda r: r[1]["state"] == "live")

        _s, acts = await _get(http, fleet, "root", "/api/audit/actions", channel="shop-a")
        done = [(a["user"], a["action"]) for a in reversed(acts["actions"])]
        for step in [("ann", "comment"), ("ann", "say"), ("ann", "takeover"), ("ann", "release"), ("ann", "pause"),
                     ("ann", "resume"), ("ann", "pin"), ("ann", "stop"), ("ann", "start")]:
            assert step in done, step
        _s, mine = await _get(http, fleet, "bea", "/api/audit/actions")
        assert all(a["channel"] == "shop-b" for a in mine["actions"])  # another tenant's actions stay hidden


async def test_catalog_import_reports_rejected_rows(fleet, tmp_path):
    feed = "sku,title,price,currency,stock,lang\nCUP,travel cup,12.50,USD,10,en\nBAD,broken price,abc,USD,5,en\n" \
           "LAMP,desk lamp,30.00,USD,3,en\n"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form = aiohttp.FormData()
        form.add_field("file", feed.encode(), filename="feed.csv", content_type="text/csv")
        form.add_field("channel", "shop-a")
        async with http.post(fleet.url + "/api/catalog/import", data=form, headers=_auth(fleet, "ann")) as r:
            body = await r.json()
            assert r.status == 200, body
        assert body["imported"] == 2 and body["scope"] == "shop-a" and body["source"] == "feed.csv"
        assert body["rejected"] == [{"row": 3, "id": "BAD", "field": "price", "value": "abc",
                                     "reason": body["rejected"][0]["reason"]}]
        form = aiohttp.FormData()
        form.add_field("file", feed.encode(), filename="feed.csv")
        form.add_field("channel", "shop-a")
        async with http.post(fleet.url + "/api/catalog/import", data=form, headers=_auth(fleet, "bea")) as r:
            assert r.status == 404  # not bea's channel
        status, body = await _post(http, fleet, "ann", "/api/catalog/import", {"url": "https://example.invalid/f.xml"})
        assert status == 403 and "shared catalog" in body["error"]
        status, body = await _post(http, fleet, "root", "/api/catalog/import", {"url": "/etc/passwd"})
        assert status == 400 and "not an http(s) URL" in body["error"]
        status, body = await _post(http, fleet, "vic", "/api/catalog/import", {"url": "https://x.invalid/", "channel": "shop-a"})
        assert status == 403
        _s, acts = await _get(http, fleet, "vic", "/api/audit/actions", channel="shop-a")
        imported = [a for a in acts["actions"] if a["action"] == "catalog-import"][0]
        assert imported["user"] == "ann" and imported["detail"].startswith("2 imported, 1 rejected")
        assert imported["args"]["source"] == "feed.csv"
        form = aiohttp.FormData()
        form.add_field("file", b"sku,title\n", filename="empty.csv")
        form.add_field("channel", "shop-a")
        async with http.post(fleet.url + "/api/catalog/import", data=form, headers=_auth(fleet, "ann")) as r:
            assert r.status == 422 and (await r.json())["imported"] == 0


async def test_audit_search_by_text_and_time_and_csv_export(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        _s, got = await _until(lambda: _get(http, fleet, "vic", "/api/audit", channel="shop-a"),
                               lambda r: r[1]["count"] >= 3)
        newest = got["entries"][0]
        word = newest["text"].split()[1]
        _s, found = await _get(http, fleet, "vic", "/api/audit", channel="shop-a", q=word.upper())
        assert found["count"] >= 1 and all(word.casefold() in e["text"].casefold() for e in found["entries"])
        _s, later = await _get(http, fleet, "vic", "/api/audit", since=str(newest["wall_time"] + 3600))
        assert later["count"] == 0
        _s, two = await _get(http, fleet, "root", "/api/audit", limit="2")  # across channels: the newest of all
        assert [e["wall_time"] for e in two["entries"]] == [e["wall_time"] for e in got["entries"][:2]]
        _s, none = await _get(http, fleet, "vic", "/api/audit", q="no sentence has this 字样")
        assert none["count"] == 0
        status, body = await _get(http, fleet, "vic", "/api/audit", since="yesterday")
        assert status == 400 and "since" in body["error"]
        async with http.get(fleet.url + "/api/audit", params={"channel": "shop-a", "format": "csv"},
                            headers=_auth(fleet, "vic")) as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert "attachment" in r.headers["Content-Disposition"]
            rows = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
        assert rows and {"wall_time", "channel", "text", "source", "cut"} <= set(rows[0])
        assert all(row["channel"] == "shop-a" for row in rows)


async def test_live_updates_over_server_sent_events(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        seen: dict[str, object] = {}
        async with http.get(fleet.url + "/api/events", params={"channel": "shop-a"}, headers=_auth(fleet, "ann"),
                            timeout=aiohttp.ClientTimeout(total=20)) as r:
            assert r.status == 200 and r.content_type == "text/event-stream"
            event = None
            async for line in r.content:
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    seen[event] = json.loads(line[6:])
                if "channels" in seen and "transcript" in seen:
                    break
        assert [c["id"] for c in seen["channels"]] == ["shop-a"]
        assert isinstance(seen["transcript"], list)
        status, _ = await _get(http, fleet, "bea", "/api/events", channel="shop-a")
        assert status == 404


async def test_metrics_need_a_token_and_show_only_the_tokens_tenant(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(fleet.url + "/metrics") as r:
            assert r.status == 401
        assert (await _login(http, fleet, "root"))[0] == 303
        async with http.get(fleet.url + "/metrics") as r:
            assert r.status == 401  # a browser session is not enough: metrics are scraped with a token
        status, text = await _get(http, fleet, "root", "/metrics")
        assert status == 200
        for series in ("livehost_channel_fps", "livehost_channel_bitrate_kbps", "livehost_channel_frames_dropped_total",
                       "livehost_channel_render_dropped_total",
                       "livehost_channel_av_offset_seconds", "livehost_channel_speech_queue_depth",
                       "livehost_channel_errors_total", 'livehost_channel_reply_latency_seconds_bucket{channel="shop-a"'):
            assert series in text, series
        assert '# TYPE livehost_channel_reply_latency_seconds histogram' in text
        assert re.search(r'livehost_channel_fps\{channel="shop-a",tenant="acme"\} (\d+\.?\d*)', text)
        _s, beta = await _get(http, fleet, "bea", "/metrics")
        assert 'channel="shop-b"' in beta and 'channel="shop-a"' not in beta


async def test_openapi_describes_every_api_route(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, doc = await _get(http, fleet, "vic", "/api/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert documented >= {(r.method, r.path) for r in API}
    for must in ("/api/channels", "/api/channels/{id}", "/api/channels/{id}/say", "/api/channels/{id}/comments",
                 "/api/channels/{id}/transcript", "/api/catalog/import", "/api/audit"):
        assert must in doc["paths"], must
    assert doc["paths"]["/api/channels/{id}/{action}"]["post"]["x-livehost-role"] == "operator"


async def test_pages_render_for_a_logged_in_user(fleet):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert (await _login(http, fleet, "vic"))[0] == 303
        for path, needle in (("/", "Fleet"), ("/channels/shop-a", "Transcript"), ("/catalog", "may look at catalogs"),
                             ("/audit", "Export CSV")):
            async with http.get(fleet.url + path) as r:
                html = await r.text()
                assert r.status == 200 and needle in html, path
        async with http.get(fleet.url + "/channels/shop-a") as r:
            assert "Take over" not in await r.text()  # no controls for a viewer
        async with http.get(fleet.url + "/channels/shop-b") as r:
            assert r.status == 404



async def test_preview_history_and_catalog_of_a_channel(fleet):
    from PIL import Image

    async with aiohttp.ClientSession() as http:
        _s, hist = await _until(lambda: _get(http, fleet, "vic", "/api/channels/shop-a/history"),
                                lambda r: len(r[1]["samples"]) >= 2)
        sample = hist["samples"][-1]
        assert sample["fps"] > 0 and sample["kbps"] > 0 and sample["updated"] > time.time() - 3700
        status, body = await _get(http, fleet, "vic", "/api/channels/shop-a/history", seconds="10")
        assert status == 200 and all(s["updated"] >= time.time() - 15 for s in body["samples"])
        status, body = await _get(http, fleet, "vic", "/api/channels/shop-a/history", seconds="lots")
        assert status == 400 and body["error"] == "seconds: 'lots' is not a whole number"
        _s, catalog = await _get(http, fleet, "vic", "/api/channels/shop-a/catalog")
        assert {p["sku"] for p in catalog["products"]} == {"TOTE", "MAT"} and catalog["version"]
        await _until(lambda: _get(http, fleet, "vic", "/api/channels/shop-a"), lambda r: r[1]["state"] == "live")
        async with http.get(fleet.url + "/api/channels/shop-a/frame.jpg", headers=_auth(fleet, "vic")) as r:
            assert r.status == 200 and r.content_type == "image/jpeg" and r.headers["Cache-Control"] == "no-store"
            image = Image.open(io.BytesIO(await r.read()))
        assert image.format == "JPEG" and image.size == (160, 288)
        status, body = await _get(http, fleet, "root", "/api/channels/shop-b/frame.jpg")
        assert status == 404 and "stopped" in body["error"]


async def test_healthz_answers_without_a_token_with_counts_only(fleet):
    async with aiohttp.ClientSession() as http:
        status, body = await _get(http, fleet, None, "/healthz")
    assert status == 200 and body["status"] == "ok" and body["store"] == "ok"
    assert body["channels"]["on_air"] >= 1 and body["channels"]["failed"] == 0
    assert "shop-a" not in json.dumps(body) and "acme" not in json.dumps(body)  # no names for the anonymous


async def test_presence_is_an_operators_heartbeat(fleet):
    async with aiohttp.ClientSession() as http:
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/presence")
        assert status == 200 and body["ok"] and abs(body["at"] - time.time()) < 60
        assert (await _post(http, fleet, "vic", "/api/channels/shop-a/presence"))[0] == 403
        assert (await _post(http, fleet, "bea", "/api/channels/shop-a/presence"))[0] == 404  # another tenant's


async def test_a_move_needs_a_cluster_and_an_operator(fleet):
    async with aiohttp.ClientSession() as http:
        status, body = await _post(http, fleet, "ann", "/api/channels/shop-a/move", {"to": "abc"})
        assert status == 409 and "not served on a cluster" in body["error"], body
        assert (await _post(http, fleet, "vic", "/api/channels/shop-a/move"))[0] == 403
        assert (await _post(http, fleet, "bea", "/api/channels/shop-a/move"))[0] == 404  # another tenant's


async def test_the_clusters_nodes_with_their_load_and_each_tenant_sees_its_own(fleet):
    from livehost.core import keys

    r = fleet.store.sync()
    async with aiohttp.ClientSession() as http:
        assert (await _get(http, fleet, "root", "/api/nodes")) == (200, {"nodes": []})  # no cluster
        nodes = [{"id": "a1b2c3d4e5f6a7b8", "cpu": 16.0, "gpu": 1.0, "cpu_used": 0.5, "gpu_used": 0.25,
                  "resources": ["region-cn"], "channels": ["shop-a", "shop-b"]},
                 {"id": "ffff0000ffff0000", "cpu": 16.0, "gpu": 0.0, "cpu_used": 0.25, "gpu_used": 0.0,
                  "resources": [], "channels": ["shop-b"]}]
        r.set(keys.NODES, json.dumps(nodes), ex=30)
        try:
            status, body = await _get(http, fleet, "root", "/api/nodes")
            assert status == 200 and body["nodes"] == nodes
            status, body = await _get(http, fleet, "ann", "/api/nodes")  # acme: only its channel, no load figures
            assert body["nodes"] == [{"id": "a1b2c3d4e5f6a7b8", "resources": ["region-cn"], "channels": ["shop-a"]}]
            async with http.get(fleet.url + "/", headers=_auth(fleet, "root")) as resp:
                page = await resp.text()
            assert 'id="nodes"' in page and "a1b2c3d4e5f6" in page and "0.5 / 16.0" in page
            async with http.get(fleet.url + "/", headers=_auth(fleet, "ann")) as resp:
                page = await resp.text()
            assert "a1b2c3d4e5f6" in page and "ffff0000ffff" not in page and "shop-b" not in page
        finally:
            r.delete(keys.NODES)


async def test_many_live_pages_at_once_all_get_their_events(fleet):
    # redis-py's pool refuses a 101st connection at once ("Too many connections": 503s under a few hundred
    # dashboards); the console's client waits for a connection instead, and live pages share their reads
    async def one(http):
        async with http.get(fleet.url + "/api/events", params={"channel": "shop-a"}, headers=_auth(fleet, "ann"),
                            timeout=aiohttp.ClientTimeout(total=30)) as r:
            if r.status != 200:
                return r.status
            seen = set()
            async for line in r.content:
                if line.startswith(b"event: "):
                    seen.add(line.strip())
                if {b"event: channels", b"event: transcript"} <= seen:
                    return 200
            return "ended"

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        results = await asyncio.gather(*(one(http) for _ in range(250)))
    assert results == [200] * 250, sorted(set(map(str, results)))
