"""Streak rules in the user's local days: grace hour, freezes, milestones, time-zone moves."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.core.streaks import calendar, check_in, summarize

D0 = date(2026, 3, 2)  # a Monday


def days_done(*offsets: int) -> list[tuple[date, str]]:
    return [(D0 + timedelta(days=o), "done") for o in offsets]


def at(day_offset: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(D0 + timedelta(days=day_offset), datetime.min.time()).replace(hour=hh, minute=mm)


def test_streak_counts_consecutive_local_days_and_survives_until_tomorrow():
    rows = days_done(0, 1, 2)
    assert summarize(rows, D0 + timedelta(days=2)).current == 3
    assert summarize(rows, D0 + timedelta(days=3)).current == 3  # today not done yet: still alive
    assert summarize(rows, D0 + timedelta(days=4)).current == 0  # a whole day missed


def test_grace_hour_after_midnight_counts_for_yesterday():
    rows = days_done(0)
    result = check_in(rows, at(2, 0, 40))  # 00:40 on day 2, day 1 not done
    assert result.day == D0 + timedelta(days=1) and result.summary.current == 2
    result = check_in(rows, at(2, 1, 5))  # after the grace hour it is today
    assert result.day == D0 + timedelta(days=2)


def test_once_per_day():
    rows = days_done(0)
    assert check_in(rows, at(0, 20)).already


def test_freeze_earned_every_seven_days_bridges_one_missed_day():
    rows = days_done(*range(7))
    assert summarize(rows, D0 + timedelta(days=6)).freezes == 1
    result = check_in(rows, at(8, 9))  # day 7 missed
    assert result.freeze_days == (D0 + timedelta(days=7),)
    assert result.summary.current == 9 and result.summary.freezes == 0
    # without a freeze in the bank the streak restarts
    rows = days_done(0, 1, 2)
    result = check_in(rows, at(4, 9))
    assert result.freeze_days == () and result.summary.current == 1


def test_milestones():
    assert check_in(days_done(0, 1), at(2, 9)).milestone == 3
    assert check_in(days_done(*range(6)), at(6, 9)).milestone == 7
    assert check_in(days_done(0, 1, 2), at(3, 9)).milestone is None


def test_best_streak_is_kept():
    rows = days_done(0, 1, 2, 3, 10)
    s = summarize(rows, D0 + timedelta(days=10))
    assert (s.current, s.best) == (1, 4)


def test_moving_time_zone_keeps_the_streak():
    # Days are stored as the user's local dates: flying Berlin -> New York the same evening
    # (Berlin 23:30 = New York 17:30 the same date) still finds today's check-in.
    rows = days_done(0, 1)
    new_york_evening = at(1, 17, 30)
    assert check_in(rows, new_york_evening).already
    assert check_in(rows, at(2, 8)).summary.current == 3


def test_calendar_shows_last_weeks():
    rows = days_done(0, 1, 3) + [(D0 + timedelta(days=2), "freeze")]
    grid = calendar(rows, D0 + timedelta(days=4), weeks=2)
    lines = grid.splitlines()
    assert lines[0].startswith("Mo") and len(lines) == 3
    assert lines[2].split()[:5] == ["✅", "✅", "❄️", "✅", "▫️"]
