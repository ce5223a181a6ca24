"""livehost drives a real OBS (Debian obs-studio under Xvfb) that streams to a real nginx-rtmp; read back and checked."""

import asyncio
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.core.settings import Settings
from tests.env import store_from_env
from tests.integration.obs_studio import ObsStudio
from tests.integration.readback import decode
from tests.integration.rtmp_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

W, H = 360, 640


def _config(obs: ObsStudio, rtmp_server, feed_port: int, channel: str = "obs1") -> dict:
    return {"id": channel, "size": f"{W}x{H}", "voice": {"engine": "espeak"},
            "output": {"video_bitrate_kbps": 1200, "obs": {
                "websocket": obs.url, "password_env": "OBS_TEST_PASSWORD", "feed": f"udp://127.0.0.1:{feed_port}",
                "stall_seconds": 2, "stream": {"server": f"rtmp://127.0.0.1:{rtmp_server.port}/live",
                                               "key_env": "OBS_TEST_KEY"}}}}


def _obs_client(obs: ObsStudio):
    import obsws_python

    return obsws_python.ReqClient(host="127.0.0.1", port=obs.port, password=obs.password, timeout=5)


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _mouth_probe() -> tuple[int, int, int, int]:
    from streaming.avatar import Avatar2D

    x0, y0, x1, y1 = Avatar2D(W, H).mouth_box(0)
    return x0 - 12, y0 - 12, x1 + 12, y1 + 12


async def _read(url: str, seconds: float, **options):
    """Read OBS's stream from nginx; a player that joins as OBS starts may see only its audio: join again."""
    for attempt in range(3):
        try:
            return await asyncio.to_thread(decode, url, seconds=seconds, open_timeout=15, idle_timeout=4, **options)
        except IndexError:  # no video stream found yet
            if attempt == 2:
                raise
            await asyncio.sleep(1)


