"""Operator commands: `python -m bot check` (configuration, content, database), `backup FILE`, `migrate` and
`webhook set|delete|info`, on SQLite (a file) or PostgreSQL (HIPCOACH_DB=postgresql://...).

On SQLite, check and backup touch no network; on PostgreSQL they talk to the database server only. No
command prints a token or the database password (a URL is shown as user:***@host).

Check reports every problem it finds, each on one line saying where and
what is wrong and, after " -> ", what to do next; it never prints a token's value.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import time
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

from bot.config import DISCORD_TOKEN, TELEGRAM_TOKEN, Settings, child_environment
from bot.core.commands import load_commands
from bot.core.content import ContentError, load_content
from bot.storage.dialect import POSTGRESQL, backend_of, sqlite_path
from bot.storage.migrations import MIGRATIONS

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
NEXT = " -> "  # separates a problem from its next step, on the same line


def problem(what: str, next_step: str) -> str:
    """One problem line: where and what is wrong, then what to do about it."""
    return f"{what}{NEXT}{next_step}"


FIX_SETTING = "fix that line in .env (or the environment); .env.example describes every setting"
FIX_URL = "write a full URL like the example in .env.example, or delete the line to use the default"


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _url(value: str, name: str, schemes: tuple[str, ...], report: Report) -> None:
    if not value:
        return
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        what = f"{name}: expected a {' or '.join(schemes)} URL like {schemes[-1]}://host/..."
        if name == "TELEGRAM_WEBHOOK_URL":
            next_step = (
                "use the public https:// address your reverse proxy serves (docs/deploy.md, Webhook mode), "
                "or delete the line to use long polling"
            )
        else:
            next_step = FIX_URL
        report.problems.append(problem(what, next_step))


def check_settings(env: Mapping[str, str] | None = None) -> tuple[Settings | None, Report]:
    """The settings in `env` (default: the environment, after .env)."""
    report = Report()
    try:
        settings = Settings.from_env(env)
    except ValueError as exc:
        report.problems.append(problem(f"settings: {exc}", FIX_SETTING))
        return None, report
    if settings.telegram_token and not TELEGRAM_TOKEN.fullmatch(settings.telegram_token):
        report.problems.append(
            problem(
                "TELEGRAM_BOT_TOKEN: does not look like a Telegram bot token "
                "(digits, a colon, 30+ letters; from @BotFather)",
                "in Telegram, send /token to @BotFather and pick your bot; paste the whole token it shows after "
                "TELEGRAM_BOT_TOKEN= in .env (docs/deploy.md, Telegram)",
            )
        )
    if settings.discord_token and not DISCORD_TOKEN.fullmatch(settings.discord_token):
        report.problems.append(
            problem(
                "DISCORD_BOT_TOKEN: does not look like a Discord bot token (three dot-separated parts; "
                "Developer Portal > Bot > Reset Token)",
                "in the Developer Portal open your application > Bot > Reset Token, copy it and paste it after "
                "DISCORD_BOT_TOKEN= in .env (not the application id or public key; docs/deploy.md, Discord)",
            )
        )
    _url(settings.telegram_base_url, "TELEGRAM_BASE_URL", ("http", "https"), report)
    _url(settings.telegram_base_file_url, "TELEGRAM_BASE_FILE_URL", ("http", "https"), report)
    _url(settings.telegram_webhook_url, "TELEGRAM_WEBHOOK_URL", ("https",), report)
    _url(settings.discord_api_base_url, "DISCORD_API_BASE_URL", ("http", "https"), report)
    _url(settings.discord_gateway_url, "DISCORD_GATEWAY_URL", ("ws", "wss"), report)
    if settings.telegram_webhook_url:
        host, _, port = settings.telegram_webhook_listen.rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            report.problems.append(
                problem(
                    "TELEGRAM_WEBHOOK_LISTEN: expected HOST:PORT, like 0.0.0.0:8443",
                    "set it to the address your reverse proxy forwards to, e.g. TELEGRAM_WEBHOOK_LISTEN=127.0.0.1:8443",
                )
            )
    if settings.telegram_webhook_secret and not WEBHOOK_SECRET.fullmatch(settings.telegram_webhook_secret):
        report.problems.append(
            problem(
                "TELEGRAM_WEBHOOK_SECRET: only 1-256 letters, digits, _ and - are allowed (Telegram's rule)",
                "make one with python -c 'import secrets; print(secrets.token_urlsafe(32))', put the same value "
                "in every process, then run python -m bot webhook set",
            )
        )
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret and settings.db_backend == "postgresql":
        # Several processes behind a load balancer: each must know the one secret, and none registers at start.
        report.problems.append(
            problem(
                "TELEGRAM_WEBHOOK_SECRET: webhook processes on PostgreSQL need the one shared secret (they refuse "
                "to start without it)",
                "make one with python -c 'import secrets; print(secrets.token_urlsafe(32))', put the same value "
                "in every process, then run python -m bot webhook set once",
            )
        )
    if settings.telegram_rate_limit < 0:
        report.problems.append(
            problem(
                "TELEGRAM_RATE_LIMIT: must be 0 (off) or a positive number of messages per second",
                "delete the line to use 30, what Telegram allows",
            )
        )
    level = settings.log_level
    if level not in LOG_LEVELS:
        report.problems.append(
            problem(
                f"HIPCOACH_LOG_LEVEL: '{level}' is not one of {', '.join(LOG_LEVELS)}",
                "set HIPCOACH_LOG_LEVEL=WARNING (INFO shows one line per event)",
            )
        )
    log_format = settings.log_format
    if log_format not in LOG_FORMATS:
        report.problems.append(
            problem(
                f"HIPCOACH_LOG_FORMAT: '{log_format}' is not one of {', '.join(LOG_FORMATS)}",
                "set HIPCOACH_LOG_FORMAT=text, or json for a log collector",
            )
        )
    platforms = [
        name for name, token in (("Telegram", settings.telegram_token), ("Discord", settings.discord_token)) if token
    ]
    report.notes.append(f"platforms: {', '.join(platforms) or 'none (terminal chat)'}")
    return settings, report


def check_content(directory: Path) -> Report:
    report = Report()
    try:
        content = load_content(directory)
        load_commands(directory)
    except ContentError as exc:
        report.problems.extend(
            problem(
                f"content: {line}",
                "fix that entry (docs/content-format.md explains every field), or unset HIPCOACH_CONTENT "
                "to use the content of this checkout",
            )
            for line in str(exc).splitlines()
            if line.strip()
        )
        return report
    report.notes.append(
        f"content: {len(content.topics)} topics, {len(content.exercises)} exercises, {len(content.routines)} routines"
    )
    return report


def _stored_zones(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, zone) for every time zone the database schedules by."""
    zones = []
    for table, column in (("profiles", "timezone"), ("reminders", "timezone"), ("challenges", "timezone")):
        try:
            rows = conn.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
        except sqlite3.OperationalError:
            continue  # table not there yet at this schema version
        zones += [(table, zone) for (zone,) in rows]
    return zones


