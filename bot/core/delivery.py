"""Delivering scheduled messages through platform senders: paced, retried, and every outcome stored.

A sender is the platform-neutral port the adapters implement (`await sender.send(target, replies)`
returning a SendResult). The dispatcher spreads a burst over time to respect the platform's rate
(Telegram about 30 messages/s, Discord about 50 requests/s), retries transient failures with backoff
(honouring retry_after), and records sent / blocked / failed in the delivery log. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.core.messages import Reply
from bot.core.ports import Clock

log = logging.getLogger(__name__)

SENT = "sent"
BLOCKED = "blocked"  # the user blocked the bot / closed DMs: pause, don't retry
RETRY = "retry"  # rate limited, 5xx, timeout: try again later
FAILED = "failed"  # permanent (bad request): give up, keep the record
# The platform is not connected right now (starting, network down): leave the claim as it is, so the
# lease-based recovery sends it once the platform is back (within the late window), no attempt spent.
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Target:
    platform: str
    chat_id: str  # a person's chat (Telegram) / user id (Discord DMs), or a channel when `channel`
    user_key: str
    channel: bool = False  # a group channel post (challenges) rather than a personal message


@dataclass(frozen=True)
class SendResult:
    status: str
    retry_after: float | None = None
    error: str | None = None


class Sender(Protocol):
    # Messages per second this platform accepts for a broadcast; math.inf for none.
    rate_per_second: float

    # `key` names this delivery (the same on every attempt, in every process): a platform with an idempotency
    # key (Discord's enforced nonce) sends a retried or taken-over delivery at most once; others ignore it.
    async def send(self, target: Target, replies: list[Reply], key: str | None = None) -> SendResult: ...


@dataclass(frozen=True)
class Job:
    delivery_id: int
    target: Target
    replies: list[Reply]
    scheduled: datetime


@dataclass
class DispatchStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retries: int = 0
    deferred: int = 0  # platform offline: left claimed for a later try
    seconds: float = 0.0
    outcomes: dict[int, str] = field(default_factory=dict)


class DeliveryLog(Protocol):
    async def finish_delivery(
        self, delivery_id: int, status: str, attempts: int, late_seconds: int | None, error: str | None, now: datetime
    ) -> None: ...

    async def pause_all(self, user_key: str, reason: str, now: datetime) -> int: ...

    async def set_notice(self, user_key: str, notice: str | None) -> None: ...


class Dispatcher:
    def __init__(
        self,
        senders: dict[str, Sender],
        log_store: DeliveryLog,
        clock: Clock,
        max_attempts: int = 6,
        base_backoff: float = 1.0,
        # Enough to hide network latency at the platforms' rates (30/s x ~100 ms); also bounds how many sends
        # a crash can leave done-but-unrecorded (resent after a restart: Discord's nonce makes that resend a
        # no-op, the Bot API has no idempotency key).
        max_in_flight: int = 16,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        on_outcome: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.senders = senders
        self.on_outcome = on_outcome  # metrics: (platform, status, seconds late) for every finished delivery
        self.store = log_store
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_in_flight = max_in_flight
        self.sleep = sleep
        self.monotonic = monotonic

    async def deliver(self, jobs: list[Job]) -> DispatchStats:
        """Send every job, each platform paced at its own rate, all platforms at once."""
        stats = DispatchStats()
        started = self.monotonic()
        by_platform: dict[str, list[Job]] = {}
        for job in jobs:
            by_platform.setdefault(job.target.platform, []).append(job)
        await asyncio.gather(*(self._platform(p, js, stats) for p, js in by_platform.items()))
        stats.seconds = self.monotonic() - started
        return stats

    async def _platform(self, platform: str, jobs: list[Job], stats: DispatchStats) -> None:
        sender = self.senders.get(platform)
        if sender is None:
            for job in jobs:
                await self._finish(job, FAILED, 0, f"no sender for platform {platform}", stats)
            return
        interval = 0.0 if math.isinf(sender.rate_per_second) else 1.0 / sender.rate_per_second
        in_flight = asyncio.Semaphore(self.max_in_flight)
        queue: asyncio.Queue[tuple[float, int, Job]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait((0.0, 1, job))
        pending: set[asyncio.Task] = set()
        next_slot = self.monotonic()
        while not queue.empty() or pending:
            if queue.empty():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                continue
            not_before, attempt, job = queue.get_nowait()
            # Pace against absolute slots so a long burst does not drift: slot i = start + i / rate.
            wait = max(next_slot, not_before) - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            next_slot = max(next_slot, not_before) + interval
            await in_flight.acquire()
            task = asyncio.create_task(self._attempt(sender, job, attempt, queue, stats, in_flight))
            pending.add(task)
            pending = {t for t in pending if not t.done()}

    async def _attempt(
        self, sender: Sender, job: Job, attempt: int, queue: asyncio.Queue, stats: DispatchStats, gate
    ) -> None:
        try:
            try:
                result = await sender.send(job.target, job.replies, key=f"r{job.delivery_id}")
            except Exception as exc:  # a sender bug or network error is a transient failure, not a crash
                result = SendResult(RETRY, error=type(exc).__name__)
            if result.status == UNAVAILABLE:
                stats.deferred += 1
                log.info("event=delivery_deferred platform=%s user=%s", job.target.platform, job.target.user_key)
                return
            if result.status == RETRY and attempt < self.max_attempts:
                stats.retries += 1
                if self.on_outcome is not None:
                    self.on_outcome(job.target.platform, RETRY, 0.0)
                delay = max(result.retry_after or 0.0, self.base_backoff * 2 ** (attempt - 1))
                queue.put_nowait((self.monotonic() + delay, attempt + 1, job))
                return
            status = FAILED if result.status == RETRY else result.status
            await self._finish(job, status, attempt, result.error, stats)
        finally:
            gate.release()

    async def _finish(self, job: Job, status: str, attempts: int, error: str | None, stats: DispatchStats) -> None:
        now = self.clock()
        late = max(0, int((now - job.scheduled).total_seconds()))
        await self.store.finish_delivery(job.delivery_id, status, attempts, late, error, now)
        stats.outcomes[job.delivery_id] = status
        if self.on_outcome is not None:
            self.on_outcome(job.target.platform, status, late)
        if status == SENT:
            stats.sent += 1
        elif status == BLOCKED:
            stats.blocked += 1
            # Keep the reminders (not deleted), stop sending, and tell the user when they next write.
            await self.store.pause_all(job.target.user_key, "blocked", now)
            await self.store.set_notice(job.target.user_key, "reminders_paused_unreachable")
        else:
            stats.failed += 1
        log.info(
            "event=delivery platform=%s user=%s status=%s attempts=%d late_s=%d",
            job.target.platform,
            job.target.user_key,
            status,
            attempts,
            late,
        )