async def test_obs_streams_the_host_holds_on_takeover_and_recovers_after_a_restart(obs_studio, rtmp_server,
                                                                                  livehost_home):
    from streaming.avatar import Avatar2D

    store = store_from_env()
    environ = {"OBS_TEST_PASSWORD": obs_studio.password, "OBS_TEST_KEY": "obskey"}
    config = build_config(_config(obs_studio, rtmp_server, free_port()))
    session = ChannelSession(config, store, settings=Settings(home=livehost_home, environ=environ))
    run = asyncio.create_task(session.run(duration=None))
    obs = session.obs
    assert obs is not None
    url = rtmp_server.url("obskey")
    try:
        await _wait_for(lambda: obs.stats.get("stream_active"), 40, "OBS to stream")
        await _wait_for(lambda: session.ledger.spoken >= 1, 40, "a sentence on air")

        # OBS's stream, read back from nginx: the host's picture with its label, the voice, lips on time
        label = Avatar2D(W, H).label_box
        rb = await _read(url, 10, mouth_box=_mouth_probe(), crop_box=label, keep_luma=True)
        assert rb.error is None, rb.error
        assert (rb.video_codec, rb.audio_codec, rb.width, rb.height) == ("h264", "aac", W, H)
        assert len(rb.video_pts) > 150, f"{len(rb.video_pts)} frames in 10 s"
        assert rb.rms(rb.video_pts[0], rb.video_pts[-1]) > 0.01, "no speech in OBS's stream"
        assert all((crop > 200).sum() > 30 for crop in rb.crops), "a frame without the AI label"
        assert max(rb.mouth) > 50, "no speaking mouth in OBS's stream"
        lag = rb.lip_sync_lag()
        assert abs(lag) <= 2, f"lips off the voice by {lag} frames in OBS's stream"

        # the user's own source in livehost's scene is left alone on every (re)connect
        scene, source = config.output.obs.names(config.id)
        client = await asyncio.to_thread(_obs_client, obs_studio)
        await asyncio.to_thread(client.send, "CreateInput", {
            "sceneName": scene, "inputName": "my overlay", "inputKind": "color_source_v3",
            "inputSettings": {"color": 4278190335, "width": 40, "height": 40}, "sceneItemEnabled": True}, True)

        # takeover: OBS shows the holding scene (an empty one: black), and the host again on release
        session.takeover("back soon")
        await _wait_for(lambda: obs.status()["program"] == obs.holding_scene, 10, "the holding scene")
        program = await asyncio.to_thread(client.send, "GetCurrentProgramScene", None, True)
        assert program["currentProgramSceneName"] == "Be right back"
        await asyncio.sleep(1.5)
        held = await _read(url, 3, keep_luma=True)
        assert held.luma and max(held.luma[5:]) < 20, "OBS's stream is not the (empty) holding scene"
        session.release()
        await _wait_for(lambda: obs.status()["program"] == scene, 10, "the channel's scene again")
        client.disconnect()

        # OBS killed and restarted: livehost reconnects, sets the scene up again, streams again
        connects = obs.connects
        await asyncio.to_thread(obs_studio.kill)
        await _wait_for(lambda: obs.state == "reconnecting", 10, "the director to notice")
        await asyncio.to_thread(obs_studio.start)
        await _wait_for(lambda: obs.connects > connects and obs.stats.get("stream_active"), 60, "OBS back on air")
        # OBS streams as soon as it starts; its media source shows the host once it has probed the feed and
        # met a keyframe (seconds, more on a loaded machine): wait for the picture, then judge 6 s of it
        deadline = time.monotonic() + 45
        while True:
            probe = await _read(url, 2, keep_luma=True)
            if probe.luma and np.median(probe.luma) > 40:
                break
            assert time.monotonic() < deadline, (f"the host's picture is not back in OBS's stream ({obs.status()}); "
                                                 f"OBS's log ends: {obs_studio.log.read_text()[-1500:]}")
        again = await _read(url, 6, keep_luma=True)
        assert again.error is None, again.error
        assert len(again.video_pts) > 75 and np.median(again.luma) > 40, "the host is not back in OBS's stream"
        assert again.rms(again.video_pts[0], again.video_pts[-1]) > 0.005, "no sound after OBS restarted"
        client = await asyncio.to_thread(_obs_client, obs_studio)
        items = await asyncio.to_thread(client.send, "GetSceneItemList", {"sceneName": scene}, True)
        names = [i["sourceName"] for i in items["sceneItems"]]
        assert names.count(source) == 1, names
        client.disconnect()
        assert obs.status()["state"] == "live" and session.state != "failed"
    finally:
        session.request_stop()
        await asyncio.wait_for(run, 30)
        store.close()
    assert obs.state == "stopped"


def test_demo_with_obs_config_and_a_wrong_password(obs_studio, rtmp_server, livehost_home, tmp_path):
    """`livehost demo --config` puts the host in OBS; a wrong password is one clear error, never the secret."""
    import yaml

    cfg = tmp_path / "obs-channel.yaml"
    cfg.write_text(yaml.safe_dump(_config(obs_studio, rtmp_server, free_port(), "demo")))
    env = {**os.environ, "LIVEHOST_HOME": str(livehost_home), "OBS_TEST_PASSWORD": obs_studio.password,
           "OBS_TEST_KEY": "demokey"}
    demo = subprocess.run([sys.executable, "-m", "livehost", "demo", "--config", str(cfg), "--duration", "8",
                           "--no-console"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr[-3000:]
    client = _obs_client(obs_studio)
    scenes = [s["sceneName"] for s in client.send("GetSceneList", None, True)["scenes"]]
    assert "livehost demo" in scenes and "Be right back" in scenes
    assert client.send("GetCurrentProgramScene", None, True)["currentProgramSceneName"] == "Be right back"  # stopped
    client.disconnect()
    assert "output OBS at ws://127.0.0.1" in demo.stdout, demo.stdout
    assert obs_studio.password not in demo.stderr + demo.stdout and "demokey" not in demo.stderr + demo.stdout

    env["OBS_TEST_PASSWORD"] = "not-the-password"
    wrong = subprocess.run([sys.executable, "-m", "livehost", "demo", "--config", str(cfg), "--duration", "4",
                            "--no-console"], env=env, capture_output=True, text=True, timeout=120)
    assert "OBS refused the websocket password" in wrong.stderr
    assert wrong.stderr.count("OBS refused the websocket password") == 1, wrong.stderr[-2000:]
    assert "not-the-password" not in wrong.stderr + wrong.stdout
