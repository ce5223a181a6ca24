"""Real OBS Studio for tests: Debian's obs-studio headless under Xvfb, configured by files in a temporary HOME.

The canvas is small (software OpenGL renders a 720p media source at ~11 fps
on these machines); the websocket listens on every address, so it always
has a password.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.integration.rtmp_server import free_port


class ObsStudio:
    def __init__(self, workdir: Path, *, width: int = 360, height: int = 640, fps: int = 25,
                 password: str = "obs-test-password") -> None:
        self.dir = workdir
        self.home = workdir / "home"
        self.port = free_port()
        self.password = password
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "obs.log"
        config = self.home / ".config" / "obs-studio"
        (config / "basic" / "profiles" / "livehost").mkdir(parents=True, exist_ok=True)
        (config / "basic" / "scenes").mkdir(parents=True, exist_ok=True)
        (config / "global.ini").write_text(f"""[General]
FirstRun=true
LastVersion=486539266
[Basic]
Profile=livehost
ProfileDir=livehost
SceneCollection=livehost
SceneCollectionFile=livehost
ConfigOnNewProfile=false
[OBSWebSocket]
FirstLoad=false
ServerEnabled=true
ServerPort={self.port}
AlertsEnabled=false
AuthRequired=true
ServerPassword={password}
""")
        (config / "basic" / "profiles" / "livehost" / "basic.ini").write_text(f"""[General]
Name=livehost
[Video]
BaseCX={width}
BaseCY={height}
OutputCX={width}
OutputCY={height}
FPSType=1
FPSInt={fps}
[Audio]
SampleRate=48000
ChannelSetup=Stereo
[Output]
Mode=Simple
[SimpleOutput]
VBitrate=1200
ABitrate=128
StreamEncoder=x264
Preset=veryfast
""")

    @staticmethod
    def available() -> str | None:
        for tool, package in (("obs", "obs-studio"), ("xvfb-run", "xvfb")):
            if not shutil.which(tool):
                return f"{tool} is not installed (apt-get install {package})"
        return None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "HOME": str(self.home), "LIBGL_ALWAYS_SOFTWARE": "1", "QT_QPA_PLATFORM": "xcb"}
        env.pop("XDG_CONFIG_HOME", None)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", "obs", "--multi", "--disable-updater",
                 "--minimize-to-tray"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"OBS exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"OBS's websocket did not come up: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL OBS and its Xvfb (the whole process group)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the port is free again once OBS is really gone
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.1)
            except OSError:
                return

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
