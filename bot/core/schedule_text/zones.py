"""Time zones as people type them: IANA names, cities, abbreviations and aliases, UTC offsets;
found anywhere in a sentence, or resolved from a bare answer with suggestions when nothing matched."""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from dataclasses import dataclass

from .folding import _fold, _mask, _Source

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
