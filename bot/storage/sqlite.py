"""SQLite storage on aiosqlite: WAL, busy timeout, foreign keys, versioned migrations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.ports import Profile
from bot.storage.migrations import MIGRATIONS, USER_TABLES
from bot.storage.sqlite_challenges import ChallengeSQL
from bot.storage.sqlite_reminders import ReminderSQL
from bot.storage.turn_cache import TurnCache

log = logging.getLogger(__name__)


async def _enable_wal(conn: aiosqlite.Connection, attempts: int = 50) -> None:
    """WAL lets readers and the writer work at once. Switching needs a moment with no other connection
    mid-transaction and SQLite does not wait for it (no busy handler), so retry briefly."""
    for attempt in range(attempts):
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.02 * (attempt + 1))


class SQLiteRepository(ReminderSQL, ChallengeSQL):
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._db = conn
        self.path = path
        self._tx_lock = asyncio.Lock()
        self._turns = TurnCache()

    @classmethod
    async def open(cls, path: str | Path) -> SQLiteRepository:
        path = str(path)
        # Autocommit: each statement is its own transaction (one thread hop instead of two);
        # multi-statement changes use transaction() explicitly.
        conn = await aiosqlite.connect(path, timeout=10, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA busy_timeout=10000")
        if path != ":memory:":
            await _enable_wal(conn)
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        repo = cls(conn, path)
        await repo.migrate()
        return repo

    @contextlib.asynccontextmanager
    async def transaction(self):
        """An explicit write transaction; one at a time per connection (coroutines share it)."""
        async with self._tx_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> bool:
        """The database answers a query (health checks)."""
        rows = await self._db.execute_fetchall("SELECT 1")
        return rows[0][0] == 1

    async def schema_version(self) -> int:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        rows = await self._db.execute_fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(rows[0][0])

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction. Returns the resulting version."""
        current = await self.schema_version()
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            log.info("event=migrate version=%d description=%r", version, description)
            async with self.transaction() as db:
                # Another process may have migrated while we waited for the lock.
                rows = await db.execute_fetchall("SELECT 1 FROM schema_version WHERE version = ?", (version,))
                if rows:
                    continue
                for statement in filter(str.strip, sql.split(";")):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))", (version,)
                )
            current = version
        return current

    # -- users and profiles -------------------------------------------------------------------

    async def begin_turn(
        self, user_key: str, display_name: str, now: datetime
    ) -> tuple[bool, Profile, dict[str, Any] | None]:
        """Everything a message needs: user, profile and conversation state.

        Served from the turn cache when fresh (no database round trip, which under load costs more than
        the whole coaching logic); else ONE read. Writes happen only for a new user, a changed name,
        or to refresh last_seen_at at most once a minute.
        """
        cached = self._turns.get(user_key, now, display_name)
        if cached is not None:
            return False, cached.profile, cached.state
        rows = await self._db.execute_fetchall(
            "SELECT u.last_seen_at, u.display_name, p.goal, p.level, p.timezone, p.onboarded, p.pending_notice, "
            "s.state FROM (SELECT ? AS k) q LEFT JOIN users u ON u.user_key = q.k "
            "LEFT JOIN profiles p ON p.user_key = q.k LEFT JOIN conversation_state s ON s.user_key = q.k",
            (user_key,),
        )
        row = rows[0]  # the LEFT JOIN from a one-row subquery always yields one row
        first = False
        seen = now
        if row["last_seen_at"] is None:
            rows = await self._db.execute_fetchall(
                "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_key) DO NOTHING RETURNING user_key",
                (user_key, display_name[:128], now.isoformat(), now.isoformat()),
            )
            first = bool(rows)  # False if another process created them just now
        elif datetime.fromisoformat(row["last_seen_at"]) < now - timedelta(minutes=1) or (
            row["display_name"] != display_name[:128]
        ):
            await self._db.execute(
                "UPDATE users SET last_seen_at = ?, display_name = ? WHERE user_key = ?",
                (now.isoformat(), display_name[:128], user_key),
            )
        else:
            seen = datetime.fromisoformat(row["last_seen_at"])
        profile = Profile(
            user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"] or 0), row["pending_notice"]
        )
        state = json.loads(row["state"]) if row["state"] else None
        self._turns.put(user_key, profile, state, display_name[:128], seen)
        return first, profile, state

    async def get_profile(self, user_key: str) -> Profile:
        rows = await self._db.execute_fetchall(
            "SELECT goal, level, timezone, onboarded, pending_notice FROM profiles WHERE user_key = ?", (user_key,)
        )
        row = rows[0] if rows else None
        if row is None:
            return Profile(user_key=user_key)
        return Profile(
            user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"]), row["pending_notice"]
        )

    async def save_profile(self, profile: Profile, now: datetime) -> None:
        self._turns.drop(profile.user_key)
        await self._db.execute(
            "INSERT INTO profiles (user_key, goal, level, timezone, onboarded, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_key) DO UPDATE SET goal = excluded.goal, "
            "level = excluded.level, timezone = excluded.timezone, onboarded = excluded.onboarded, "
            "updated_at = excluded.updated_at",
            (profile.user_key, profile.goal, profile.level, profile.timezone, int(profile.onboarded), now.isoformat()),
        )

    # -- conversation state ------------------------------------------------------------------

    async def get_state(self, user_key: str) -> dict[str, Any] | None:
        rows = await self._db.execute_fetchall("SELECT state FROM conversation_state WHERE user_key = ?", (user_key,))
        row = rows[0] if rows else None
        return json.loads(row["state"]) if row else None

    async def set_state(self, user_key: str, state: dict[str, Any] | None, now: datetime, durable: bool = True) -> None:
        self._turns.update(user_key, state=state)
        if not durable and self._turns.has(user_key):
            return  # kept in memory for this process; a restart forgets only "tell me more" context
        if state is None:
            await self._db.execute("DELETE FROM conversation_state WHERE user_key = ?", (user_key,))
        else:
            await self._db.execute(
                "INSERT INTO conversation_state (user_key, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (user_key, json.dumps(state, separators=(",", ":")), now.isoformat()),
            )

    # -- privacy -----------------------------------------------------------------------------

    async def count_rows(self, user_key: str) -> dict[str, int]:
        counts = {}
        for table in USER_TABLES:
            rows = await self._db.execute_fetchall(f"SELECT COUNT(*) FROM {table} WHERE user_key = ?", (user_key,))
            counts[table] = rows[0][0]
        rows = await self._db.execute_fetchall("SELECT COUNT(*) FROM challenges WHERE organiser_key = ?", (user_key,))
        counts["challenges_organised"] = rows[0][0]
        return counts

    async def export_user(self, user_key: str) -> dict[str, list[dict]]:
        """Every row about the user, per table, as plain values (the user's /export)."""
        out: dict[str, list[dict]] = {}
        for table in reversed(USER_TABLES):  # users first, then what hangs off them
            cursor = await self._db.execute(f"SELECT * FROM {table} WHERE user_key = ?", (user_key,))
            names = [c[0] for c in cursor.description]
            out[table] = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
            await cursor.close()
        cursor = await self._db.execute(
            "SELECT id, platform, name, days, start_date, status FROM challenges WHERE organiser_key = ?", (user_key,)
        )
        names = [c[0] for c in cursor.description]
        out["challenges_organised"] = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
        await cursor.close()
        return out

    async def forget_user(self, user_key: str) -> int:
        self._turns.drop(user_key)
        deleted = 0
        async with self.transaction() as db:
            for table in USER_TABLES:
                cur = await db.execute(f"DELETE FROM {table} WHERE user_key = ?", (user_key,))
                deleted += cur.rowcount
            deleted += await self.forget_organiser(db, user_key)
        return deleted
