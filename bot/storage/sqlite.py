"""SQLite storage on aiosqlite: WAL, busy timeout, foreign keys, versioned migrations."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.ports import Profile
from bot.storage.migrations import MIGRATIONS, USER_TABLES

log = logging.getLogger(__name__)


class SQLiteRepository:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._db = conn
        self.path = path

    @classmethod
    async def open(cls, path: str | Path) -> SQLiteRepository:
        path = str(path)
        conn = await aiosqlite.connect(path, timeout=10)
        conn.row_factory = aiosqlite.Row
        if path != ":memory:":
            await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=10000")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        repo = cls(conn, path)
        await repo.migrate()
        return repo

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
        await self._db.commit()
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            log.info("event=migrate version=%d description=%r", version, description)
            await self._db.execute("BEGIN")
            try:
                for statement in filter(str.strip, sql.split(";")):
                    await self._db.execute(statement)
                await self._db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))", (version,)
                )
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise
            current = version
        return current

    # -- users and profiles -------------------------------------------------------------------

    async def ensure_user(self, user_key: str, display_name: str, now: datetime) -> bool:
        stamp = now.isoformat()
        cur = await self._db.execute(
            "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_key) DO NOTHING",
            (user_key, display_name[:128], stamp, stamp),
        )
        created = cur.rowcount == 1
        if not created:
            await self._db.execute(
                "UPDATE users SET last_seen_at = ?, display_name = ? WHERE user_key = ?",
                (stamp, display_name[:128], user_key),
            )
        await self._db.commit()
        return created

    async def get_profile(self, user_key: str) -> Profile:
        async with self._db.execute(
            "SELECT goal, level, timezone, onboarded FROM profiles WHERE user_key = ?", (user_key,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Profile(user_key=user_key)
        return Profile(user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"]))

    async def save_profile(self, profile: Profile, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO profiles (user_key, goal, level, timezone, onboarded, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_key) DO UPDATE SET goal = excluded.goal, "
            "level = excluded.level, timezone = excluded.timezone, onboarded = excluded.onboarded, "
            "updated_at = excluded.updated_at",
            (profile.user_key, profile.goal, profile.level, profile.timezone, int(profile.onboarded),
             now.isoformat()),
        )
        await self._db.commit()

    # -- conversation state ------------------------------------------------------------------

    async def get_state(self, user_key: str) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT state FROM conversation_state WHERE user_key = ?", (user_key,)
        ) as cur:
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
        await self._db.commit()

    # -- privacy -----------------------------------------------------------------------------

    async def count_rows(self, user_key: str) -> dict[str, int]:
        counts = {}
        for table in USER_TABLES:
            async with self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE user_key = ?", (user_key,)) as cur:
                counts[table] = (await cur.fetchone())[0]
        return counts

    async def forget_user(self, user_key: str) -> int:
        deleted = 0
        await self._db.execute("BEGIN")
        try:
            for table in USER_TABLES:
                cur = await self._db.execute(f"DELETE FROM {table} WHERE user_key = ?", (user_key,))
                deleted += cur.rowcount
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return deleted
