"""The operator commands on PostgreSQL: connect and check, migrate once under a lock, back up with pg_dump."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.config import child_environment
from bot.ops.report import Report, failing_migration, newer_schema, problem, schema_note, unknown_zones
from bot.storage.dialect import POSTGRESQL, backend_of, sqlite_path
from bot.storage.migrations import MIGRATIONS

# -- PostgreSQL (HIPCOACH_DB=postgresql://...; docs/scale-out.md) ---------------------------------------------

PG_CONNECT_TIMEOUT = 10.0  # seconds: an unreachable server is a one-line problem, not a long hang
PG_LOCK_TIMEOUT = "2s"  # check's rolled-back migration rehearsal never holds a live bot's tables longer
MIGRATE_LOCK = "schema:migrate"  # one `migrate` (or starting process) applies everything; the rest see the version
FIX_PG = (
    "check HIPCOACH_DB (host, port, database, user, password) and that the server runs and accepts connections "
    "from here (pg_isready -h HOST -p PORT); the database must exist (createdb)"
)


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message is one line for the operator, with no password in it."""


def redact_url(url: str) -> str:
    """`postgresql://user:secret@host/db` -> `postgresql://user:***@host/db`; anything else unchanged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))


def database_label(url: str) -> str:
    """How a HIPCOACH_DB value may be shown: a file path, or a URL without its password."""
    return redact_url(url) if backend_of(url) == "postgresql" else sqlite_path(url)


def scrub(text: str, url: str) -> str:
    """An error text safe to print: the URL redacted and the password gone, on one line."""
    password = urlsplit(url).password if backend_of(url) == "postgresql" else None
    text = text.replace(url, redact_url(url))
    for secret in filter(None, (password, password and unquote(password))):
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300]


def describe_error(exc: BaseException, url: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {PG_CONNECT_TIMEOUT:.0f} s"
    return scrub(str(exc) or type(exc).__name__, url)


def open_errors(url: str) -> tuple[type[BaseException], ...]:
    """What opening this database raises when the server is down or refuses us (PostgreSQL only: a SQLite file
    keeps the errors it always had)."""
    if backend_of(url) != "postgresql":
        return ()
    import asyncpg

    return (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError)


def unavailable(exc: BaseException, url: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"cannot connect to PostgreSQL at {redact_url(url)}: {describe_error(exc, url)}")


async def check_postgres(url: str) -> Report:
    """Connects, reports server and schema version, rehearses pending migrations in a transaction that is
    rolled back (PostgreSQL's DDL is transactional), and checks every stored time zone. Changes nothing."""
    import asyncpg

    report = Report()
    shown = redact_url(url)
    try:
        conn = await asyncpg.connect(url, timeout=PG_CONNECT_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - whatever stops the connection is one line for the operator
        report.problems.append(problem(f"database: {unavailable(exc, url)}", FIX_PG))
        return report
    try:
        version = await conn.fetchval("SHOW server_version")
        report.notes.append(f"database: PostgreSQL {version.split()[0]} at {shown}")
        current = 0
        if await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        latest = MIGRATIONS[-1][0]
        if current > latest:
            report.problems.append(newer_schema(current, latest))
            return report
        failing = await _rehearse_migrations(conn, current)
        if failing:
            report.problems.append(failing)
            return report
        report.notes.append(schema_note(current, latest, "rehearsed in a transaction that was rolled back"))
        zones = []
        for table, column in (("profiles", "timezone"), ("reminders", "timezone"), ("challenges", "timezone")):
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                rows = await conn.fetch(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
                zones += [(table, row[0]) for row in rows]
        report.problems += unknown_zones(zones)
    except (asyncpg.PostgresError, OSError) as exc:
        report.problems.append(problem(f"database: {shown} failed a query: {describe_error(exc, url)}", FIX_PG))
    finally:
        await conn.close()
    return report


async def _rehearse_migrations(conn, current: int) -> str | None:
    """Apply the pending migrations and roll them back: a problem line if one would fail, else None."""
    import asyncpg

    pending = [m for m in MIGRATIONS if m[0] > current]
    if not pending:
        return None
    rehearsal = conn.transaction()
    await rehearsal.start()
    try:
        await conn.execute(f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT}'")
        for version, description, sql in pending:
            try:
                for statement in filter(str.strip, POSTGRESQL.ddl(sql).split(";")):
                    await conn.execute(statement)
            except asyncpg.LockNotAvailableError:
                return None  # the running bot is busy with those tables: nothing is known to be wrong
            except asyncpg.PostgresError as exc:
                return failing_migration(version, description, str(exc))
        return None
    finally:
        await rehearsal.rollback()


@dataclass
class Migrated:
    before: int
    after: int
    latest: int

    @property
    def message(self) -> str:
        if self.before > self.latest:
            return newer_schema(self.before, self.latest)
        if self.after > self.before:
            return f"Migrated the database from schema {self.before} to {self.after}."
        return f"Database schema {self.after}: up to date, nothing to apply."


async def migrate(url: str) -> Migrated:
    """Apply pending migrations once, however many processes run this at the same moment: the first to take
    the migration lock applies them all, the others wait and find the version already there."""
    from bot.storage.repository import SqlRepository

    try:
        repo = await SqlRepository.open(url, migrate=False)
    except open_errors(url) as exc:
        raise unavailable(exc, url) from None
    try:
        async with repo.db.lock(MIGRATE_LOCK):
            before = await repo.schema_version()
            latest = MIGRATIONS[-1][0]
            after = before if before > latest else await repo.migrate()
    finally:
        await repo.close()
    logging.getLogger(__name__).info("event=migrate_command before=%d after=%d", before, after)
    return Migrated(before, after, latest)


class BackupError(Exception):
    """A backup that did not happen; the message is one line for the operator."""


def find_pg_dump() -> str | None:
    """pg_dump on PATH, else the newest of Debian's /usr/lib/postgresql/VERSION/bin."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_dump")
    candidates.sort(key=lambda path: [int(p) for p in Path(path).parts[-3].split(".") if p.isdigit()])
    return candidates[-1] if candidates else None


def pg_dump_command(url: str, target: Path, pg_dump: str) -> tuple[list[str], dict[str, str]]:
    """argv and environment for pg_dump: the password goes in PGPASSWORD, never argv (`ps` shows argv)."""
    parts = urlsplit(url)
    env = child_environment()
    if parts.password is not None:
        env = child_environment(PGPASSWORD=unquote(parts.password))
        userinfo, _, hostport = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{userinfo.partition(':')[0]}@{hostport}")
    dbname = urlunsplit(parts._replace(scheme="postgresql"))
    # custom format: compressed, restored selectively with pg_restore; --no-password: fail, never prompt
    argv = [pg_dump, "--format=custom", "--no-password", f"--file={target}", f"--dbname={dbname}"]
    return argv, env


def backup_postgres(url: str, target: Path, pg_dump: str | None = None) -> str:
    """pg_dump in custom format (a consistent snapshot; the bots keep writing), written beside the target and
    renamed into place, so a half-written backup never exists."""
    pg_dump = pg_dump or find_pg_dump()
    if not pg_dump:
        raise BackupError(
            "pg_dump is not installed here; install the PostgreSQL client (apt-get install postgresql-client, "
            "the same major version as the server or newer) or run the backup where it is"
        )
    started = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    argv, env = pg_dump_command(url, partial, pg_dump)
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise BackupError(f"could not run {pg_dump}: {exc}") from None
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        said = done.stderr.replace("pg_dump: error:", "").strip() or f"exit status {done.returncode}"
        raise BackupError(f"pg_dump failed: {scrub(said, url)}")
    os.replace(partial, target)
    elapsed = (time.perf_counter() - started) * 1000
    size = target.stat().st_size / 1024
    logging.getLogger(__name__).info("event=backup backend=postgresql kib=%.0f ms=%.0f", size, elapsed)
    return (
        f"Backed up {redact_url(url)} to {target} (pg_dump custom format): {size:,.0f} KiB, {elapsed:.0f} ms. "
        f"Restore into an empty database with: pg_restore --no-owner -d postgresql://USER@HOST/DB {target}"
    )
