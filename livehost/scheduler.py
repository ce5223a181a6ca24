"""APScheduler jobs: run-of-show changes on time, and catalog feed refreshes that survive restarts.

* :class:`ShowScheduler` fires a channel's flash-sale starts and ends on the
  wall clock (one-shot date triggers over a rolling two-day horizon),
  calling :meth:`ChannelSession.reschedule` so the next sentence and the
  next frame follow the sale.
* :class:`FeedScheduler` keeps feed refresh jobs (interval or cron) in Redis
  (APScheduler's Redis job store), so they are still there after a restart;
  any livehost process that runs the scheduler executes them.  A refresh
  sends the last ETag / Last-Modified, and a failed or bad fetch never
  replaces the last good catalog (see :mod:`products.store`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from livehost.session import ChannelSession

log = logging.getLogger(__name__)

HORIZON = timedelta(days=2)


class ShowScheduler:
    def __init__(self, session: ChannelSession, scheduler: AsyncIOScheduler | None = None) -> None:
        self.session = session
        self.scheduler = scheduler or AsyncIOScheduler(timezone=session.show.tz)
        self._own = scheduler is None
        self._planned: set[datetime] = set()

    def start(self) -> None:
        self.plan(datetime.now(timezone.utc))
        # extend the horizon twice a day: daily flash sales keep coming
        self.scheduler.add_job(self._extend, IntervalTrigger(hours=12), id=f"show:{self.session.config.id}:extend",
                               replace_existing=True)
        if self._own:
            self.scheduler.start()

    def stop(self) -> None:
        if self._own and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _extend(self) -> None:
        self.plan(datetime.now(timezone.utc))

    def plan(self, now: datetime) -> list[datetime]:
        """Add a job at every flash-sale start and end in the next two days; returns the new instants."""
        new = [t for t in self.session.boundaries(now, now + HORIZON) if t not in self._planned]
        for t in new:
            self._planned.add(t)
            self.scheduler.add_job(self.fire, DateTrigger(run_date=t), args=[t], misfire_grace_time=60,
                                   id=f"show:{self.session.config.id}:{t.isoformat()}", replace_existing=True)
        return new

    def fire(self, at: datetime) -> None:
        self._planned.discard(at)
        flash = self.session.show.flash_at(at)
        reason = f"flash sale {flash.sku} at {flash.price} on" if flash else f"run-of-show change at {at.isoformat()}"
        self.session.reschedule(reason)


# ----------------------------------------------------------------------------- feeds


def feed_job_id(scope: str, source: str) -> str:
    return f"feed:{scope}:{hashlib.sha256(source.encode()).hexdigest()[:12]}"


async def refresh_feed(source: str, fmt: str = "auto", scope: str = "shared", redis_url: str | None = None) -> dict[str, Any]:
    """One refresh of one feed (the job APScheduler runs).  Returns the import summary."""
    from livehost.store import Store
    from products.feeds.base import FeedError, validate_items
    from products.feeds.sources import open_source
    from products.store import CatalogStore

    store = Store(redis_url)
    try:
        client = store.sync()
        cs = CatalogStore(client, scope)
        key = f"{cs.prefix}:feed:{hashlib.sha256(source.encode()).hexdigest()[:12]}"
        cache = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
        try:
            opened = await open_source(source, fmt, etag=cache.get("etag") or None,
                                       last_modified=cache.get("last_modified") or None)
        except FeedError as e:
            client.hset(f"{cs.prefix}:last_import", mapping={"source": source, "error": str(e), "accepted": 0,
                                                              "at": f"{datetime.now(timezone.utc).timestamp():.3f}"})
            log.error("feed %s: %s; still selling version %s", source, e, cs.current_version())
            return {"source": source, "error": str(e), "version": cs.current_version(), "imported": 0}
        if opened.not_modified:
            return {"source": source, "not_modified": True, "version": cs.current_version(), "imported": 0}
        result = await asyncio.to_thread(cs.import_products, validate_items(opened.items, dedupe=False), source=source, format=opened.format)
        if result.accepted:
            client.hset(key, mapping={"etag": opened.etag or "", "last_modified": opened.last_modified or ""})
        else:
            log.error("feed %s: %s", source, result.error)
        return result.as_json()
    finally:
        store.close()


def _run_refresh(source: str, fmt: str, scope: str, redis_url: str | None) -> None:
    """Module-level entry point the job store can reference (runs in APScheduler's worker thread)."""
    asyncio.run(refresh_feed(source, fmt, scope, redis_url))


class FeedScheduler:
    """Feed refresh jobs kept in Redis."""

    JOBS_KEY, RUN_TIMES_KEY = "livehost:scheduler:jobs", "livehost:scheduler:run_times"

    def __init__(self, redis_url: str | None = None, *, unix_socket_path: str | None = None,
                 scheduler_cls=AsyncIOScheduler) -> None:
        kwargs: dict[str, Any] = {"jobs_key": self.JOBS_KEY, "run_times_key": self.RUN_TIMES_KEY}
        if unix_socket_path:
            kwargs["unix_socket_path"] = unix_socket_path
        elif redis_url:
            from redis import Redis

            pool = Redis.from_url(redis_url).connection_pool.connection_kwargs
            kwargs.update({k: v for k, v in pool.items() if k in ("host", "port", "db", "password", "username")})
        self.redis_url = redis_url
        self.scheduler = scheduler_cls(jobstores={"default": RedisJobStore(**kwargs)}, timezone=timezone.utc)

    @classmethod
    def for_store(cls, store, **kw) -> FeedScheduler:
        if store.url:
            return cls(store.url, **kw)
        return cls(unix_socket_path=store._kwargs["unix_socket_path"], **kw)

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
        # the feed's store is passed as a URL only when it is not the embedded one (then the job uses LIVEHOST_HOME)
        self.scheduler.add_job(_run_refresh, trigger, args=[source, fmt, scope, self.redis_url], id=job_id,
                               name=f"refresh {source} -> {scope}", replace_existing=True, coalesce=True,
                               max_instances=1, misfire_grace_time=300)
        return job_id

    def remove(self, job_id: str) -> None:
        self.scheduler.remove_job(job_id)

    def jobs(self) -> list[dict[str, Any]]:
        out = []
        for job in self.scheduler.get_jobs():
            source, fmt, scope, _url = job.args
            out.append({"id": job.id, "source": source, "format": fmt, "scope": scope, "trigger": str(job.trigger),
                        "next_run": job.next_run_time.isoformat() if getattr(job, "next_run_time", None) else None})
        return out

    def start(self, paused: bool = False) -> None:
        self.scheduler.start(paused=paused)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
