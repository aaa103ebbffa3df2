"""Reading reminder requests ("weekdays at 7am Berlin") as people type them, on any chat platform.

Everything here is plain text in, plain values out: no platform, clock or storage. Parsing works on a
folded copy of the message (accents stripped, lower case) in three passes: time zones are found and
masked first (so "UTC+2" never reads as 2 o'clock), then the time, then the days.
"""

from __future__ import annotations

import bisect
import datetime
import difflib
import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass

MAX_TEXT_CHARS = 500  # a reminder request is one line; the cap keeps the worst case cheap
ALL_DAYS = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
WEEKENDS = frozenset({5, 6})
_DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MASK = "\x00"  # stands in for a found time zone; never typed, so it cannot collide with user text

NO_TIME_HINT = "try 'every day at 7am' or 'remind 07:30'"


@dataclass(frozen=True)
class ReminderRequest:
    time: datetime.time | None  # local wall-clock time, minute precision
    days: frozenset[int]  # Monday=0 .. Sunday=6; all seven when the text named none
    timezone: str | None  # IANA name if the text named one (zone, city or offset)
    problems: tuple[str, ...] = ()  # short, friendly notes on what could not be understood


# ---------------------------------------------------------------- text folding


_PUNCT = str.maketrans(
    {**dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"), "\u2019": "'", "\u2018": "'"}
)


def _fold(text: str) -> str:
    """Strip accents and unify dashes/apostrophes so 'São Paulo' and 'UTC−5' match their plain spellings."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCT))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class _Source:
    shown: str  # folded, original case: what problems quote back
    low: str  # folded, lower case: what the patterns read
    truncated: bool

    @classmethod
    def of(cls, text: str) -> _Source:
        shown = _fold(text[:MAX_TEXT_CHARS])
        return cls(shown, shown.lower(), len(text) > MAX_TEXT_CHARS)

    def quote(self, start: int, end: int) -> str:
        # lower() can change the length of rare characters; then spans only fit the lower-case copy
        source = self.shown if len(self.shown) == len(self.low) else self.low
        return source[start:end].strip()


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + _MASK * (end - start) + text[end:]


# ---------------------------------------------------------------- time zones

# Current IANA regions. Other areas (US/, Canada/, Etc/, bare "Japan") are backward-compatible aliases that
# would turn words like "Pacific" or "East" into cities.
_REGIONS = frozenset("Africa America Antarctica Arctic Asia Atlantic Australia Europe Indian Pacific".split())
_ZONE_AREAS = frozenset(area.lower() for area in _REGIONS | {"Etc", "US", "Canada", "Brazil", "Chile", "Mexico"})
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})

# Places and abbreviations people type that are not the last part of any zone name. Wins over zone names,
# which is how "est" means New York rather than the fixed-offset EST zone.
_ALIASES = {
    "utc": "UTC",
    "gmt": "UTC",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "bst": "Europe/London",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "msk": "Europe/Moscow",
    "est": "America/New_York",
    "edt": "America/New_York",
    "eastern": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "central time": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mountain time": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hst": "Pacific/Honolulu",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "awst": "Australia/Perth",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
    "sast": "Africa/Johannesburg",
    "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "los angeles": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "nyc": "America/New_York",
    "new york city": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "austin": "America/Chicago",
    "ottawa": "America/Toronto",
    "montreal": "America/Toronto",
    "calgary": "America/Edmonton",
    "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo",
    "argentina": "America/Argentina/Buenos_Aires",
    "colombia": "America/Bogota",
    "peru": "America/Lima",
    "uk": "Europe/London",
    "england": "Europe/London",
    "britain": "Europe/London",
    "scotland": "Europe/London",
    "wales": "Europe/London",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "ireland": "Europe/Dublin",
    "germany": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "munchen": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "france": "Europe/Paris",
    "spain": "Europe/Madrid",
    "barcelona": "Europe/Madrid",
    "italy": "Europe/Rome",
    "milan": "Europe/Rome",
    "netherlands": "Europe/Amsterdam",
    "holland": "Europe/Amsterdam",
    "switzerland": "Europe/Zurich",
    "austria": "Europe/Vienna",
    "poland": "Europe/Warsaw",
    "portugal": "Europe/Lisbon",
    "greece": "Europe/Athens",
    "sweden": "Europe/Stockholm",
    "norway": "Europe/Oslo",
    "denmark": "Europe/Copenhagen",
    "finland": "Europe/Helsinki",
    "turkey": "Europe/Istanbul",
    "istanbul": "Europe/Istanbul",
    "kiev": "Europe/Kyiv",
    "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "egypt": "Africa/Cairo",
    "nigeria": "Africa/Lagos",
    "kenya": "Africa/Nairobi",
    "south africa": "Africa/Johannesburg",
    "cape town": "Africa/Johannesburg",
    "uae": "Asia/Dubai",
    "abu dhabi": "Asia/Dubai",
    "israel": "Asia/Jerusalem",
    "tel aviv": "Asia/Jerusalem",
    "iran": "Asia/Tehran",
    "pakistan": "Asia/Karachi",
    "india": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "calcutta": "Asia/Kolkata",
    "nepal": "Asia/Kathmandu",
    "bangladesh": "Asia/Dhaka",
    "china": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai",
    "taiwan": "Asia/Taipei",
    "japan": "Asia/Tokyo",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul",
    "thailand": "Asia/Bangkok",
    "vietnam": "Asia/Ho_Chi_Minh",
    "saigon": "Asia/Ho_Chi_Minh",
    "ho chi minh city": "Asia/Ho_Chi_Minh",
    "philippines": "Asia/Manila",
    "canberra": "Australia/Sydney",
    "new zealand": "Pacific/Auckland",
    "nz": "Pacific/Auckland",
    "wellington": "Pacific/Auckland",
    "st john's": "America/St_Johns",
}

# "cest" or "nyc" make poor suggestions: almost any short word is one typo away from an abbreviation.
_ABBREVIATIONS = frozenset(alias for alias in _ALIASES if len(alias) <= 4 and " " not in alias)

# Zone names that are also everyday words or first names. They resolve when asked for directly, but a message
# like "wake me at 7" must not land in Pacific/Wake.
_NOT_IN_PROSE = frozenset(
    "wake christmas easter center davis palmer casey troll knox stanley midway johnston victoria north south west "
    "east yap reunion canary resolute jersey virgin oral regina dawson currie truk marengo monticello beulah creston "
    "vevay cocos act nsw lhi".split()
) | {"knox in"}

# Standard offsets that are not whole hours have no Etc/ zone, so a real zone that keeps that offset stands in.
_PART_HOUR_ZONES = {
    -570: "Pacific/Marquesas",
    -210: "America/St_Johns",
    210: "Asia/Tehran",
    270: "Asia/Kabul",
    330: "Asia/Kolkata",
    345: "Asia/Kathmandu",
    390: "Asia/Yangon",
    525: "Australia/Eucla",
    570: "Australia/Darwin",
    630: "Australia/Lord_Howe",
    765: "Pacific/Chatham",
}

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_OFFSET = re.compile(r"(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<h>[0-9]{1,2})(?::?(?P<m>[0-9]{2}))?")
_OFFSET_IN_PROSE = re.compile(
    r"(?<![\w+-])(?:(?:utc|gmt)\s*[+-]\s*[0-9]{1,2}(?::?[0-9]{2})?|[+-][0-9]{1,2}:?[0-9]{2})(?![0-9])"
)
_IANA_IN_PROSE = re.compile(r"(?<![\w/])[a-z][a-z_-]*(?:/[a-z0-9_+-]+)+")
_TITLE_SLASH = re.compile(r"[A-Z][\w-]*/[A-Z]")
_ZONE_FILLER = re.compile(r"^(?:in\s+)|\s+(?:time\s*zone|timezone|time|tz)$")


def _key(name: str) -> str:
    """One spelling for matching: 'Port-au-Prince', 'port au prince' and 'Port_au_Prince' agree."""
    return " ".join(_WORD.findall(_fold(name).lower().replace("_", " ")))


@dataclass(frozen=True)
class _Tables:
    iana: dict[str, str]  # lower-case IANA name -> IANA name
    places: dict[str, str]  # key (city, alias) -> IANA name
    in_prose: dict[str, str]  # places safe to spot inside a sentence
    longest: int  # words in the longest place key
    fuzzy: tuple[str, ...]  # spellings that suggestions are drawn from

    def name_for(self, spelling: str) -> str:
        return self.places.get(spelling) or self.iana[spelling]


@functools.cache
def _tables() -> _Tables:
    # Built once: scanning the zone database takes milliseconds, a dictionary lookup microseconds.
    names = zoneinfo.available_timezones() - _NOT_ZONES
    places: dict[str, str] = {}
    # Deeper names first, so America/Argentina/Buenos_Aires wins over its old alias America/Buenos_Aires.
    for name in sorted(names, key=lambda n: (-n.count("/"), n)):
        if name.split("/")[0] in _REGIONS:
            places.setdefault(_key(name.rsplit("/", 1)[1]), name)
    for alias, name in _ALIASES.items():
        if name in names:  # an older tzdata may lack a newer name; the city key then still works
            places[_key(alias)] = name
    in_prose = {key: name for key, name in places.items() if key not in _NOT_IN_PROSE}
    current = [n.lower() for n in names if n.split("/")[0] in _REGIONS]
    return _Tables(
        iana={n.lower(): n for n in names},
        places=places,
        in_prose=in_prose,
        longest=max(len(key.split()) for key in in_prose),
        fuzzy=tuple(sorted((set(places) - _ABBREVIATIONS) | set(current))),
    )


def _offset_zone(sign: str, hours: int, minutes: int) -> str | None:
    total = (hours * 60 + minutes) * (-1 if sign == "-" else 1)
    if total == 0:
        return "UTC"
    if minutes:
        return _PART_HOUR_ZONES.get(total)
    if -12 <= total // 60 <= 14:
        # POSIX inverts the sign: Etc/GMT-2 is two hours *ahead* of UTC.
        return f"Etc/GMT{'-' if total > 0 else '+'}{abs(total) // 60}"
    return None


def _offset_from(text: str) -> tuple[bool, str | None]:
    """(looked like an offset, zone for it)."""
    match = _OFFSET.fullmatch(text)
    if not match:
        return False, None
    return True, _offset_zone(match["sign"], int(match["h"]), int(match["m"] or 0))


@functools.lru_cache(maxsize=512)
def _suggest(query: str) -> tuple[str, ...]:
    # difflib over ~1,200 spellings costs about a millisecond, so misses are cached too.
    tables = _tables()
    # For "Mars/Olympus" each part gets a chance, since either may be the misspelt one.
    parts = [_key(part) for part in query.split("/") if part not in _ZONE_AREAS]
    guesses = [query, *reversed(parts)] if "/" in query else [_key(query)]
    found: list[str] = []
    for guess in guesses:
        for spelling in difflib.get_close_matches(guess, tables.fuzzy, n=6, cutoff=0.6):
            name = tables.name_for(spelling)
            if name not in found:
                found.append(name)
    return tuple(found[:3])


def _known_zone(low: str) -> str | None:
    tables = _tables()
    if "/" in low and low in tables.iana:
        return tables.iana[low]
    return tables.places.get(_key(low)) or tables.iana.get(low)


def resolve_timezone(text: str) -> tuple[str | None, list[str]]:
    """(IANA name or None, up to three IANA suggestions when nothing matched)."""
    low = _fold(text).strip().lower()
    bare = _ZONE_FILLER.sub("", low).strip()  # "Berlin time" -> "Berlin", but "central time" is an alias as typed
    if not bare:
        return None, []
    name = _known_zone(low) or _known_zone(bare)
    if name:
        return name, []
    is_offset, name = _offset_from(bare)
    if is_offset:
        return name, []
    return None, list(_suggest(bare))


@dataclass(frozen=True)
class _ZoneHit:
    start: int
    end: int
    name: str | None
    problem: str | None = None


def _unknown_zone(raw: str) -> str:
    _, suggestions = resolve_timezone(raw)
    if suggestions:
        return f"I don't know the time zone '{raw}'. Did you mean {' or '.join(suggestions)}?"
    return f"I don't know the time zone '{raw}'; try a city like Berlin or an offset like UTC+2."


def _iana_hits(src: _Source, low: str) -> list[_ZoneHit]:
    hits = []
    for match in _IANA_IN_PROSE.finditer(low):
        raw = src.quote(*match.span())
        name, _ = resolve_timezone(match[0])
        if name:
            hits.append(_ZoneHit(*match.span(), name))
        elif match[0].split("/")[0] in _ZONE_AREAS or _TITLE_SLASH.match(raw):
            # "and/or" is prose; "Mars/Olympus" or "europe/berln" is a zone attempt worth answering
            hits.append(_ZoneHit(*match.span(), None, _unknown_zone(raw)))
    return hits


def _offset_hits(src: _Source, low: str) -> list[_ZoneHit]:
    hits = []
    for match in _OFFSET_IN_PROSE.finditer(low):
        _, name = _offset_from(match[0])
        raw = src.quote(*match.span())
        problem = None if name else f"{raw} isn't an offset I can use; try a city like Berlin instead."
        hits.append(_ZoneHit(*match.span(), name, problem))
    return hits


def _place_hits(low: str) -> list[_ZoneHit]:
    tables = _tables()
    words = list(_WORD.finditer(low))
    hits, i = [], 0
    while i < len(words):
        # Longest first, so "new york" is not read as a lone "york" and "rio de janeiro" beats "rio".
        for n in range(min(tables.longest, len(words) - i), 0, -1):
            name = tables.in_prose.get(" ".join(w[0] for w in words[i : i + n]))
            if name:
                hits.append(_ZoneHit(words[i].start(), words[i + n - 1].end(), name))
                i += n - 1
                break
        i += 1
    return hits


def _find_zones(src: _Source) -> tuple[list[_ZoneHit], str]:
    """Zones in reading order, and the text with each one masked out."""
    hits: list[_ZoneHit] = []
    low = src.low
    # Order matters: "etc/gmt-2" before offsets, "utc+2" before the word "utc".
    for finder in (lambda t: _iana_hits(src, t), lambda t: _offset_hits(src, t), _place_hits):
        for hit in finder(low):
            hits.append(hit)
            low = _mask(low, hit.start, hit.end)
    return sorted(hits, key=lambda h: h.start), low


# ---------------------------------------------------------------- times

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


# ---------------------------------------------------------------- days

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
