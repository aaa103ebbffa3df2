"""Clock times as people type them ("7am", "half past six", "19h30", "at 7 in the evening")."""

from __future__ import annotations

import bisect
import datetime
import re
from dataclasses import dataclass

from .days import _DAY_GROUPS, _DAY_NAMES
from .folding import _MASK, _Source
from .zones import _WORD, _find_zones

NO_TIME_HINT = "try 'every day at 7am' or 'remind 07:30'"


_NUMBER_WORDS = dict(
    zip("one two three four five six seven eight nine ten eleven twelve".split(), range(1, 13), strict=True)
)
_WORDS_ALT = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_HOUR = rf"[0-9]{{1,2}}|{_WORDS_ALT}"


def _meridiem(group: str) -> str:
    return rf"(?:\s*(?P<{group}>[ap])\.?m(?![a-z])\.?)?"


_CLOCK = re.compile(
    r"(?<![\w.:/+-])(?:"
    r"(?P<phrase>(?P<ph_min>half|quarter|twenty[\s-]five|twenty|ten|five|[0-9]{1,2})"
    r"\s+(?:min(?:ute)?s?\s+)?(?P<ph_dir>past|after|to|till|before)"
    rf"\s+(?P<ph_hour>{_HOUR}){_meridiem('ph_mer')})"
    r"|(?P<named>(?:12\s*)?(?P<named_word>noon|midday|midnight))"
    r"|(?P<hm>(?P<hm_hour>[0-9]{1,2})"
    r"(?::(?P<m1>[0-9]{2})(?::[0-9]{2})?|\.(?P<m2>[0-9]{2})(?![.][0-9])|h(?P<m3>[0-9]{2}))"
    rf"{_meridiem('hm_mer')})"
    rf"|(?P<mer>(?P<mer_hour>[0-9]{{1,4}}|{_WORDS_ALT})\s*(?P<mer_mer>[ap])\.?m(?![a-z])\.?)"
    r"|(?P<digits>[0-9]{3,4})"
    rf"|(?P<bare>{_HOUR})(?P<oclock>\s*o'?clock)?"
    r")(?![\w]|[.:,/][0-9])"
)
_CONTEXT = re.compile(r"[a-z']+|[0-9]+|\x00+|@")

_DAYPARTS = {
    **dict.fromkeys(("morning", "mornings"), "morning"),
    **dict.fromkeys(("afternoon", "afternoons"), "afternoon"),
    **dict.fromkeys(("evening", "evenings"), "evening"),
    **dict.fromkeys(("night", "nights", "tonight"), "night"),
}
# A bare "7" is a time only next to words like these; "do 10 squats" or "every 2 days" must stay numbers.
_STRONG_LEAD = frozenset({"at", "@", "around", "about", "by", "to"})
_WEAK_LEAD = frozenset(
    {"remind", "me", "daily", "everyday", "day", "each", _MASK, *_DAY_NAMES, *_DAY_GROUPS, *_DAYPARTS}
)
_MAY_FOLLOW = frozenset(
    {
        *"every each daily on in at and please pls sharp local time today tomorrow to for".split(),
        _MASK,
        *_DAY_NAMES,
        *_DAY_GROUPS,
        *_DAYPARTS,
    }
)
_UNITS = frozenset(
    "day days week weeks month months year years hour hours hr hrs h minute minutes min mins m second seconds "
    "sec secs time times x rep reps set sets round rounds kg kgs lb lbs km mile miles step steps percent st nd rd "
    "th".split()
)


@dataclass(frozen=True)
class _Clock:
    start: int
    end: int
    hour: int = 0
    minute: int = 0
    vague: bool = False  # "7" could be 07:00 or 19:00; "07:00", "19:00" and "7pm" could not
    error: str | None = None


def _not_a_time(raw: str) -> str:
    return f"{raw} isn't a time of day; try 07:30 or 7am"


def _hour_value(text: str) -> int:
    return _NUMBER_WORDS.get(text) or int(text)


def _clock(start: int, end: int, raw: str, hour: int, minute: int, mer: str | None, written: str) -> _Clock:
    """Validate and convert to 24 h. `written` is the hour as typed, so '07' reads as 24-hour."""
    if mer:
        if not (0 <= hour <= 12) or minute > 59 or (hour == 0 and mer == "p"):
            return _Clock(start, end, error=_not_a_time(raw))
        return _Clock(start, end, hour % 12 + (12 if mer == "p" else 0), minute)
    if hour == 24 and minute == 0:
        hour = 0  # "24:00" is how some people write midnight
    if hour > 23 or minute > 59:
        return _Clock(start, end, error=_not_a_time(raw))
    return _Clock(start, end, hour, minute, vague=1 <= hour <= 12 and not written.startswith("0"))


_PHRASE_MINUTES = {"half": 30, "quarter": 15, "twenty five": 25, "twenty": 20, "ten": 10, "five": 5}


def _from_phrase(m: re.Match[str], raw: str) -> _Clock:
    hour = _hour_value(m["ph_hour"])
    minute = _PHRASE_MINUTES.get(m["ph_min"].replace("-", " ")) or int(m["ph_min"])
    if not 1 <= minute <= 59:
        return _Clock(*m.span(), error=_not_a_time(raw))
    if m["ph_dir"] in ("to", "till", "before"):
        # "quarter to 1" is 12:45 on a 12-hour clock
        hour, minute = (hour - 1 if hour != 1 else 12), 60 - minute
    return _clock(*m.span(), raw, hour, minute, m["ph_mer"], m["ph_hour"])


