"""Channel states as the console shows them: numbers parsed, alerts derived, problems first."""

from __future__ import annotations

import json
from typing import Any

from livehost.core.states import ChannelState as S

_NUMBERS = ("uptime_seconds", "media_seconds", "fps", "kbps", "frames_sent", "frames_dropped", "render_dropped", "queue_depth", "spoken",
            "cut", "reconnects", "comments_per_minute", "reply_p50_ms", "reply_p95_ms", "av_offset_ms", "errors",
            "updated")
PROBLEM_STATES = ("unreachable", *(s.value for s in (S.FAILED, S.RECONNECTING, S.TAKEOVER, S.PAUSED, S.STOPPED, S.STARTING)))


def public_state(state: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in state.items():
        if k in _NUMBERS:
            out[k] = float(v) if v not in ("", None) else None
        elif k in ("next", "reply_histogram", "chat", "obs", "supervision"):
            out[k] = json.loads(v) if v else None
        else:
            out[k] = v
    out["alerts"] = alerts(out)
    return out


def alerts(s: dict[str, Any]) -> list[str]:
    found = []
    if s.get("state") == "failed":
        found.append(f"failed: {s.get('last_error') or 'see the log'}")
    if s.get("state") == "unreachable":
        found.append(s.get("last_error") or "no report")
    if s.get("state") == "reconnecting":
        found.append("output reconnecting")
    if (s.get("frames_dropped") or 0) > 0:
        found.append(f"{int(s['frames_dropped'])} frames dropped")
    if (s.get("render_dropped") or 0) > 0:
        found.append(f"{int(s['render_dropped'])} frames not rendered in time (host repeated a frame)")
    if s.get("av_offset_ms") is not None and abs(s["av_offset_ms"]) > 100:
        found.append(f"A/V offset {s['av_offset_ms']:.0f} ms")
    if (s.get("reply_p95_ms") or 0) > 5000:
        found.append(f"slow replies (p95 {s['reply_p95_ms'] / 1000:.1f} s)")
    for room in (s.get("chat") or {}).get("connectors", []):
        if room.get("state") in ("failed", "backing off"):
            found.append(f"chat {room.get('name')}: {room.get('state')}: {room.get('reason') or 'see the log'}")
    if (s.get("supervision") or {}).get("unattended"):
        found.append("nobody on duty: the channel holds until an operator is back (the platform requires one)")
    obs = s.get("obs") or {}
    if obs.get("state") in ("failed", "reconnecting"):
        found.append(f"OBS {obs['state']}: {obs.get('reason') or 'see the log'}")
    elif obs.get("state") == "live":
        if obs.get("why_holding") == "feed stalled":
            found.append("OBS shows the holding scene: the feed stalled")
        if obs.get("stream_reconnecting"):
            found.append("OBS's stream is reconnecting")
        if (obs.get("congestion") or 0) > 0.5:
            found.append(f"OBS stream congested ({obs['congestion']:.2f})")
        if obs.get("output_frames") and obs.get("output_skipped", 0) > 0.01 * obs["output_frames"]:
            found.append(f"OBS skipped {obs['output_skipped']} of {obs['output_frames']} output frames")
    if s.get("last_error") and s.get("state") != "failed":
        found.append(s["last_error"])
    return found


def sort_fleet(channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems on top: failed first, then other trouble, then by alert count, then by id."""
    def rank(c: dict[str, Any]) -> tuple:
        state = c.get("state", "")
        return (PROBLEM_STATES.index(state) if state in PROBLEM_STATES else len(PROBLEM_STATES),
                -len(c["alerts"]), c.get("id", ""))
    return sorted(channels, key=rank)
