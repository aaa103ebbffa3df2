"""`python -m bot check` (settings, content, database) and `backup` of a SQLite file."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from bot.config import DISCORD_TOKEN, TELEGRAM_TOKEN, Settings
from bot.core.commands import load_commands
from bot.core.content import ContentError, load_content
from bot.ops.postgres import check_postgres
from bot.ops.report import (
    FIX_SETTING,
    FIX_URL,
    Report,
    failing_migration,
    newer_schema,
    problem,
    schema_note,
    unknown_zones,
)
from bot.ops.webhook import WEBHOOK_SECRET
from bot.storage.dialect import backend_of, sqlite_path
from bot.storage.migrations import MIGRATIONS

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


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
            report.problems.append(newer_schema(current, latest))
            return report
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            try:
                copy.executescript(f"BEGIN;\n{sql};\nCOMMIT;")
            except sqlite3.Error as exc:
                report.problems.append(failing_migration(version, description, str(exc)))
                return report
        report.notes.append(schema_note(current, latest, "checked on a copy"))
        report.problems += unknown_zones(_stored_zones(copy))
    copy.close()
    return report


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


def check_database_url(url: str) -> Report:
    if backend_of(url) == "postgresql":
        return asyncio.run(check_postgres(url))
    return check_database(Path(sqlite_path(url)))
