"""A real RTMP server for tests: Debian's nginx with libnginx-mod-rtmp, on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtmpServer:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.dir = workdir
        self.port = port or free_port()
        self.stat_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.dir.mkdir(parents=True, exist_ok=True)
        # master_process off: one process, so killing it really takes the port down.
        (self.dir / "nginx.conf").write_text(
            f"""load_module {MODULE};
daemon off;
master_process off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log info;
events {{ worker_connections 128; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.port};
    chunk_size 4096;
    application live {{ live on; meta copy; }}  # players get the publisher's own onMetaData
  }}
}}
http {{
  access_log off;
  server {{ listen 127.0.0.1:{self.stat_port}; location /stat {{ rtmp_stat all; }} }}
}}
"""
        )

    @staticmethod
    def available() -> str | None:
        if not shutil.which("nginx"):
            return "nginx is not installed (apt-get install nginx libnginx-mod-rtmp)"
        if not os.path.exists(MODULE):
            return "libnginx-mod-rtmp is not installed"
        return None

    def url(self, key: str = "test") -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir), "-e", str(self.dir / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def publishers(self, key: str = "test") -> int:
        """How many clients publish ``key`` now (nginx-rtmp's own statistics)."""
        import urllib.request
        import xml.etree.ElementTree as ET

        with urllib.request.urlopen(f"http://127.0.0.1:{self.stat_port}/stat", timeout=2) as r:
            root = ET.fromstring(r.read())
        return sum(1 for stream in root.iter("stream") if stream.findtext("name") == key
                   for client in stream.iter("client") if client.find("publishing") is not None)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.kill()
