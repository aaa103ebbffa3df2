"""The small database port the stores are written against: the same portable SQL on SQLite and PostgreSQL.

Rows are read by position or by column name (aiosqlite.Row and asyncpg.Record both allow either).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.storage.dialect import Dialect, backend_of, sqlite_path


class Database(Protocol):
    dialect: Dialect
    url: str

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a query (also of INSERT/UPDATE ... RETURNING)."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns how many rows it changed."""

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Database]:
        """A write transaction; statements on the handle it yields commit together or not at all."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion on `key` for everyone sharing this database (one process for SQLite, all of them on
        PostgreSQL): one person's turns stay in order even when two processes receive their messages."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


async def open_database(url: str) -> Database:
    if backend_of(url) == "postgresql":
        from bot.storage.postgres_db import PostgresDatabase  # asyncpg is imported only when it is used

        return await PostgresDatabase.open(url)
    from bot.storage.sqlite_db import SQLiteDatabase

    return await SQLiteDatabase.open(sqlite_path(url))


def as_dict(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}
