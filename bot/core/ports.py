"""What the core needs from the outside world. Implementations are injected by bot/app.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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


class Repository(Protocol):
    """The storage the coach uses. SQLite today; keep the SQL behind it portable."""

    async def begin_turn(
        self, user_key: str, display_name: str, now: datetime
    ) -> tuple[bool, Profile, dict[str, Any] | None]:
        """Record that the user exists and load what a turn needs: (first contact?, profile, state)."""

    async def get_profile(self, user_key: str) -> Profile: ...

    async def save_profile(self, profile: Profile, now: datetime) -> None: ...

    async def get_state(self, user_key: str) -> dict[str, Any] | None: ...

    async def set_state(self, user_key: str, state: dict[str, Any] | None, now: datetime) -> None: ...

    async def forget_user(self, user_key: str) -> int:
        """Delete every row about the user; returns how many rows went."""

    async def count_rows(self, user_key: str) -> dict[str, int]:
        """Rows about the user per table (privacy checks and /export)."""
