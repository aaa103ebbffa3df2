"""Reminders, the delivery log and check-ins (portable SQL: SQLite and PostgreSQL run the same queries).

Times are stored as fixed-width UTC text (YYYY-MM-DDTHH:MM:SSZ) so string order is time order in
SQLite and PostgreSQL alike. Exactly-once sending rests on the UNIQUE (reminder, local date, kind)
key of the delivery log: a delivery is claimed (inserted) before it is sent, so a second process or
a second tick finds it taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

from bot.core.ports import Delivery, DuePlan, Profile, Reminder
from bot.storage.database import Database

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
    """Mixed into Repository, which provides the database (self.db)."""

    db: Database
    _turns: Any
    presence: Any  # bot/storage/presence.py: claim tokens and which holders are gone

    # -- reminders --------------------------------------------------------------------------

    async def add_reminder(self, r: Reminder, now: datetime) -> Reminder:
        rows = await self.db.fetch(
            "INSERT INTO reminders (user_key, platform, chat_id, local_time, days, timezone, status, paused_until, "
            "pause_reason, next_fire_utc, snooze_until_utc, ignored, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (*self._reminder_values(r), ts(now), ts(now)),
        )
        new_id = rows[0][0]
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
        await self.db.execute(
            "UPDATE reminders SET user_key = ?, platform = ?, chat_id = ?, local_time = ?, days = ?, timezone = ?, "
            "status = ?, paused_until = ?, pause_reason = ?, next_fire_utc = ?, snooze_until_utc = ?, ignored = ?, "
            "updated_at = ? WHERE id = ?",
            (*self._reminder_values(r), ts(now), r.id),
        )

    async def reminders_of(self, user_key: str) -> list[Reminder]:
        rows = await self.db.fetch(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE user_key = ? ORDER BY local_time, id", (user_key,)
        )
        return [_reminder(row) for row in rows]

    async def get_reminder(self, reminder_id: int) -> Reminder | None:
        rows = await self.db.fetch(f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE id = ?", (reminder_id,))
        row = rows[0] if rows else None
        return _reminder(row) if row else None

    async def delete_reminders(self, user_key: str, ids: list[int] | None = None) -> int:
        if ids is None:
            changed = await self.db.execute("DELETE FROM reminders WHERE user_key = ?", (user_key,))
        else:
            marks = ",".join("?" * len(ids))
            changed = await self.db.execute(
                f"DELETE FROM reminders WHERE user_key = ? AND id IN ({marks})", (user_key, *ids)
            )
        return changed

    async def due_reminders(self, now: datetime, limit: int) -> list[Reminder]:
        """Active reminders whose next fire or snooze is due; both columns are indexed."""
        return await _select_due(self.db, now, limit, lock="")

    async def claim_due_reminders(
        self, now: datetime, limit: int, plan: Callable[[list[Reminder]], DuePlan]
    ) -> tuple[list[Reminder], dict[tuple[int, str], int]]:
        """Take up to `limit` due reminders and claim them, in one transaction: (the due reminders, {(reminder id,
        kind): delivery id} for the deliveries this call claimed).

        On PostgreSQL the due rows are selected FOR UPDATE SKIP LOCKED, so processes ticking together take
        disjoint batches instead of all reading the same rows and racing on the delivery log's unique key (which
        stays the last guard). `plan` (no I/O: the rows stay locked meanwhile) says for those reminders what to
        claim, where each one's next fire moves and which snoozes to clear; all of it commits together, so a
        crash leaves either nothing or a claim with its reminder moved on."""
        if not await self.presence.ensure():
            return [], {}  # without our presence lock others would take our claims over at once: wait a tick
        token = self.presence.token()
        async with self.db.transaction() as db:
            due = await _select_due(db, now, limit, lock=self.db.dialect.skip_locked)
            if not due:
                return [], {}
            claims, moves, clears = plan(due)
            await db.executemany(_CLAIM_SQL, _claim_rows(claims, now, token))
            await db.executemany(_ADVANCE_SQL, [(ts(new), rid, ts(old)) for rid, old, new in moves])
            await db.executemany(
                "UPDATE reminders SET snooze_until_utc = NULL WHERE id = ? AND snooze_until_utc = ?",
                [(rid, ts(expected)) for rid, expected in clears],
            )
            rows = await db.fetch("SELECT id, reminder_id, kind FROM deliveries WHERE claim_token = ?", (token,))
        return due, {(reminder_id, kind): delivery_id for delivery_id, reminder_id, kind in rows}

    async def clear_snooze(self, reminder_id: int, expected: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE reminders SET snooze_until_utc = NULL WHERE id = ? AND snooze_until_utc = ?",
            (reminder_id, ts(expected)),
        )
        return changed == 1

    async def pause_all(self, user_key: str, reason: str, now: datetime) -> int:
        changed = await self.db.execute(
            "UPDATE reminders SET status = 'paused', pause_reason = ?, next_fire_utc = NULL, "
            "snooze_until_utc = NULL, updated_at = ? WHERE user_key = ? AND status = 'active'",
            (reason, ts(now), user_key),
        )
        return changed

    # -- delivery log -----------------------------------------------------------------------

    async def claim_delivery(
        self, reminder: Reminder, local_date: date, kind: str, scheduled: datetime, now: datetime, status: str
    ) -> int | None:
        """Insert the (reminder, day, kind) row; None when someone already claimed it."""
        rows = await self.db.fetch(
            "INSERT INTO deliveries (reminder_id, user_key, local_date, kind, scheduled_utc, status, claimed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reminder_id, local_date, kind) DO NOTHING RETURNING id",
            (reminder.id, reminder.user_key, local_date.isoformat(), kind, ts(scheduled), status, ts(now)),
        )
        row = rows[0] if rows else None
        return row[0] if row else None

    async def delivery_exists(self, reminder_id: int, local_date: date, kind: str) -> bool:
        rows = await self.db.fetch(
            "SELECT 1 FROM deliveries WHERE reminder_id = ? AND local_date = ? AND kind = ?",
            (reminder_id, local_date.isoformat(), kind),
        )
        return bool(rows)

    async def finish_delivery(
        self, delivery_id: int, status: str, attempts: int, late_seconds: int | None, error: str | None, now: datetime
    ) -> None:
        async with self.db.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, late_seconds = ?, error = ?, finished_at = ? "
                "WHERE id = ?",
                (status, attempts, late_seconds, (error or "")[:300] or None, ts(now), delivery_id),
            )
            if status == "sent":
                # One more reminder in a row the user has not reacted to (reset by acknowledge()).
                await db.execute(
                    "UPDATE reminders SET ignored = ignored + 1 WHERE id = "
                    "(SELECT reminder_id FROM deliveries WHERE id = ? AND kind = 'daily')",
                    (delivery_id,),
                )

    async def claim_many(self, claims: list[tuple[Reminder, date, str, datetime, str]], now: datetime) -> dict:
        """Claim many (reminder, local date, kind) slots in one transaction.

        Returns {(reminder id, kind): delivery id} for the rows this call inserted; rows another
        process (or an earlier tick) already holds are left out. A random token tells ours apart.
        """
        if not claims:
            return {}
        token = self.presence.token()
        async with self.db.transaction() as db:
            await db.executemany(_CLAIM_SQL, _claim_rows(claims, now, token))
            rows = await db.fetch("SELECT id, reminder_id, kind FROM deliveries WHERE claim_token = ?", (token,))
            return {(reminder_id, kind): delivery_id for delivery_id, reminder_id, kind in rows}

    async def advance_many(self, moves: list[tuple[int, datetime | None, datetime | None]]) -> None:
        """Move next_fire_utc for many reminders; each only if it is still what we read (idempotent)."""
        if moves:
            async with self.db.transaction() as db:
                await db.executemany(_ADVANCE_SQL, [(ts(new), rid, ts(old)) for rid, old, new in moves])

    async def profiles_of(self, user_keys: list[str]) -> dict[str, Profile]:
        out: dict[str, Profile] = {}
        for chunk in _chunks(user_keys):
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetch(
                f"SELECT user_key, goal, level, timezone, onboarded, pending_notice FROM profiles "
                f"WHERE user_key IN ({marks})",
                chunk,
            )
            for row in rows:
                out[row[0]] = Profile(row[0], row[1], row[2], row[3], bool(row[4]), row[5])
        return out

    async def checkins_since(self, user_keys: list[str], since: date) -> dict[str, list[tuple[date, str]]]:
        out: dict[str, list[tuple[date, str]]] = {}
        for chunk in _chunks(user_keys):
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetch(
                f"SELECT user_key, local_date, kind FROM checkins WHERE user_key IN ({marks}) AND local_date >= ? "
                "ORDER BY local_date",
                (*chunk, since.isoformat()),
            )
            for key, day, kind in rows:
                out.setdefault(key, []).append((date.fromisoformat(day), kind))
        return out

    async def acknowledge(self, user_key: str, local_date: date) -> None:
        """The user reacted (done, snooze, skip): that day's reminders count as seen, the ignore run ends."""
        await self.db.execute(
            "UPDATE deliveries SET acknowledged = 1 WHERE user_key = ? AND local_date = ?",
            (user_key, local_date.isoformat()),
        )
        await self.db.execute("UPDATE reminders SET ignored = 0 WHERE user_key = ? AND ignored > 0", (user_key,))

    async def stale_claims(self, claimed_before: datetime, scheduled_after: datetime) -> list[Delivery]:
        """Claimed but never finished and still worth sending: the claim is older than the lease, or the process
        that made it is gone (a crash, a kill -9; on PostgreSQL any process sharing the database sees it through
        presence): taken over at once, not after the lease."""
        rows = await self.db.fetch(
            "SELECT id, reminder_id, user_key, local_date, kind, scheduled_utc, status, attempts, claimed_at, "
            "claim_token FROM deliveries WHERE status = 'claimed' AND scheduled_utc >= ? ORDER BY id",
            (ts(scheduled_after),),
        )
        before = ts(claimed_before)
        young = {r[9] for r in rows if r[8] >= before}
        gone = await self.presence.gone(self.db, young) if young else set()
        stale = []
        for r in rows:
            if r[8] >= before and r[9] not in gone:
                continue
            stale.append(
                Delivery(
                    r[0], r[1], r[2], date.fromisoformat(r[3]), r[4], parse_ts(r[5]), r[6], r[7], parse_ts(r[8]), r[9]
                )
            )
        return stale

    async def reclaim(self, delivery: Delivery, now: datetime) -> bool:
        """Take over a stale claim, compare-and-set on claimed_at and the holder's token so only one process
        resends it; the new token names this process (if it dies too, the next start takes over again)."""
        changed = await self.db.execute(
            "UPDATE deliveries SET claimed_at = ?, claim_token = ?, attempts = attempts + 1 WHERE id = ? "
            "AND status = 'claimed' AND claimed_at = ? AND claim_token IS NOT DISTINCT FROM ?",
            (ts(now), self.presence.token(), delivery.id, ts(delivery.claimed_at), delivery.claim_token),
        )
        return changed == 1

    async def delivery_counts(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        return {status: count for status, count in rows}

    # -- check-ins and notices --------------------------------------------------------------

    async def checkins_of(self, user_key: str) -> list[tuple[date, str]]:
        rows = await self.db.fetch(
            "SELECT local_date, kind FROM checkins WHERE user_key = ? ORDER BY local_date", (user_key,)
        )
        return [(date.fromisoformat(d), kind) for d, kind in rows]

    async def add_checkins(self, user_key: str, rows: list[tuple[date, str]], now: datetime) -> bool:
        """Insert check-in rows atomically; False when the day was already checked in (a double click)."""
        try:
            async with self.db.transaction() as db:
                for day, kind in rows:
                    changed = await db.execute(
                        "INSERT INTO checkins (user_key, local_date, kind, at_utc) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (user_key, local_date) DO NOTHING",
                        (user_key, day.isoformat(), kind, ts(now)),
                    )
                    if changed == 0 and kind == "done":
                        raise _AlreadyCheckedIn
        except _AlreadyCheckedIn:
            return False
        return True

    async def set_notice(self, user_key: str, notice: str | None) -> None:
        self._turns.drop(user_key)
        await self.db.execute("UPDATE profiles SET pending_notice = ? WHERE user_key = ?", (notice, user_key))
        if notice:
            await self.db.execute(
                "INSERT INTO profiles (user_key, pending_notice, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_key) DO NOTHING",
                (user_key, notice, ts(datetime.now(UTC))),
            )


_CLAIM_SQL = (
    "INSERT INTO deliveries (reminder_id, user_key, local_date, kind, scheduled_utc, status, claimed_at, "
    "claim_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reminder_id, local_date, kind) DO NOTHING"
)
_ADVANCE_SQL = "UPDATE reminders SET next_fire_utc = ? WHERE id = ? AND next_fire_utc = ?"


def _claim_rows(claims: list[tuple[Reminder, date, str, datetime, str]], now: datetime, token: str) -> list[tuple]:
    return [
        (r.id, r.user_key, day.isoformat(), kind, ts(at), status, ts(now), token) for r, day, kind, at, status in claims
    ]


async def _select_due(db: Database, now: datetime, limit: int, lock: str) -> list[Reminder]:
    """Active reminders whose next fire or snooze is due, oldest first; `lock` is the dialect's row-lock clause."""
    stamp = ts(now)
    found: dict[int, Reminder] = {}
    # Two simple queries, each served by its own index (a UNION made SQLite scan the table).
    for column in ("next_fire_utc", "snooze_until_utc"):
        rows = await db.fetch(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE {column} <= ? AND status = 'active' "
            f"ORDER BY {column} LIMIT ?{lock}",
            (stamp, limit),
        )
        for row in rows:
            found.setdefault(row[0], _reminder(row))
    return sorted(found.values(), key=lambda r: r.next_fire_utc or r.snooze_until_utc)[:limit]


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    unique = list(dict.fromkeys(items))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


class _AlreadyCheckedIn(Exception):
    pass
