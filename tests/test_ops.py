"""`python -m bot check` and `python -m bot backup FILE`: what an operator runs, offline."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, time
from pathlib import Path

from bot.core.ports import Reminder
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