def _from_match(m: re.Match[str], raw: str) -> _Clock:
    if m["phrase"]:
        return _from_phrase(m, raw)
    if m["named"]:
        return _Clock(*m.span(), 0 if m["named_word"] == "midnight" else 12, 0)
    if m["hm"]:
        minute = int(m["m1"] or m["m2"] or m["m3"])
        return _clock(*m.span(), raw, int(m["hm_hour"]), minute, m["hm_mer"], m["hm_hour"])
    if m["mer"]:
        digits = m["mer_hour"]
        if digits.isdigit() and len(digits) > 2:  # "730pm"
            return _clock(*m.span(), raw, int(digits[:-2]), int(digits[-2:]), m["mer_mer"], digits)
        return _clock(*m.span(), raw, _hour_value(digits), 0, m["mer_mer"], digits)
    if m["digits"]:
        digits = m["digits"]
        return _clock(*m.span(), raw, int(digits[:-2]), int(digits[-2:]), None, digits)
    return _clock(*m.span(), raw, _hour_value(m["bare"]), 0, None, m["bare"])


@dataclass(frozen=True)
class _Context:
    tokens: list[str]
    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, low: str) -> _Context:
        found = [(m[0][:1] if m[0][0] == _MASK else m[0], m.start(), m.end()) for m in _CONTEXT.finditer(low)]
        return cls([t for t, _, _ in found], [s for _, s, _ in found], [e for _, _, e in found])

    def around(self, start: int, end: int) -> tuple[str | None, str | None]:
        before = bisect.bisect_right(self.ends, start) - 1
        after = bisect.bisect_left(self.starts, end)
        return (
            self.tokens[before] if before >= 0 else None,
            self.tokens[after] if after < len(self.tokens) else None,
        )


def _reads_as_time(m: re.Match[str], context: _Context) -> bool:
    """Bare numbers ("7", "1930", "seven") count only where a time is expected, so years and reps don't."""
    if m["phrase"] or m["named"] or m["hm"] or m["mer"] or m["oclock"]:
        return True
    prev, nxt = context.around(*m.span())
    if m["digits"]:
        # "1930" only after "at" or standing alone, so "in 2026" or "by 2026" stays a year
        return (prev in ("at", "@") and nxt not in _UNITS) or (
            prev in (None, "remind", "me", _MASK) and nxt in (None, _MASK)
        )
    if prev in _STRONG_LEAD:
        return nxt not in _UNITS
    if not m["bare"].isdigit():
        return False  # "one" or "seven" alone is far more often prose than a time
    return (prev is None or prev in _WEAK_LEAD) and (nxt is None or nxt in _MAY_FOLLOW)


def _daypart_shift(clock: _Clock, part: str) -> _Clock:
    hour = clock.hour
    if part == "morning" and hour == 12:
        hour = 0
    elif part in ("afternoon", "evening") and hour < 12:
        hour += 12
    elif part == "night":
        # "10 at night" is 22:00, "12 at night" midnight, "2 at night" stays 02:00
        hour = 0 if hour == 12 else hour + 12 if hour >= 6 else hour
    return _Clock(clock.start, clock.end, hour, clock.minute)


def _dayparts(low: str) -> list[tuple[int, str]]:
    return [(m.start(), _DAYPARTS[m[0]]) for m in _WORD.finditer(low) if m[0] in _DAYPARTS]


def _with_daypart(clock: _Clock, parts: list[tuple[int, str]]) -> _Clock:
    if not clock.vague or not parts:
        return clock
    _, part = min(parts, key=lambda p: abs(p[0] - clock.start))  # the nearest word applies
    return _daypart_shift(clock, part)


def _clocks(src: _Source, low: str) -> list[_Clock]:
    context = _Context.of(low)
    parts = _dayparts(low)
    found = []
    for m in _CLOCK.finditer(low):
        if _reads_as_time(m, context):
            found.append(_with_daypart(_from_match(m, src.quote(*m.span())), parts))
    return found


@dataclass(frozen=True)
class _TimeReading:
    time: datetime.time | None
    end: int | None  # where the chosen time ends in the text
    problems: tuple[str, ...]


def _read_time(src: _Source, low: str) -> _TimeReading:
    clocks = _clocks(src, low)
    errors = tuple(c.error for c in clocks if c.error)
    good = [c for c in clocks if not c.error]
    if not good:
        if errors:
            return _TimeReading(None, clocks[0].end, errors)
        return _TimeReading(None, None, (_missing_time(low),))
    chosen = good[0]
    times = list(dict.fromkeys(datetime.time(c.hour, c.minute) for c in good))
    problems = errors
    if len(times) > 1:
        ignored = ", ".join(format_time(t) for t in times[1:])
        problems += (f"I can set one time per reminder, so I used {format_time(times[0])} and ignored {ignored}.",)
    return _TimeReading(times[0], chosen.end, problems)


_EXAMPLE_HOUR = {"morning": 7, "afternoon": 2, "evening": 8, "night": 10}


def _missing_time(low: str) -> str:
    parts = _dayparts(low)
    if parts:
        part = parts[0][1]
        return f"What time in the {part}? For example 'every {part} at {_EXAMPLE_HOUR[part]}'."
    return f"I couldn't find a time in that; {NO_TIME_HINT}."


def parse_time(text: str) -> datetime.time | None:
    """The first time of day in `text` ("7pm", "19h30", "half past 7", "at noon"), or None."""
    src = _Source.of(text)
    _, low = _find_zones(src)
    return _read_time(src, low).time


def format_time(t: datetime.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"
