"""SQLite storage on aiosqlite: WAL, busy timeout, foreign keys, versioned migrations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.ports import Profile
from bot.storage.migrations import MIGRATIONS, USER_TABLES
from bot.storage.sqlite_reminders import ReminderSQL

log = logging.getLogger(__name__)


class SQLiteRepository(ReminderSQL):
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._db = conn
        self.path = path
        self._tx_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> SQLiteRepository:
        path = str(path)
        # Autocommit: each statement is its own transaction (one thread hop instead of two);
        # multi-statement changes use transaction() explicitly.
        conn = await aiosqlite.connect(path, timeout=10, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        if path != ":memory:":
            await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=10000")
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

    async def schema_version(self) -> int:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        async with self._db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction. Returns the resulting version."""
        current = await self.schema_version()
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            log.info("event=migrate version=%d description=%r", version, description)
            async with self.transaction() as db:
                # Another process may have migrated while we waited for the lock.
                async with db.execute("SELECT 1 FROM schema_version WHERE version = ?", (version,)) as cur:
                    if await cur.fetchone():
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
        """Everything a message needs in two round trips: record the user, read profile and state.

        last_seen_at is refreshed at most once a minute, so a chatty user does not write on every message.
        """
        stamp = now.isoformat()
        stale = (now - timedelta(minutes=1)).isoformat()
        async with self._db.execute(
            "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_key) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
            "display_name = excluded.display_name WHERE users.last_seen_at < ? OR users.display_name <> "
            "excluded.display_name RETURNING created_at",
            (user_key, display_name[:128], stamp, stamp, stale),
        ) as cur:
            row = await cur.fetchone()
        first = row is not None and row[0] == stamp
        async with self._db.execute(
            "SELECT p.goal, p.level, p.timezone, p.onboarded, p.pending_notice, s.state FROM users u "
            "LEFT JOIN profiles p ON p.user_key = u.user_key "
            "LEFT JOIN conversation_state s ON s.user_key = u.user_key WHERE u.user_key = ?",
            (user_key,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return first, Profile(user_key), None
        profile = Profile(
            user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"] or 0), row["pending_notice"]
        )
        return first, profile, json.loads(row["state"]) if row["state"] else None

    async def get_profile(self, user_key: str) -> Profile:
        async with self._db.execute(
            "SELECT goal, level, timezone, onboarded, pending_notice FROM profiles WHERE user_key = ?", (user_key,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Profile(user_key=user_key)
        return Profile(
            user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"]), row["pending_notice"]
        )

    async def save_profile(self, profile: Profile, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO profiles (user_key, goal, level, timezone, onboarded, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_key) DO UPDATE SET goal = excluded.goal, "
            "level = excluded.level, timezone = excluded.timezone, onboarded = excluded.onboarded, "
            "updated_at = excluded.updated_at",
            (profile.user_key, profile.goal, profile.level, profile.timezone, int(profile.onboarded), now.isoformat()),
        )

    # -- conversation state ------------------------------------------------------------------

    async def get_state(self, user_key: str) -> dict[str, Any] | None:
        async with self._db.execute("SELECT state FROM conversation_state WHERE user_key = ?", (user_key,)) as cur:
            row = await cur.fetchone()
        return json.loads(row["state"]) if row else None

    async def set_state(self, user_key: str, state: dict[str, Any] | None, now: datetime) -> None:
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
            async with self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE user_key = ?", (user_key,)) as cur:
                counts[table] = (await cur.fetchone())[0]
        return counts

    async def forget_user(self, user_key: str) -> int:
        deleted = 0
        async with self.transaction() as db:
            for table in USER_TABLES:
                cur = await db.execute(f"DELETE FROM {table} WHERE user_key = ?", (user_key,))
                deleted += cur.rowcount
        return deleted
