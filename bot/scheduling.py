"""The app's scheduler: APScheduler 3 in the running asyncio loop, one job a minute.

Why one tick over an indexed `next_fire_utc` rather than a cron job per user: see docs/reminders.md
(100,000 per-user CronTrigger jobs take ~28 s to add and ~400 MB, rebuilt at every start, and a 3.x
CronTrigger fires twice at an ambiguous fall-back time; a tick selecting due rows costs ~1 ms).
The tick is aligned to the wall-clock minute (second 0), so a reminder goes out within a few
seconds after its minute begins; a generous misfire grace keeps a late tick from being dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.core.ports import Clock

log = logging.getLogger(__name__)


def together(*ticks: Callable[[datetime], Awaitable[object]]) -> Callable[[datetime], Awaitable[list]]:
    """One minute tick running several (reminders, challenge posts) side by side; one failing does not
    stop the others (each failure is logged)."""

    async def tick(now: datetime) -> list:
        results = await asyncio.gather(*(t(now) for t in ticks), return_exceptions=True)
        for t, result in zip(ticks, results, strict=True):
            if isinstance(result, Exception):
                log.error(
                    "event=tick_failed part=%s error=%s",
                    getattr(t, "__qualname__", "?"),
                    type(result).__name__,
                    exc_info=result,
                )
        return results

    return tick


class MinuteTicker:
    def __init__(self, tick: Callable[[datetime], Awaitable[object]], clock: Clock) -> None:
        self._tick = tick
        self._clock = clock
        self._scheduler: AsyncIOScheduler | None = None
        self._in_flight: set[asyncio.Task] = set()
        self._stopping = False
        self.ticks = 0  # completed ticks: tests wait for the catch-up tick before driving their own

    async def run_once(self) -> None:
        """One tick now; ticks never overlap (a slow fan-out just delays the next one)."""
        if self._stopping:  # a run the scheduler had already queued when we stopped it
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._tick(self._clock())
        except Exception:
            log.exception("event=tick_failed")
        finally:
            self.ticks += 1
            self._in_flight.discard(task)

    def start(self) -> None:
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_job(
            self.run_once,
            CronTrigger(second=0, timezone="UTC"),
            id="reminder-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=50,
        )
        self._scheduler.start()
        # Catch up at once: anything missed while we were down (under 2 h late) goes out now.
        asyncio.get_running_loop().create_task(self.run_once())

    async def stop(self) -> None:
        """Stop ticking and wait for a tick in flight (a fan-out) to finish. Safe to call twice."""
        self._stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
