"""`python -m bot check`, `backup FILE`, `migrate`, `webhook ...`: what an operator runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from bot.core.ports import Reminder
from bot.ops import check_settings
from bot.storage.migrations import MIGRATIONS
from bot.storage.repository import SqlRepository

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def make_db(path: Path, zone: str = "Europe/Berlin") -> None:
    repo = await SqlRepository.open(path)
    await repo.begin_turn("telegram:1", "Al", NOW)
    await repo.add_reminder(Reminder(0, "telegram:1", "telegram", "1", time(7, 30), frozenset(range(7)), zone), NOW)
    await repo.close()


def test_check_passes_on_a_fresh_setup(tmp_path):
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All good." in result.stdout and "30 exercises" in result.stdout


def test_check_names_each_bad_setting_and_never_prints_a_token(tmp_path):
    secret = "123456:too-short"
    result = run(
        "check",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN=secret,
        DISCORD_BOT_TOKEN="not a token",
        DISCORD_GATEWAY_URL="https://gateway.example",
        HIPCOACH_LOG_LEVEL="LOUD",
    )
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 4
    for name in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "DISCORD_GATEWAY_URL", "HIPCOACH_LOG_LEVEL"):
        assert any(name in p for p in problems), name
    assert secret not in result.stdout + result.stderr and "not a token" not in result.stdout


def test_check_finds_a_content_entry_with_a_missing_field(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    exercises = content / "exercises.yaml"
    text = exercises.read_text()
    exercises.write_text(text.replace('  dose: "8-10 slow switches each side"\n', "", 1))
    result = run("check", cwd=tmp_path, HIPCOACH_CONTENT=str(content))
    assert result.returncode == 1
    assert any("exercises.yaml" in line and "90-90-switches" in line for line in result.stdout.splitlines())


async def test_check_finds_an_unknown_stored_time_zone_and_a_pending_migration(tmp_path):
    db = tmp_path / "h.db"
    await make_db(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE reminders SET timezone = 'Mars/Olympus_Mons'")
    result = run("check", cwd=tmp_path, HIPCOACH_DB=str(db))
    assert result.returncode == 1
    assert "reminders uses the unknown time zone 'Mars/Olympus_Mons'" in result.stdout

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        conn.executescript(MIGRATIONS[0][2])
        conn.execute("INSERT INTO schema_version VALUES (1, 'then')")
    result = run("check", cwd=tmp_path, HIPCOACH_DB=str(old))
    assert result.returncode == 0, result.stdout
    assert f"schema 1 -> {MIGRATIONS[-1][0]} at next start" in result.stdout
    with sqlite3.connect(old) as conn:  # check only looked: the file itself is not migrated
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1


async def test_backup_is_a_consistent_copy_while_the_bot_keeps_writing(tmp_path):
    db = tmp_path / "live.db"
    await make_db(db)
    repo = await SqlRepository.open(db)
    writing = True

    async def keep_writing() -> int:
        n = 0
        while writing:
            n += 1
            await repo.begin_turn(f"telegram:{1000 + n}", "someone", NOW)
            await asyncio.sleep(0)
        return n

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.2)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "backup",
        str(tmp_path / "copy.db"),
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HIPCOACH_DB": str(db)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    writing = False
    written = await writer
    await repo.close()
    assert proc.returncode == 0, err.decode()
    assert "Backed up" in out.decode()
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        users = copy.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        assert copy.execute("SELECT COUNT(*) FROM reminders").fetchone()[0] == 1
    assert 1 <= users <= written + 1  # a moment's state, with no half-written rows
    assert not (tmp_path / "copy.db.partial").exists()


def test_backup_without_a_database_says_so(tmp_path):
    result = run("backup", str(tmp_path / "copy.db"), cwd=tmp_path, HIPCOACH_DB=str(tmp_path / "missing.db"))
    assert result.returncode == 1 and "no database" in result.stderr and "Traceback" not in result.stderr


def test_json_logs_are_one_object_per_line_with_the_event_fields_and_no_token(tmp_path):
    import json
    import logging

    from bot.app import JsonFormatter, RedactSecrets

    token = "123456789:AAH-this-is-a-fake-token-for-the-test-only"
    record = logging.LogRecord(
        "bot.x", logging.WARNING, __file__, 1, "event=send_failed platform=telegram url=%s", (f"/bot{token}/x",), None
    )
    RedactSecrets([token]).filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line and token not in line
    data = json.loads(line)
    assert data["event"] == "send_failed" and data["platform"] == "telegram" and data["level"] == "WARNING"


def problem_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]


def next_step(line: str) -> str:
    """What `check` says to do about a problem: the part after ' -> ' on the same line."""
    assert " -> " in line, f"no next step on: {line}"
    step = line.split(" -> ", 1)[1].strip()
    assert len(step) > 15, f"next step too thin on: {line}"
    return step


def test_check_says_what_to_do_next_for_each_bad_setting(tmp_path):
    result = run(
        "check",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN="123456:too-short",
        DISCORD_BOT_TOKEN="not a token",
        TELEGRAM_WEBHOOK_URL="http://coach.example.com/telegram",
        TELEGRAM_WEBHOOK_LISTEN="everywhere",
        DISCORD_GATEWAY_URL="https://gateway.example",
        HIPCOACH_LOG_LEVEL="LOUD",
        HIPCOACH_LOG_FORMAT="xml",
    )
    assert result.returncode == 1
    lines = problem_lines(result)
    assert len(lines) == 7, result.stdout
    advice = {line.split(":", 1)[0].removeprefix("PROBLEM").strip(): next_step(line) for line in lines}
    assert "@BotFather" in advice["TELEGRAM_BOT_TOKEN"] and "/token" in advice["TELEGRAM_BOT_TOKEN"]
    assert "Reset Token" in advice["DISCORD_BOT_TOKEN"] and ".env" in advice["DISCORD_BOT_TOKEN"]
    assert "reverse proxy" in advice["TELEGRAM_WEBHOOK_URL"] and "long polling" in advice["TELEGRAM_WEBHOOK_URL"]
    assert "127.0.0.1:8443" in advice["TELEGRAM_WEBHOOK_LISTEN"]
    assert "default" in advice["DISCORD_GATEWAY_URL"]
    assert "HIPCOACH_LOG_LEVEL=WARNING" in advice["HIPCOACH_LOG_LEVEL"]
    assert "HIPCOACH_LOG_FORMAT=text" in advice["HIPCOACH_LOG_FORMAT"]
    # the problem part is what it always was: the setting's name first, no token value anywhere
    assert lines[0].startswith("PROBLEM  TELEGRAM_BOT_TOKEN: does not look like a Telegram bot token")
    assert "too-short" not in result.stdout and "not a token" not in result.stdout


def test_check_advises_on_a_setting_that_stops_the_bot_and_accepts_port_0(tmp_path):
    result = run("check", cwd=tmp_path, DISCORD_GUILD_ID="my server")
    (line,) = problem_lines(result)
    assert "DISCORD_GUILD_ID" in line and ".env.example" in next_step(line)
    # .env.example: "0 or empty: no port"
    result = run("check", cwd=tmp_path, HIPCOACH_HTTP_PORT="0")
    assert result.returncode == 0, result.stdout


def test_check_says_what_to_do_about_content_and_database_problems(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    exercises = content / "exercises.yaml"
    exercises.write_text(exercises.read_text().replace('  dose: "8-10 slow switches each side"\n', "", 1))
    result = run("check", cwd=tmp_path, HIPCOACH_CONTENT=str(content))
    (line,) = [line for line in problem_lines(result) if "90-90-switches" in line]
    assert "docs/content-format.md" in next_step(line)

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    (line,) = problem_lines(run("check", cwd=tmp_path, HIPCOACH_DB=str(garbage)))
    assert "cannot be read" in line and "HIPCOACH_DB" in next_step(line)

    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (999, 'later')")
    (line,) = problem_lines(run("check", cwd=tmp_path, HIPCOACH_DB=str(newer)))
    assert "newer than this code knows" in line and "backup" in next_step(line)


async def test_check_says_how_to_fix_an_unknown_time_zone(tmp_path):
    db = tmp_path / "h.db"
    await make_db(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE reminders SET timezone = 'Mars/Olympus_Mons'")
    (line,) = problem_lines(run("check", cwd=tmp_path, HIPCOACH_DB=str(db)))
    assert "reminders uses the unknown time zone 'Mars/Olympus_Mons'" in line
    assert "tzdata" in next_step(line)


# -- PostgreSQL (HIPCOACH_DB=postgresql://...): migrate, check, backup, ask ---------------------------------

PASSWORD = "Pa55-word-never-shown"  # the test server trusts every local login, so any password connects


def with_password(url: str) -> str:
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def pg_rows(url: str, sql: str) -> list:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def run_async(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ...` while this test's event loop keeps serving (fakes, writers)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def test_migrate_from_four_processes_at_once_applies_each_migration_once(postgres, tmp_path):
    url = postgres.database()
    results = await asyncio.gather(*(run_async("migrate", cwd=tmp_path, HIPCOACH_DB=url) for _ in range(4)))
    latest = MIGRATIONS[-1][0]
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    outputs = [r.stdout.strip() for r in results]
    assert sum(f"Migrated the database from schema 0 to {latest}." in out for out in outputs) == 1, outputs
    assert sum(f"Database schema {latest}: up to date" in out for out in outputs) == 3, outputs
    rows = await pg_rows(url, "SELECT version, COUNT(*) AS n FROM schema_version GROUP BY version ORDER BY version")
    assert [(r["version"], r["n"]) for r in rows] == [(m[0], 1) for m in MIGRATIONS]
    again = run("migrate", cwd=tmp_path, HIPCOACH_DB=url)
    assert again.returncode == 0 and "up to date, nothing to apply" in again.stdout


def test_migrate_on_sqlite_creates_and_then_finds_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    first = run("migrate", cwd=tmp_path, HIPCOACH_DB=url)
    assert first.returncode == 0, first.stderr
    assert f"{tmp_path / 'h.db'}: Migrated the database from schema 0 to {MIGRATIONS[-1][0]}." in first.stdout
    assert "up to date" in run("migrate", cwd=tmp_path, HIPCOACH_DB=url).stdout
    with sqlite3.connect(tmp_path / "h.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


async def test_check_on_postgresql_reports_server_schema_and_zones_never_the_password(postgres, tmp_path):
    url = with_password(postgres.database())
    result = await run_async("check", cwd=tmp_path, HIPCOACH_DB=url, HIPCOACH_LOG_LEVEL="DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "ok       database: PostgreSQL 15" in result.stdout
        and f"postgres:***@127.0.0.1:{postgres.port}/" in result.stdout
    )
    assert f"schema 0 -> {MIGRATIONS[-1][0]} at next start" in result.stdout and "rolled back" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    # check only looked: the rehearsal of the migrations was rolled back
    assert (await pg_rows(url, "SELECT to_regclass('users') IS NULL AS gone"))[0]["gone"]

    await make_db(url)
    await pg_rows(url, "UPDATE reminders SET timezone = 'Mars/Olympus_Mons'")
    result = await run_async("check", cwd=tmp_path, HIPCOACH_DB=url)
    assert result.returncode == 1
    (line,) = problem_lines(result)
    assert "reminders uses the unknown time zone 'Mars/Olympus_Mons'" in line and "tzdata" in next_step(line)
    assert f"database: schema {MIGRATIONS[-1][0]}, up to date" in result.stdout

    await pg_rows(url, "INSERT INTO schema_version VALUES (999, 'later')")
    (line,) = problem_lines(await run_async("check", cwd=tmp_path, HIPCOACH_DB=url))
    assert "newer than this code knows" in line


async def test_an_unreachable_postgresql_is_one_clear_line_and_a_failure_exit(tmp_path):
    url = f"postgresql://coach:{PASSWORD}@127.0.0.1:{free_port()}/hipcoach"  # nothing listens there
    check, migrate, ask = await asyncio.gather(
        run_async("check", cwd=tmp_path, HIPCOACH_DB=url),
        run_async("migrate", cwd=tmp_path, HIPCOACH_DB=url),
        run_async("ask", "my hip hurts", cwd=tmp_path, HIPCOACH_DB=url),
    )
    (line,) = problem_lines(check)
    assert check.returncode == 1 and "cannot connect to PostgreSQL at postgresql://coach:***@127.0.0.1:" in line
    assert "HIPCOACH_DB" in next_step(line)
    for result in (migrate, ask):
        assert result.returncode == 1 and result.stdout == ""
        (said,) = result.stderr.strip().splitlines()
        assert said.startswith("Hip Coach cannot open its database: cannot connect to PostgreSQL") and "***" in said
    for result in (check, migrate, ask):
        assert "Traceback" not in result.stderr and PASSWORD not in result.stdout + result.stderr


async def test_ask_answers_on_postgresql_and_keeps_the_conversation_there(postgres, tmp_path):
    url = postgres.database()
    result = await run_async("ask", "my hip is tight after sitting all day", cwd=tmp_path, HIPCOACH_DB=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "Traceback" not in result.stderr
    rows = await pg_rows(url, "SELECT user_key FROM users")
    assert len(rows) == 1 and rows[0]["user_key"].startswith("cli:ask-")


async def test_backup_on_postgresql_is_a_pg_dump_that_restores(postgres, tmp_path):
    url = with_password(postgres.database())
    await make_db(url)
    result = await run_async("backup", str(tmp_path / "coach.dump"), cwd=tmp_path, HIPCOACH_DB=url)
    assert result.returncode == 0, result.stderr
    assert "Backed up postgresql://postgres:***@" in result.stdout and "pg_restore" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "coach.dump.partial").exists()

    restored = postgres.database()
    subprocess.run(
        [f"{postgres.bin_dir}/pg_restore", "--no-owner", f"--dbname={restored}", str(tmp_path / "coach.dump")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert [r["user_key"] for r in await pg_rows(restored, "SELECT user_key FROM users")] == ["telegram:1"]
    (reminder,) = await pg_rows(restored, "SELECT timezone FROM reminders")
    assert reminder["timezone"] == "Europe/Berlin"
    repo = await SqlRepository.open(restored)  # the restored copy is a working database at the same schema
    assert await repo.schema_version() == MIGRATIONS[-1][0]
    await repo.close()


def test_pg_dump_gets_the_password_from_the_environment_never_argv(tmp_path):
    from bot.ops import pg_dump_command

    argv, env = pg_dump_command(
        f"postgresql://coach:{PASSWORD}%21@db.internal:6432/hip?sslmode=require", tmp_path / "f", "pg_dump"
    )
    assert env["PGPASSWORD"] == PASSWORD + "!"
    assert not any(PASSWORD in arg for arg in argv)
    assert "--dbname=postgresql://coach@db.internal:6432/hip?sslmode=require" in argv and "--format=custom" in argv


def test_backup_without_pg_dump_says_what_to_install(tmp_path, monkeypatch, capsys):
    import bot.ops
    from bot.__main__ import _backup
    from bot.config import Settings

    monkeypatch.setattr(bot.ops.postgres, "find_pg_dump", lambda: None)
    settings = Settings.from_env({"HIPCOACH_DB": f"postgresql://coach:{PASSWORD}@127.0.0.1:5432/hip"})
    assert _backup(settings, str(tmp_path / "coach.dump")) == 1
    err = capsys.readouterr().err
    assert err.startswith("Backup failed: pg_dump is not installed") and "postgresql-client" in err
    assert PASSWORD not in err and not (tmp_path / "coach.dump").exists()


def test_the_database_password_is_a_secret_the_logs_redact():
    from bot.config import Settings
    from bot.ops import redact_url

    settings = Settings.from_env({"HIPCOACH_DB": "postgresql://coach:p%40ss@db:5432/hip"})
    assert settings.db_backend == "postgresql" and {"p%40ss", "p@ss"} <= set(settings.secrets)
    assert redact_url(settings.db_path) == "postgresql://coach:***@db:5432/hip"
    assert redact_url("postgresql://coach@db/hip") == "postgresql://coach@db/hip"
    assert Settings.from_env({"HIPCOACH_DB": "h.db"}).secrets == []


# -- python -m bot webhook set|info|delete, against the fake Bot API ---------------------------------------

WEBHOOK_URL = "https://coach.example.com/telegram"
WEBHOOK_SECRET = "one-secret-for-every-process_0123456789"


@pytest.fixture
async def fake_telegram():
    from tests.fakes.telegram_api import FakeTelegram

    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


def telegram_env(fake, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{fake.port}/bot",
        "TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{fake.port}/file/bot",
        "HIPCOACH_LOG_LEVEL": "DEBUG",  # the HTTP library logs every request URL (with the token): redacted
        **extra,
    }


async def test_webhook_set_registers_once_with_the_configured_secret_and_never_prints_secrets(fake_telegram, tmp_path):
    env = telegram_env(fake_telegram, TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    result = await run_async("webhook", "set", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert fake_telegram.webhook_url == WEBHOOK_URL and fake_telegram.webhook_secret == WEBHOOK_SECRET
    assert fake_telegram.webhook_allowed_updates == ["message", "callback_query"]
    assert result.stdout.startswith("Webhook set") and f"url: {WEBHOOK_URL}" in result.stdout

    info = await run_async("webhook", "info", cwd=tmp_path, **env)
    assert info.returncode == 0 and f"url: {WEBHOOK_URL}" in info.stdout
    assert "allowed updates: message, callback_query" in info.stdout
    assert [c.method for c in fake_telegram.calls].count("setWebhook") == 1  # info changes nothing

    deleted = await run_async("webhook", "delete", cwd=tmp_path, **env)
    assert deleted.returncode == 0 and "url: (none: long polling)" in deleted.stdout
    assert fake_telegram.webhook_url == ""
    for out in (result, info, deleted):
        assert fake_telegram.token not in out.stdout + out.stderr
        assert WEBHOOK_SECRET not in out.stdout + out.stderr


async def test_webhook_set_refuses_without_a_secret_or_with_a_bad_token(fake_telegram, tmp_path):
    env = telegram_env(fake_telegram, TELEGRAM_WEBHOOK_URL=WEBHOOK_URL)
    no_secret = await run_async("webhook", "set", cwd=tmp_path, **env)
    assert no_secret.returncode == 1 and "TELEGRAM_WEBHOOK_SECRET must be set" in no_secret.stderr
    assert not fake_telegram.calls  # nothing was sent to Telegram

    bad = "123456:AAH-a-token-telegram-does-not-know-0000"
    env = telegram_env(
        fake_telegram, TELEGRAM_BOT_TOKEN=bad, TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    rejected = await run_async("webhook", "set", cwd=tmp_path, **env)
    assert rejected.returncode == 1 and "Telegram rejected TELEGRAM_BOT_TOKEN" in rejected.stderr
    assert "Traceback" not in rejected.stderr and bad not in rejected.stdout + rejected.stderr
    assert fake_telegram.webhook_url == ""

    unset = await run_async("webhook", "info", cwd=tmp_path)
    assert unset.returncode == 1 and "TELEGRAM_BOT_TOKEN is not set" in unset.stderr


def test_check_flags_a_webhook_secret_telegram_would_refuse(tmp_path):
    (line,) = problem_lines(run("check", cwd=tmp_path, TELEGRAM_WEBHOOK_SECRET="has spaces and ümlauts"))
    assert line.startswith("PROBLEM  TELEGRAM_WEBHOOK_SECRET") and "webhook set" in next_step(line)
    assert "ümlauts" not in line


def test_check_flags_webhook_processes_on_postgresql_without_the_shared_secret(tmp_path):
    """Such processes refuse to start; check says so before the operator finds out from a dead service."""
    env = {"TELEGRAM_WEBHOOK_URL": "https://coach.example/telegram", "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1:8443"}
    settings, report = check_settings({**env, "HIPCOACH_DB": "postgresql://coach@127.0.0.1:1/coach"})
    (line,) = [p for p in report.problems if "TELEGRAM_WEBHOOK_SECRET" in p]
    assert "shared secret" in line and "webhook set" in line
    _, alone = check_settings({**env, "HIPCOACH_DB": str(tmp_path / "coach.db")})  # one process registers itself
    assert not [p for p in alone.problems if "TELEGRAM_WEBHOOK_SECRET" in p]
