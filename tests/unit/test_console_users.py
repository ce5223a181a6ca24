"""Console users, tokens and the pure parts of the console (metrics text, fleet order, alerts)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from dashboards.app import first_start_hint
from dashboards.metrics import prometheus
from dashboards.routes import openapi
from dashboards.states import alerts, public_state, sort_fleet
from dashboards.users import UserError, UserStore, check_password, hash_password

PASSWORD = "correct horse battery"


def test_passwords_are_scrypt_hashed_salted_and_checked():
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    assert check_password(PASSWORD, stored)
    assert not check_password(PASSWORD + "!", stored)
    assert hash_password(PASSWORD) != stored  # salted
    assert not check_password(PASSWORD, "md5$whatever") and not check_password(PASSWORD, "garbage")


def test_users_file_roles_tenants_and_tokens(tmp_path):
    users = UserStore(tmp_path)
    users.add("root", "admin", None, PASSWORD)
    users.add("ann", "operator", "acme", PASSWORD)
    assert stat.S_IMODE(os.stat(tmp_path / "users.json").st_mode) == 0o600
    text = (tmp_path / "users.json").read_text()
    assert PASSWORD not in text
    other = UserStore(tmp_path)  # another process (a running console) sees the new user
    ann = other.authenticate("ann", PASSWORD)
    assert ann is not None and ann.can("viewer") and ann.can("operator") and not ann.can("admin")
    assert ann.sees("acme") and not ann.sees("beta") and other.get("root").sees("beta")
    assert other.authenticate("ann", "wrong password") is None
    assert other.authenticate("nobody", PASSWORD) is None
    token = users.new_token("ann", "ci")
    assert token.startswith("lh_") and token not in (tmp_path / "users.json").read_text()
    assert other.by_token(token).name == "ann"
    assert other.by_token(token + "x") is None and other.by_token("bearer") is None
    users.set_password("ann", "another long one")
    assert other.authenticate("ann", "another long one") is not None
    users.remove("ann")
    assert other.by_token(token) is None and other.get("ann") is None


@pytest.mark.parametrize("args, field", [
    (("bad name!", "viewer"), "name"),
    (("ok", "boss"), "role"),
    (("ok", "viewer", "bad tenant"), "tenant"),
])
def test_bad_user_input_names_the_field(tmp_path, args, field):
    with pytest.raises(UserError, match=f"^{field}: "):
        UserStore(tmp_path).add(*args)


def test_short_passwords_and_duplicates_are_refused(tmp_path):
    users = UserStore(tmp_path)
    with pytest.raises(UserError, match="password: at least 10"):
        users.add("ann", "viewer", None, "short")
    users.add("ann", "viewer", None, PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        users.add("ann", "viewer", None, PASSWORD)
    with pytest.raises(UserError, match="no user 'bob'"):
        users.new_token("bob")


def test_first_start_hint_until_an_admin_exists(tmp_path):
    assert "livehost user add admin --role admin" in first_start_hint(tmp_path)
    UserStore(tmp_path).add("viewer1", "viewer", None, PASSWORD)
    assert first_start_hint(tmp_path) is not None  # a viewer is not an admin
    UserStore(tmp_path).add("boss", "admin", None, PASSWORD)
    assert first_start_hint(tmp_path) is None


def _state(**kw):
    base = {"id": "a", "tenant": "t", "state": "live", "fps": "25.0", "kbps": "2500", "frames_dropped": "0",
            "av_offset_ms": "-10.5", "queue_depth": "2", "errors": "0", "reply_p95_ms": "", "last_error": "",
            "reply_histogram": json.dumps({"le": [0.5, 1.0], "counts": [1, 2, 3], "sum": 2.5})}
    return {**base, **{k: str(v) for k, v in kw.items()}}


def test_prometheus_text_has_typed_series_and_a_histogram():
    text = prometheus([_state(), _state(id='b"x', state="failed", fps="0")])
    assert '# TYPE livehost_channel_fps gauge' in text
    assert 'livehost_channel_fps{channel="a",tenant="t"} 25' in text
    assert 'livehost_channel_av_offset_seconds{channel="a",tenant="t"} -0.0105' in text
    assert 'livehost_channel_reply_latency_seconds_bucket{channel="a",tenant="t",le="+Inf"} 3' in text
    assert 'livehost_channel_reply_latency_seconds_count{channel="a",tenant="t"} 3' in text
    assert 'livehost_channel_state{channel="b\\"x",tenant="t",state="failed"} 1' in text
    assert text.count("# TYPE livehost_channel_fps ") == 1  # one header per metric, not per channel


def test_fleet_order_puts_problems_on_top_and_alerts_say_why():
    rows = [public_state(_state(id="ok")), public_state(_state(id="dropping", frames_dropped="12")),
            public_state(_state(id="dead", state="failed", last_error="output down: refused")),
            public_state(_state(id="held", state="takeover"))]
    assert [r["id"] for r in sort_fleet(rows)] == ["dead", "held", "dropping", "ok"]
    assert alerts(public_state(_state(frames_dropped="12", av_offset_ms="250")))[:2] == ["12 frames dropped",
                                                                                         "A/V offset 250 ms"]
    assert alerts(public_state(_state(state="failed", last_error="x")))[0] == "failed: x"
    late = public_state(_state(render_dropped="3"))
    assert late["render_dropped"] == 3.0
    assert alerts(late) == ["3 frames not rendered in time (host repeated a frame)"]


def test_openapi_document_is_json_with_roles():
    doc = json.loads(json.dumps(openapi()))
    assert doc["paths"]["/api/channels/{id}/say"]["post"]["x-livehost-role"] == "operator"
    assert doc["paths"]["/api/channels"]["get"]["x-livehost-role"] == "viewer"
    # every answer the API gives is documented (bench/api_fuzz.py checks the live API against it)
    say = doc["paths"]["/api/channels/{id}/say"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "413", "422", "504"} <= set(say)
    move = doc["paths"]["/api/channels/{id}/move"]["post"]["responses"]
    assert {"202", "409"} <= set(move)


def test_chat_rooms_in_metrics_and_alerts():
    rooms = {"connectors": [
        {"name": "twitch", "platform": "twitch", "state": "live", "reason": "", "events": {"comment": 7, "like": 40},
         "rejected": {"duplicate": 2}, "lag_p50": 0.25, "lag_p95": 1.5, "replies_sent": 3, "reply_in_chat": True},
        {"name": "douyin", "platform": "douyin", "state": "failed", "reason": "cannot listen on 127.0.0.1:8782",
         "events": {}, "rejected": {"bad signature": 5}, "lag_p50": None, "lag_p95": None, "replies_sent": 0}]}
    state = _state(chat=json.dumps(rooms))
    text = prometheus([state])
    room = 'channel="a",tenant="t",platform="twitch",room="twitch"'
    assert f"livehost_chat_connected{{{room}}} 1" in text
    assert 'livehost_chat_connected{channel="a",tenant="t",platform="douyin",room="douyin"} 0' in text
    assert f'livehost_chat_events_total{{{room},kind="comment"}} 7' in text
    assert f'livehost_chat_lag_seconds{{{room},quantile="0.95"}} 1.5' in text
    assert 'livehost_chat_rejected_total{channel="a",tenant="t",platform="douyin",room="douyin",reason="bad signature"} 5' in text
    assert f"livehost_chat_replies_total{{{room}}} 3" in text
    shown = public_state(state)
    assert shown["chat"]["connectors"][0]["events"]["comment"] == 7
    assert shown["alerts"] == ["chat douyin: failed: cannot listen on 127.0.0.1:8782"]


def test_obs_in_metrics_and_alerts():
    obs = {"state": "live", "reason": "", "program": "Be right back", "holding": True, "why_holding": "feed stalled",
           "stream_active": True, "stream_reconnecting": False, "congestion": 0.75, "output_skipped": 30,
           "output_frames": 1000, "render_skipped": 2, "render_frames": 1000, "fps": 24.5, "cpu": 33.1}
    text = prometheus([_state(obs=json.dumps(obs))])
    labels = 'channel="a",tenant="t"'
    for line in (f"livehost_obs_connected{{{labels}}} 1", f"livehost_obs_holding{{{labels}}} 1",
                 f"livehost_obs_streaming{{{labels}}} 1", f"livehost_obs_congestion{{{labels}}} 0.75",
                 f"livehost_obs_output_skipped_frames_total{{{labels}}} 30", f"livehost_obs_fps{{{labels}}} 24.5",
                 f"livehost_obs_cpu_percent{{{labels}}} 33.1"):
        assert line in text
    assert public_state(_state(obs=json.dumps(obs)))["alerts"] == [
        "OBS shows the holding scene: the feed stalled", "OBS stream congested (0.75)",
        "OBS skipped 30 of 1000 output frames"]
    down = {"state": "reconnecting", "reason": "ConnectionRefusedError", "holding": False}
    text = prometheus([_state(obs=json.dumps(down))])
    assert f"livehost_obs_connected{{{labels}}} 0" in text and "livehost_obs_streaming" not in text
    assert public_state(_state(obs=json.dumps(down)))["alerts"] == ["OBS reconnecting: ConnectionRefusedError"]


async def test_healthz_is_503_when_the_store_does_not_answer():
    from types import SimpleNamespace

    from redis.exceptions import ConnectionError as RedisConnectionError

    from dashboards.health import healthz

    class Down:
        async def zrange(self, *a):
            raise RedisConnectionError("Connection refused")

    response = await healthz(SimpleNamespace(redis=Down()), None)
    assert response.status == 503 and json.loads(response.body)["store"] == "unreachable: ConnectionError"
