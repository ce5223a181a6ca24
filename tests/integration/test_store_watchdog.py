"""The embedded Redis goes when its users go, even killed ones (issue 12, item 13); a shared home keeps it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

HOLD = ("import sys, time\nfrom pathlib import Path\nfrom livehost.core.store import Store\n"
        "s = Store(None, Path(sys.argv[1])); c = s.sync(); c.ping(); print(s._embedded.pid, s.unix_socket, flush=True)\n"
        "time.sleep(600)\n")


def _holder(home: Path) -> tuple[subprocess.Popen, int, str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    pid, socket = proc.stdout.readline().split()
    return proc, int(pid), socket


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.25)
    return False


def _watchdogs() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if "livehost.core.redis_watchdog" in " ".join(p.info["cmdline"] or [])]


def test_a_killed_owner_does_not_leave_the_server_running(tmp_path):
    home = tmp_path / "home"
    proc, server, _socket = _holder(home)
    assert psutil.pid_exists(server)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _gone(server, 60), "redis-server still running a minute after its only user was killed"
    assert (home / "redis.db").exists()  # saved on the way out


def test_a_shared_home_keeps_the_server_while_anyone_uses_it(tmp_path):
    home = tmp_path / "home"
    first, server, socket = _holder(home)
    second, same, _socket = _holder(home)
    assert same == server
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert not _gone(server, 15), "the server stopped while another process was using it"
    os.kill(second.pid, signal.SIGKILL)
    second.wait()
    assert _gone(server, 60)
    deadline = time.monotonic() + 10  # the watchdog ends with its server
    while [p for p in _watchdogs() if socket in p.info["cmdline"]] and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not [p for p in _watchdogs() if socket in p.info["cmdline"]]
