"""Telegram's flood limits with answers first.

Telegram accepts about 30 messages/s from a bot overall and 20 a minute in one group. A reminder fan-out
alone can use the whole overall budget for minutes; with a plain first-come limiter every answer to a
person then waits behind the queued reminders. Here each message waits for a slot of the overall rate, and
a waiting answer takes the next slot before any waiting broadcast (`rate_limit_args=BULK`), so people get
their answers in well under a second while the fan-out fills the remaining slots. A broadcast message that
has waited longer than BULK_PATIENCE goes next anyway, so a busy chat never stops the reminders.

Several processes on one PostgreSQL share one bot's budget: given a RateStore, the overall rate's slots come from
the database (SharedSlots, bot/adapters/shared_limiter.py) with the same answers-first order, and a 429 pauses
every process. Without one (SQLite, one process) the slots are this process's own, as below.

A 429 pauses every request for its retry_after. An answer is then retried up to `max_retries` times; a
broadcast message is not (its sender reports the 429 and the dispatcher tries again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.adapters.shared_limiter import SharedSlots
from bot.storage.rate_limits import RateStore

log = logging.getLogger(__name__)

BULK = "bulk"  # rate_limit_args of a broadcast message (reminders, challenge posts)
BULK_PATIENCE = 2.0  # seconds a broadcast message gives way to answers before it goes regardless
GROUP_PERIOD = 60.0
MAX_GROUPS = 1024  # group windows remembered; idle ones are forgotten first


class Slots:
    """Hands out send slots at `rate` per second (bursts up to one second's worth), answers first."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.answers: deque[asyncio.Future] = deque()
        self.bulk: deque[tuple[float, asyncio.Future]] = deque()
        self.paused_until = 0.0  # after a 429 nothing is sent before this
        self._pump: asyncio.Task | None = None

    async def take(self, bulk: bool) -> None:
        future = asyncio.get_running_loop().create_future()
        if bulk:
            self.bulk.append((time.monotonic(), future))
        else:
            self.answers.append(future)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run())
        await future

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) / self.interval)
        self.updated = now

    def _next(self) -> asyncio.Future | None:
        """The waiter that gets the next slot: the oldest answer, unless a broadcast ran out of patience."""
        while self.bulk and self.bulk[0][1].done():  # cancelled while waiting
            self.bulk.popleft()
        while self.answers and self.answers[0].done():
            self.answers.popleft()
        if self.bulk and (not self.answers or time.monotonic() - self.bulk[0][0] > BULK_PATIENCE):
            return self.bulk.popleft()[1]
        return self.answers.popleft() if self.answers else None

    async def _run(self) -> None:
        while True:
            wait = self.paused_until - time.monotonic()
            if wait <= 0:
                self._refill()
                wait = (1.0 - self.tokens) * self.interval
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            waiter = self._next()
            if waiter is None:
                return
            self.tokens -= 1.0
            waiter.set_result(None)


class GroupWindows:
    """At most `per_minute` messages in any 60 s to one group (Telegram's 20/min), oldest groups forgotten."""

    def __init__(self, per_minute: int, period: float = GROUP_PERIOD) -> None:
        self.per_minute, self.period = per_minute, period
        self.sent: dict[int | str, deque[float]] = {}

    async def take(self, group: int | str) -> None:
        while True:
            now = time.monotonic()
            window = self.sent.pop(group, None) or deque()
            while window and now - window[0] >= self.period:
                window.popleft()
            self.sent[group] = window  # re-inserted: the dict's order is least recently used first
            if len(window) < self.per_minute:
                window.append(now)
                self._forget_idle(now)
                return
            await asyncio.sleep(self.period - (now - window[0]))

    def _forget_idle(self, now: float) -> None:
        while len(self.sent) > MAX_GROUPS:
            oldest = next(iter(self.sent))
            window = self.sent[oldest]
            if window and now - window[-1] < self.period:
                break  # every group left was active within the minute: keep their windows
            del self.sent[oldest]


class AnswersFirstLimiter(BaseRateLimiter[str]):
    """python-telegram-bot's rate limiter port: overall rate (0 = none), group rate, 429 retries."""

    def __init__(
        self,
        overall_max_rate: float,
        group_max_rate: int = 20,
        max_retries: int = 3,
        shared: RateStore | None = None,
    ) -> None:
        self.slots: Slots | SharedSlots | None = None
        if overall_max_rate > 0:
            # One bot's ~30/s is shared by all its processes: with a store, the slots are booked in the database.
            self.slots = SharedSlots(shared, "telegram", overall_max_rate) if shared else Slots(overall_max_rate)
        self.groups = GroupWindows(group_max_rate) if group_max_rate > 0 else None
        self.max_retries = max_retries
        self.paused_until = 0.0  # after a 429 every request waits until then: Telegram counts the whole bot

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        group = chat_id if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str) else None
        retries = 0 if rate_limit_args == BULK else self.max_retries
        for attempt in range(retries + 1):
            if group is not None and self.groups is not None:
                await self.groups.take(group)
            if chat_id is not None and self.slots is not None:  # only messages count, not getUpdates & co.
                await self.slots.take(rate_limit_args == BULK)
            while (paused := self.paused_until - time.monotonic()) > 0:
                await asyncio.sleep(paused)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc) + 0.1
                self.paused_until = max(self.paused_until, time.monotonic() + wait)
                if self.slots is not None:
                    self.slots.pause(wait)
                if attempt == retries:
                    raise
                log.info("event=rate_limited endpoint=%s retry_in_s=%.1f", endpoint, wait)
        raise AssertionError("unreachable")


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after  # seconds, or a timedelta when PTB_TIMEDELTA is set (bot/config.py)
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)
