"""Catalog feed refreshes on a schedule, kept in Redis so they survive restarts.

:class:`FeedScheduler` keeps refresh jobs (interval or cron) in APScheduler's
Redis job store; any livehost process that runs the scheduler (every
process with channels on air) executes them.  A refresh sends the last ETag
/ Last-Modified, and a failed or bad fetch never replaces the last good
catalog (see :mod:`products.store`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from livehost.core import keys
from livehost.core.store import Store, as_bytes, as_texts
from products.feeds.base import FeedError, validate_items
from products.feeds.sources import FeedAccess, open_source
from products.store import CatalogStore

log = logging.getLogger(__name__)

# How feeds are read by the jobs this process runs: set by the FeedScheduler that runs them (from the
# process's settings), since a stored job holds only its arguments, never credentials.
_access = FeedAccess()


def feed_job_id(scope: str, source: str) -> str:
    return f"feed:{scope}:{_digest(source)}"


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:12]


async def refresh_feed(source: str, fmt: str, scope: str, store: Store, access: FeedAccess | None = None) -> dict[str, Any]:
    """One refresh of one feed.  Returns the import summary."""
    client = store.sync()
    cs = CatalogStore(client, scope)
    cache_key = keys.catalog(scope, "feed", _digest(source))
    cache = as_texts(client.hgetall(cache_key))
    try:
        opened = await open_source(source, fmt, etag=cache.get("etag") or None,
                                   last_modified=cache.get("last_modified") or None, access=access or _access)
        if opened.not_modified:
            return {"source": source, "not_modified": True, "version": cs.current_version(), "imported": 0}
        # a reader finds some problems only while it reads (a bad byte deep in a CSV): the same error
        result = await asyncio.to_thread(cs.import_products, validate_items(opened.items, dedupe=False),
                                         source=source, format=opened.format)
    except FeedError as e:
        client.hset(keys.catalog(scope, "last_import"), mapping={
            "source": source, "error": str(e), "accepted": 0, "at": f"{datetime.now(UTC).timestamp():.3f}"})
        log.error("feed %s: %s; still selling version %s", source, e, cs.current_version())
        return {"source": source, "error": str(e), "version": cs.current_version(), "imported": 0}
    if result.accepted:
        client.hset(cache_key, mapping={"etag": opened.etag or "", "last_modified": opened.last_modified or ""})
    else:
        log.error("feed %s: %s", source, result.error)
    return result.as_json()


def run_refresh_job(source: str, fmt: str, scope: str, redis_url: str | None, home: str | None = None) -> None:
    """The job APScheduler runs (a module-level function the job store can name), in its worker thread."""
    store = Store(redis_url, Path(home) if home else None)
    try:
        asyncio.run(refresh_feed(source, fmt, scope, store))
    finally:
        store.close()


_FORMER_JOB = "livehost.scheduler:_run_refresh"  # where the job function lived before the layout of 2026-11


def _migrate_jobs(store: Store) -> int:
    """Point jobs stored by an earlier livehost at today's job function (APScheduler drops a job it cannot load)."""
    client, moved = store.sync(), 0
    for job_id, raw in client.hgetall(keys.SCHEDULER_JOBS).items():
        state = pickle.loads(as_bytes(raw))  # written by APScheduler's own job store into our Redis
        if isinstance(state, dict) and state.get("func") == _FORMER_JOB:
            source, fmt, scope, url = state["args"][:4]
            state["func"] = f"{run_refresh_job.__module__}:{run_refresh_job.__qualname__}"
            state["args"] = (source, fmt, scope, url, None if url else str(store.home))
            client.hset(keys.SCHEDULER_JOBS, job_id, pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
            moved += 1
    if moved:
        log.info("feed scheduler: %d stored job(s) moved to %s", moved, run_refresh_job.__module__)
    return moved


class FeedScheduler:
    """Feed refresh jobs kept in Redis."""

    def __init__(self, store: Store, *, scheduler_cls: type[BaseScheduler] = AsyncIOScheduler,
                 access: FeedAccess | None = None) -> None:
        kwargs: dict[str, Any] = {"jobs_key": keys.SCHEDULER_JOBS, "run_times_key": keys.SCHEDULER_RUN_TIMES}
        if store.url:
            from redis import Redis

            pool = Redis.from_url(store.url).connection_pool.connection_kwargs
            kwargs.update({k: v for k, v in pool.items() if k in ("host", "port", "db", "password", "username")})
        else:
            kwargs["unix_socket_path"] = store.unix_socket
        self.store = store
        self.access = access
        _migrate_jobs(store)
        self.scheduler = scheduler_cls(jobstores={"default": RedisJobStore(**kwargs)}, timezone=UTC)

    def add(self, source: str, *, fmt: str = "auto", scope: str = "shared", every_minutes: float | None = None,
            cron: str | None = None, timezone_name: str = "UTC") -> str:
        if (every_minutes is None) == (cron is None):
            raise ValueError("give exactly one of every_minutes or cron")
        if every_minutes is not None and every_minutes <= 0:
            raise ValueError(f"every_minutes = {every_minutes}: must be > 0")
        try:
            trigger = (IntervalTrigger(minutes=every_minutes) if every_minutes is not None
                       else CronTrigger.from_crontab(cron, timezone=timezone_name))
        except ValueError as e:
            raise ValueError(f"cron = {cron!r}: {e}") from None
        job_id = feed_job_id(scope, source)
        # the job finds the store by URL, or by the home of the embedded one
        home = None if self.store.url else str(self.store.home)
        self.scheduler.add_job(run_refresh_job, trigger, args=[source, fmt, scope, self.store.url, home], id=job_id,
                               name=f"refresh {source} -> {scope}", replace_existing=True, coalesce=True,
                               max_instances=1, misfire_grace_time=300)
        return job_id

    def remove(self, job_id: str) -> None:
        self.scheduler.remove_job(job_id)

    def jobs(self) -> list[dict[str, Any]]:
        out = []
        for job in self.scheduler.get_jobs():
            source, fmt, scope = job.args[:3]
            out.append({"id": job.id, "source": source, "format": fmt, "scope": scope, "trigger": str(job.trigger),
                        "next_run": job.next_run_time.isoformat() if getattr(job, "next_run_time", None) else None})
        return out

    def start(self, paused: bool = False) -> None:
        """Start; unless ``paused`` (a process that only edits the jobs), this process runs the jobs."""
        global _access
        if not paused and self.access is not None:
            _access = self.access
        self.scheduler.start(paused=paused)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
