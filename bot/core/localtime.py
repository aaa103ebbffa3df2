"""Local wall-clock time to UTC instants, correct across daylight-saving changes.

A daily reminder at 07:30 Europe/Berlin is 07:30 on the wall clock every day, whatever the UTC
offset. Two days a year need care:
- spring forward: 02:30 does not exist; the reminder fires once, at the first valid moment (03:00);
- fall back: 01:30 happens twice; the reminder fires once, at the first of them (fold=0).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """ZoneInfo objects, kept: zoneinfo's own cache is small and reloading a zone file is slow."""
    return ZoneInfo(name)


def fire_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of `at` on local `day`; the first valid moment when that time does not exist."""
    naive = datetime.combine(day, at.replace(tzinfo=None, second=0, microsecond=0))
    first = naive.replace(tzinfo=tz, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(tz).replace(tzinfo=None) == naive:
        return as_utc  # exists (and for an ambiguous time, fold=0 is the first of the two)
    # In a gap: walk forward from the earlier reading to the moment the wall clock jumps past it.
    candidate = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    for _ in range(24 * 60):
        if candidate.astimezone(tz).replace(tzinfo=None) >= naive:
            return candidate
        candidate += timedelta(minutes=1)
    return as_utc  # unreachable for real zones; never loop forever


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def next_fire(
    at: time, days: Iterable[int], tz: ZoneInfo, after: datetime, not_before: date | None = None
) -> datetime | None:
    """The first fire instant strictly after `after` (UTC) on one of `days` (Mon=0), on or after `not_before`."""
    days = frozenset(days)
    if not days:
        return None
    day = local_date(after, tz) - timedelta(days=1)  # yesterday's local slot may still be ahead in UTC terms
    if not_before and day < not_before:
        day = not_before
    for _ in range(15):
        if day.weekday() in days:
            instant = fire_instant(day, at, tz)
            if instant > after:
                return instant
        day += timedelta(days=1)
    return None
