"""Days of the week as people type them ("weekdays", "mon-fri", "every day except sunday")."""

from __future__ import annotations

import re

ALL_DAYS = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
WEEKENDS = frozenset({5, 6})
_DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_NAMES = {
    **dict.fromkeys(("mon", "monday", "mondays"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday", "tuesdays"), 1),
    **dict.fromkeys(("wed", "weds", "wednesday", "wednesdays"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday", "thursdays"), 3),
    **dict.fromkeys(("fri", "friday", "fridays"), 4),
    **dict.fromkeys(("sat", "saturday", "saturdays"), 5),
    **dict.fromkeys(("sun", "sunday", "sundays"), 6),
}
_DAY_GROUPS = {
    **dict.fromkeys(("weekday", "weekdays", "workday", "workdays"), WEEKDAYS),
    **dict.fromkeys(("weekend", "weekends"), WEEKENDS),
}


_DAY_TOKEN = re.compile(r"[a-z]+|-")
_RANGE_WORDS = frozenset({"-", "to", "through", "thru", "till", "until"})
_EXCEPT = frozenset({"except", "excluding", "besides"})
_EVERY_FEW_DAYS = re.compile(r"\bevery\s+(?:other|second|third|[0-9]+(?:nd|rd|th)?|two|three|few)\s+days?\b")


def _day_range(first: int, last: int) -> set[int]:
    # wraps, so "fri-mon" is Fri, Sat, Sun, Mon
    return {(first + i) % 7 for i in range((last - first) % 7 + 1)}


# Abbreviations that are also words ("the sun", "I sat", "c'mon") count only next to other schedule words.
_LOOKS_LIKE_PROSE = frozenset({"mon", "sat", "sun"})
_DAY_NEIGHBOURS = frozenset({"on", "every", "each", "and", "or", "except", "not", "remind", "me", "at", *_RANGE_WORDS})


def _is_day(words: list[str], i: int) -> bool:
    word = words[i]
    if word not in _LOOKS_LIKE_PROSE:
        return word in _DAY_NAMES
    prev = words[i - 1] if i > 0 else None
    nxt = words[i + 1] if i + 1 < len(words) else None
    return prev is None or prev in _DAY_NEIGHBOURS or prev in _DAY_NAMES or nxt in _DAY_NAMES or nxt in _RANGE_WORDS


def _read_days(low: str) -> tuple[frozenset[int], tuple[str, ...]]:
    words = _DAY_TOKEN.findall(low)
    add: set[int] = set()
    remove: set[int] = set()
    target, i = add, 0
    while i < len(words):
        word, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
        if word in _EXCEPT or (word, nxt) in (("but", "not"), ("not", "on")):
            target = remove  # "every day except sunday", "weekdays but not friday"
        elif word in ("work", "working", "business") and nxt in ("day", "days"):
            target |= WEEKDAYS
        elif word in _DAY_GROUPS:
            target |= _DAY_GROUPS[word]
        elif _is_day(words, i):
            last = words[i + 2] if i + 2 < len(words) else ""
            if nxt in _RANGE_WORDS and last in _DAY_NAMES:
                target |= _day_range(_DAY_NAMES[word], _DAY_NAMES[last])
                i += 2
            else:
                target.add(_DAY_NAMES[word])
        i += 1
    days = frozenset(add or ALL_DAYS) - remove
    if not days:
        return ALL_DAYS, ("That leaves no days, so I kept every day.",)
    if _EVERY_FEW_DAYS.search(low):
        return days, (f"I can repeat on days of the week but not every few days, so I chose {describe_days(days)}.",)
    return days, ()


def describe_days(days: frozenset[int]) -> str:
    """'every day', 'weekdays', 'weekends' or 'Mon, Wed, Fri'."""
    days = frozenset(days)
    if any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {sorted(days, key=str)}")
    named = {ALL_DAYS: "every day", WEEKDAYS: "weekdays", WEEKENDS: "weekends", frozenset(): "no days"}
    return named.get(days) or ", ".join(_DAY_ABBR[d] for d in sorted(days))
