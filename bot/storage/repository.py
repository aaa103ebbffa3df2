"""The repository the app injects: the people, reminder and challenge stores over one Database, plus the
versioned schema. `HIPCOACH_DB` picks the backend (bot/storage/dialect.py: backend_of)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.challenges import ChallengeSQL
from bot.storage.database import Database, open_database
from bot.storage.migrations import MIGRATIONS
from bot.storage.people import PeopleSQL
from bot.storage.presence import LocalPresence, PostgresPresence
from bot.storage.reminders import ReminderSQL, ts
from bot.storage.turn_cache import TTL_SECONDS, TurnCache
from bot.storage.updates import UpdateSQL

log = logging.getLogger(__name__)


class SqlRepository(PeopleSQL, ReminderSQL, ChallengeSQL, UpdateSQL):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.url = db.url
        self.backend = db.dialect.name
        # Several processes may share this database (PostgreSQL); SQLite has one. Everything that differs
        # between the two deployments asks this: the turn cache, claim batches, rate limits, update dedup, roles.
        self.shared = self.backend == "postgresql"
        # The turn cache saves a round trip per message, and is right only while this process is the sole writer
        # for the people it serves. When other processes write too: no cache.
        self._turns = TurnCache(ttl=0.0 if self.shared else TTL_SECONDS)
        # Says which claim holders are alive (bot/storage/presence.py); open() starts the PostgreSQL one.
        self.presence: LocalPresence | PostgresPresence = LocalPresence()

    @classmethod
    async def open(cls, url: str | Path, migrate: bool = True) -> SqlRepository:
        repo = cls(await open_database(str(url)))
        try:
            if repo.shared:
                repo.presence = await PostgresPresence.start(repo.url)
            if migrate:
                await repo.migrate()
        except BaseException:
            await repo.close()
            raise
        return repo

    @property
    def path(self) -> str:
        return self.url

    def transaction(self):
        return self.db.transaction()

    def turn_lock(self, user_key: str):
        """Keeps one person's turns in order across every process sharing this database."""
        return self.db.lock(f"turn:{user_key}")

    async def close(self) -> None:
        await self.presence.close()
        await self.db.close()

    async def ping(self) -> bool:
        """The database answers a query (health checks)."""
        return await self.db.ping()

    async def schema_version(self) -> int:
        async with self.db.transaction() as db:
            if self.db.dialect.schema_lock:
                await db.execute(self.db.dialect.schema_lock)
            await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            rows = await db.fetch("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(rows[0][0])

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction, under the schema lock (SQLite's write lock,
        PostgreSQL's advisory lock), so processes starting together migrate once. Returns the version."""
        current = await self.schema_version()
        dialect = self.db.dialect
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            async with self.db.transaction() as db:
                if dialect.schema_lock:
                    await db.execute(dialect.schema_lock)
                # Another process may have migrated while we waited for the lock.
                if await db.fetch("SELECT 1 FROM schema_version WHERE version = ?", (version,)):
                    continue
                log.info("event=migrate version=%d description=%r backend=%s", version, description, dialect.name)
                for statement in filter(str.strip, dialect.ddl(sql).split(";")):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, ts(datetime.now(UTC)))
                )
            current = version
        return current
