"""Daily reminders and personal streaks: commands.py (`Reminders`, what the coach calls), tick.py (the
minute tick and the ReminderDeliveries job kind), checkins.py ("done" and the streak calendar)."""

from bot.core.delivery import CLAIM_LEASE, LATE_WINDOW, TICK_BATCH

from .checkins import Checkins
from .commands import CHANGE_WORDS, MAX_REMINDERS, Reminders
from .tick import (
    BACKOFF_AFTER,
    GOAL_ROTATION,
    STREAK_LOOKBACK_DAYS,
    UNREACHABLE_NOTICE,
    ReminderDeliveries,
    ReminderTick,
    day_code,
)

__all__ = [
    "BACKOFF_AFTER",
    "CHANGE_WORDS",
    "CLAIM_LEASE",
    "GOAL_ROTATION",
    "LATE_WINDOW",
    "MAX_REMINDERS",
    "STREAK_LOOKBACK_DAYS",
    "TICK_BATCH",
    "UNREACHABLE_NOTICE",
    "Checkins",
    "ReminderDeliveries",
    "ReminderTick",
    "Reminders",
    "day_code",
]
