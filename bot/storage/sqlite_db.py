"""SQLite on aiosqlite: WAL, busy timeout, foreign keys; one connection shared by the process's coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import aiosqlite

from bot.storage.dialect import SQLITE


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


class SQLiteDatabase:
    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.url = path
        self._tx_lock = asyncio.Lock()
        # One process serves a SQLite file's people, so a per-key asyncio lock keeps their turns in order.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @classmethod
    async def open(cls, path: str) -> SQLiteDatabase:
        # Autocommit: each statement is its own transaction (one thread hop instead of two);
        # multi-statement changes use transaction() explicitly.
        conn = await aiosqlite.connect(path, timeout=10, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA busy_timeout=10000")
        if path != ":memory:":
            await _enable_wal(conn)
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        return cls(conn, path)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteDatabase]:
        """An explicit write transaction; one at a time per connection (coroutines share it)."""
        async with self._tx_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield

    async def ping(self) -> bool:
        rows = await self.fetch("SELECT 1")
        return rows[0][0] == 1

    async def close(self) -> None:
        await self.conn.close()
