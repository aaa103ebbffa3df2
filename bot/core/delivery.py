"""Delivering what is sent without a person waiting (reminders, challenge posts, notices): one pipeline.

A sender is the platform-neutral port the adapters implement (`await sender.send(target, replies, key)`
returning a SendResult). Senders make one attempt and report its outcome; the dispatcher is the one
place that paces (each platform at its own rate, shared by every feature sending at once), retries
(one RetryPolicy rule, honouring retry_after) and hands every outcome to the job's kind. A feature only
plans jobs and says, through its kind, how an outcome is recorded and what "unreachable" means for it.
Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.messages import Reply
from bot.core.ports import Clock, DeliveryLog

log = logging.getLogger(__name__)

SENT = "sent"
BLOCKED = "blocked"  # the user blocked the bot / closed DMs / the channel is gone: don't retry
RETRY = "retry"  # rate limited, 5xx, timeout: try again later
FAILED = "failed"  # permanent (bad request), or retried until the policy gave up: keep the record
# The platform is not connected right now (starting, network down, no sender registered yet): waiting
# seconds will not help, so the job goes back to its kind for a later tick.
UNAVAILABLE = "unavailable"

# A scheduled message more than this late is skipped (a reminder, a daily post), not sent at a strange hour.
LATE_WINDOW = timedelta(hours=2)
# A claim older than this with no outcome means its process died mid-send (a live fan-out of the largest
# batch at 30 messages/s finishes well within it).
CLAIM_LEASE = timedelta(minutes=5)
# The most due rows one tick takes on (per feature); the rest go on the next minute.
TICK_BATCH = 5000
# Where several processes share the database (PostgreSQL), a tick takes due rows this many at a time and sends
# them before it takes more, so processes ticking together split a minute's fan-out roughly evenly (600 due
# at one time: 12 batches for 4 processes) instead of the fastest one claiming it all and sending it alone.
CLAIM_BATCH = 50


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
class RetryPolicy:
    """The one rule for a transient outcome (RETRY, or the platform UNAVAILABLE) after attempt n:
    wait max(retry_after, first_wait * 2 ** (n - 1)) seconds. A RETRY whose wait is at most `wait_here`
    is waited out in this delivery; anything longer (and UNAVAILABLE) goes back to the job's kind to be
    sent on a later tick. After `max_attempts`, or when the next try would land past the job's deadline,
    the job is given up (FAILED)."""

    max_attempts: int = 6
    first_wait: float = 1.0
    wait_here: float = math.inf

    def wait(self, attempt: int, retry_after: float | None) -> float:
        return max(retry_after or 0.0, self.first_wait * 2 ** (attempt - 1))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


class JobKind(Protocol):
    """What one kind of job (a reminder, a challenge post, a notice) does with its outcomes."""

    # None: the dispatcher's own policy
    retry: RetryPolicy | None
    # Whether its outcomes go to the dispatcher's on_outcome (the metrics count personal reminders)
    metered: bool

    def key(self, job: Job) -> str:
        """The delivery's idempotency key: the same on every attempt and in every process."""
        ...

    async def finished(
        self, job: Job, status: str, attempts: int, late_seconds: int, error: str | None, now: datetime
    ) -> None:
        """Record the final outcome (SENT, BLOCKED or FAILED)."""
        ...

    async def later(self, job: Job, attempts: int, retry_at: datetime, error: str | None, now: datetime) -> None:
        """Not sent yet: keep it so a later tick sends it (from retry_at on)."""
        ...

    async def unreachable(self, job: Job, now: datetime) -> list[Job]:
        """The target is gone (BLOCKED): react, and return any jobs to send about it (a notice)."""
        ...


@dataclass(frozen=True)
class Job:
    delivery_id: int
    target: Target
    replies: list[Reply]
    scheduled: datetime
    kind: JobKind | None = None  # None: a delivery recorded in the dispatcher's log store
    attempts: int = 0  # attempts already made (on earlier ticks)
    deadline: datetime | None = None  # a retry that would go out after this is given up instead
    about: Any = None  # what the job is about, for its kind's callbacks (a challenge post: its challenge)


