"""Benchmark: a demo channel's frames while anonymous clients flood its console with huge bodies.

The outside probe (issue 12, item 6) posted six 60 MB bodies at once to the
anonymous ``POST /login`` of a running demo: memory went from 536 to 988 MB and
the stream fell to 20 fps.  This runs ``livehost demo`` (paced, real time) twice
in the same run: quiet (the baseline); while ``--clients`` clients post ``--mb``
MB bodies to a server of this script (the same CPU load on this machine, not
at the console); and while they post them to the demo's ``/login`` and
``/api/catalog/import`` without logging in.  It prints frames sent, frames
dropped, fps and the demo's peak memory (VmHWM) for each, and the ratios.

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
from aiohttp import web

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


async def _sink() -> tuple[web.AppRunner, str]:
    """A server that reads and drops every body: the same flood's CPU load, away from the console."""
    async def drop(request: web.Request) -> web.Response:
        async for _chunk in request.content.iter_chunked(1 << 16):
            pass
        return web.Response(status=413)

    app = web.Application()
    app.router.add_post("/{tail:.*}", drop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def _run(seconds: float, clients: int, mb: int, at_console: bool = True) -> dict[str, float | dict]:
    sink, sink_url = await _sink()
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
            target = url if at_console else sink_url
            flooders = [asyncio.create_task(_flood(target, mb, stop, counts)) for _ in range(clients)]
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
    await sink.cleanup()
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
    elsewhere = asyncio.run(_run(args.seconds, args.clients, args.mb, at_console=False))
    flood = asyncio.run(_run(args.seconds, args.clients, args.mb))
    for name, r in (("quiet", quiet), ("load", elsewhere), ("flooded", flood)):
        print(f"{name:8} frames {r['sent']:5d} sent, {r['dropped']:3d} dropped, {r['fps']:5.2f} fps, "
              f"peak {r['peak_mib']} MiB  {r['answers'] or ''}")
    print(f"ratio flooded/quiet: fps {flood['fps'] / quiet['fps']:.3f}, "
          f"peak memory {flood['peak_mib'] / max(1, quiet['peak_mib']):.3f}, dropped {flood['dropped']} vs {quiet['dropped']}")
    print(f"ratio flooded/load (the same flood sent to another server): fps {flood['fps'] / elsewhere['fps']:.3f}, "
          f"peak memory {flood['peak_mib'] / max(1, elsewhere['peak_mib']):.3f}")


if __name__ == "__main__":
    main()
