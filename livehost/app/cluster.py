"""A fleet on Ray: ``livehost serve --config fleet.yaml --cluster ADDRESS``.

Each channel runs in a Ray actor of its own, a :class:`ChannelHost`, placed by the resources its config implies
(:func:`channel_resources`: a CPU share, a GPU share for a photoreal or neural host, and any custom resource
named in ``placement.resources``, such as a region or a platform's egress).  Actors are spread over the nodes
and restarted by Ray, on another node when theirs is gone (``max_restarts=-1``).  A restarted actor waits for
the channel's lease (see :mod:`livehost.core.lease`: the dead node's lease runs out after its TTL), takes it,
goes on after the last sentence spoken (:mod:`livehost.app.checkpoint`) and reconnects its outputs and chat.

The serving process is the Ray driver and runs the console.  Channel actors are detached: they stay on air if
the serving process dies, and the next ``livehost serve`` of the fleet attaches to them by name.  Every second it asks each actor to make sure its
channel runs (which also restarts the channel in a restarted actor) and writes where it runs to
``livehost:placement:<channel>``.  All nodes share one Redis: ``LIVEHOST_REDIS_URL``.  Without it, the embedded
Redis's unix socket is used, which only actors on this machine can reach.

The head node holds Ray's control store (GCS).  If the head dies, the actors keep running but nothing is
restarted until it is back.  Run GCS fault tolerance with an external Redis (``RAY_REDIS_ADDRESS`` on the head)
to keep that state across a head restart: see the README's "A fleet on Ray".
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

ENSURE_EVERY = 1.0  # seconds between two checks of each channel
ENSURE_TIMEOUT = 20.0  # an actor that does not answer in this long is reported, not waited for
PLACEMENT_TTL = 30  # seconds a placement record outlives its last refresh


def channel_resources(config: ChannelConfig) -> dict[str, Any]:
    """What a channel asks of a node: ``num_cpus``, ``num_gpus`` and custom ``resources``."""
    p = config.placement
    photoreal = config.avatar is not None
    gpu = p.gpu if p.gpu is not None else (0.25 if photoreal and config.render.device != "cpu" else 0.0)
    # measured (README, "Benchmark"): the drawn host 0.16 CPU s per second at 720x1280@25, the sample-based
    # photoreal host about 0.5 on the CPU; shares with headroom for speech synthesis and the relay
    cpu = p.cpu if p.cpu is not None else (0.75 if photoreal else 0.25)
    return {"num_cpus": cpu, "num_gpus": gpu, "resources": dict(p.resources)}


class ChannelHost:
    """One channel in a Ray actor: its runner, its control plane, and what it says about where it runs."""

    def __init__(self, config_data: dict[str, Any], environ: dict[str, str], autostart: bool) -> None:
        import ray

        config = build_config(config_data)
        if "on_store_outage" not in config.lease.model_fields_set:
            # on a cluster another node may still reach Redis when this one cannot: stop when the lease runs out
            config = config.model_copy(update={"lease": config.lease.model_copy(update={"on_store_outage": "stop"})})
        self.config = config
        self.settings = Settings.from_env(environ)
        self.autostart = autostart
        context = ray.get_runtime_context()
        self.node_id = context.get_node_id()
        self.restarted = bool(context.was_current_actor_reconstructed)
        node: dict[str, Any] = next((n for n in ray.nodes() if n.get("NodeID") == self.node_id), {})
        self.node = {"id": self.node_id, "ip": node.get("NodeManagerAddress", ""), "host": socket.gethostname(),
                     "resources": sorted(k for k in node.get("Resources", {}) if not k.startswith("node:")
                                         and k not in ("CPU", "GPU", "memory", "object_store_memory"))}
        # what the console's fleet page shows in "Runs on"
        os.environ["LIVEHOST_NODE"] = (f"{self.node['ip']} node {self.node_id[:8]}"
                                       + (f" ({', '.join(self.node['resources'])})" if self.node["resources"] else "")
                                       + f" pid {os.getpid()}")
        self.runner: Any = None
        self.store: Store | None = None
        self._lease: ChannelLease | None = None  # to read who holds the channel's lease (one client, kept)
        self._control: asyncio.Task | None = None
        self.waiting = ""

    async def ensure(self) -> dict[str, Any]:
        """Make sure the channel runs here (once its lease is free); say where and how it runs."""
        from livehost.app.runner import ChannelRunner
        from livehost.app.session import ChannelSession

        if self.runner is None:
            self.store = Store(self.settings.redis_url, self.settings.home)
            settings = self.settings
            self.runner = ChannelRunner(self.config, self.store, lambda c, s: ChannelSession(c, s, settings=settings))
            self._control = asyncio.create_task(self.runner.control_plane(), name=f"control {self.config.id}")
            self._lease = ChannelLease(self.store.aio(), self.config.id)
        r = self.runner
        fresh = r.runs == 0 and self.autostart
        retry = r.failed and "on air elsewhere" in (r.last_error or "")
        if not r.running and r.stopped_by is None and (fresh or retry):
            assert self._lease is not None
            held = await self._lease.info()
            if held is not None:
                self.waiting = f"waiting for the lease: {held.holder} holds it ({held.ttl_left:.1f} s left)"
            else:
                self.waiting = ""
                try:
                    r.start()
                except ConfigError as e:
                    log.error("%s", e)
        return {"channel": self.config.id, "node": self.node, "pid": os.getpid(), "restarted": self.restarted,
                "state": str(r.state), "runs": r.runs, "waiting": self.waiting, "error": r.last_error or ""}

    async def drain(self) -> str:
        """Stop the channel at a sentence boundary and wait for it (before the actor is moved)."""
        r = self.runner
        if r is None or r.session is None:
            return "not running"
        r.stopped_by = "move"  # not started again here
        detail = await r.session.drain()
        await r.wait_ended()
        return detail

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.close()
        if self._control is not None:
            self._control.cancel()
            await asyncio.gather(self._control, return_exceptions=True)
        if self._lease is not None:
            await self._lease.client.aclose()
        if self.store is not None:
            self.store.close()


def _actor_class() -> Any:
    import ray

    return ray.remote(max_restarts=-1, max_task_retries=-1)(ChannelHost)


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
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    print(f"livehost: Ray cluster at {address}: {len(nodes)} node(s), "
          f"{sum(n['Resources'].get('CPU', 0) for n in nodes):.0f} CPUs, "
          f"{sum(n['Resources'].get('GPU', 0) for n in nodes):.0f} GPUs", flush=True)
    actor = _actor_class()
    hosts = {}
    for config, autostart in fleet.channels:
        ask = channel_resources(config)
        # detached: a channel outlives this process (a crash or restart of `serve` leaves it on air, and the next
        # `serve` attaches to it by name); SIGTERM here stops it
        hosts[config.id] = actor.options(name=f"channel:{config.id}", namespace="livehost", lifetime="detached",
                                         get_if_exists=True, scheduling_strategy="SPREAD",
                                         **ask).remote(config.model_dump(mode="json"), environ, autostart)
        print(f"livehost: channel {config.id!r} -> {config.output.target} on the cluster "
              f"(cpu {ask['num_cpus']}, gpu {ask['num_gpus']}{', ' + json.dumps(ask['resources']) if ask['resources'] else ''})",
              flush=True)
    moving: dict[str, asyncio.Task] = {}

    async def move(cid: str, to: str, by: str) -> None:
        """Drain the channel at a sentence boundary, then start it on another node (``to``, or the least busy)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        config = next(c for c, _ in fleet.channels if c.id == cid)
        placed = await client.get(keys.placement(cid))
        current = json.loads(placed)["node"]["id"] if placed else ""
        alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n["NodeID"] != current]
        load = {n: sum(1 for w in where.values() if n[:8] in w) for n in alive}
        target = next((n for n in alive if to and n.startswith(to)), None) if to else min(alive, key=lambda n: load[n], default=None)
        if target is None:
            detail = f"no other node to move to{f' matching {to!r}' if to else ''}"
            await record_action(client, cid, "move", user=by, ok=False, detail=detail)
            print(f"livehost: channel {cid!r}: not moved: {detail}", flush=True)
            return
        drained = await asyncio.wait_for(hosts[cid].drain.remote(), 60)
        ray.kill(hosts[cid], no_restart=True)
        ask = channel_resources(config)
        for _ in range(100):  # the killed actor's name is freed shortly after
            try:
                hosts[cid] = actor.options(
                    name=f"channel:{cid}", namespace="livehost", lifetime="detached",
                    # soft: the node is preferred, and a restart after it dies may go elsewhere
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=target, soft=True),
                    **ask).remote(config.model_dump(mode="json"), environ, True)
                break
            except ValueError:
                await asyncio.sleep(0.1)
        detail = f"node {current[:8]} -> {target[:8]}: {drained}"
        await record_action(client, cid, "move", user=by, ok=True, detail=detail)
        print(f"livehost: channel {cid!r} moved by {by}: {detail}", flush=True)

    quit_ = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, quit_.set)
    web = None
    client = store.aio()
    where: dict[str, str] = {}
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
                    cid = f.get("channel", "")
                    if cid in hosts and cid not in moving:
                        moving[cid] = asyncio.create_task(move(cid, f.get("to", ""), f.get("by", "")), name=f"move {cid}")
            for cid, task in list(moving.items()):
                if task.done():
                    del moving[cid]
                    if task.exception() is not None:
                        print(f"livehost: channel {cid!r}: move failed: {task.exception()}", flush=True)
            refs = {cid: h.ensure.remote() for cid, h in hosts.items() if cid not in moving}  # a moving one holds up none
            answers = await asyncio.gather(*(asyncio.wait_for(ref, ENSURE_TIMEOUT) for ref in refs.values()),
                                           return_exceptions=True)
            for cid, info in zip(refs, answers):
                if isinstance(info, (TimeoutError, asyncio.TimeoutError)):
                    print(f"livehost: channel {cid!r}: its actor did not answer in {ENSURE_TIMEOUT:.0f} s (being moved?)",
                          flush=True)
                    continue
                if isinstance(info, BaseException):  # an actor being restarted: Ray says so in its own words
                    print(f"livehost: channel {cid!r}: {type(info).__name__}: {info}", flush=True)
                    continue
                await client.set(keys.placement(cid), json.dumps(info), ex=PLACEMENT_TTL)
                node = f"{info['node']['ip']} {info['node']['id'][:8]} pid {info['pid']}"
                if where.get(cid) != node:
                    moved = " (restarted there)" if info["restarted"] else ""
                    print(f"livehost: channel {cid!r} runs on node {node}{moved}", flush=True)
                    where[cid] = node
            try:
                await asyncio.wait_for(quit_.wait(), ENSURE_EVERY)
            except TimeoutError:
                pass
    finally:
        for task in moving.values():
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