@dataclass
class DispatchStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retries: int = 0  # retries waited out within this delivery
    deferred: int = 0  # left for a later tick (platform offline, or a retry due later)
    missed: int = 0  # too late: skipped (counted by the feature that planned them)
    seconds: float = 0.0
    outcomes: dict[str, str] = field(default_factory=dict)  # by delivery key

    @property
    def retry(self) -> int:
        """Jobs that will be tried again on a later tick."""
        return self.deferred

    def add(self, other: DispatchStats) -> None:
        """Fold another delivery's stats into these (a tick that sends several batches reports once)."""
        for name in ("sent", "blocked", "failed", "retries", "deferred", "missed", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes.update(other.outcomes)


class LoggedDeliveries:
    """The default kind: the outcome goes to the delivery log; nothing else happens."""

    retry = None
    metered = True

    def __init__(self, store: DeliveryLog) -> None:
        self.store = store

    def key(self, job: Job) -> str:
        return f"r{job.delivery_id}"

    async def finished(self, job, status, attempts, late_seconds, error, now) -> None:
        await self.store.finish_delivery(job.delivery_id, status, attempts, late_seconds, error, now)

    async def later(self, job, attempts, retry_at, error, now) -> None:
        pass  # the claim stays; past CLAIM_LEASE the feature's recovery sends it again

    async def unreachable(self, job, now) -> list[Job]:
        return []


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
        # metrics: (platform, status, seconds late) for every finished delivery of a metered kind
        self.on_outcome = on_outcome
        self.logged = LoggedDeliveries(log_store)
        self.clock = clock
        self.retry = RetryPolicy(max_attempts, base_backoff)
        self.max_in_flight = max_in_flight
        self.sleep = sleep
        self.monotonic = monotonic
        # The next free send slot per platform, shared by every delivery running at once (reminders and
        # challenge posts ticking side by side stay within the platform's one rate).
        self._slots: dict[str, float] = {}

    async def deliver(self, jobs: list[Job], now: datetime | None = None) -> DispatchStats:
        """Send every job, each platform paced at its own rate, all platforms at once. Outcomes are
        recorded at `now` (the tick's instant) when given, else at the clock's time."""
        stats = DispatchStats()
        started = self.monotonic()
        clock = self.clock if now is None else (lambda: now)
        by_platform: dict[str, list[Job]] = {}
        for job in jobs:
            by_platform.setdefault(job.target.platform, []).append(job)
        await asyncio.gather(*(self._platform(p, js, stats, clock) for p, js in by_platform.items()))
        stats.seconds = self.monotonic() - started
        return stats

    async def _platform(self, platform: str, jobs: list[Job], stats: DispatchStats, clock: Clock) -> None:
        sender = self.senders.get(platform)
        rate = sender.rate_per_second if sender is not None else math.inf
        interval = 0.0 if math.isinf(rate) else 1.0 / rate
        in_flight = asyncio.Semaphore(self.max_in_flight)
        queue: asyncio.Queue[tuple[float, int, Job]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait((0.0, job.attempts + 1, job))
        pending: set[asyncio.Task] = set()
        self._slots[platform] = max(self._slots.get(platform, -math.inf), self.monotonic())
        while not queue.empty() or pending:
            if queue.empty():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                continue
            not_before, attempt, job = queue.get_nowait()
            # Pace against absolute slots so a long burst does not drift: slot i = start + i / rate.
            slot = max(self._slots[platform], not_before)
            self._slots[platform] = slot + interval
            wait = slot - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            await in_flight.acquire()
            task = asyncio.create_task(self._attempt(sender, job, attempt, queue, stats, in_flight, clock))
            pending.add(task)
            pending = {t for t in pending if not t.done()}

    async def _attempt(
        self,
        sender: Sender | None,
        job: Job,
        attempt: int,
        queue: asyncio.Queue,
        stats: DispatchStats,
        gate: asyncio.Semaphore,
        clock: Clock,
    ) -> None:
        kind = job.kind or self.logged
        try:
            if sender is None:  # not registered (yet): like a platform that is not connected
                result = SendResult(UNAVAILABLE, error=f"no sender for platform {job.target.platform}")
            else:
                try:
                    result = await sender.send(job.target, job.replies, key=kind.key(job))
                except Exception as exc:  # a sender bug or network error is a transient failure, not a crash
                    result = SendResult(RETRY, error=type(exc).__name__)
            if result.status in (RETRY, UNAVAILABLE):
                await self._transient(kind, job, attempt, result, queue, stats, clock)
                return
            status = result.status if result.status in (SENT, BLOCKED) else FAILED
            await self._finish(kind, job, status, attempt, result.error, queue, stats, clock)
        except Exception:  # recording failed (database busy, say): the claim stays and is taken over later
            log.exception("event=delivery_record_failed platform=%s key=%s", job.target.platform, kind.key(job))
        finally:
            gate.release()

    async def _transient(
        self, kind: JobKind, job: Job, attempt: int, result: SendResult, queue, stats: DispatchStats, clock: Clock
    ) -> None:
        policy = kind.retry or self.retry
        wait = policy.wait(attempt, result.retry_after)
        now = clock()
        retry_at = now + timedelta(seconds=wait)
        if policy.exhausted(attempt) or (job.deadline is not None and retry_at > job.deadline):
            await self._finish(kind, job, FAILED, attempt, result.error, queue, stats, clock)
            return
        if result.status == RETRY and wait <= policy.wait_here:
            stats.retries += 1
            if self.on_outcome is not None and kind.metered:
                self.on_outcome(job.target.platform, RETRY, 0.0)
            queue.put_nowait((self.monotonic() + wait, attempt + 1, job))
            return
        stats.deferred += 1
        stats.outcomes[kind.key(job)] = RETRY
        await kind.later(job, attempt, retry_at, result.error, now)
        log.info(
            "event=delivery_deferred platform=%s user=%s key=%s status=%s error=%s",
            job.target.platform,
            job.target.user_key,
            kind.key(job),
            result.status,
            result.error,
        )

    async def _finish(
        self,
        kind: JobKind,
        job: Job,
        status: str,
        attempts: int,
        error: str | None,
        queue: asyncio.Queue,
        stats: DispatchStats,
        clock: Clock,
    ) -> None:
        now = clock()
        late = max(0, int((now - job.scheduled).total_seconds()))
        await kind.finished(job, status, attempts, late, error, now)
        stats.outcomes[kind.key(job)] = status
        if self.on_outcome is not None and kind.metered:
            self.on_outcome(job.target.platform, status, late)
        if status == SENT:
            stats.sent += 1
        elif status == BLOCKED:
            stats.blocked += 1
            for notice in await kind.unreachable(job, now):  # e.g. tell the organiser, through this same queue
                queue.put_nowait((0.0, notice.attempts + 1, notice))
        else:
            stats.failed += 1
        log.info(
            "event=delivery platform=%s user=%s key=%s status=%s attempts=%d late_s=%d error=%s",
            job.target.platform,
            job.target.user_key,
            kind.key(job),
            status,
            attempts,
            late,
            error,
        )
