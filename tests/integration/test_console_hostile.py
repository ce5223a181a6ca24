"""Every console route against hostile bodies, queries and paths (issue 12, items 4 and 6): a 4xx with a
reason, never a 5xx, and the channels stay on air."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import aiohttp
import pytest
import pytest_asyncio

from dashboards.app import build_app
from dashboards.http import MAX_BODY
from dashboards.routes import API
from tests.integration.console_fleet import console_fleet

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEEP = b"[" * 100_000 + b"]" * 100_000
JSON_BODIES = [
    DEEP, b'{"text":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
    b'{"text":"\\ud800"}', b'{"text":"hi\\udfff","user":"\\ud83d"}', b'{"text": NaN}', b'{"text": 1e999}',
    b'{"text": ["x"]}', b'{"text": {"a": 1}}', b"[]", b'"text"', b"null", b"\xff\xfe{}", b"{", b"",
    json.dumps({k: "\ud800" for k in ("text", "message", "sku", "url", "channel", "format", "lang", "user")}).encode(),
    json.dumps({"text": "x" * (MAX_BODY + 10)}).encode(),
]
FORMS = [b"text=%ED%A0%80&sku=%ED%A0%80", b"text=" + b"%FF" * 100, b"a=" + b"b" * (MAX_BODY + 10), b"&&&==&",
         b"csrf_token=x&text=" + b"[" * 1000]
MULTIPART_GARBAGE = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\nsku,title\r\n"
                     b"--B\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n" + b"u" * 5000 + b"\r\n--B--\r\n")


def _no_constant(name):
    raise AssertionError(f"{name} in an answer: not strict JSON")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fleet(tmp_path_factory):
    async with console_fleet(tmp_path_factory.mktemp("hostile")) as f:
        yield f


def _paths(path: str) -> list[str]:
    out = []
    for cid in ("shop-a", "nope", "%ED%A0%80", "a" * 300):
        p = path.replace("{id}", cid)
        if "{action}" in p:
            out += [p.replace("{action}", a) for a in ("pin", "%00", "takeover")]
        else:
            out.append(p)
    return out


async def _send(http, method, url, *, data=None, headers=None):
    async with http.request(method, url, data=data, headers=headers or {}, timeout=aiohttp.ClientTimeout(total=60)) as r:
        if r.content_type == "text/event-stream":  # a live stream: its status is the answer
            return r.status, r.content_type, ""
        text = await r.text(errors="replace")
        return r.status, r.content_type, text


def _routes() -> list[tuple[str, str]]:
    """Every route the console's router serves (pages, login, metrics, health, static files and the API)."""
    app = build_app(SimpleNamespace())  # the table only: no handler runs
    return sorted({(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"})


async def test_no_route_answers_a_hostile_request_with_a_5xx(fleet):
    token = {"Authorization": f"Bearer {fleet.tokens['root']}"}
    routes = _routes()
    assert {(r.method, r.path) for r in API} <= set(routes)
    assert {("GET", "/"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/metrics"), ("GET", "/healthz")} <= set(routes)
    seen: dict[int, int] = {}
    failures = []
    async with aiohttp.ClientSession() as http:
        for method, template in routes:
            paths = (["/static/console.js", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/%ED%A0%80"]
                     if template == "/static" else _paths(template))
            for path in paths:
                url = fleet.url + path
                requests = []
                if method == "POST":
                    requests += [(b, {"Content-Type": "application/json"}) for b in JSON_BODIES]
                    requests += [(b, {"Content-Type": "application/x-www-form-urlencoded"}) for b in FORMS]
                    requests += [(MULTIPART_GARBAGE, {"Content-Type": "multipart/form-data; boundary=B"}),
                                 (b"\x00" * 100, {"Content-Type": "multipart/form-data"}),
                                 (b"hello", {"Content-Type": "text/plain"})]
                else:
                    for q in ("limit=1e999", "limit=-1", "since=NaN", "until=9e99", "after=%ED%A0%80",
                              "q=%ED%A0%80", "channel=%ED%A0%80", "format=csv&q=%00", "seconds=Infinity",
                              "next=%ED%A0%80", "next=//evil.example"):
                        requests.append((None, {"_query": q}))
                for data, h in requests:
                    query = h.pop("_query", None) if h else None
                    for who in (token, {}):  # with the admin's token, and anonymous
                        status, ctype, text = await _send(http, method, url + (f"?{query}" if query else ""),
                                                          data=data, headers={**who, **h})
                        seen[status] = seen.get(status, 0) + 1
                        if status >= 500:
                            failures.append((method, path, (data or b"")[:40], query, bool(who), status, text[:200]))
                        elif status >= 400 and ctype == "application/json":
                            answer = json.loads(text)
                            assert answer.get("error") or answer.get("detail"), (path, text)
    assert not failures, failures[:10]
    assert seen.get(400, 0) > 100 and seen.get(413, 0) > 0 and seen.get(401, 0) > 100, seen


async def test_anonymous_and_oversized_bodies_are_refused_before_they_are_read(fleet):
    big = b"x" * (8 << 20)
    async with aiohttp.ClientSession() as http:
        status, _c, text = await _send(http, "POST", fleet.url + "/login", data=big,
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 413, text[:200]
        status, _c, text = await _send(http, "POST", fleet.url + "/api/catalog/import", data=big,
                                       headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert status == 401  # who are you, before a byte of it is read
        auth = {"Authorization": f"Bearer {fleet.tokens['ann']}"}
        status, _c, text = await _send(http, "POST", fleet.url + "/api/channels/shop-a/say", data=big,
                                       headers={**auth, "Content-Type": "application/json"})
        assert status == 413 and "KiB" in json.loads(text)["error"]


async def test_an_upload_over_its_cap_is_refused_and_nothing_is_kept(fleet, monkeypatch, tmp_path):
    import tempfile

    from dashboards import api

    monkeypatch.setattr(api, "MAX_UPLOAD", 1 << 20)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    form = aiohttp.FormData()
    form.add_field("file", b"sku,title,price\n" + b"A,b,1\n" * 400_000, filename="big.csv")
    form.add_field("channel", "shop-a")
    async with aiohttp.ClientSession() as http:
        async with http.post(fleet.url + "/api/catalog/import", data=form,
                             headers={"Authorization": f"Bearer {fleet.tokens['ann']}"}) as r:
            assert r.status == 413 and "MiB" in (await r.json())["error"]
    assert list(tmp_path.iterdir()) == []


async def test_catalog_uploads_with_huge_prices_or_deep_json_are_a_report_not_a_500(fleet):
    rows = "sku,title,price,currency\nOK-1,good pen,2.00,USD\nBIG-1,big pen,1e30,USD\nBIG-2,big pen,"
    cases = [("prices.csv", (rows + "9" * 38 + ",USD\n").encode()),
             ("deep.json", b'{"products": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
             ("nan.json", b'{"products": [{"sku": "N", "title": "n", "price": NaN, "currency": "USD"}]}')]
    answers = {}
    async with aiohttp.ClientSession() as http:
        for name, content in cases:
            form = aiohttp.FormData()
            form.add_field("file", content, filename=name)
            form.add_field("channel", "shop-a")
            async with http.post(fleet.url + "/api/catalog/import", data=form,
                                 headers={"Authorization": f"Bearer {fleet.tokens['ann']}"}) as r:
                answers[name] = (r.status, json.loads(await r.text(), parse_constant=_no_constant))
    status, answer = answers["prices.csv"]
    assert status in (200, 422) and [(x["id"], x["field"]) for x in answer["rejected"]] == [
        ("BIG-1", "price"), ("BIG-2", "price")]
    assert answers["deep.json"][0] == 422 and "deep" in answers["deep.json"][1]["error"]
    assert answers["nan.json"][0] == 422 and "NaN" in answers["nan.json"][1]["error"]
    # the channels kept going (the fleet's channels may still be starting: on air first, then staying there)
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 30
        while True:
            async with http.get(fleet.url + "/api/channels/shop-a",
                                headers={"Authorization": f"Bearer {fleet.tokens['ann']}"}) as r:
                state = (await r.json())["state"]
            if state in ("live", "takeover") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        for _ in range(3):
            async with http.get(fleet.url + "/api/channels/shop-a",
                                headers={"Authorization": f"Bearer {fleet.tokens['ann']}"}) as r:
                assert r.status == 200 and (await r.json())["state"] in ("live", "takeover")  # on air
            await asyncio.sleep(0.2)
