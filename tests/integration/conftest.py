import pytest

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
