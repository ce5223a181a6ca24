"""Benchmark: a demo channel's frames while anonymous clients flood its console with huge bodies.

The outside probe (issue 12, item 6) posted six 60 MB bodies at once to the
anonymous ``POST /login`` of a running demo: memory went from 536 to 988 MB and
the stream fell to 20 fps.  This runs ``livehost demo`` (paced, real time) twice
in the same run: once quiet (the baseline), once while ``--clients`` clients
keep posting ``--mb`` MB bodies to ``/login`` and ``/api/catalog/import``
without logging in; it prints frames sent, frames dropped, fps and the demo's
peak memory (VmHWM) for both, and their ratios.

    .venv/bin/python bench/console_flood.py [--seconds 30] [--clients 6] [--mb 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _flood(url: str, mb: int, stop: asyncio.Event, counts: dict[str, int]) -> None:
    chunk = b"x" * (1 << 20)

    async def body():
        for _ in range(mb):
            yield chunk

    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            for path, ctype in (("/login", "application/x-www-form-urlencoded"),
                                ("/api/catalog/import", "multipart/form-data; boundary=B")):
                try:
                    async with http.post(url + path, data=body(), headers={"Content-Type": ctype},
                                         timeout=aiohttp.ClientTimeout(total=30)) as r:
                        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
                except (aiohttp.ClientError, TimeoutError) as e:
                    counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1


async def _run(seconds: float, clients: int, mb: int) -> dict[str, float | dict]:
    port = _free_port()
    home = tempfile.mkdtemp(prefix="lh-flood-")
    out = Path(home) / "out.flv"
    env = {**os.environ, "LIVEHOST_HOME": home}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livehost", "demo", "--duration", str(seconds), "--quiet", "--output", str(out),
        "--size", "720x1280", "--console-port", str(port), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    counts: dict[str, int] = {}
    stop = asyncio.Event()
    peak = 0
    flooders: list[asyncio.Task] = []
    started = time.monotonic()
    while proc.returncode is None:
        if clients and not flooders and time.monotonic() - started > 5:
            flooders = [asyncio.create_task(_flood(url, mb, stop, counts)) for _ in range(clients)]
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status)[1]) // 1024)
        except (OSError, TypeError):
            pass
        try:
            await asyncio.wait_for(proc.wait(), 0.5)
        except TimeoutError:
            pass
    stop.set()
    for t in flooders:
        t.cancel()
    await asyncio.gather(*flooders, return_exceptions=True)
    text = (await proc.stdout.read()).decode(errors="replace")
    found = re.search(r"stopped after ([\d.]+)s of media: (\d+) frames sent, (\d+) dropped", text)
    if not found:
        raise SystemExit(f"demo did not report its frames:\n{text[-2000:]}")
    media, sent, dropped = float(found[1]), int(found[2]), int(found[3])
    return {"sent": sent, "dropped": dropped, "fps": sent / media, "peak_mib": peak, "answers": counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--mb", type=int, default=60)
    args = ap.parse_args()
    quiet = asyncio.run(_run(args.seconds, 0, args.mb))
    flood = asyncio.run(_run(args.seconds, args.clients, args.mb))
    for name, r in (("quiet", quiet), ("flooded", flood)):
        print(f"{name:8} frames {r['sent']:5d} sent, {r['dropped']:3d} dropped, {r['fps']:5.2f} fps, "
              f"peak {r['peak_mib']} MiB  {r['answers'] or ''}")
    print(f"ratio flooded/quiet: fps {flood['fps'] / quiet['fps']:.3f}, "
          f"peak memory {flood['peak_mib'] / max(1, quiet['peak_mib']):.3f}, dropped {flood['dropped']} vs {quiet['dropped']}")


if __name__ == "__main__":
    main()
