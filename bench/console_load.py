"""Endurance: the console under load.  OPERATORS operators and VIEWERS live viewers on loopback for SECONDS.

A real channel (paced, to a file) and the console run in this process, as ``livehost serve`` runs them.  Locust
(a separate process: bench/console_locustfile.py) plays the users, each with their own API token:

  - operators with a channel page open: the fleet list, the channel's state, transcript, comments, history,
    picture, catalog and audit search, a test comment every few seconds and now and then a line to say;
  - viewers holding a server-sent-event stream (``/api/events``, half of them with ``?channel=``) for the whole run;
    each ``channels`` event is timed as the gap since the one before (the console sends one a second).

Reported: p50/p95/p99 latency of every API call and of the event gaps, request and failure counts, the process's
memory (RSS before, peak, after) and the channel's frames per second during the load.  Ratios against a baseline
measured in the same run before the load starts: the same API calls made one at a time (p95), and the channel's fps.
Fails on any failed request or 5xx, a broken event stream, or a channel that dropped frames.

Locust is not a livehost dependency; install it anywhere (a separate venv is fine) and pass --locust PATH, or
``pip install locust`` into this one.

    .venv/bin/python bench/console_load.py [--operators 50] [--viewers 500] [--seconds 300] [--locust PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._console import console_with_channel  # noqa: E402

HERE = Path(__file__).resolve().parent
BASELINE_PATHS = ["api/channels", "api/channels/demo", "api/channels/demo/transcript?limit=50",
                  "api/channels/demo/comments", "api/channels/demo/history", "api/channels/demo/frame.jpg"]


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _find_locust(given: str | None) -> str:
    for candidate in (given, shutil.which("locust"), str(Path(sys.executable).with_name("locust"))):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("locust is not installed: pip install locust (any venv), then --locust PATH/TO/locust")


async def _baseline(url: str, token: str, rounds: int = 40) -> dict[str, float]:
    """p95 ms of each API path, one request at a time, before the load."""
    found = {}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for path in BASELINE_PATHS:
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                async with http.get(url + path) as r:
                    await r.read()
                    assert r.status == 200, (path, r.status)
                times.append((time.perf_counter() - t0) * 1000)
            found[path] = _pct(times, 0.95)
    return found


async def main(args: argparse.Namespace) -> int:
    locust = _find_locust(args.locust)
    async with console_with_channel("livehost-load-") as rig:
        from dashboards.users import UserStore

        users = UserStore(rig.home)
        tokens: dict[str, list[str]] = {"operators": [], "viewers": []}
        for i in range(args.operators):
            users.add(f"op{i}", "operator")
            tokens["operators"].append(users.new_token(f"op{i}"))
        for i in range(max(1, args.viewers // 10)):  # ten dashboards per viewer account
            users.add(f"watcher{i}", "viewer")
            tokens["viewers"].append(users.new_token(f"watcher{i}"))
        token_file = rig.home / "load-tokens.json"
        token_file.write_text(json.dumps(tokens))
        session = None
        for _ in range(300):
            session = rig.runner.session
            if session is not None and session.encode.frames_sent > 50:
                break
            await asyncio.sleep(0.1)
        assert session is not None, "the channel did not start"

        base_api = await _baseline(rig.url, rig.token)
        f0, t0 = session.encode.frames_sent, time.monotonic()
        await asyncio.sleep(10)
        base_fps = (session.encode.frames_sent - f0) / (time.monotonic() - t0)
        rss_before = _rss_mb()
        print(f"baseline: channel {base_fps:.1f} fps; API p95 one at a time: "
              + ", ".join(f"/{p.split('?')[0]} {ms:.1f} ms" for p, ms in base_api.items()) + f"; RSS {rss_before:.0f} MB",
              flush=True)

        prefix = rig.home / "locust"
        env = {**os.environ, "LIVEHOST_LOAD_TOKENS": str(token_file), "LIVEHOST_LOAD_OPERATORS": str(args.operators),
               "LIVEHOST_LOAD_VIEWERS": str(args.viewers)}
        users_total = args.operators + args.viewers
        proc = await asyncio.create_subprocess_exec(
            locust, "-f", str(HERE / "console_locustfile.py"), "--headless", "--host", rig.url.rstrip("/"),
            "-u", str(users_total), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s", "--stop-timeout", "3",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        rss_peak, fps_samples = rss_before, []
        dropped0 = session.stats().frames_dropped
        output = asyncio.create_task(proc.stdout.read())
        ramp = users_total / args.spawn_rate + 5
        started = time.monotonic()
        while proc.returncode is None:
            f1, t1 = session.encode.frames_sent, time.monotonic()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                pass
            if time.monotonic() - started > ramp:  # every user connected: the load is on
                fps_samples.append((session.encode.frames_sent - f1) / (time.monotonic() - t1))
            rss_peak = max(rss_peak, _rss_mb())
            print(f"  {time.monotonic() - started:5.0f} s  RSS {_rss_mb():6.0f} MB  "
                  f"fps {fps_samples[-1] if fps_samples else 0:5.1f}", flush=True)
        text = (await output).decode(errors="replace")
        dropped = session.stats().frames_dropped - dropped0
        await asyncio.sleep(3)
        rss_after = _rss_mb()

    failures: list[str] = []
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    print(f"\n{'request':<48} {'count':>7} {'fail':>5} {'p50':>7} {'p95':>7} {'p99':>7}  (ms)")
    for r in rows:
        print(f"{r['Type'] + ' ' + r['Name']:<48} {r['Request Count']:>7} {r['Failure Count']:>5} "
              f"{r['50%']:>7} {r['95%']:>7} {r['99%']:>7}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    for r in csv.DictReader(open(f"{prefix}_failures.csv")):
        failures.append(f"{r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:200]}")
    api = [r for r in rows if r["Type"] in ("GET", "POST")]
    worst = max(api, key=lambda r: float(r["95%"] or 0))
    fps = statistics.mean(fps_samples) if fps_samples else 0.0
    print(f"\nrequests {total['Request Count']} ({float(total['Requests/s']):.0f}/s), failures {total['Failure Count']}")
    print(f"slowest API p95: {worst['Type']} {worst['Name']} {worst['95%']} ms")
    for r in api:
        path = next((p for p in BASELINE_PATHS if r["Type"] == "GET" and
                     r["Name"].replace("{id}", "demo") == "/" + p.split("?")[0]), None)
        if path:
            print(f"  {r['Name']}: p95 {r['95%']} ms under load, {base_api[path]:.1f} ms alone "
                  f"(ratio {float(r['95%']) / max(base_api[path], 0.1):.1f}x)")
    print(f"memory (RSS, console and channel in one process): {rss_before:.0f} MB before, peak {rss_peak:.0f} MB, "
          f"{rss_after:.0f} MB after")
    print(f"channel during the load: {fps:.1f} fps (baseline {base_fps:.1f}, ratio {fps / base_fps:.2f}), "
          f"{dropped} frames dropped")
    if "Traceback" in text:
        print(text[text.index("Traceback"):][:3000])
        failures.append("locust raised:\n" + text[-2000:])
    if dropped:
        failures.append(f"the channel dropped {dropped} frames under the load")
    print("FAILURES:\n  " + "\n  ".join(failures) if failures else "no failed request, no 5xx, every event stream held")
    return 1 if failures else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--operators", type=int, default=50)
    ap.add_argument("--viewers", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--spawn-rate", type=float, default=50.0, help="users started per second")
    ap.add_argument("--locust", help="the locust executable (default: on PATH or next to this Python)")
    sys.exit(asyncio.run(main(ap.parse_args())))
