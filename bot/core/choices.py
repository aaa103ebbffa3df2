"""Autocomplete: what to offer while someone is still typing an exercise name or a time zone.

Platform-neutral (Discord's slash-command autocomplete uses it today); answers in well under a
millisecond, since Discord drops autocomplete replies that take longer than 3 seconds.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from bot.core.content import Content
from bot.core.knowledge import Knowledge
from bot.core.schedule_text import resolve_timezone

MAX_CHOICES = 25  # Discord's limit per autocomplete answer
COMMON_ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)


def exercise_choices(content: Content, knowledge: Knowledge, typed: str, limit: int = MAX_CHOICES) -> list[str]:
    """Exercise names: those starting with what was typed, then those containing it, then close matches."""
    typed = " ".join(typed.lower().split())
    names = sorted(ex.name for ex in content.exercises.values())
    if not typed:
        return names[:limit]
    starts = [n for n in names if n.lower().startswith(typed)]
    contains = [n for n in names if typed in n.lower() and n not in starts]
    close = [content.exercises[i].name for i in knowledge.exercises.suggestions(typed, limit)]
    found = knowledge.exercises.find(typed)
    exact = [content.exercises[found[0]].name] if found else []
    return list(dict.fromkeys(exact + starts + contains + close))[:limit]


@lru_cache(maxsize=1)
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def timezone_choices(typed: str, limit: int = MAX_CHOICES) -> list[str]:
    """IANA names for a city, zone or offset as typed ("berlin", "new york", "UTC+2")."""
    typed = typed.strip()
    if not typed:
        return list(COMMON_ZONES[:limit])
    resolved, suggestions = resolve_timezone(typed)
    needle = typed.lower().replace(" ", "_")
    matching = [z for z in _all_zones() if needle in z.lower()]
    # a match on the city part ("Berlin" in Europe/Berlin) before a match anywhere else
    matching.sort(key=lambda z: (not z.lower().rsplit("/", 1)[-1].startswith(needle), z))
    return list(dict.fromkeys(([resolved] if resolved else []) + matching + suggestions))[:limit]
