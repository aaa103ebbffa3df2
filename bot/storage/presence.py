"""Process presence: which processes sharing the database are alive, so a dead one's claims are taken over at
once instead of after the claim lease (bot/core/delivery.py: CLAIM_LEASE).

- SQLite (one machine, usually one process): the claim token's host and pid say it (claims.owner_gone).
- PostgreSQL (processes on several hosts or containers, where a pid means nothing): each process holds a
  session advisory lock (PRESENCE_SPACE, its run id) on a connection of its own for as long as it runs. PostgreSQL
  drops a session's locks when its client goes away (kill -9 included: the socket closes, the backend exits within
  milliseconds), so a claim whose run id has no such lock in pg_locks belongs to a dead process.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from bot.storage.claims import local_run, new_token, owner_gone, run_of
from bot.storage.database import Database

log = logging.getLogger(__name__)

# First key of the presence locks; the second is the run id itself (32 random bits, so no hashing and no
# collisions). 72420 holds the per-person and schema locks (bot/storage/postgres_db.py), 72422 the roles (bot/roles.py).
PRESENCE_SPACE = 72_421
_PREFIX = "pg"  # run ids that hold a presence lock; other tokens (older versions, SQLite) fall back to the pid


def presence_id(run: str | None) -> int | None:
    """The lock's second key as pg_locks shows it (objid, unsigned) for a presence run id; else None."""
    if not run or not run.startswith(_PREFIX) or len(run) != len(_PREFIX) + 8:
        return None
    try:
        return int(run[len(_PREFIX) :], 16)
    except ValueError:
        return None


def _int4(unsigned: int) -> int:
    """pg_advisory_lock takes a signed int4; pg_locks shows it back as an unsigned oid."""
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


class LocalPresence:
    """SQLite: the pid check of bot/storage/claims.py, as before."""

    def __init__(self) -> None:
        self.run = local_run()

    def token(self) -> str:
        return new_token(self.run)

    async def ensure(self) -> bool:
        return True

    async def gone(self, db: Database, tokens: set[str | None]) -> set[str | None]:
        return {t for t in tokens if owner_gone(t)}

    async def close(self) -> None:
        pass


class PostgresPresence:
    """Holds this process's presence lock on a dedicated connection; tells which claim holders are gone."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.run = f"{_PREFIX}{secrets.token_hex(4)}"
        self._conn: Any = None

    @classmethod
    async def start(cls, url: str) -> PostgresPresence:
        presence = cls(url)
        if not await presence.ensure():
            raise RuntimeError("could not take this process's presence lock in PostgreSQL")
        return presence

    def token(self) -> str:
        return new_token(self.run)

    async def ensure(self) -> bool:
        """True while the lock is held. After a lost connection it is taken again (same run id) before this
        process claims anything more: a claim made without it would look abandoned to everyone else."""
        if self._conn is not None and not self._conn.is_closed():
            return True
        import asyncpg  # only on PostgreSQL

        try:
            conn = await asyncpg.connect(self.url)
            for _ in range(5):
                key = presence_id(self.run)
                if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", PRESENCE_SPACE, _int4(key)):
                    break
                self.run = f"{_PREFIX}{secrets.token_hex(4)}"  # 1 in 4 billion: another live process has it
            else:
                await conn.close()
                return False
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("event=presence_unavailable error=%s", type(exc).__name__)
            return False
        if self._conn is not None:
            log.warning("event=presence_regained run=%s", self.run)
        self._conn = conn
        return True

    async def live_runs(self, db: Database) -> set[int]:
        rows = await db.fetch(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = ? AND objsubid = 2 AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (PRESENCE_SPACE,),
        )
        return {int(row[0]) for row in rows}

    async def gone(self, db: Database, tokens: set[str | None]) -> set[str | None]:
        """Tokens whose holder surely no longer runs: a presence run id without its lock, or (a token from a
        version before presence) the pid check. One query for all of them."""
        keyed = {t: presence_id(run_of(t)) for t in tokens}
        live = await self.live_runs(db) if any(k is not None for k in keyed.values()) else set()
        # We are alive, asking: even while our lock is being taken again after a lost connection, our own claims
        # (a deferred send, say) are ours to finish, not to take over from ourselves in a loop.
        live.add(presence_id(self.run))
        return {t for t, k in keyed.items() if (k not in live if k is not None else owner_gone(t))}

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()  # ends the session: the lock goes with it
