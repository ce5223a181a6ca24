"""Stops an embedded redis-server once no process uses it, whoever started it and however they ended.

``livehost`` processes on one home share one embedded server (:mod:`livehost.core.store`), and the
last one to close its store stops it.  A process killed with SIGKILL closes nothing, so the server
would stay up, adopted by init, until the next command on that home.  Every store on an embedded
server makes sure one watchdog runs beside it (:func:`ensure`): a small detached process that asks
the server every second who is connected and, after :data:`GRACE` seconds with nobody but
watchdogs, tells it to save and shut down.  The kernel closes a killed process's sockets, so its
connections are gone at once; a process that still runs keeps the server, which is what keeps the
shared-home case working.  The watchdog ends when the server does.

    python -m livehost.core.redis_watchdog SOCKET [GRACE]
"""

from __future__ import annotations

import subprocess
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

NAME = "livehost-watchdog"
GRACE = 10.0  # seconds with no client before the server is stopped
POLL = 1.0


def _connect(socket_path: str) -> redis.Redis:
    return redis.Redis(protocol=2, unix_socket_path=socket_path, client_name=NAME, socket_timeout=10,
                       retry=Retry(NoBackoff(), 0))


def ensure(socket_path: str, admin: redis.Redis) -> bool:
    """Start a watchdog for the server at ``socket_path`` unless one is connected; whether one was started.

    Two stores starting at once may both start one; watchdogs ignore each other, so that is harmless.
    """
    if any(c.get("name") == NAME for c in admin.client_list()):
        return False
    subprocess.Popen(  # detached: it must outlive whoever started it
        [sys.executable, "-m", "livehost.core.redis_watchdog", socket_path],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )
    return True


def watch(socket_path: str, grace: float = GRACE) -> int:
    """Poll until the server is gone or has been unused for ``grace`` seconds (then stop it)."""
    server = _connect(socket_path)
    idle_since: float | None = None
    while True:
        try:
            users = [c for c in server.client_list() if c.get("name") != NAME]
            if users:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= grace:
                server.shutdown(save=True)
                return 0
        except redis.ConnectionError:
            return 0  # the server has stopped (the last store closed it), or was stopped by someone
        except redis.RedisError as e:
            print(f"livehost redis watchdog: {e}", file=sys.stderr)
            return 1
        time.sleep(POLL)


if __name__ == "__main__":
    sys.exit(watch(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else GRACE))
