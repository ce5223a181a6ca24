"""Drive the streamer's OBS over obs-websocket v5 (``obsws-python``, GPL-3.0: the optional extra ``livehost[obs]``).

The :class:`ObsDirector` owns one websocket connection and does, idempotently
on every (re)connect:

- creates the channel's scene and the holding scene when missing, and in the
  channel's scene a media source (``ffmpeg_source``) reading the program feed
  with no buffering and quick reconnects; an existing source of that name is
  updated, the user's other sources are never touched;
- optionally sets OBS's stream service (custom RTMP server and key) and
  starts streaming;
- shows the channel's scene, or the holding scene while the channel is taken
  over or its feed stalls (no frame sent for ``stall_seconds``, or the media
  source ended or failed: it is restarted), and switches back on release or
  recovery.  A scene the user picked by hand is left alone until the next
  such change.

Once a second it mirrors OBS's state (streaming, reconnecting, congestion,
skipped frames, fps, CPU) for the console and metrics.  A dropped websocket
or an OBS restart is reconnected with exponential backoff and jitter; a
refused password is one clear error, retried every minute.  Secrets (the
password, the stream key) are never logged: obsws-python logs its
connection parameters and request payloads, so its loggers are silenced.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from streaming.config import ObsConfig

log = logging.getLogger(__name__)
for _name in ("obsws_python", "websocket"):  # they log the password and the stream key
    logging.getLogger(_name).setLevel(logging.CRITICAL + 1)

MEDIA_KIND = "ffmpeg_source"
PLAYING = "OBS_MEDIA_STATE_PLAYING"
STARTING = ("OBS_MEDIA_STATE_OPENING", "OBS_MEDIA_STATE_BUFFERING")  # on the way up: probing the feed, a keyframe
RESTART = "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART"
REQUEST_TIMEOUT = 5.0


class ObsError(Exception):
    """OBS refused what livehost needs (a wrong password, a name taken by another kind of source)."""


class ObsAuthError(ObsError):
    pass


def media_settings(feed: str) -> dict[str, Any]:
    """The media source's settings for a UDP feed: no buffering, reconnect after a second, never closed."""
    m = re.fullmatch(r"udp://(\[[0-9A-Fa-f:]+\]|[^/\s:]+):(\d{1,5})/?", feed)
    assert m, feed  # ObsConfig checked it
    return {
        "is_local_file": False,
        "input": f"udp://{m.group(1)}:{m.group(2)}?overrun_nonfatal=1&fifo_size=65536",
        "input_format": "mpegts",
        "buffering_mb": 0,  # no buffering: frames shown as they arrive
        "reconnect_delay_sec": 1,
        "restart_on_activate": False,
        "close_when_inactive": False,
        "clear_on_media_end": False,
        "hw_decode": False,
        "looping": False,
    }


