"""The rules of a group challenge (docs/challenges.md): day numbers, check-in days, streaks, percentages
and who finished. Plain functions of a Challenge and a Participant: no storage, no text.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from bot.core.localtime import zone
from bot.core.ports import Challenge, Participant
from bot.core.streaks import checkin_day as personal_checkin_day

MIN_DAYS, MAX_DAYS = 3, 60
SUGGESTED_DAYS = (7, 14, 30)
FINISH_SHARE = 0.8  # "finished": checked in on at least 80% of the days it ran (24 of 30, 12 of 14, 6 of 7)
MAX_AHEAD = timedelta(days=90)  # latest start date
LEADERBOARD_SIZE = 10
FINISHERS_NAMED = 40  # a summary names this many finishers, then "and N more"


def day_number(c: Challenge, now: datetime) -> int:
    """Today's challenge day in its time zone (< 1 before it starts, > days after the last day)."""
    return (now.astimezone(zone(c.timezone)).date() - c.start_date).days + 1


def checkin_day(c: Challenge, now: datetime, last_day: int | None) -> int:
    """The day a check-in at `now` counts for: today, or yesterday during the grace hour if it is open."""
    local = now.astimezone(zone(c.timezone))
    done = {c.start_date + timedelta(days=last_day - 1)} if last_day else set()
    day = (personal_checkin_day(local, done) - c.start_date).days + 1
    today = (local.date() - c.start_date).days + 1
    return today if day < 1 <= today else day  # 00:30 on day 1: there is no day 0 to catch up


def finish_days(c: Challenge, ran: int) -> int:
    return max(1, math.ceil(FINISH_SHARE * ran - 1e-9))


def _elapsed(c: Challenge, p: Participant, now: datetime) -> tuple[int, int]:
    """(the reference day for streaks, days counted for the percentage)."""
    if c.status != "active":
        ran = c.final_day or c.days
        return ran + 1, max(1, ran - p.joined_day + 1)
    today = day_number(c, now)
    if today > c.days:
        return c.days + 1, max(1, c.days - p.joined_day + 1)
    counted = today if p.last_day == today else today - 1
    return today, max(0, counted - p.joined_day + 1)


def current_streak(c: Challenge, p: Participant, now: datetime) -> int:
    reference, _ = _elapsed(c, p, now)
    return p.streak if p.last_day is not None and p.last_day >= reference - 1 else 0


def percent(c: Challenge, p: Participant, now: datetime) -> int:
    """Days done out of the days the member could have done so far (from the day they joined;
    today counts once it is done)."""
    _, possible = _elapsed(c, p, now)
    return 0 if possible <= 0 else min(100, round(100 * p.days_done / possible))


def short_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def plural(count: int) -> str:
    return "" if count == 1 else "s"
