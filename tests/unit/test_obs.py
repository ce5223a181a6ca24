"""The OBS director's decisions against a fake obs-websocket client; the config section's errors."""

import asyncio

import pytest
from pydantic import ValidationError

from livehost.app.config import build_config
from livehost.core.config import ConfigError
from streaming.config import ObsConfig
from streaming.output.obs import ObsAuthError, ObsDirector, media_settings


class FakeObs:
    """What the director asks of OBS, answered from a little model of OBS's state."""

    def __init__(self, *, inputs=None, media_state="OBS_MEDIA_STATE_PLAYING", streaming=False) -> None:
        self.scenes = {"Scene": []}
        self.inputs = dict(inputs or {})
        self.program = "Scene"
        self.media_state = media_state
        self.streaming = streaming
        self.calls: list[tuple[str, dict]] = []
        self.down = False

    def connect(self, url, password):
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        if password != "pw":
            raise ObsAuthError("OBS refused the websocket password (check password_env)")
        return self

    def close(self):
        pass

    def call(self, request, data=None):
        if self.down:
            raise ConnectionResetError("gone")
        data = data or {}
        self.calls.append((request, data))
        match request:
            case "GetVersion":
                return {"obsWebSocketVersion": "5.1.0"}
            case "GetSceneList":
                return {"scenes": [{"sceneName": n} for n in self.scenes]}
            case "CreateScene":
                self.scenes[data["sceneName"]] = []
            case "GetInputList":
                return {"inputs": [{"inputName": n, "inputKind": k} for n, k in self.inputs.items()]}
            case "CreateInput":
                self.inputs[data["inputName"]] = data["inputKind"]
                self.scenes[data["sceneName"]].append(data["inputName"])
                return {"sceneItemId": len(self.scenes[data["sceneName"]])}
            case "CreateSceneItem":
                self.scenes[data["sceneName"]].append(data["sourceName"])
                return {"sceneItemId": len(self.scenes[data["sceneName"]])}
            case "GetSceneItemList":
                return {"sceneItems": [{"sourceName": n} for n in self.scenes[data["sceneName"]]]}
            case "GetVideoSettings":
                return {"baseWidth": 360, "baseHeight": 640}
            case "SetCurrentProgramScene":
                self.program = data["sceneName"]
            case "GetStreamStatus":
                return {"outputActive": self.streaming, "outputCongestion": 0.25, "outputSkippedFrames": 3,
                        "outputTotalFrames": 100}
            case "StartStream":
                self.streaming = True
            case "GetStats":
                return {"activeFps": 25.0, "cpuUsage": 12.5, "renderSkippedFrames": 1, "renderTotalFrames": 500}
            case "GetMediaInputStatus":
                return {"mediaState": self.media_state}
        return {}

    def requests(self, name):
        return [d for r, d in self.calls if r == name]


def _director(fake: FakeObs, frames=lambda: 0, **config) -> ObsDirector:
    config = {"websocket": "ws://127.0.0.1:4455", "feed": "udp://127.0.0.1:9000", "stall_seconds": 0.5, **config}
    return ObsDirector(ObsConfig(**config), "ch1", password="pw", stream_key="key", frames_sent=frames, every=0.05,
                       connect=fake.connect)


