"""The scheduler wiring and delivery pacing: aligned minute ticks, rate limits, terminal delivery."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

from bot.adapters.terminal import TerminalSession
from bot.core.delivery import RETRY, SENT, Dispatcher, Job, SendResult, Target
from bot.core.messages import Button, Reply
from bot.scheduling import MinuteTicker


class FakeTime:
    """Monotonic time that only moves when the dispatcher sleeps: pacing measured exactly."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # let what was started at this instant run at this instant
        self.now += seconds
        await asyncio.sleep(0)


class Log:
    def __init__(self) -> None:
        self.finished: dict[int, str] = {}
        self.paused: list[str] = []

    async def finish_delivery(self, delivery_id, status, attempts, late_seconds, error, now):
        self.finished[delivery_id] = status

    async def pause_all(self, user_key, reason, now):
        self.paused.append(user_key)
        return 1

    async def set_notice(self, user_key, notice):
        pass


class PacedPlatform:
    def __init__(self, clock: FakeTime, rate: float, script: dict[int, list[SendResult]] | None = None) -> None:
        self.rate_per_second = rate
        self.clock = clock
        self.times: list[tuple[float, str]] = []
        self.script = script or {}

    async def send(self, target, replies, key=None):
        queue = self.script.get(int(target.chat_id))
        if queue:
            return queue.pop(0)
        self.times.append((self.clock.now, target.chat_id))
        return SendResult(SENT)


def paced(senders, log, clock: FakeTime, **options) -> Dispatcher:
    return Dispatcher(senders, log, lambda: datetime.now(UTC), sleep=clock.sleep, monotonic=clock.monotonic, **options)


def jobs(n: int, platform: str = "p") -> list[Job]:
    at = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    return [Job(i, Target(platform, str(i), f"{platform}:{i}"), [Reply("hi")], at) for i in range(n)]


async def test_a_burst_is_spread_at_the_platform_rate():
    clock = FakeTime()
    platform = PacedPlatform(clock, rate=30)
    log = Log()
    dispatcher = paced({"p": platform}, log, clock)
    stats = await dispatcher.deliver(jobs(300))
    assert stats.sent == 300 and len({c for _, c in platform.times}) == 300
    # 300 messages at 30/s: the last leaves at ~10 s, and no one-second window carries more than 30
    times = [t for t, _ in platform.times]
    assert 9.9 <= times[-1] <= 10.0
    busiest = max(sum(1 for u in times if t <= u < t + 1 - 1e-9) for t in times)
    assert busiest <= 30


async def test_rate_limited_messages_wait_retry_after_and_go_once():
    clock = FakeTime()
    platform = PacedPlatform(clock, rate=30, script={3: [SendResult(RETRY, retry_after=5.0)]})
    log = Log()
    dispatcher = paced({"p": platform}, log, clock)
    stats = await dispatcher.deliver(jobs(10))
    sent_at = dict((c, t) for t, c in platform.times)
    assert stats.sent == 10 and stats.retries == 1
    assert sent_at["3"] >= 5.0  # waited out retry_after
    assert list(log.finished.values()).count(SENT) == 10


async def test_permanent_failure_after_max_attempts_is_recorded_not_lost():
    clock = FakeTime()
    platform = PacedPlatform(clock, rate=30, script={0: [SendResult(RETRY)] * 10})
    log = Log()
    dispatcher = paced({"p": platform}, log, clock, max_attempts=3)
    stats = await dispatcher.deliver(jobs(2))
    assert log.finished == {0: "failed", 1: "sent"} and stats.failed == 1


async def test_platforms_are_paced_independently():
    clock = FakeTime()
    slow, fast = PacedPlatform(clock, rate=10), PacedPlatform(clock, rate=50)
    dispatcher = paced({"slow": slow, "fast": fast}, Log(), clock)
    stats = await dispatcher.deliver(jobs(20, "slow") + jobs(100, "fast"))
    assert stats.sent == 120 and len(slow.times) == 20 and len(fast.times) == 100


async def test_ticker_is_aligned_to_the_wall_clock_minute():
    ticks = []

    async def tick(now):
        ticks.append(now)

    ticker = MinuteTicker(tick, lambda: datetime(2026, 11, 25, 7, 0, 13, tzinfo=UTC))
    ticker.start()
    try:
        job = ticker._scheduler.get_job("reminder-tick")
        assert job.next_run_time.second == 0 and job.next_run_time.microsecond == 0
        assert job.misfire_grace_time >= 30 and job.coalesce and job.max_instances == 1
        await asyncio.sleep(0.05)
        assert len(ticks) == 1  # the catch-up tick at start
    finally:
        await ticker.stop()


async def test_terminal_session_delivers_reminders_into_the_chat():
    out = io.StringIO()
    session = TerminalSession(out, "me")
    replies = [Reply("Time for your hips!", ((Button("✅ Done", "rd:1:20261125"),),))]
    result = await session.send(Target("terminal", "me", "terminal:me"), replies)
    assert result.status == SENT
    assert "Time for your hips!" in out.getvalue() and "[1] ✅ Done" in out.getvalue()
    assert session.choices[0].data == "rd:1:20261125"  # typing 1 now presses Done
