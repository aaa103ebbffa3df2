"""Reading reminder requests ("weekdays at 7am Berlin") as people type them, on any chat platform.

Everything here is plain text in, plain values out: no platform, clock or storage. Parsing works on a
folded copy of the message (accents stripped, lower case) in three passes: time zones are found and
masked first (so "UTC+2" never reads as 2 o'clock), then the time, then the days.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .days import _DAY_GROUPS, _DAY_NAMES, _EXCEPT, ALL_DAYS, WEEKDAYS, WEEKENDS, _read_days, describe_days
from .folding import MAX_TEXT_CHARS, _Source
from .times import _DAYPARTS, NO_TIME_HINT, _read_time, format_time, parse_time
from .zones import _ALIASES, _NOT_IN_PROSE, _find_zones, _unknown_zone, _ZoneHit, resolve_timezone


@dataclass(frozen=True)
class ReminderRequest:
    time: datetime.time | None  # local wall-clock time, minute precision
    days: frozenset[int]  # Monday=0 .. Sunday=6; all seven when the text named none
    timezone: str | None  # IANA name if the text named one (zone, city or offset)
    problems: tuple[str, ...] = ()  # short, friendly notes on what could not be understood


# ---------------------------------------------------------------- the whole request

# Words after the time that are part of the request, not a place ("7:30 every day please").
_NOT_PLACES = frozenset(
    {
        *"please pls plz thanks thank you thx ty sharp local time zone timezone tz my the in on at each every daily "
        "everyday day days today tomorrow o'clock oclock ok okay again but not no too also yoga walk walking stretch "
        "stretching routine workout exercise exercises mobility hips hip session practice".split(),
        *_EXCEPT,
        *_DAY_NAMES,
        *_DAY_GROUPS,
        *_DAYPARTS,
    }
)
# A clause starting with one of these is the task ("at 7 to stretch"), never a time zone.
_TASK_LEADS = frozenset({"to", "for", "about", "that", "so", "and", "with", "if", "when"})
_TRAILING_WORD = re.compile(r"[^\W\d_][\w'/-]*")


def _trailing_zone_problem(src: _Source, low: str, time_end: int) -> str | None:
    """'remind 7:30 mars': a word or two right after the time that nearly spells a zone is worth a question."""
    words = [m for m in _TRAILING_WORD.finditer(low, time_end)]
    if not words or re.split(r"[/']", words[0][0])[0] in _TASK_LEADS:
        return None
    kept = [m for m in words if m[0].strip("'-") not in _NOT_PLACES]
    if not kept or len(kept) > 2 or any(m[0] in _NOT_IN_PROSE for m in kept):
        return None
    raw = src.quote(kept[0].start(), kept[-1].end())
    name, suggestions = resolve_timezone(raw)
    if name or not (suggestions or "/" in raw):
        return None  # unrelated words ("at 7 sharp") are ignored, as the rest of the message is
    return _unknown_zone(raw)


def _read_zone(src: _Source, hits: list[_ZoneHit], low: str, time_end: int | None) -> tuple[str | None, list[str]]:
    problems = [h.problem for h in hits if h.problem]
    names = list(dict.fromkeys(h.name for h in hits if h.name))
    if len(names) > 1:
        problems.append(f"I saw more than one time zone ({', '.join(names)}), so I used {names[0]}.")
    if not hits and time_end is not None:
        problems += filter(None, [_trailing_zone_problem(src, low, time_end)])
    return (names[0] if names else None), problems


def parse_reminder_request(text: str) -> ReminderRequest:
    """Time, days and time zone from a message like 'weekdays at 7am Berlin'; gaps are explained in `problems`."""
    src = _Source.of(text)
    hits, low = _find_zones(src)
    reading = _read_time(src, low)
    days, day_problems = _read_days(low)
    zone, zone_problems = _read_zone(src, hits, low, reading.end)
    problems = [*reading.problems, *day_problems, *zone_problems]
    if src.truncated:
        problems.append(f"That message is long, so I only read the first {MAX_TEXT_CHARS} characters.")
    return ReminderRequest(reading.time, days, zone, tuple(problems))


__all__ = [
    "ALL_DAYS",
    "MAX_TEXT_CHARS",
    "NO_TIME_HINT",
    "WEEKDAYS",
    "WEEKENDS",
    "_ALIASES",
    "ReminderRequest",
    "describe_days",
    "format_time",
    "parse_reminder_request",
    "parse_time",
    "resolve_timezone",
]
