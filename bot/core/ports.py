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


# What a tick does with the due reminders it took (Repository.claim_due_reminders): the deliveries to claim
# (reminder, local date, kind, scheduled, status), the next fires to move (id, read, new) and the snoozes to clear
# (id, read), committed together with the take.
DuePlan = tuple[
    list[tuple["Reminder", date, str, datetime, str]],
    list[tuple[int, datetime | None, datetime | None]],
    list[tuple[int, datetime]],
]


class PeopleStore(Protocol):
    """People, their profiles and conversation state (bot/storage/people.py)."""

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

    async def export_user(self, user_key: str) -> dict[str, list[dict[str, Any]]]:
        """Every row about the user, per table (/export)."""

    async def count_rows(self, user_key: str) -> dict[str, int]:
        """Rows about the user per table (privacy checks and /export)."""


class ReminderStore(Protocol):
    """Reminders, check-ins and streak notices (bot/storage/reminders.py)."""

    async def add_reminder(self, reminder: Reminder, now: datetime) -> Reminder: ...
    async def save_reminder(self, reminder: Reminder, now: datetime) -> None: ...
    async def reminders_of(self, user_key: str) -> list[Reminder]: ...
    async def get_reminder(self, reminder_id: int) -> Reminder | None: ...
    async def delete_reminders(self, user_key: str, ids: list[int] | None = None) -> int: ...
    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]: ...
    async def clear_snooze(self, reminder_id: int, expected: datetime) -> bool: ...
    async def pause_all(self, user_key: str, reason: str, now: datetime) -> int: ...
    async def profiles_of(self, user_keys: list[str]) -> dict[str, Profile]: ...
    async def checkins_since(self, user_keys: list[str], since: date) -> dict[str, list[tuple[date, str]]]: ...
    async def acknowledge(self, user_key: str, local_date: date) -> None: ...
    async def checkins_of(self, user_key: str) -> list[tuple[date, str]]: ...
    async def add_checkins(self, user_key: str, rows: list[tuple[date, str]], now: datetime) -> bool: ...
    async def set_notice(self, user_key: str, notice: str | None) -> None: ...


class DeliveryLog(Protocol):
    """Claims and outcomes of scheduled sends: a delivery is claimed before it is sent, so a second process
    (or a restart) never sends it again; claims of a dead process are taken over (bot/storage/reminders.py)."""

    async def claim_due_reminders(
        self, now: datetime, limit: int, plan: Callable[[list[Reminder]], DuePlan]
    ) -> tuple[list[Reminder], dict[tuple[int, str], int]]:
        """Take due reminders (disjoint batches across processes) and claim them in one transaction."""

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
    async def delivery_exists(self, reminder_id: int, local_date: date, kind: str) -> bool: ...
    async def stale_claims(self, claimed_before: datetime, scheduled_after: datetime) -> list[Delivery]: ...
    async def reclaim(self, delivery: Delivery, now: datetime) -> bool: ...


