"""Reading `/challenge start ...`: canonical `key=value`, free chat text, or a mix, and typed options.

Plain text (or a typed mapping) in, a validated StartRequest out: no platform, clock or storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from bot.core.content import LEVELS_OF_SKILL
from bot.core.schedule_text import parse_time, resolve_timezone

MAX_NAME = 60
# the typed options of `/challenge start` (common.md): what the adapters fill in
START_OPTIONS = ("name", "days", "time", "timezone", "channel", "level", "start")

_TOKEN = re.compile(r'(?P<key>[A-Za-z_]+)=(?:"(?P<qv>[^"]*)"?|(?P<v>\S*))|"(?P<q>[^"]*)"?|(?P<w>\S+)')
_KEYS = {
    "name": "name",
    "days": "days",
    "time": "time",
    "at": "time",
    "timezone": "timezone",
    "zone": "timezone",
    "tz": "timezone",
    "channel": "channel",
    "level": "level",
    "start": "start",
    "start_date": "start",
    "date": "start",
    "id": "id",
}
_DAYS = re.compile(r"^(\d{1,3})(?:d|days?)?$", re.I)
_DAYS_WORD = re.compile(r"^(?:d|days?)$", re.I)
_CLOCK = re.compile(r"^(?:[01]?\d|2[0-3])(?::|h|\.)[0-5]\d$|^(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*(?:am|pm)$", re.I)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHANNEL = re.compile(r"^(?:<#)?(\d{1,24})>?$")
_CHANNEL_ID = re.compile(r"^[A-Za-z0-9_:@.-]{1,64}$")
_ID = re.compile(r"^#?(\d{1,12})$")
_FILLER = frozenset("at for in on from starting start called named every each daily a the of with zone time".split())
_LEVEL_WORDS = {"beginner": "beginner", "beginners": "beginner", "intermediate": "intermediate"}


@dataclass(frozen=True)
class StartRequest:
    name: str | None = None
    days: int | None = None
    at: time | None = None
    timezone: str | None = None
    channel: str | None = None
    level: str = "beginner"
    start: date | None = None
    start_word: str | None = None  # "today" / "tomorrow"
    problem: str | None = None


def tokens(text: str) -> list[tuple[str | None, str]]:
    """('key', value) for key=value (quotes allowed), (None, word) otherwise; quoted words stay whole."""
    out: list[tuple[str | None, str]] = []
    for m in _TOKEN.finditer(text):
        if m["key"] is not None:
            key = _KEYS.get(m["key"].lower())
            value = m["qv"] if m["qv"] is not None else (m["v"] or "")
            if key:
                out.append((key, value.strip()))
            else:
                out.extend((None, w) for w in m[0].split())
        elif m["q"] is not None:
            out.append(("quoted", m["q"].strip()))
        else:
            out.append((None, m["w"]))
    return out


def parse_start(args: str) -> StartRequest:
    """Canonical `key=value` (Discord) or free text (`30 days 07:00 Berlin 30-day hips`), or a mix."""
    fields: dict[str, Any] = {}
    words: list[str] = []
    quoted: list[str] = []
    for key, value in tokens(args[:500]):
        if key is None:
            words.append(value)
        elif key == "quoted":
            quoted.append(value)
        else:
            fields[key] = value
    used = [False] * len(words)
    low = [w.lower().strip(",;") for w in words]

    def take(i: int) -> None:
        used[i] = True
        if i > 0 and not used[i - 1] and low[i - 1] in _FILLER:
            used[i - 1] = True

    for i, w in enumerate(low):
        if used[i]:
            continue
        if "days" not in fields:
            m = _DAYS.match(w)
            if m and (w != m[1] or (i + 1 < len(low) and _DAYS_WORD.match(low[i + 1]))):
                fields["days"] = m[1]
                take(i)
                if w == m[1]:
                    used[i + 1] = True
                continue
        if "time" not in fields and _CLOCK.match(w):
            fields["time"] = w
            take(i)
            continue
        if "time" not in fields and i + 1 < len(low) and low[i + 1] in ("am", "pm") and w.isdigit():
            fields["time"] = w + low[i + 1]
            take(i)
            used[i + 1] = True
            continue
        if "start" not in fields and (_ISO_DATE.match(w) or w in ("today", "tomorrow")):
            fields["start"] = w
            take(i)
            continue
        if w in _LEVEL_WORDS and "level" not in fields:
            fields["level"] = w
            take(i)
            continue
        if "channel" not in fields and w.startswith("<#") and _CHANNEL.match(w):
            fields["channel"] = w
            take(i)
    if "timezone" not in fields:
        # The leftmost zone, longest spelling first ("new york" before "york"); its words leave the name.
        for i in range(len(words)):
            found = False
            for n in (3, 2, 1):
                span = range(i, i + n)
                if i + n > len(words) or any(used[j] for j in span):
                    continue
                candidate = " ".join(words[j] for j in span)
                if not re.search(r"[A-Za-z]", candidate):
                    continue
                name, _ = resolve_timezone(candidate)
                if name:
                    fields["timezone"] = name
                    for j in span:
                        take(j)
                    found = True
                    break
            if found:
                break
    rest = " ".join(w for w, u in zip(words, used, strict=True) if not u).strip(" ,;:-")
    if "name" not in fields:
        fields["name"] = " ".join(quoted) or rest
    return _validate(fields)


def _validate(fields: dict[str, Any]) -> StartRequest:
    problem = None
    days = None
    if fields.get("days"):
        m = re.fullmatch(r"(\d{1,3})", str(fields["days"]).strip())
        days = int(m[1]) if m else -1
    at = None
    if fields.get("time"):
        at = parse_time(str(fields["time"]))
        if at is None:
            problem = "bad_time"
    zone_name = None
    if fields.get("timezone"):
        zone_name, _ = resolve_timezone(str(fields["timezone"]))
        if zone_name is None:
            problem = problem or "bad_zone"
    channel = None
    if fields.get("channel"):
        m = _CHANNEL.match(fields["channel"])
        channel = m[1] if m else (fields["channel"] if _CHANNEL_ID.match(fields["channel"]) else None)
        if channel is None:
            problem = problem or "bad_channel"
    level = str(fields.get("level") or "beginner").lower()
    level = _LEVEL_WORDS.get(level, level)
    if level not in LEVELS_OF_SKILL:
        problem = problem or "bad_level"
    start, start_word = None, None
    raw_start = str(fields.get("start") or "").lower()
    if raw_start in ("today", "tomorrow"):
        start_word = raw_start
    elif raw_start:
        try:
            start = date.fromisoformat(raw_start)
        except ValueError:
            problem = problem or "bad_date"
    name = " ".join("".join(ch for ch in str(fields.get("name") or "") if ch.isprintable()).split())[:MAX_NAME]
    return StartRequest(name or None, days, at, zone_name, channel, level, start, start_word, problem)


def start_request(options: Mapping[str, object]) -> StartRequest:
    """The typed options of `/challenge start` (days an int, channel an id, start YYYY-MM-DD), validated
    by the same rules as text, without reading them out of text again."""
    return _validate({key: str(options[key]) for key in START_OPTIONS if options.get(key) is not None})


def has_start_options(options: Mapping[str, object] | None) -> bool:
    return bool(options) and any(options.get(key) is not None for key in START_OPTIONS)


def wanted_id(rest: str) -> int | None | bool:
    """The challenge a command names (`#12`, `id=12`): its id; None when none is named; False when the
    named one is no id at all."""
    wanted = next((v for k, v in tokens(rest) if k == "id" or (k is None and _ID.match(v))), None)
    if wanted is None:
        return None
    m = _ID.match(wanted)
    return int(m[1]) if m else False
