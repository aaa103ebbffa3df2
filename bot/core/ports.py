"""What the core needs from the outside world. Implementations are injected by bot/app.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Profile:
    user_key: str
    goal: str | None = None  # general | desk | lower-back | knee | athlete
    level: str | None = None  # beginner | intermediate
    timezone: str | None = None
    onboarded: bool = False
    notice: str | None = None  # something to tell the user next time they write (e.g. reminders paused)


class Repository(Protocol):
    """The storage the coach uses. SQLite today; keep the SQL behind it portable."""

    async def begin_turn(
        self, user_key: str, display_name: str, now: datetime
    ) -> tuple[bool, Profile, dict[str, Any] | None]:
        """Record that the user exists and load what a turn needs: (first contact?, profile, state)."""

    async def get_profile(self, user_key: str) -> Profile: ...

    async def save_profile(self, profile: Profile, now: datetime) -> None: ...

    async def get_state(self, user_key: str) -> dict[str, Any] | None: ...

    async def set_state(self, user_key: str, state: dict[str, Any] | None, now: datetime, durable: bool = True) -> None:
        """durable=False may keep it in memory only (it is lost on restart, never wrong)."""

    async def forget_user(self, user_key: str) -> int:
        """Delete every row about the user; returns how many rows went."""

    async def count_rows(self, user_key: str) -> dict[str, int]:
        """Rows about the user per table (privacy checks and /export)."""

    # Reminders, the delivery log and check-ins (see bot/storage/sqlite_reminders.py).
    async def add_reminder(self, reminder: Reminder, now: datetime) -> Reminder: ...
    async def save_reminder(self, reminder: Reminder, now: datetime) -> None: ...
    async def reminders_of(self, user_key: str) -> list[Reminder]: ...
    async def get_reminder(self, reminder_id: int) -> Reminder | None: ...
    async def delete_reminders(self, user_key: str, ids: list[int] | None = None) -> int: ...
    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]: ...
    async def clear_snooze(self, reminder_id: int, expected: datetime) -> bool: ...
    async def pause_all(self, user_key: str, reason: str, now: datetime) -> int: ...
    async def claim_delivery(
        self, reminder: Reminder, local_date: date, kind: str, scheduled: datetime, now: datetime, status: str
    ) -> int | None: ...
    async def finish_delivery(
        self, delivery_id: int, status: str, attempts: int, late_seconds: int | None, error: str | None, now: datetime
    ) -> None: ...
    async def claim_many(
        self, claims: list[tuple[Reminder, date, str, datetime, str]], now: datetime
    ) -> dict[tuple[int, str], int]: ...
    async def advance_many(self, moves: list[tuple[int, datetime | None, datetime | None]]) -> None: ...
    async def profiles_of(self, user_keys: list[str]) -> dict[str, Profile]: ...
    async def checkins_since(self, user_keys: list[str], since: date) -> dict[str, list[tuple[date, str]]]: ...
    async def acknowledge(self, user_key: str, local_date: date) -> None: ...
    async def delivery_exists(self, reminder_id: int, local_date: date, kind: str) -> bool: ...
    async def stale_claims(self, claimed_before: datetime, scheduled_after: datetime) -> list[Delivery]: ...
    async def reclaim(self, delivery: Delivery, now: datetime) -> bool: ...
    async def checkins_of(self, user_key: str) -> list[tuple[date, str]]: ...
    async def add_checkins(self, user_key: str, rows: list[tuple[date, str]], now: datetime) -> bool: ...
    async def set_notice(self, user_key: str, notice: str | None) -> None: ...


@dataclass(frozen=True)
class Reminder:
    """A daily reminder. next_fire_utc is the source of truth for when it fires next (None: paused)."""

    id: int
    user_key: str
    platform: str
    chat_id: str
    at: time  # local wall-clock time
    days: frozenset[int]  # Monday=0
    timezone: str
    status: str = "active"  # active | paused
    paused_until: date | None = None  # local date it resumes on
    pause_reason: str | None = None  # user | blocked | backoff
    next_fire_utc: datetime | None = None
    snooze_until_utc: datetime | None = None
    ignored: int = 0  # reminders in a row nobody reacted to


@dataclass(frozen=True)
class Delivery:
    id: int
    reminder_id: int
    user_key: str
    local_date: date
    kind: str  # daily | snooze-HHMM | backoff
    scheduled_utc: datetime
    status: str  # claimed | sent | failed | blocked | missed | skipped
    attempts: int = 0
    claimed_at: datetime | None = None
