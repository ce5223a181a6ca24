"""Run-of-show changes on time: flash-sale and sale-window starts and ends fired on the wall clock.

One-shot APScheduler date triggers over a rolling two-day horizon, extended
twice a day; each one calls ``on_change`` so the next sentence and the next
frame follow the sale.  The instants come from ``boundaries(after, until)``:
the timer knows nothing about channels or catalogs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

HORIZON = timedelta(days=2)


class ShowTimer:
    def __init__(self, name: str, tz: tzinfo, boundaries: Callable[[datetime, datetime], list[datetime]],
                 on_change: Callable[[datetime], None], scheduler: AsyncIOScheduler | None = None) -> None:
        self.name = name
        self.boundaries = boundaries
        self.on_change = on_change
        self.scheduler = scheduler or AsyncIOScheduler(timezone=tz)
        self._own = scheduler is None
        self._planned: set[datetime] = set()

    def start(self) -> None:
        self.plan(datetime.now(UTC))
        # extend the horizon twice a day: daily flash sales keep coming
        self.scheduler.add_job(self._extend, IntervalTrigger(hours=12), id=f"show:{self.name}:extend",
                               replace_existing=True)
        if self._own:
            self.scheduler.start()

    def stop(self) -> None:
        if self._own and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _extend(self) -> None:
        self.plan(datetime.now(UTC))

    def plan(self, now: datetime) -> list[datetime]:
        """Add a job at every boundary in the next two days; returns the new instants."""
        new = [t for t in self.boundaries(now, now + HORIZON) if t not in self._planned]
        for t in new:
            self._planned.add(t)
            self.scheduler.add_job(self.fire, DateTrigger(run_date=t), args=[t], misfire_grace_time=60,
                                   id=f"show:{self.name}:{t.isoformat()}", replace_existing=True)
        return new

    def fire(self, at: datetime) -> None:
        self._planned.discard(at)
        self.on_change(at)
