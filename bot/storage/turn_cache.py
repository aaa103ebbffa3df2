"""A small per-process cache of what each message needs (profile and conversation state).

Why: under load each aiosqlite round trip costs a thread hop and an event-loop wake-up, more than the
coaching logic itself. Every write goes through the repository, which updates or drops the entry, so
within one process the cache is never stale. Entries also expire after TTL, which bounds staleness if
another process on the same database writes for the same user (Telegram polling and a Discord gateway
connection each deliver a given user's messages to one process).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.ports import Profile

TTL_SECONDS = 30.0
MAX_ENTRIES = 20_000
LAST_SEEN_REFRESH = timedelta(minutes=1)


@dataclass(frozen=True)
class Entry:
    profile: Profile
    state: dict[str, Any] | None
    display_name: str
    seen_at: datetime  # last_seen_at as stored
    loaded: float  # monotonic time it was read from the database


class TurnCache:
    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, user_key: str, now: datetime, display_name: str) -> Entry | None:
        """A usable entry, or None when the database must be asked (absent, expired, or a write is due)."""
        entry = self._entries.get(user_key)
        if entry is None:
            return None
        fresh = time.monotonic() - entry.loaded < self.ttl
        if not fresh or entry.display_name != display_name[:128] or now - entry.seen_at >= LAST_SEEN_REFRESH:
            self._entries.pop(user_key, None)
            return None
        self._entries.move_to_end(user_key)
        return entry

    def has(self, user_key: str) -> bool:
        return user_key in self._entries

    def put(self, user_key: str, profile: Profile, state, display_name: str, seen_at: datetime) -> None:
        if self.ttl <= 0:
            return  # no cache (PostgreSQL: other processes write the same people), so nothing is kept at all
        loaded = time.monotonic()
        self._entries[user_key] = Entry(profile, state, display_name, seen_at, loaded)
        self._entries.move_to_end(user_key)
        # Oldest first: drop what has expired (people who went quiet) and anything over the cap, so the
        # cache holds only the last TTL's conversations instead of everyone who ever wrote.
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if len(self._entries) <= self.max_entries and loaded - oldest.loaded < self.ttl:
                break
            self._entries.popitem(last=False)

    def update(self, user_key: str, **changes: Any) -> None:
        entry = self._entries.get(user_key)
        if entry is not None:
            self._entries[user_key] = replace(entry, **changes)

    def drop(self, user_key: str) -> None:
        self._entries.pop(user_key, None)