def check_database(path: Path) -> Report:
    """Opens the file read-only, proves pending migrations apply (on an in-memory copy) and that every
    stored time zone is known to this machine's tz database."""
    report = Report()
    if not path.exists():
        report.notes.append(f"database: {path} does not exist yet; it is created at first start")
        return report
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            copy = sqlite3.connect(":memory:")
            source.backup(copy)
        finally:
            source.close()
    except sqlite3.Error as exc:
        report.problems.append(
            problem(
                f"database: {path} cannot be read ({exc})",
                "check HIPCOACH_DB points at the right file and that this user may read it (ls -l)",
            )
        )
        return report
    with copy:
        integrity = copy.execute("PRAGMA quick_check").fetchone()[0]
        if integrity != "ok":
            report.problems.append(
                problem(
                    f"database: {path} is damaged ({integrity}); restore a backup",
                    "stop the bot, copy the latest backup over it (docs/deploy.md, Restoring from a backup) "
                    "and run check again",
                )
            )
            return report
        try:
            current = copy.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
        except sqlite3.OperationalError:
            current = 0
        latest = MIGRATIONS[-1][0]
        if current > latest:
            report.problems.append(_newer_schema(current, latest))
            return report
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            try:
                copy.executescript(f"BEGIN;\n{sql};\nCOMMIT;")
            except sqlite3.Error as exc:
                report.problems.append(_failing_migration(version, description, str(exc)))
                return report
        report.notes.append(_schema_note(current, latest, "checked on a copy"))
        report.problems += _unknown_zones(_stored_zones(copy))
    copy.close()
    return report


def _newer_schema(current: int, latest: int) -> str:
    return problem(
        f"database: schema version {current} is newer than this code knows ({latest}); upgrade Hip Coach",
        "run the newer version that wrote it (git pull, or the newer image), or restore the backup "
        "made before that upgrade",
    )


def _failing_migration(version: int, description: str, error: str) -> str:
    return problem(
        f"database: migration {version} ({description}) would fail: {error}",
        "keep running the previous version, back the database up (python -m bot backup FILE) "
        "and report this line as an issue",
    )


def _schema_note(current: int, latest: int, how: str) -> str:
    if current < latest:
        return f"database: schema {current} -> {latest} at next start or `python -m bot migrate` ({how})"
    return f"database: schema {current}, up to date"


def _unknown_zones(zones: list[tuple[str, str]]) -> list[str]:
    problems = []
    for table, zone in zones:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(
                problem(
                    f"database: {table} uses the unknown time zone '{zone}'",
                    "update the time zone data (pip install -U tzdata in the bot's environment, or the "
                    "image) and run check again",
                )
            )
    return problems


