"""A fleet on Ray: ``livehost serve --config fleet.yaml --cluster ADDRESS``.

Channels run in host actors, :class:`NodeHost`: one per GPU on a node with GPUs, one per node without.  A host runs
many channels in one process, so the channels on one GPU share its batched renderer (the process's render service,
as in-process ``serve`` does).  The serving process, the Ray driver, places each channel on a host
(:func:`place`): by what its config implies (:func:`channel_resources`: a CPU share, a GPU share for a photoreal or
neural host, and any custom resource named in ``placement.resources``, such as a region or a platform's egress),
against what each node offers, least loaded node first.  Every second it tells each host which channels it should
run; the host starts those (once the channel's lease is free: see :mod:`livehost.core.lease`) and reports how they
run.  When a node is gone, its channels are placed on the other nodes: the dead node's leases run out after their
TTL, the new host takes them, goes on after the last sentence spoken (:mod:`livehost.app.checkpoint`) and reconnects
outputs and chat.  A host whose process dies on a live node is restarted there by Ray and starts its channels again.

Hosts are detached: they stay on air if the serving process dies, and the next ``livehost serve`` of the fleet
finds them by name and learns what they run.  Where each channel runs goes to ``livehost:placement:<channel>``.
All nodes share one Redis: ``LIVEHOST_REDIS_URL``.  Without it, the embedded Redis's unix socket is used, which
only hosts on this machine can reach.

The head node holds Ray's control store (GCS).  If the head dies, the hosts keep running but nothing is placed
again until it is back.  Run GCS fault tolerance with an external Redis (``RAY_REDIS_ADDRESS`` on the head) to
keep that state across a head restart: see the README's "A fleet on Ray".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

from livehost.app.config import ChannelConfig, build_config
from livehost.app.control.protocol import record_action
from livehost.app.fleet import Fleet
from livehost.core import keys
from livehost.core.config import ConfigError
from livehost.core.lease import ChannelLease
from livehost.core.settings import Settings
from livehost.core.store import Store, as_text, as_texts

log = logging.getLogger(__name__)

ENSURE_EVERY = 1.0  # seconds between two rounds of telling the hosts what to run
ENSURE_TIMEOUT = 20.0  # a host that does not answer in this long is reported (its answer is waited for no longer)
PLACEMENT_TTL = 30  # seconds a placement record outlives its last refresh
BUILTIN = ("CPU", "GPU", "memory", "object_store_memory")


def channel_resources(config: ChannelConfig) -> dict[str, Any]:
    """What a channel asks of a node: ``num_cpus``, ``num_gpus`` and custom ``resources``."""
    p = config.placement
    photoreal = config.avatar is not None
    gpu = p.gpu if p.gpu is not None else (0.25 if photoreal and config.render.device != "cpu" else 0.0)
    # measured (README, "Benchmark"): the drawn host 0.16 CPU s per second at 720x1280@25, the sample-based
    # photoreal host about 0.5 on the CPU; shares with headroom for speech synthesis and the relay
    cpu = p.cpu if p.cpu is not None else (0.75 if photoreal else 0.25)
    return {"num_cpus": cpu, "num_gpus": gpu, "resources": dict(p.resources)}


@dataclass(frozen=True)
class Slot:
    """Where a host actor runs: a node and, on a node with GPUs, one of them."""

    node: str  # Ray node id
    gpu: int | None = None  # the GPU's index on the node; None: the host of a node without GPUs

    @property
    def name(self) -> str:
        return f"host:{self.node[:16]}" + (f":gpu{self.gpu}" if self.gpu is not None else "")


def slots_of(nodes: dict[str, dict[str, float]]) -> list[Slot]:
    """One host per GPU of each node, one per node without GPUs."""
    found = []
    for node, offers in nodes.items():
        gpus = int(offers.get("GPU", 0))
        found += [Slot(node, i) for i in range(gpus)] if gpus else [Slot(node)]
    return found


def place(asks: dict[str, dict[str, Any]], nodes: dict[str, dict[str, float]], placed: dict[str, Slot],
          prefer: dict[str, str] | None = None) -> tuple[dict[str, Slot], dict[str, str]]:
    """Place every channel of ``asks`` (channel -> :func:`channel_resources`) that ``placed`` does not already put
    on a live node.  A node takes channels while the CPU shares and custom resources they ask for fit in what it
    offers; a channel asking for a GPU share goes to a GPU's host whose shares still fit in 1.  The least loaded node
    (by CPU) wins, then its host with the fewest channels; ``prefer`` (channel -> node id or its prefix) restricts a
    channel to one node.  Returns the whole placement and, for each channel that fits nowhere, why."""
    prefer = prefer or {}
    result = {cid: slot for cid, slot in placed.items() if slot.node in nodes and cid in asks}
    used: dict[str, dict[str, float]] = {node: {} for node in nodes}
    gpu_used: dict[Slot, float] = {}
    count: dict[Slot, int] = {}

    def take(cid: str, slot: Slot) -> None:
        ask, u = asks[cid], used[slot.node]
        u["CPU"] = u.get("CPU", 0.0) + ask["num_cpus"]
        for name, amount in ask["resources"].items():
            u[name] = u.get(name, 0.0) + amount
        gpu_used[slot] = gpu_used.get(slot, 0.0) + ask["num_gpus"]
        count[slot] = count.get(slot, 0) + 1

    for cid, slot in result.items():
        take(cid, slot)
    slots = slots_of(nodes)
    why: dict[str, str] = {}
    for cid, ask in asks.items():
        if cid in result:
            continue
        want = prefer.get(cid, "")
        fits = []
        for slot in slots:
            offers, u = nodes[slot.node], used[slot.node]
            if want and not slot.node.startswith(want):
                continue
            if u.get("CPU", 0.0) + ask["num_cpus"] > offers.get("CPU", 0.0) + 1e-9:
                continue
            if any(u.get(name, 0.0) + amount > offers.get(name, 0.0) + 1e-9 for name, amount in ask["resources"].items()):
                continue
            if ask["num_gpus"] and (slot.gpu is None or gpu_used.get(slot, 0.0) + ask["num_gpus"] > 1 + 1e-9):
                continue
            fits.append(slot)
        if not fits:
            needs = ", ".join([f"cpu {ask['num_cpus']}", *([f"gpu {ask['num_gpus']}"] if ask["num_gpus"] else []),
                               *(f"{k} {v}" for k, v in ask["resources"].items())])
            why[cid] = f"no{' such' if want else ''} node has room for it ({needs}{f' on node {want}' if want else ''})"
            continue
        best = min(fits, key=lambda s: (used[s.node].get("CPU", 0.0) / max(nodes[s.node].get("CPU", 1.0), 1e-9),
                                        count.get(s, 0), s.node, s.gpu or 0))
        result[cid] = best
        take(cid, best)
    return result, why


@dataclass
class _Hosted:
    """One channel in a host: its runner and control plane, and how it came here."""

    config: ChannelConfig
    runner: Any
    control: asyncio.Task
    lease: ChannelLease  # to read who holds the channel's lease
    run: bool  # start it here (autostart, or it was on air where it ran before)
    failover: bool = False  # placed here because its node was lost
    waiting: str = ""
    leaving: asyncio.Task | None = None  # drained, then closed: placed elsewhere


class NodeHost:
    """A Ray actor running many channels in one process: one per GPU, or one per node without.

    The serving process calls :meth:`ensure` every second with the channels this host should run; the host starts
    each (when its lease is free), drains at a sentence boundary the ones placed elsewhere, and reports them.
    """

    def __init__(self, environ: dict[str, str], slot: str) -> None:
        import ray

        self.settings = Settings.from_env(environ)
        self.slot = slot
        context = ray.get_runtime_context()
        self.node_id = context.get_node_id()
        self.restarted = bool(context.was_current_actor_reconstructed)
        node: dict[str, Any] = next((n for n in ray.nodes() if n.get("NodeID") == self.node_id), {})
        self.node = {"id": self.node_id, "ip": node.get("NodeManagerAddress", ""), "host": socket.gethostname(),
                     "resources": sorted(k for k in node.get("Resources", {}) if not k.startswith("node:")
                                         and k not in BUILTIN)}
        # what the console's fleet page shows in "Runs on"
        os.environ["LIVEHOST_NODE"] = (f"{self.node['ip']} node {self.node_id[:8]}"
                                       + (f" ({', '.join(self.node['resources'])})" if self.node["resources"] else "")
                                       + f" pid {os.getpid()}")
        self.channels: dict[str, _Hosted] = {}
        self.store: Store | None = None
        self._coord: Any = None  # one Redis client for the lease reads

    def running(self) -> list[str]:
        """The channels this host runs (what a new serving process learns when it attaches)."""
        return [cid for cid, h in self.channels.items() if h.leaving is None and h.runner.running]

    async def ensure(self, wanted: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Run the ``wanted`` channels (id -> {"config", "run", "failover"}) and no other; report each."""
        from livehost.app.runner import ChannelRunner
        from livehost.app.session import ChannelSession

        if self.store is None:
            self.store = Store(self.settings.redis_url, self.settings.home)
            self._coord = self.store.aio()
        settings = self.settings
        for cid, h in list(self.channels.items()):
            if h.leaving is not None and h.leaving.done():
                del self.channels[cid]
            elif cid not in wanted and h.leaving is None:
                h.leaving = asyncio.create_task(self._leave(h), name=f"leave {cid}")
        report: dict[str, Any] = {}
        for cid, want in wanted.items():
            found = self.channels.get(cid)
            if found is not None and found.leaving is not None:
                continue  # still draining from an earlier placement: taken up again once it is gone
            if found is not None:
                h = found
            else:
                config = build_config(want["config"])
                if "on_store_outage" not in config.lease.model_fields_set:
                    # on a cluster another node may still reach Redis when this one cannot: stop when the lease runs out
                    config = config.model_copy(update={"lease": config.lease.model_copy(update={"on_store_outage": "stop"})})
                runner = ChannelRunner(config, self.store, lambda c, s: ChannelSession(c, s, settings=settings))
                h = self.channels[cid] = _Hosted(config, runner, asyncio.create_task(runner.control_plane(),
                                                                                     name=f"control {cid}"),
                                                 ChannelLease(self._coord, cid), bool(want.get("run", True)))
            h.failover = h.failover or bool(want.get("failover"))
            r = h.runner
            fresh = r.runs == 0 and h.run
            retry = r.failed and "on air elsewhere" in (r.last_error or "")
            if not r.running and r.stopped_by is None and (fresh or retry):
                held = await h.lease.info()
                if held is not None:
                    h.waiting = f"waiting for the lease: {held.holder} holds it ({held.ttl_left:.1f} s left)"
                else:
                    h.waiting = ""
                    try:
                        r.start()
                    except ConfigError as e:
                        log.error("%s", e)
            report[cid] = {"channel": cid, "node": self.node, "host": self.slot, "pid": os.getpid(),
                           "restarted": self.restarted or h.failover, "state": str(r.state), "runs": r.runs,
                           "waiting": h.waiting, "error": r.last_error or ""}
        return {"node": self.node, "host": self.slot, "pid": os.getpid(), "channels": report,
                "leaving": sorted(cid for cid, h in self.channels.items() if h.leaving is not None)}

    async def _leave(self, h: _Hosted) -> str:
        """Placed elsewhere: finish the sentence on air, stop (the lease is released), close."""
        detail = "not running"
        r = h.runner
        if r.session is not None and r.running:
            r.stopped_by = "move"
            detail = await r.session.drain()
            await r.wait_ended()
        await r.close()
        h.control.cancel()
        await asyncio.gather(h.control, return_exceptions=True)
        log.info("channel %s left this host: %s", h.config.id, detail)
        return detail

    async def stop(self) -> None:
        for h in self.channels.values():
            if h.leaving is not None:
                await asyncio.gather(h.leaving, return_exceptions=True)
            else:
                await h.runner.close()
                h.control.cancel()
                await asyncio.gather(h.control, return_exceptions=True)
        self.channels.clear()
        if self._coord is not None:
            await self._coord.aclose()
        if self.store is not None:
            self.store.close()


