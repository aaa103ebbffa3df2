"""Streaks from check-ins, counted in the user's local days.

Pure functions over (local date, kind) rows, so the rules live in one readable place:
- one check-in per local day; until GRACE after midnight a check-in still counts for yesterday
  (if yesterday is not done yet);
- every FREEZE_EVERY done days in a row earn a streak freeze (at most MAX_FREEZES banked);
- a freeze is spent automatically to bridge a single missed day when the user checks in again;
- milestone messages at MILESTONES days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

DONE = "done"
FREEZE = "freeze"
GRACE = time(1, 0)
FREEZE_EVERY = 7
MAX_FREEZES = 2
MILESTONES = (3, 7, 14, 30, 60, 100)


@dataclass(frozen=True)
class Summary:
    current: int
    best: int
    freezes: int
    done_today: bool
    days: frozenset[date]  # local dates that count (done or frozen)


@dataclass(frozen=True)
class CheckIn:
    """What a Done press means: the day it counts for, freeze days to record, the new summary."""

    day: date
    already: bool
    freeze_days: tuple[date, ...]
    summary: Summary
    milestone: int | None


def checkin_day(local_now: datetime, done: set[date]) -> date:
    """The local day a check-in at local_now counts for (grace hour after midnight)."""
    today = local_now.date()
    yesterday = today - timedelta(days=1)
    if local_now.time() < GRACE and yesterday not in done and today not in done:
        return yesterday
    return today


def summarize(rows: list[tuple[date, str]], today: date) -> Summary:
    """Walk the history in order, earning and spending freezes as the user did."""
    counted = {d for d, _ in rows}
    done_days = {d for d, kind in rows if kind == DONE}
    earned = 0
    run = best = 0
    previous: date | None = None
    for day in sorted(counted):
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        if day in done_days and run % FREEZE_EVERY == 0:
            earned += 1
        best = max(best, run)
        previous = day
    spent = sum(1 for _, kind in rows if kind == FREEZE)
    freezes = max(0, min(MAX_FREEZES, earned - spent))
    # The current streak ends today, or yesterday when today is not done yet.
    end = today if today in counted else today - timedelta(days=1)
    current = 0
    while end in counted:
        current += 1
        end -= timedelta(days=1)
    return Summary(current, best, freezes, today in counted, frozenset(counted))


def check_in(rows: list[tuple[date, str]], local_now: datetime) -> CheckIn:
    done = {d for d, _ in rows}
    day = checkin_day(local_now, done)
    if day in done:
        return CheckIn(day, True, (), summarize(rows, local_now.date()), None)
    before = summarize(rows, day)
    freeze_days: tuple[date, ...] = ()
    gap_day = day - timedelta(days=1)
    # One missed day right before, with a streak before it and a freeze in the bank: bridge it.
    if gap_day not in done and (gap_day - timedelta(days=1)) in done and before.freezes > 0:
        freeze_days = (gap_day,)
    new_rows = rows + [(d, FREEZE) for d in freeze_days] + [(day, DONE)]
    after = summarize(new_rows, local_now.date())
    streak_at_day = summarize(new_rows, day).current
    milestone = streak_at_day if streak_at_day in MILESTONES else None
    return CheckIn(day, False, freeze_days, after, milestone)


def calendar(rows: list[tuple[date, str]], today: date, weeks: int = 4) -> str:
    """The last weeks as a small grid, Monday first: done, frozen, missed, still to come."""
    kinds = dict(rows)
    start = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    lines = ["Mo Tu We Th Fr Sa Su"]
    for w in range(weeks):
        cells = []
        for d in range(7):
            day = start + timedelta(days=7 * w + d)
            if day > today:
                cells.append("·")
            elif kinds.get(day) == DONE:
                cells.append("✅")
            elif kinds.get(day) == FREEZE:
                cells.append("❄️")
            else:
                cells.append("▫️")
        lines.append(" ".join(cells))
    return "\n".join(lines)
