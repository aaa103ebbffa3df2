"""PostgreSQL on asyncpg, for several processes sharing one database (docs/scale-out.md).

Two pools: queries borrow a connection per statement or transaction; per-person locks hold a session-level
advisory lock on a connection of their own, so people waiting for a lock can never starve the queries that
the lock holders need (the lock pool only makes lock waiters queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg

from bot.storage.dialect import POSTGRESQL

LOCK_SPACE = 72_420  # first key of our advisory locks: (LOCK_SPACE, hashtext(key)); other apps may share the DB
QUERY_POOL = 10
LOCK_POOL = 8


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Query connections keep no session state (transactions end in their context), so skip asyncpg's reset
    round trip on every release."""


def _rowcount(status: str) -> int:
    """asyncpg returns the command tag ("UPDATE 3", "INSERT 0 1"); the last number is the row count."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _Connection:
    """One borrowed connection inside a transaction; the same methods as the database."""

    dialect = POSTGRESQL

    def __init__(self, conn: asyncpg.Connection, url: str) -> None:
        self._conn = conn
        self.url = url

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._conn.fetch(POSTGRESQL.sql(sql), *params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _rowcount(await self._conn.execute(POSTGRESQL.sql(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self._conn.executemany(POSTGRESQL.sql(sql), rows)


class PostgresDatabase:
    dialect = POSTGRESQL

    def __init__(self, pool: asyncpg.Pool, lock_pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._lock_pool = lock_pool
        self.url = url
        self._local: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    @classmethod
    async def open(cls, url: str, size: int = QUERY_POOL) -> PostgresDatabase:
        # statement_cache_size stays on: the queries are constants, prepared once per connection.
        pool = await asyncpg.create_pool(url, min_size=1, max_size=size, reset=_keep_session)
        lock_pool = await asyncpg.create_pool(url, min_size=0, max_size=LOCK_POOL)
        return cls(pool, lock_pool, url)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._pool.fetch(POSTGRESQL.sql(sql), *params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _rowcount(await self._pool.execute(POSTGRESQL.sql(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self._pool.executemany(POSTGRESQL.sql(sql), rows)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Connection]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _Connection(conn, self.url)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """An advisory lock per key across every process. Same-key waiters in this process queue on an asyncio
        lock first, so they do not each hold a connection. The pool's reset unlocks on release, even after a
        cancellation; a dead process's locks go with its session."""
        local = self._local.get(key)
        if local is None:
            local = self._local[key] = asyncio.Lock()
        async with local, self._lock_pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1, hashtext($2))", LOCK_SPACE, key)
            yield

    async def ping(self) -> bool:
        return await self._pool.fetchval("SELECT 1") == 1

    async def close(self) -> None:
        await self._pool.close()
        await self._lock_pool.close()