class ChallengeStore(Protocol):
    """Group challenges, their members, check-ins and daily posts (bot/storage/challenges.py)."""

    async def add_challenge(self, challenge: Challenge, now: datetime) -> Challenge | None:
        """Insert; None when the channel already has an active challenge (one per channel, atomically)."""

    async def get_challenge(self, challenge_id: int) -> Challenge | None: ...
    async def challenges_in(self, platform: str, space: str, limit: int = 20) -> list[Challenge]: ...
    async def challenges_joined(self, platform: str, user_key: str) -> list[Challenge]: ...
    async def change_challenge(
        self, challenge_id: int, expected: str, status: str, final_day: int | None, now: datetime
    ) -> bool: ...
    async def join_challenge(
        self, challenge_id: int, user_key: str, display_name: str, joined_day: int, now: datetime
    ) -> str: ...
    async def leave_challenge(self, challenge_id: int, user_key: str, now: datetime) -> bool: ...
    async def get_participant(self, challenge_id: int, user_key: str) -> Participant | None: ...
    async def challenge_check_in(
        self, challenge_id: int, user_key: str, display_name: str, day: int, joined_day: int, now: datetime
    ) -> tuple[bool, bool, Participant]: ...
    async def leaderboard(self, challenge_id: int, limit: int) -> list[Participant]: ...
    async def participant_rank(self, participant: Participant) -> int: ...
    async def member_count(self, challenge_id: int) -> int: ...
    async def challenge_numbers(self, challenge_id: int, day: int, finish_days: int) -> ChallengeNumbers: ...
    async def finishers(self, challenge_id: int, min_days: int, limit: int) -> list[Participant]: ...
    async def due_challenges(self, now: datetime, limit: int) -> list[Challenge]: ...
    async def claim_challenge_posts(self, plans: list[PostPlan], now: datetime) -> dict[int, int]: ...
    async def claim_due_challenge_posts(
        self, now: datetime, limit: int, plan: Callable[[Challenge], PostPlan]
    ) -> tuple[list[PostPlan], dict[int, int]]:
        """Take due challenges (disjoint batches across processes), plan and claim their posts in one transaction."""

    async def finish_challenge_post(
        self, post_id: int, status: str, error: str | None, now: datetime, retry_at: datetime | None = None
    ) -> None: ...
    async def resendable_posts(self, now: datetime, stale_before: datetime) -> list[ChallengePost]: ...
    async def give_up_post(self, post: ChallengePost, status: str, now: datetime) -> None: ...
    async def reclaim_post(self, post: ChallengePost, now: datetime) -> bool: ...


class Repository(PeopleStore, ReminderStore, DeliveryLog, ChallengeStore, Protocol):
    """All the storage the app injects: one object over one database (SQLite or PostgreSQL, bot/storage);
    each part of the core asks only for the ports it uses."""


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
    claim_token: str | None = None  # who holds the claim (bot/storage/claims.py)


@dataclass(frozen=True)
class Challenge:
    """A group challenge in one channel. next_post_utc (indexed) says when its next post is due."""

    id: int
    platform: str
    space: str  # server / group id
    channel: str  # where the daily posts go
    name: str
    days: int
    at: time  # local post time
    timezone: str
    level: str  # beginner | intermediate
    start_date: date  # local date of day 1
    status: str = "active"  # active (scheduled or running) | finished | ended | cancelled | stopped
    organiser_key: str | None = None  # None after the organiser used /forget
    organiser_chat: str | None = None  # their personal chat, for "I had to stop it"
    next_post_day: int = 1  # 1..days: daily post of that day; days + 1: the final summary
    next_post_utc: datetime | None = None
    final_day: int | None = None  # days the challenge ran, once it is over


@dataclass(frozen=True)
class Participant:
    """A member's place in a challenge, with aggregates kept up to date by each check-in."""

    challenge_id: int
    user_key: str
    display_name: str
    status: str  # in | left
    joined_day: int
    days_done: int = 0
    streak: int = 0  # consecutive challenge days ending at last_day
    best_streak: int = 0
    last_day: int | None = None
    reached_at: datetime | None = None  # when days_done reached its value (leaderboard ties)


@dataclass(frozen=True)
class ChallengeNumbers:
    participants: int  # members in the challenge now
    eligible: int  # members who had joined by `day`
    done_on_day: int  # of those, checked in for `day`
    perfect: int  # members with at least `finish_days` days done
    days_done: int  # check-ins of all members
    possible: int  # sum over members of the days they could have checked in (up to `day`)
    best: Participant | None  # longest streak


@dataclass(frozen=True)
class PostPlan:
    """One due post: days skipped since the last one (missed), the one to claim, where the schedule goes next."""

    challenge: Challenge
    missed: tuple[tuple[int, datetime], ...]
    day: int
    kind: str  # daily | final
    scheduled: datetime
    status: str  # claimed | missed
    next_day: int
    next_utc: datetime | None
    new_status: str  # the challenge's status after this post


@dataclass(frozen=True)
class ChallengePost:
    id: int
    challenge_id: int
    day: int
    kind: str
    scheduled_utc: datetime
    status: str  # claimed | sent | retry | failed | blocked | missed
    attempts: int
    claimed_at: datetime
