"""Which platform updates were already handled, so one redelivered is answered once.

Telegram sends an update again when its webhook POST was not answered in time, and a poller that took over
from a killed one fetches again what the dead one had fetched but not confirmed. Both would answer a person
twice. The first process to record an update's id handles it; the rest drop it. Ids are not personal data
(no user key is kept) and are forgotten after RETENTION.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.reminders import ts

RETENTION = timedelta(days=2)  # Telegram keeps an undelivered update for 24 hours
PRUNE_EVERY = 500  # first sightings between clean-ups of old ids


class UpdateSQL:
    _sightings = 0

    async def first_sight(self, platform: str, update_id: int, now: datetime | None = None) -> bool:
        """True for the first process (and the first time) that sees this update; False for a repeat."""
        now = now or datetime.now(UTC)
        inserted = await self.db.execute(
            "INSERT INTO handled_updates (platform, update_id, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT (platform, update_id) DO NOTHING",
            (platform, update_id, ts(now)),
        )
        if inserted:
            self._sightings += 1
            if self._sightings % PRUNE_EVERY == 0:
                await self.db.execute("DELETE FROM handled_updates WHERE received_at < ?", (ts(now - RETENTION),))
        return inserted == 1


class RecentUpdates:
    """One process alone (SQLite): the ids it handled lately, in memory. Catches a webhook POST Telegram sends
    again without a database write per update (which cost ~0.5 ms of CPU a message, bench/telegram_bench.py);
    after a crash the few updates fetched but not confirmed may still be answered twice, as before."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._seen: dict[int, None] = {}  # insertion-ordered: the oldest go first

    async def first_sight(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self.size:
            del self._seen[next(iter(self._seen))]
        return True