class _Client:
    """One obs-websocket connection (blocking: called from a worker thread, one request at a time)."""

    def __init__(self, url: str, password: str | None) -> None:
        import obsws_python as obs  # the optional extra; checked at assembly
        from obsws_python.error import OBSSDKError

        m = re.fullmatch(r"ws://([^/\s:]+):(\d{1,5})/?", url)
        assert m, url  # ObsConfig checked it
        self._lock = threading.Lock()
        try:
            self._req = obs.ReqClient(host=m.group(1), port=int(m.group(2)), password=password or "",
                                      timeout=REQUEST_TIMEOUT)
        except OBSSDKError as e:
            if "no password" in str(e):
                raise ObsAuthError("OBS asks for a websocket password and none was given (set password_env)") from None
            raise ObsAuthError("OBS refused the websocket password (obs-websocket closed the connection during "
                               "identification; check password_env)") from None
        except Exception as e:
            if "4009" in str(e) or "Authentication" in str(e):
                raise ObsAuthError("OBS refused the websocket password (check password_env)") from None
            raise

    def call(self, request: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:  # one request and its answer at a time on the socket (the watch loop and close may overlap)
            return self._req.send(request, data, raw=True) or {}

    def close(self) -> None:
        try:
            self._req.base_client.ws.shutdown()  # also wakes a thread blocked in recv
        except Exception as e:  # noqa: BLE001 - already gone
            log.debug("closing the OBS websocket: %r", e)


Connect = Callable[[str, "str | None"], Any]


class ObsDirector:
    BACKOFF_START, BACKOFF_CAP, AUTH_RETRY = 1.0, 30.0, 60.0
    OPENING_GRACE = 15.0  # a source still opening is given this long (seconds) before it is restarted

    def __init__(self, config: ObsConfig, channel: str, *, password: str | None = None, stream_key: str | None = None,
                 frames_sent: Callable[[], int] = lambda: 0, every: float = 1.0, connect: Connect = _Client) -> None:
        self.config = config
        self.scene, self.source = config.names(channel)
        self.holding_scene = config.holding_scene
        self._password, self._stream_key = password, stream_key
        self._frames_sent = frames_sent
        self._connect = connect
        self.every = every
        self._client: Any = None
        self._held: str | None = None  # why the holding scene is wanted (takeover, stopped), None when not
        self._stalled = False
        self._shown: str | None = None  # the program scene livehost last set
        self._last_frames, self._last_progress = -1, time.monotonic()
        self._media_bad_since: float | None = None
        self._wake = asyncio.Event()
        self.state, self.reason = "connecting", ""
        self.next_try: float | None = None
        self.connects = 0
        self.stats: dict[str, Any] = {}
        self.switches: list[tuple[float, str, str]] = []  # (wall time, scene, why)
        self._closed = False

    # -- what the session asks ----------------------------------------------------------------
    def hold(self, reason: str) -> None:
        """Show the holding scene (takeover, the channel stopping) until :meth:`release`."""
        self._held = reason
        self._wake.set()

    def release(self) -> None:
        self._held = None
        self._wake.set()

    @property
    def wanted(self) -> str:
        return self.holding_scene if self._held or self._stalled else self.scene

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "scene": self.scene, "holding_scene": self.holding_scene,
                "program": self._shown or "", "holding": self.wanted == self.holding_scene,
                "why_holding": self._held or ("feed stalled" if self._stalled else ""),
                "next_try": round(self.next_try - time.time(), 1) if self.next_try else None,
                "connects": self.connects, **self.stats}

    # -- the connection loop --------------------------------------------------------------------
    async def run(self) -> None:
        delay = self.BACKOFF_START
        while not self._closed:
            up_since = None
            try:
                self.state, self.next_try = "connecting", None
                self._client = await asyncio.to_thread(self._connect, self.config.websocket, self._password)
                await asyncio.to_thread(self._prepare)
                up_since = time.monotonic()
                self.connects += 1
                self.state, self.reason = "live", ""
                log.info("OBS: connected; scene %r, feed %s", self._shown, self.config.feed)
                await self._watch()
            except ObsError as e:  # a wrong password, a name taken: the user must act
                if self._closed:
                    return
                if self.reason != str(e):
                    log.error("OBS: %s", e)
                self.state, self.reason = "failed", str(e)
                wait = self.AUTH_RETRY
            except Exception as e:  # noqa: BLE001 - OBS down, restarted or the websocket dropped: try again
                if self._closed:
                    return  # close() let go of the websocket: not an outage
                reason = _describe(e)
                if self.state != "reconnecting":
                    log.warning("OBS: %s; reconnecting with backoff", reason)
                self.state, self.reason = "reconnecting", reason
                if up_since is not None and time.monotonic() - up_since > 30:
                    delay = self.BACKOFF_START
                wait = random.uniform(delay / 2, delay)
                delay = min(delay * 2, self.BACKOFF_CAP)
            finally:
                self.stats = {}  # what OBS said is stale now
                await self._drop_client()
            self.next_try = time.time() + wait
            await asyncio.sleep(wait)

    async def close(self, *, timeout: float = 3.0) -> None:
        """Show the holding scene (when connected) and let go of the websocket; :meth:`run` then ends."""
        self._closed, self._held = True, "channel stopped"
        if self._client is not None and self.state == "live":
            try:
                await asyncio.wait_for(asyncio.to_thread(self._show, self.holding_scene, "channel stopped"), timeout)
            except Exception as e:  # noqa: BLE001 - best effort on the way out
                log.warning("OBS: could not show the holding scene on stop: %s", _describe(e))
        await self._drop_client()
        self.state = "stopped"

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def _watch(self) -> None:
        while True:
            self._check_feed()
            await asyncio.to_thread(self._poll)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.every)
            except TimeoutError:
                pass

    # -- blocking work (a worker thread) ---------------------------------------------------------
    def _call(self, request: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        client = self._client
        if client is None:
            raise ConnectionError("not connected")
        return client.call(request, data)

    def _prepare(self) -> None:
        version = self._call("GetVersion")
        if not str(version.get("obsWebSocketVersion", "5")).startswith("5"):
            raise ObsError(f"obs-websocket {version.get('obsWebSocketVersion')} is not version 5 (OBS 28 or newer)")
        scenes = {s["sceneName"] for s in self._call("GetSceneList").get("scenes", [])}
        for name in (self.scene, self.holding_scene):
            if name not in scenes:
                self._call("CreateScene", {"sceneName": name})
                log.info("OBS: created scene %r", name)
        inputs = {i["inputName"]: i.get("inputKind") for i in self._call("GetInputList").get("inputs", [])}
        settings = media_settings(self.config.feed)
        if self.source in inputs:
            if inputs[self.source] != MEDIA_KIND:
                raise ObsError(f"OBS already has a source named {self.source!r} of kind {inputs[self.source]!r}; "
                               f"livehost needs that name for its media source (set output.obs.source)")
            self._call("SetInputSettings", {"inputName": self.source, "inputSettings": settings, "overlay": True})
        items = self._call("GetSceneItemList", {"sceneName": self.scene}).get("sceneItems", [])
        if not any(i.get("sourceName") == self.source for i in items):
            if self.source in inputs:
                item = self._call("CreateSceneItem", {"sceneName": self.scene, "sourceName": self.source})
            else:
                item = self._call("CreateInput", {"sceneName": self.scene, "inputName": self.source,
                                                  "inputKind": MEDIA_KIND, "inputSettings": settings,
                                                  "sceneItemEnabled": True})
            self._fit(item["sceneItemId"])
            log.info("OBS: media source %r added to scene %r", self.source, self.scene)
        if self.config.stream is not None:
            stream = self._call("GetStreamStatus")
            if not stream.get("outputActive"):
                self._call("SetStreamServiceSettings", {"streamServiceType": "rtmp_custom", "streamServiceSettings": {
                    "server": self.config.stream.server, "key": self._stream_key or "", "use_auth": False}})
                self._call("StartStream")
                log.info("OBS: streaming to %s", self.config.stream.server)
        self._shown = None  # OBS may have restarted: set the program scene again
        self._show(self.wanted, self._held or ("feed stalled" if self._stalled else "connected"))

    def _fit(self, item_id: int) -> None:
        """A new item fills the canvas (keeping its aspect) and sits below the user's own sources."""
        video = self._call("GetVideoSettings")
        w, h = video.get("baseWidth", 1280), video.get("baseHeight", 720)
        self._call("SetSceneItemTransform", {"sceneName": self.scene, "sceneItemId": item_id, "sceneItemTransform": {
            "positionX": 0, "positionY": 0, "alignment": 5, "boundsType": "OBS_BOUNDS_SCALE_INNER",
            "boundsAlignment": 0, "boundsWidth": w, "boundsHeight": h}})
        self._call("SetSceneItemIndex", {"sceneName": self.scene, "sceneItemId": item_id, "sceneItemIndex": 0})

    def _show(self, scene: str, why: str) -> None:
        if scene == self._shown:
            return
        self._call("SetCurrentProgramScene", {"sceneName": scene})
        self._shown = scene
        self.switches.append((time.time(), scene, why))
        del self.switches[:-50]
        log.info("OBS: showing %r (%s)", scene, why)

    def _poll(self) -> None:
        stream = self._call("GetStreamStatus")
        stats = self._call("GetStats")
        media = self._call("GetMediaInputStatus", {"inputName": self.source})
        state = media.get("mediaState", "")
        now = time.monotonic()
        # an ended, stopped or failed source is restarted after stall_seconds; one still opening (probing the
        # UDP feed, waiting for a keyframe: seconds on a loaded machine) is given longer, or each restart
        # would begin its probing again and the source never plays
        grace = max(self.OPENING_GRACE, self.config.stall_seconds) if state in STARTING else self.config.stall_seconds
        if state == PLAYING or not state:
            self._media_bad_since = None
        elif self._media_bad_since is None:
            self._media_bad_since = now
        elif now - self._media_bad_since > grace:
            log.warning("OBS: the media source is %s after %.0f s; restarting it", state, now - self._media_bad_since)
            self._call("TriggerMediaInputAction", {"inputName": self.source, "mediaAction": RESTART})
            self._media_bad_since = now
        self.stats = {
            "stream_active": bool(stream.get("outputActive")),
            "stream_reconnecting": bool(stream.get("outputReconnecting")),
            "congestion": round(float(stream.get("outputCongestion") or 0), 3),
            "output_skipped": int(stream.get("outputSkippedFrames") or 0),
            "output_frames": int(stream.get("outputTotalFrames") or 0),
            "output_bytes": int(stream.get("outputBytes") or 0),
            "render_skipped": int(stats.get("renderSkippedFrames") or 0),
            "render_frames": int(stats.get("renderTotalFrames") or 0),
            "fps": round(float(stats.get("activeFps") or 0), 2),
            "cpu": round(float(stats.get("cpuUsage") or 0), 1),
            "media_state": state.removeprefix("OBS_MEDIA_STATE_").lower(),
        }
        self._show(self.wanted, self._held or ("feed stalled" if self._stalled else "feed back"))

    def _check_feed(self) -> None:
        """The feed stalls when livehost sends no frame for ``stall_seconds``."""
        frames, now = self._frames_sent(), time.monotonic()
        if frames != self._last_frames:
            self._last_frames, self._last_progress = frames, now
            if self._stalled:
                log.info("OBS: the feed is back")
            self._stalled = False
        elif now - self._last_progress > self.config.stall_seconds and not self._stalled:
            log.warning("OBS: no frame for %.1f s; showing the holding scene", now - self._last_progress)
            self._stalled = True


def _describe(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