def check(env: Mapping[str, str] | None, content_dir: Path) -> Report:
    settings, report = check_settings(env)
    for part in (check_content(content_dir), check_database_url(settings.db_path) if settings else Report()):
        report.problems += part.problems
        report.notes += part.notes
    return report


def backup(db_path: Path, target: Path) -> str:
    """A consistent copy of a live database (SQLite's online backup; the running bot keeps writing),
    written beside the target and renamed into place, so a half-written backup never exists."""
    if not db_path.exists():
        raise FileNotFoundError(f"no database at {db_path}")
    started = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest, pages=1024, sleep=0.005)  # small steps: writers are never held up long
            ok = dest.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            users = dest.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        finally:
            dest.close()
    finally:
        source.close()
    if not ok:
        partial.unlink(missing_ok=True)
        raise sqlite3.DatabaseError("the copy failed its integrity check; nothing was written")
    os.replace(partial, target)
    elapsed = (time.perf_counter() - started) * 1000
    size = target.stat().st_size / 1024
    logging.getLogger(__name__).info("event=backup users=%d kib=%.0f ms=%.0f", users, size, elapsed)
    return f"Backed up {db_path} to {target}: {users} users, {size:,.0f} KiB, {elapsed:.0f} ms."


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


def check_database_url(url: str) -> Report:
    if backend_of(url) == "postgresql":
        return asyncio.run(_check_postgres(url))
    return check_database(Path(sqlite_path(url)))


async def _check_postgres(url: str) -> Report:
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
            report.problems.append(_newer_schema(current, latest))
            return report
        failing = await _rehearse_migrations(conn, current)
        if failing:
            report.problems.append(failing)
            return report
        report.notes.append(_schema_note(current, latest, "rehearsed in a transaction that was rolled back"))
        zones = []
        for table, column in (("profiles", "timezone"), ("reminders", "timezone"), ("challenges", "timezone")):
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                rows = await conn.fetch(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
                zones += [(table, row[0]) for row in rows]
        report.problems += _unknown_zones(zones)
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
                return _failing_migration(version, description, str(exc))
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
            return _newer_schema(self.before, self.latest)
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


# -- Telegram webhook, registered once for every process (docs/scale-out.md) ------------------------------

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token


class WebhookError(Exception):
    """A webhook command that could not run; one line for the operator, never the token."""


def _webhook_settings_problem(action: str, settings: Settings) -> str | None:
    if not settings.telegram_token:
        return "TELEGRAM_BOT_TOKEN is not set (.env or the environment)"
    if action != "set":
        return None
    if not settings.telegram_webhook_url.startswith("https://"):
        return "TELEGRAM_WEBHOOK_URL must be the public https:// address your load balancer serves"
    if not WEBHOOK_SECRET.fullmatch(settings.telegram_webhook_secret):
        return (
            "TELEGRAM_WEBHOOK_SECRET must be set to 1-256 letters, digits, _ or - (the same in every process; "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return None


async def webhook(action: str, settings: Settings) -> str:
    """`set` registers TELEGRAM_WEBHOOK_URL with TELEGRAM_WEBHOOK_SECRET, `delete` removes it, `info` shows what
    Telegram has. What it prints never contains the token or the secret."""
    wrong = _webhook_settings_problem(action, settings)
    if wrong:
        raise WebhookError(wrong)
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    from bot.adapters.telegram import UPDATES  # exactly what the adapter handles

    hidden = [s for s in (settings.telegram_token, settings.telegram_webhook_secret) if s]

    def safe(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return " ".join(text.split())

    bot = Bot(settings.telegram_token, settings.telegram_base_url, settings.telegram_base_file_url)
    try:
        await bot.initialize()  # getMe: proves the token before anything changes
        if action == "set":
            await bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=UPDATES,
            )
        elif action == "delete":
            await bot.delete_webhook()
        info = await bot.get_webhook_info()
    except InvalidToken:
        raise WebhookError("Telegram rejected TELEGRAM_BOT_TOKEN (ask @BotFather with /token)") from None
    except TelegramError as exc:
        raise WebhookError(f"Telegram said: {safe(str(exc))}") from None
    finally:
        with contextlib.suppress(TelegramError):
            await bot.shutdown()
    lines = [f"bot: @{bot.username}"] if bot.username else []
    if action == "set":
        lines.insert(0, "Webhook set: Telegram posts updates there with TELEGRAM_WEBHOOK_SECRET (not shown).")
    elif action == "delete":
        lines.insert(0, "Webhook deleted: Telegram keeps updates for one process to fetch by long polling.")
    lines.append(f"url: {info.url or '(none: long polling)'}")
    lines.append(f"pending updates: {info.pending_update_count}")
    if info.allowed_updates:
        lines.append(f"allowed updates: {', '.join(info.allowed_updates)}")
    if info.last_error_message:
        when = info.last_error_date.isoformat() if info.last_error_date else "?"
        lines.append(f"last error: {when} {safe(info.last_error_message)}")
    return "\n".join(lines)
