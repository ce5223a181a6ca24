"""``GET /metrics``: Prometheus text, per-channel series labelled ``channel`` and ``tenant`` (token only)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from dashboards.context import Console
from dashboards.http import user_of
from livehost.core.states import ChannelState


async def metrics(console: Console, request: web.Request) -> web.Response:
    states = await console.channel_states(user_of(request))
    return web.Response(text=prometheus(states), content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


def prometheus(states: list[dict[str, str]]) -> str:
    series: dict[str, tuple[str, str, list[str]]] = {}

    def add(name: str, kind: str, help_: str, labels: str, value: Any) -> None:
        series.setdefault(name, (kind, help_, []))[2].append(f"{name}{{{labels}}} {value}")

    for s in states:
        labels = f'channel="{_label(s.get("id", ""))}",tenant="{_label(s.get("tenant", ""))}"'
        add("livehost_channel_up", "gauge", "1 while the channel is on air (live, paused or taken over)", labels,
            int(s.get("state") in {c.value for c in ChannelState if c.on_air}))
        for state in (c.value for c in ChannelState):
            add("livehost_channel_state", "gauge", "the channel's state (1 for the current one)",
                f'{labels},state="{state}"', int(s.get("state") == state))
        for key, name, kind, help_, scale in (
            ("fps", "livehost_channel_fps", "gauge", "output frames per second", 1),
            ("kbps", "livehost_channel_bitrate_kbps", "gauge", "output bitrate, kbit/s", 1),
            ("frames_sent", "livehost_channel_frames_sent_total", "counter", "frames sent this run", 1),
            ("frames_dropped", "livehost_channel_frames_dropped_total", "counter", "frames dropped this run", 1),
            ("render_dropped", "livehost_channel_render_dropped_total", "counter",
             "frames the host could not render in time this run (the previous frame was shown again)", 1),
            ("av_offset_ms", "livehost_channel_av_offset_seconds", "gauge", "audio ahead of video in the output", 1e-3),
            ("queue_depth", "livehost_channel_speech_queue_depth", "gauge", "sentences waiting to be spoken", 1),
            ("comments_per_minute", "livehost_channel_comments_per_minute", "gauge", "viewer comments per minute", 1),
            ("errors", "livehost_channel_errors_total", "counter", "output outages and failed sentences this run", 1),
            ("reconnects", "livehost_channel_reconnects_total", "counter", "output reconnects this run", 1),
            ("uptime_seconds", "livehost_channel_uptime_seconds", "gauge", "seconds on air this run", 1),
        ):
            if s.get(key) not in ("", None):
                add(name, kind, help_, labels, _num(float(s[key]) * scale))
        _chat(add, labels, json.loads(s["chat"]) if s.get("chat") else None)
        _obs(add, labels, json.loads(s["obs"]) if s.get("obs") else None)
        if s.get("supervision"):
            add("livehost_channel_unattended", "gauge", "1 while a supervised channel holds because nobody is on duty",
                labels, int(bool(json.loads(s["supervision"]).get("unattended"))))
        hist = json.loads(s["reply_histogram"]) if s.get("reply_histogram") else None
        if hist:
            name = "livehost_channel_reply_latency_seconds"
            for le, count in zip([*hist["le"], "+Inf"], hist["counts"]):
                add(f"{name}_bucket", "histogram", "comment to approved reply", f'{labels},le="{le}"', count)
            add(f"{name}_sum", "histogram", "", labels, hist["sum"])
            add(f"{name}_count", "histogram", "", labels, hist["counts"][-1])
    lines = []
    for name, (kind, help_, rows) in series.items():
        if not name.endswith(("_sum", "_count")):
            base = name.removesuffix("_bucket")
            lines += [f"# HELP {base} {help_}", f"# TYPE {base} {kind}"]
        lines += rows
    return "\n".join(lines) + "\n"


def _obs(add: Any, labels: str, obs: dict[str, Any] | None) -> None:
    """The channel's OBS, as its director last read it (only while connected, but the link state always)."""
    if obs is None:
        return
    add("livehost_obs_connected", "gauge", "1 while the OBS websocket is connected", labels, int(obs.get("state") == "live"))
    add("livehost_obs_holding", "gauge", "1 while OBS shows the holding scene", labels, int(bool(obs.get("holding"))))
    for key, name, kind, help_ in (
        ("stream_active", "livehost_obs_streaming", "gauge", "1 while OBS streams"),
        ("stream_reconnecting", "livehost_obs_stream_reconnecting", "gauge", "1 while OBS's stream reconnects"),
        ("congestion", "livehost_obs_congestion", "gauge", "OBS's stream congestion (0 to 1)"),
        ("output_skipped", "livehost_obs_output_skipped_frames_total", "counter", "frames OBS's encoder skipped"),
        ("output_frames", "livehost_obs_output_frames_total", "counter", "frames OBS's stream output sent"),
        ("render_skipped", "livehost_obs_render_skipped_frames_total", "counter", "frames OBS could not render in time"),
        ("render_frames", "livehost_obs_render_frames_total", "counter", "frames OBS rendered"),
        ("fps", "livehost_obs_fps", "gauge", "OBS's render rate"),
        ("cpu", "livehost_obs_cpu_percent", "gauge", "OBS's CPU use, percent of one core"),
    ):
        if obs.get(key) is not None:
            add(name, kind, help_, labels, _num(float(obs[key])))


def _chat(add: Any, labels: str, chat: dict[str, Any] | None) -> None:
    """The channel's chat rooms: connected, events by kind, lag, refused pushes, replies posted."""
    for room in (chat or {}).get("connectors", []):
        room_labels = f'{labels},platform="{_label(str(room.get("platform", "")))}",room="{_label(str(room.get("name", "")))}"'
        add("livehost_chat_connected", "gauge", "1 while the chat connector is connected", room_labels,
            int(room.get("state") == "live"))
        for kind, n in sorted((room.get("events") or {}).items()):
            add("livehost_chat_events_total", "counter", "chat events heard, by kind", f'{room_labels},kind="{_label(kind)}"', n)
        for reason, n in sorted((room.get("rejected") or {}).items()):
            add("livehost_chat_rejected_total", "counter", "chat events refused (bad signature, malformed, duplicate)",
                f'{room_labels},reason="{_label(reason)}"', n)
        for q, key in (("0.5", "lag_p50"), ("0.95", "lag_p95")):
            if room.get(key) is not None:
                add("livehost_chat_lag_seconds", "gauge", "platform time to received, recent events",
                    f'{room_labels},quantile="{q}"', _num(float(room[key])))
        add("livehost_chat_replies_total", "counter", "host replies posted in chat", room_labels,
            int(room.get("replies_sent") or 0))


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(round(v, 6))
