"""Reminder, delivery-log and check-in queries for the SQLite repository.

Times are stored as fixed-width UTC text (YYYY-MM-DDTHH:MM:SSZ) so string order is time order in
SQLite and PostgreSQL alike. Exactly-once sending rests on the UNIQUE (reminder, local date, kind)
key of the delivery log: a delivery is claimed (inserted) before it is sent, so a second process or
a second tick finds it taken.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

from bot.core.ports import Delivery, Reminder

_REMINDER_COLUMNS = (
    "id, user_key, platform, chat_id, local_time, days, timezone, status, paused_until, pause_reason, "
    "next_fire_utc, snooze_until_utc, ignored"
)


def ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _reminder(row: Any) -> Reminder:
    return Reminder(
        id=row[0],
        user_key=row[1],
        platform=row[2],
        chat_id=row[3],
        at=time.fromisoformat(row[4]),
        days=frozenset(int(c) for c in row[5]),
        timezone=row[6],
        status=row[7],
        paused_until=date.fromisoformat(row[8]) if row[8] else None,
        pause_reason=row[9],
        next_fire_utc=parse_ts(row[10]),
        snooze_until_utc=parse_ts(row[11]),
        ignored=row[12],
    )


def _days(days: frozenset[int]) -> str:
    return "".join(str(d) for d in sorted(days))


class ReminderSQL:
    """Mixed into SQLiteRepository; uses its connection (self._db) and transaction()."""

    _db: Any
    transaction: Any

    # -- reminders --------------------------------------------------------------------------

    async def add_reminder(self, r: Reminder, now: datetime) -> Reminder:
        async with self._db.execute(
            "INSERT INTO reminders (user_key, platform, chat_id, local_time, days, timezone, status, paused_until, "
            "pause_reason, next_fire_utc, snooze_until_utc, ignored, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (*self._reminder_values(r), ts(now), ts(now)),
        ) as cur:
            (new_id,) = await cur.fetchone()
        return replace(r, id=new_id)

    @staticmethod
    def _reminder_values(r: Reminder) -> tuple:
        return (
            r.user_key,
            r.platform,
            r.chat_id,
            r.at.strftime("%H:%M"),
            _days(r.days),
            r.timezone,
            r.status,
            r.paused_until.isoformat() if r.paused_until else None,
            r.pause_reason,
            ts(r.next_fire_utc),
            ts(r.snooze_until_utc),
            r.ignored,
        )

    async def save_reminder(self, r: Reminder, now: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET user_key = ?, platform = ?, chat_id = ?, local_time = ?, days = ?, timezone = ?, "
            "status = ?, paused_until = ?, pause_reason = ?, next_fire_utc = ?, snooze_until_utc = ?, ignored = ?, "
            "updated_at = ? WHERE id = ?",
            (*self._reminder_values(r), ts(now), r.id),
        )

    async def reminders_of(self, user_key: str) -> list[Reminder]:
        async with self._db.execute(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE user_key = ? ORDER BY local_time, id", (user_key,)
        ) as cur:
            return [_reminder(row) for row in await cur.fetchall()]

    async def get_reminder(self, reminder_id: int) -> Reminder | None:
        async with self._db.execute(f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE id = ?", (reminder_id,)) as cur:
            row = await cur.fetchone()
        return _reminder(row) if row else None

    async def delete_reminders(self, user_key: str, ids: list[int] | None = None) -> int:
        if ids is None:
            cur = await self._db.execute("DELETE FROM reminders WHERE user_key = ?", (user_key,))
        else:
            marks = ",".join("?" * len(ids))
            cur = await self._db.execute(
                f"DELETE FROM reminders WHERE user_key = ? AND id IN ({marks})", (user_key, *ids)
            )
        return cur.rowcount

    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        """Active reminders whose next fire or snooze is due; both columns are indexed."""
        stamp = ts(now)
        async with self._db.execute(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE status = 'active' AND next_fire_utc <= ? "
            f"UNION SELECT {_REMINDER_COLUMNS} FROM reminders WHERE status = 'active' AND snooze_until_utc <= ? "
            "ORDER BY 11 LIMIT ?",
            (stamp, stamp, limit),
        ) as cur:
            return [_reminder(row) for row in await cur.fetchall()]

    async def move_next_fire(self, reminder_id: int, expected: datetime | None, new: datetime | None) -> bool:
        """Compare-and-set, so two schedulers on one database advance a reminder once."""
        cur = await self._db.execute(
            "UPDATE reminders SET next_fire_utc = ? WHERE id = ? "
            "AND (next_fire_utc = ? OR (next_fire_utc IS NULL AND ? IS NULL))",
            (ts(new), reminder_id, ts(expected), ts(expected)),
        )
        return cur.rowcount == 1

    async def clear_snooze(self, reminder_id: int, expected: datetime) -> bool:
        cur = await self._db.execute(
            "UPDATE reminders SET snooze_until_utc = NULL WHERE id = ? AND snooze_until_utc = ?",
            (reminder_id, ts(expected)),
        )
        return cur.rowcount == 1

    async def set_ignored(self, reminder_id: int, ignored: int) -> None:
        await self._db.execute("UPDATE reminders SET ignored = ? WHERE id = ?", (ignored, reminder_id))

    async def pause_all(self, user_key: str, reason: str, now: datetime) -> int:
        cur = await self._db.execute(
            "UPDATE reminders SET status = 'paused', pause_reason = ?, next_fire_utc = NULL, "
            "snooze_until_utc = NULL, updated_at = ? WHERE user_key = ? AND status = 'active'",
            (reason, ts(now), user_key),
        )
        return cur.rowcount

    # -- delivery log -----------------------------------------------------------------------

    async def claim_delivery(
        self, reminder: Reminder, local_date: date, kind: str, scheduled: datetime, now: datetime, status: str
    ) -> int | None:
        """Insert the (reminder, day, kind) row; None when someone already claimed it."""
        async with self._db.execute(
            "INSERT INTO deliveries (reminder_id, user_key, local_date, kind, scheduled_utc, status, claimed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reminder_id, local_date, kind) DO NOTHING RETURNING id",
            (reminder.id, reminder.user_key, local_date.isoformat(), kind, ts(scheduled), status, ts(now)),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def finish_delivery(
        self, delivery_id: int, status: str, attempts: int, late_seconds: int | None, error: str | None, now: datetime
    ) -> None:
        await self._db.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, late_seconds = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, attempts, late_seconds, (error or "")[:300] or None, ts(now), delivery_id),
        )

    async def previous_daily(self, reminder_id: int, before: date) -> tuple[str, bool] | None:
        async with self._db.execute(
            "SELECT status, acknowledged FROM deliveries WHERE reminder_id = ? AND kind = 'daily' "
            "AND local_date < ? ORDER BY local_date DESC LIMIT 1",
            (reminder_id, before.isoformat()),
        ) as cur:
            row = await cur.fetchone()
        return (row[0], bool(row[1])) if row else None

    async def acknowledge(self, user_key: str, local_date: date) -> None:
        await self._db.execute(
            "UPDATE deliveries SET acknowledged = 1 WHERE user_key = ? AND local_date = ?",
            (user_key, local_date.isoformat()),
        )

    async def unfinished_deliveries(self, since: datetime) -> list[Delivery]:
        """Claimed but never finished (the process died mid-send): candidates to resend once."""
        async with self._db.execute(
            "SELECT id, reminder_id, user_key, local_date, kind, scheduled_utc, status, attempts FROM deliveries "
            "WHERE status = 'claimed' AND claimed_at >= ? ORDER BY id",
            (ts(since),),
        ) as cur:
            rows = await cur.fetchall()
        return [Delivery(r[0], r[1], r[2], date.fromisoformat(r[3]), r[4], parse_ts(r[5]), r[6], r[7]) for r in rows]

    async def delivery_counts(self) -> dict[str, int]:
        async with self._db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status") as cur:
            return {status: count for status, count in await cur.fetchall()}

    # -- check-ins and notices --------------------------------------------------------------

    async def checkins_of(self, user_key: str) -> list[tuple[date, str]]:
        async with self._db.execute(
            "SELECT local_date, kind FROM checkins WHERE user_key = ? ORDER BY local_date", (user_key,)
        ) as cur:
            return [(date.fromisoformat(d), kind) for d, kind in await cur.fetchall()]

    async def add_checkins(self, user_key: str, rows: list[tuple[date, str]], now: datetime) -> bool:
        """Insert check-in rows atomically; False when the day was already checked in (a double click)."""
        try:
            async with self.transaction() as db:
                for day, kind in rows:
                    cur = await db.execute(
                        "INSERT INTO checkins (user_key, local_date, kind, at_utc) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (user_key, local_date) DO NOTHING",
                        (user_key, day.isoformat(), kind, ts(now)),
                    )
                    if cur.rowcount == 0 and kind == "done":
                        raise _AlreadyCheckedIn
        except _AlreadyCheckedIn:
            return False
        return True

    async def set_notice(self, user_key: str, notice: str | None) -> None:
        await self._db.execute("UPDATE profiles SET pending_notice = ? WHERE user_key = ?", (notice, user_key))
        if notice:
            await self._db.execute(
                "INSERT INTO profiles (user_key, pending_notice, updated_at) VALUES (?, ?, datetime('now')) "
                "ON CONFLICT (user_key) DO NOTHING",
                (user_key, notice),
            )


class _AlreadyCheckedIn(Exception):
    pass
