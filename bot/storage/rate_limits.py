"""One send rate shared by every process on the database (docs/scale-out.md): Telegram's ~30 messages/s and
Discord's global request rate count the whole bot, not one process.

A row per (platform, scope) holds `next_at`, the first send slot nobody has booked yet. A process books a small
lease of consecutive slots in one short UPDATE ... RETURNING: next_at moves on by count / rate, and the process
learns how long until its first slot. Every slot anyone books is then at least 1 / rate after the one before,
whichever process booked it, so the sum over all processes never exceeds the rate in any second.

Bulk messages (reminders, challenge posts) may book only while the schedule reaches at most `horizon` seconds
ahead, so an answer to a person, which books without that limit, is never queued behind more than `horizon` of
fan-out from any process. A 429 seen by any process sets `paused_until`; nobody's next slot starts before it.

Times are epoch seconds on the database's clock (the statement's timestamp), never the processes' own clocks:
machines disagree by milliseconds, which is a whole slot at 30/s. A lease answers in seconds from now, so each
process sleeps on its own monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.storage.database import Database

# The statement's time in epoch seconds, fixed for the whole statement on both backends.
_NOW = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}
_GREATEST = {"postgresql": "GREATEST", "sqlite": "MAX"}  # SQLite's MAX(a, b, c) is its scalar greatest
NO_HORIZON = 1e9  # answers book however far ahead the schedule already is


@dataclass(frozen=True)
class Lease:
    """`count` slots booked: the first `first_in` seconds from now, then one every `interval` seconds."""

    first_in: float
    interval: float
    count: int


@dataclass(frozen=True)
class Refused:
    """No slot booked: the schedule reaches further ahead than the horizon; try again in `retry_in` seconds."""

    retry_in: float


class RateStore(Protocol):
    """The port the shared limiter books its send slots through."""

    async def book(self, platform: str, scope: str, rate: float, count: int, horizon: float) -> Lease | Refused:
        """Book `count` consecutive slots at `rate` per second, unless the schedule already reaches more than
        `horizon` seconds ahead (NO_HORIZON: book regardless)."""

    async def pause(self, platform: str, scope: str, seconds: float) -> None:
        """Nobody's slot starts within `seconds` from now (a 429 with its retry_after)."""


class SqlRateLimits:
    """RateStore over the project's Database: the same SQL on PostgreSQL (many processes) and SQLite."""

    def __init__(self, db: Database) -> None:
        self.db = db
        name = db.dialect.name
        now, greatest = _NOW[name], _GREATEST[name]
        # One statement, one row lock: read the schedule, move it on, answer the wait, atomically.
        self._book = (
            f"UPDATE rate_limits SET next_at = {greatest}(next_at, paused_until, {now}) + ? "
            f"WHERE platform = ? AND scope = ? AND next_at <= {now} + ? "
            f"RETURNING next_at - ? - {now}"
        )
        self._ahead = f"SELECT next_at - {now}, paused_until - {now} FROM rate_limits WHERE platform = ? AND scope = ?"
        self._pause = (
            f"UPDATE rate_limits SET paused_until = {greatest}(paused_until, {now} + ?) "
            "WHERE platform = ? AND scope = ?"
        )
        self._known: set[tuple[str, str]] = set()

    async def book(self, platform: str, scope: str, rate: float, count: int, horizon: float) -> Lease | Refused:
        await self._ensure(platform, scope)
        interval = 1.0 / rate
        span = count * interval
        rows = await self.db.fetch(self._book, (span, platform, scope, horizon, span))
        if rows:
            return Lease(first_in=max(0.0, float(rows[0][0])), interval=interval, count=count)
        ahead = await self.db.fetch(self._ahead, (platform, scope))
        reach, paused = (float(ahead[0][0]), float(ahead[0][1])) if ahead else (0.0, 0.0)
        # Come back when the booked schedule has shrunk to the horizon (or the pause ends): no gap opens.
        return Refused(retry_in=max(0.0, reach - horizon, paused - horizon))

    async def pause(self, platform: str, scope: str, seconds: float) -> None:
        await self._ensure(platform, scope)
        await self.db.execute(self._pause, (seconds, platform, scope))

    async def _ensure(self, platform: str, scope: str) -> None:
        if (platform, scope) in self._known:
            return
        await self.db.execute(
            "INSERT INTO rate_limits (platform, scope, next_at, paused_until) VALUES (?, ?, 0, 0) "
            "ON CONFLICT (platform, scope) DO NOTHING",
            (platform, scope),
        )
        self._known.add((platform, scope))