async def _until(predicate, what: str, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_sets_up_scenes_and_source_once_and_keeps_the_users_sources():
    fake = FakeObs()
    fake.scenes["livehost ch1"] = ["my camera"]
    fake.inputs["my camera"] = "v4l2_input"
    count = iter(range(10**9))
    director = _director(fake, frames=lambda: next(count), stream={"server": "rtmp://x/live", "key_env": "K"})
    task = asyncio.create_task(director.run())
    try:
        await _until(lambda: director.stats, "a poll")
        assert fake.scenes["livehost ch1"] == ["my camera", "livehost feed ch1"]
        assert "Be right back" in fake.scenes
        assert fake.inputs["livehost feed ch1"] == "ffmpeg_source"
        assert fake.program == "livehost ch1"
        (service,) = fake.requests("SetStreamServiceSettings")
        assert service["streamServiceSettings"]["key"] == "key" and fake.streaming
        assert director.status()["congestion"] == 0.25 and director.status()["fps"] == 25.0
        # the user picks another scene by hand: left alone until livehost has a reason to switch
        fake.program = "Scene"
        await asyncio.sleep(0.2)
        assert fake.program == "Scene"
        director.hold("takeover")
        await _until(lambda: fake.program == "Be right back", "the holding scene")
        director.release()
        await _until(lambda: fake.program == "livehost ch1", "the channel's scene")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(fake.requests("CreateInput")) == 1


async def test_an_existing_media_source_is_updated_and_a_name_taken_by_another_kind_is_an_error():
    fake = FakeObs(inputs={"livehost feed ch1": "ffmpeg_source"})
    director = _director(fake, frames=iter(range(10**9)).__next__)
    task = asyncio.create_task(director.run())
    await _until(lambda: director.state == "live", "connected")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not fake.requests("CreateInput") and fake.requests("CreateSceneItem")
    (update,) = fake.requests("SetInputSettings")
    assert update["inputSettings"]["buffering_mb"] == 0 and update["overlay"] is True

    taken = FakeObs(inputs={"livehost feed ch1": "image_source"})
    director = _director(taken)
    task = asyncio.create_task(director.run())
    await _until(lambda: director.state == "failed", "the error")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert "already has a source named 'livehost feed ch1' of kind 'image_source'" in director.reason


async def test_a_stalled_feed_shows_the_holding_scene_and_its_return_the_channel():
    fake = FakeObs()
    frames = {"n": 0}
    director = _director(fake, frames=lambda: frames["n"])
    task = asyncio.create_task(director.run())
    try:
        await _until(lambda: fake.program == "Be right back", "the stall to show the holding scene")
        assert director.status()["why_holding"] == "feed stalled"
        frames["n"] = 1
        await _until(lambda: fake.program == "livehost ch1", "the feed's return")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_ended_media_source_is_restarted():
    fake = FakeObs(media_state="OBS_MEDIA_STATE_ENDED")
    director = _director(fake, frames=iter(range(10**9)).__next__)
    task = asyncio.create_task(director.run())
    try:
        await _until(lambda: fake.requests("TriggerMediaInputAction"), "a restart")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert fake.requests("TriggerMediaInputAction")[0]["mediaAction"].endswith("RESTART")


async def test_a_source_still_opening_is_given_time_before_a_restart():
    """Restarting a source that is still probing the feed would start its probing again: it would never play."""
    fake = FakeObs(media_state="OBS_MEDIA_STATE_OPENING")
    director = _director(fake, frames=iter(range(10**9)).__next__)
    director.OPENING_GRACE = 1.5
    task = asyncio.create_task(director.run())
    try:
        await _until(lambda: director.stats, "a poll")
        await asyncio.sleep(1.0)  # twice stall_seconds: an ended source would have been restarted by now
        assert not fake.requests("TriggerMediaInputAction")
        assert director.status()["media_state"] == "opening"
        await _until(lambda: fake.requests("TriggerMediaInputAction"), "a restart after the grace")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_obs_going_away_is_retried_with_backoff_and_a_wrong_password_fails_clearly():
    fake = FakeObs()
    director = _director(fake, frames=iter(range(10**9)).__next__)
    director.BACKOFF_START = 0.05
    task = asyncio.create_task(director.run())
    try:
        await _until(lambda: director.state == "live", "connected")
        fake.down = True
        await _until(lambda: director.state == "reconnecting", "the outage")
        assert "Connection" in director.reason and director.stats == {}
        fake.down = False
        await _until(lambda: director.state == "live" and director.connects == 2, "reconnected")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    wrong = ObsDirector(ObsConfig(), "ch1", password="nope", connect=FakeObs().connect)
    task = asyncio.create_task(wrong.run())
    await _until(lambda: wrong.state == "failed", "the refusal")
    assert wrong.status()["next_try"] > 50  # retried after a minute, not hammered
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_media_settings_read_the_feed_without_buffering():
    s = media_settings("udp://127.0.0.1:9000")
    assert s["input"].startswith("udp://127.0.0.1:9000?") and s["buffering_mb"] == 0 and not s["is_local_file"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("feed", "srt://127.0.0.1:9000", "SRT is not available"),
    ("feed", "udp://127.0.0.1", "udp://HOST:PORT"),
    ("feed", "udp://127.0.0.1:70000", "udp://HOST:PORT"),
    ("websocket", "http://127.0.0.1:4455", "websocket"),
    ("password_env", "OBS PASSWORD", "password_env"),
])
def test_bad_obs_settings_name_the_field_and_value(field, value, message):
    with pytest.raises(ConfigError) as e:
        build_config({"output": {"obs": {field: value}}})
    assert message in str(e.value) and f"output.obs.{field}" in str(e.value)


def test_url_and_obs_are_one_or_the_other_and_names_take_the_channel():
    with pytest.raises(ConfigError, match="the program goes to one place"):
        build_config({"output": {"url": "x.flv", "obs": {}}})
    config = build_config({"id": "shop7", "output": {"obs": {}}})
    assert config.output.obs.names("shop7") == ("livehost shop7", "livehost feed shop7")
    assert config.output.is_live and not config.output.is_rtmp
    assert config.output.target.startswith("OBS at ws://127.0.0.1:4455")
    assert build_config({"output": {"url": "rtmp://h/live/SECRET"}}).output.target == "rtmp://h/live/…"
    with pytest.raises(ValidationError):
        ObsConfig(stream={"server": "rtmp://x/live"})  # no key_env