def _host_class() -> Any:
    import ray

    # restarted in place when its process dies on a live node; calls fail at once meanwhile (the driver retries)
    return ray.remote(max_restarts=-1, max_task_retries=0)(NodeHost)


def redis_url_for_nodes(settings: Settings, store: Store) -> str:
    if settings.redis_url:
        return settings.redis_url
    socket_path = store.unix_socket
    if not socket_path:
        raise ConfigError("--cluster: the nodes need a Redis they can all reach: set LIVEHOST_REDIS_URL")
    log.warning("--cluster without LIVEHOST_REDIS_URL: the embedded Redis (%s) is reachable from this machine only",
                socket_path)
    return f"unix://{socket_path}"


async def run_cluster(fleet: Fleet, settings: Settings, address: str, *, console: Any = None,
                      duration: float | None = None) -> int:
    """Serve the fleet's channels on the Ray cluster at ``address`` (and the console here) until a signal."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not fleet.channels and console is None:
        raise ConfigError("nothing to run: no channels and --no-console")
    store = Store(settings.redis_url, settings.home)
    environ = {**settings.environ, "LIVEHOST_REDIS_URL": redis_url_for_nodes(settings, store),
               "LIVEHOST_HOME": str(settings.home)}
    try:
        ray.init(address=address, namespace="livehost", log_to_driver=False, logging_level=logging.WARNING,
                 include_dashboard=False)
    except Exception as e:  # noqa: BLE001 - Ray's own errors vary by version: say where and what
        store.close()
        raise ConfigError(f"--cluster {address!r}: cannot join the Ray cluster: {e}") from None

    def nodes_now() -> dict[str, dict[str, float]]:
        return {n["NodeID"]: n["Resources"] for n in ray.nodes() if n.get("Alive")}

    nodes = nodes_now()
    print(f"livehost: Ray cluster at {address}: {len(nodes)} node(s), "
          f"{sum(r.get('CPU', 0) for r in nodes.values()):.0f} CPUs, "
          f"{sum(r.get('GPU', 0) for r in nodes.values()):.0f} GPUs", flush=True)
    configs = {config.id: (config, autostart) for config, autostart in fleet.channels}
    dumped = {cid: config.model_dump(mode="json") for cid, (config, _) in configs.items()}  # once, not every round
    asks = {cid: channel_resources(config) for cid, (config, _) in configs.items()}
    host_class = _host_class()
    hosts: dict[Slot, Any] = {}

    def host_for(slot: Slot) -> Any:
        # detached: channels outlive this process (a crash or restart of `serve` leaves them on air, and the next
        # `serve` finds the hosts by name); pinned to its node: when the node is gone, its channels are placed anew
        return host_class.options(name=slot.name, namespace="livehost", lifetime="detached", get_if_exists=True,
                                  num_cpus=0, num_gpus=0 if slot.gpu is None else 1,
                                  scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=slot.node, soft=False),
                                  ).remote(environ, slot.name)

    placed: dict[str, Slot] = {}
    for slot in slots_of(nodes):  # a serving process before this one may have left channels on air
        try:
            existing = ray.get_actor(slot.name, namespace="livehost")
        except ValueError:
            continue
        hosts[slot] = existing
        try:
            running: list[str] = await asyncio.wait_for(existing.running.remote(), ENSURE_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - a host being restarted: it gets its channels in the next rounds
            print(f"livehost: host {slot.name} did not say what it runs: {type(e).__name__}", flush=True)
            continue
        for cid in running:
            if cid in configs:
                placed[cid] = slot
                print(f"livehost: channel {cid!r} is on air on {slot.name}: attached", flush=True)
    failover: set[str] = set()  # placed anew because their node was lost
    prefer: dict[str, str] = {}  # channel -> node asked by a move
    was_running: set[str] = set()
    unplaced: dict[str, str] = {}
    where: dict[str, str] = {}
    inflight: dict[Slot, asyncio.Task] = {}

    def wanted_by(slot: Slot) -> dict[str, dict[str, Any]]:
        return {cid: {"config": dumped[cid], "failover": cid in failover,
                      "run": configs[cid][1] or cid in was_running}
                for cid, s in placed.items() if s == slot}

    def replace(fresh: dict[str, dict[str, float]]) -> None:
        """Drop the hosts of lost nodes, add hosts for new ones, and place every channel that has no place."""
        nonlocal placed
        for slot in [s for s in hosts if s.node not in fresh]:
            del hosts[slot]
            task = inflight.pop(slot, None)
            if task is not None:
                task.cancel()
            lost = sorted(cid for cid, s in placed.items() if s == slot)
            for cid in lost:
                del placed[cid]
                failover.add(cid)
            print(f"livehost: node {slot.node[:8]} is gone ({slot.name}); placing its channels elsewhere: "
                  f"{', '.join(lost) or 'none'}", flush=True)
        for cid in [c for c, node in prefer.items() if node not in fresh]:
            del prefer[cid]  # the node a move asked for is gone: anywhere will do
        for slot in slots_of(fresh):
            if slot not in hosts:
                hosts[slot] = host_for(slot)
        placed, why = place(asks, fresh, placed, prefer)
        for cid, reason in why.items():
            if unplaced.get(cid) != reason:
                print(f"livehost: channel {cid!r} cannot be placed: {reason}", flush=True)
        unplaced.clear()
        unplaced.update(why)

    async def move(cid: str, to: str, by: str) -> None:
        """Place the channel on another node (``to``, a node id or its prefix; else the least busy other one).  Its
        host drains it at the end of the sentence on air; the new host takes the released lease and goes on."""
        current = placed.get(cid)
        fresh = await asyncio.to_thread(nodes_now)
        others = {n: r for n, r in fresh.items() if current is None or n != current.node}
        trial, why = place({cid: asks[cid]}, others, {}, {cid: to} if to else None)
        if cid in why or cid not in trial:
            detail = f"no other node to move to: {why.get(cid, 'none')}"
            await record_action(client, cid, "move", user=by, ok=False, detail=detail)
            print(f"livehost: channel {cid!r}: not moved: {detail}", flush=True)
            return
        target = trial[cid].node
        prefer[cid] = target
        placed.pop(cid, None)
        replace(fresh)
        detail = (f"node {current.node[:8] if current else '-'} -> {target[:8]}: drains at the end of the sentence "
                  "on air, then goes on there")
        await record_action(client, cid, "move", user=by, ok=True, detail=detail)
        print(f"livehost: channel {cid!r} moved by {by}: {detail}", flush=True)

    async def ensure(slot: Slot, handle: Any) -> dict[str, Any]:
        return await asyncio.wait_for(handle.ensure.remote(wanted_by(slot)), ENSURE_TIMEOUT)

    quit_ = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, quit_.set)
    web = None
    client = store.aio()
    started = time.monotonic()
    newest: Any = await client.xrevrange(keys.MOVES, count=1)
    last_move = as_text(newest[0][0]) if newest else "0-0"  # moves asked from now on
    try:
        if console is not None:
            web, url = await console.start(store, settings, fleet.console_host, fleet.console_port)
            print(f"livehost: console at {url}", flush=True)
        while not quit_.is_set() and (duration is None or time.monotonic() - started < duration):
            got: Any = await client.xread({keys.MOVES: last_move}, count=100)
            for _stream, entries in got or ():
                for entry_id, fields in entries:
                    last_move = as_text(entry_id)
                    f = as_texts(fields)
                    if f.get("channel", "") in configs:
                        await move(f["channel"], f.get("to", ""), f.get("by", ""))
            nodes_seen = await asyncio.to_thread(nodes_now)
            replace(nodes_seen)
            for slot, handle in hosts.items():
                if slot not in inflight:
                    inflight[slot] = asyncio.create_task(ensure(slot, handle), name=f"ensure {slot.name}")
            try:
                await asyncio.wait_for(quit_.wait(), ENSURE_EVERY)
            except TimeoutError:
                pass
            for slot, task in list(inflight.items()):
                if not task.done():
                    continue
                del inflight[slot]
                if task.cancelled():
                    continue
                error = task.exception()
                if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
                    print(f"livehost: host {slot.name} did not answer in {ENSURE_TIMEOUT:.0f} s", flush=True)
                elif error is not None:  # a host being restarted, or its node going: Ray says so in its own words
                    print(f"livehost: host {slot.name}: {type(error).__name__}: {str(error)[:300]}", flush=True)
                else:
                    await _publish(client, task.result(), where, was_running)
            await client.set(keys.NODES, json.dumps(node_load(nodes_seen, asks, placed)), ex=PLACEMENT_TTL)
    finally:
        for task in inflight.values():
            task.cancel()
        stops = [h.stop.remote() for h in hosts.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*stops, return_exceptions=True), 30)
        except TimeoutError:
            print("livehost: some channels did not stop within 30 s", file=sys.stderr, flush=True)
        for h in hosts.values():
            ray.kill(h, no_restart=True)
        ray.shutdown()
        await client.aclose()
        if web is not None:
            await web.cleanup()
        store.close()
    return 0


def node_load(nodes: dict[str, dict[str, float]], asks: dict[str, dict[str, Any]],
              placed: dict[str, Slot]) -> list[dict[str, Any]]:
    """Each live node with what it offers and what the channels placed on it ask (the console's "Nodes")."""
    rows = []
    for node, offers in sorted(nodes.items()):
        here = sorted(cid for cid, slot in placed.items() if slot.node == node)
        rows.append({"id": node, "cpu": offers.get("CPU", 0.0), "gpu": offers.get("GPU", 0.0),
                     "cpu_used": round(sum(asks[c]["num_cpus"] for c in here), 3),
                     "gpu_used": round(sum(asks[c]["num_gpus"] for c in here), 3),
                     "resources": sorted(k for k in offers if not k.startswith("node:") and k not in BUILTIN),
                     "channels": here})
    return rows


async def _publish(client: Any, answer: dict[str, Any], where: dict[str, str], was_running: set[str]) -> None:
    """Write where each of a host's channels runs (``livehost:placement:<id>``, the console's "Runs on")."""
    for cid, info in answer["channels"].items():
        await client.set(keys.placement(cid), json.dumps(info), ex=PLACEMENT_TTL)
        if info["state"] in ("starting", "live", "reconnecting", "paused", "takeover"):
            was_running.add(cid)  # placed elsewhere, it starts there even when it does not start by itself
        elif info["state"] in ("stopped", "failed") and info["runs"]:
            was_running.discard(cid)
        node = f"{info['node']['ip']} {info['node']['id'][:8]} pid {info['pid']}"
        if where.get(cid) != node:
            moved = " (placed there after its node was lost)" if info["restarted"] else ""
            print(f"livehost: channel {cid!r} runs on node {node}{moved}", flush=True)
            where[cid] = node
