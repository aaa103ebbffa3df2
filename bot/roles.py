"""Roles that exactly one process holds at a time, when several `python -m bot` share one PostgreSQL.

Every process ticks the scheduler and sends through the platforms' REST APIs. Receiving is different: Telegram
answers a second long poll (getUpdates) with 409 Conflict, and Discord delivers DMs on one gateway session, so
one elected process polls Telegram ("telegram-poller") and one connects the Discord gateway ("discord-gateway").

The election is a session-level PostgreSQL advisory lock, held on a connection of its own (never a pooled
one, whose reset would unlock it). A dead holder's session ends with its process, which releases the lock; the
standbys ask for it with pg_try_advisory_lock every `retry_every` seconds, so one of them takes over within
about that long. On SQLite there is one process, and it holds every role (`SoleProcess`).

`hold_role` is the loop the app runs per role: wait to be elected, start receiving, stop receiving when the
lock is lost (the connection to PostgreSQL broke) or the app stops, and then compete again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

ROLE_SPACE = 72_422  # role locks: (ROLE_SPACE, hashtext(name)); 72_420 is per-person and schema locks, 72_421 presence
RETRY_EVERY = 1.0  # seconds between a standby's tries, and between a holder's checks that it still holds
START_BACKOFF = (1.0, 30.0)  # first and longest pause after the role's start failed


@dataclass(frozen=True)
class Role:
    name: str  # e.g. "telegram-poller", "discord-gateway"


TELEGRAM_POLLER = Role("telegram-poller")
DISCORD_GATEWAY = Role("discord-gateway")


class Election(Protocol):
    async def try_acquire(self, role: Role) -> bool:
        """True when this process holds `role` now (also when it already did)."""

    async def still_held(self, role: Role) -> bool:
        """False once the role was lost (e.g. the connection holding the lock broke)."""

    async def release(self, role: Role) -> None: ...

    async def close(self) -> None: ...


class SoleProcess:
    """SQLite: this is the only process, so it holds every role at once."""

    retry_every = RETRY_EVERY

    async def try_acquire(self, role: Role) -> bool:
        return True

    async def still_held(self, role: Role) -> bool:
        return True

    async def release(self, role: Role) -> None:
        pass

    async def close(self) -> None:
        pass


class PostgresElection:
    """Advisory locks on one dedicated asyncpg connection per process (asyncpg allows one statement at a time
    per connection, hence the asyncio lock). If the connection breaks every role is lost: the next check says
    so, the holder stops receiving, and meanwhile a standby has taken over."""

    def __init__(self, url: str, retry_every: float = RETRY_EVERY) -> None:
        self.url = url
        self.retry_every = retry_every
        self._conn = None
        self._held: set[str] = set()
        self._busy = asyncio.Lock()
        self._failing = False

    async def _connection(self):
        import asyncpg  # only when PostgreSQL is used

        if self._conn is None or self._conn.is_closed():
            if self._held:  # the session that held them is gone, and so are the locks
                log.warning("event=roles_lost roles=%s reason=connection_lost", ",".join(sorted(self._held)))
                self._held.clear()
            self._conn = await asyncpg.connect(self.url, timeout=10)
        return self._conn

    async def try_acquire(self, role: Role) -> bool:
        async with self._busy:
            if role.name in self._held and await self._alive():
                return True
            try:
                conn = await self._connection()
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))", ROLE_SPACE, role.name, timeout=10
                )
            except Exception as exc:  # PostgreSQL away or the connection broke: not elected, try again later
                if not self._failing:  # once per outage, not every second
                    log.warning("event=role_try_failed role=%s error=%s", role.name, type(exc).__name__)
                self._failing = True
                await self._drop()
                return False
            self._failing = False
            if got:
                self._held.add(role.name)
            return bool(got)

    async def still_held(self, role: Role) -> bool:
        async with self._busy:
            return role.name in self._held and await self._alive()

    async def _alive(self) -> bool:
        try:
            await self._conn.fetchval("SELECT 1", timeout=max(2.0, self.retry_every * 2))
            return True
        except Exception as exc:
            log.warning("event=roles_lost roles=%s error=%s", ",".join(sorted(self._held)), type(exc).__name__)
            await self._drop()
            return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            conn.terminate()  # never wait on a broken connection

    async def session_pid(self) -> int | None:
        """The PostgreSQL backend holding this process's roles (pg_stat_activity.pid), or None."""
        async with self._busy:
            if self._conn is None or self._conn.is_closed():
                return None
            return await self._conn.fetchval("SELECT pg_backend_pid()")

    async def release(self, role: Role) -> None:
        async with self._busy:
            if role.name not in self._held:
                return
            self._held.discard(role.name)
            with contextlib.suppress(Exception):
                await self._conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", ROLE_SPACE, role.name)

    async def close(self) -> None:
        async with self._busy:
            self._held.clear()
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=5)  # ends the session: every role lock goes with it


def election_for(backend: str, url: str, retry_every: float = RETRY_EVERY) -> Election:
    """PostgreSQL: processes compete; SQLite: this process is the only one."""
    return PostgresElection(url, retry_every) if backend == "postgresql" else SoleProcess()


async def unless_stopped(work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first, which cancels it (a start hanging on a server that never answers
    must not hold up a shutdown). True when it finished; its exception, if any, is raised."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return False
    task.result()
    return True


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def hold_role(
    role: Role,
    election: Election,
    start: Callable[[], Awaitable[None]],
    stop_role: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Compete for `role` until `stop`; while held, `start` has run (it returns once receiving) and `stop_role`
    runs when the role is lost or the app stops, before the lock is released (so the next holder never
    overlaps with us, except when our connection broke and we learn it only at the next check)."""
    retry_every = getattr(election, "retry_every", RETRY_EVERY)
    backoff = START_BACKOFF[0]
    waiting_logged = False
    while not stop.is_set():
        if not await election.try_acquire(role):
            if not waiting_logged:
                log.info("event=role_standby role=%s", role.name)
                waiting_logged = True
            await _pause(stop, retry_every)
            continue
        waiting_logged = False
        if stop.is_set():
            await election.release(role)
            break
        log.info("event=role_elected role=%s", role.name)
        try:
            started = await unless_stopped(start(), stop)
        except Exception as exc:
            log.warning(
                "event=role_start_failed role=%s error=%s retry_in_s=%.0f", role.name, type(exc).__name__, backoff
            )
            await _stop_quietly(role, stop_role)
            await election.release(role)  # let another process try meanwhile
            await _pause(stop, backoff)
            backoff = min(START_BACKOFF[1], backoff * 2)
            continue
        if not started:  # stopping while the start was in progress
            await _stop_quietly(role, stop_role)
            await election.release(role)
            break
        backoff = START_BACKOFF[0]
        while not stop.is_set() and await election.still_held(role):
            await _pause(stop, retry_every)
        log.info("event=role_resigned role=%s reason=%s", role.name, "stopping" if stop.is_set() else "lost")
        await _stop_quietly(role, stop_role)
        await election.release(role)
        # Lost while running (our connection broke): step back for two of the standbys' tries, so a healthy
        # standby takes over rather than us reconnecting first and flapping.
        await _pause(stop, 2 * retry_every)


async def _stop_quietly(role: Role, stop_role: Callable[[], Awaitable[None]]) -> None:
    try:
        await stop_role()
    except Exception as exc:
        log.warning("event=role_stop_failed role=%s error=%s", role.name, type(exc).__name__)
