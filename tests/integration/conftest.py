import pytest

from tests.integration.obs_studio import ObsStudio
from tests.integration.rtmp_server import RtmpServer


@pytest.fixture
def rtmp_server(tmp_path):
    why = RtmpServer.available()
    if why:
        pytest.fail(f"integration tests need the RTMP server: {why}")
    server = RtmpServer(tmp_path / "nginx")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def obs_studio(tmp_path):
    """Real OBS under Xvfb (360x640 canvas, 25 fps), its websocket on a free port with a password."""
    why = ObsStudio.available()
    if why:
        pytest.fail(f"the OBS tests need OBS Studio: {why}")
    obs = ObsStudio(tmp_path / "obs", width=360, height=640)
    obs.start()
    yield obs
    obs.stop()
