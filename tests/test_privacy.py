"""Privacy: /export gives a person their own data and nobody else's; /forget leaves no row about them anywhere."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from bot.app import build_app
from bot.core.messages import Incoming
from tests.conftest import FakeClock
from tests.test_reminders import RecordingSender

BOTH_BACKENDS = True  # tests/conftest.py: each test runs on SQLite and on PostgreSQL

SPACE, CHANNEL = "guild-1", "chan-1"


def msg(user: str, **kw) -> Incoming:
    return Incoming("test", user, user, display_name=user.title(), **kw)


def group(user: str, organiser: bool = False, **kw) -> Incoming:
    return msg(user, space=SPACE, channel=CHANNEL, private=False, organiser=organiser, **kw)


async def live_a_little(app, clock, user: str) -> None:
    """Everything a person can leave behind: conversation state, profile, reminder, deliveries, streak,
    a challenge membership with a check-in."""
    coach = app.coach
    await coach.handle(msg(user, text="my knee hurts"))
    await coach.handle(msg(user, command="remind", args="07:30 Europe/Berlin"))
    fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
    clock.now = fire
    await app.reminders.tick(fire)
    clock.now = fire + timedelta(minutes=10)
    await coach.handle(msg(user, command="done"))
    await coach.handle(group(user, command="challenge", args="join"))
    await coach.handle(group(user, command="challenge", args="done"))


def rows_mentioning(db, needle: str) -> dict[str, int]:
    """Every table and text column in the database, searched for the value."""
    found: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]:
                n = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE ?", (f"%{needle}%",))
                count = n.fetchone()[0]
                if count:
                    found[f"{table}.{column}"] = count
    return found


async def test_export_and_forget_cover_every_table(tmp_path):
    db = tmp_path / "p.db"
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    app = await build_app(str(db), clock=clock)
    app.senders["test"] = RecordingSender()
    try:
        start = 'start name="Hip month" days=7 time=07:00 timezone=Europe/Berlin'
        await app.coach.handle(group("olga", organiser=True, command="challenge", args=start))
        await live_a_little(app, clock, "zoe-the-user")
        await live_a_little(app, clock, "max-another")

        (export,) = await app.coach.handle(msg("zoe-the-user", command="export"))
        name, body = export.file
        assert name.endswith(".json")
        data = json.loads(body)
        tables = data["tables"]
        assert tables["reminders"] and tables["checkins"] and tables["challenge_checkins"] and tables["deliveries"]
        assert tables["profiles"][0]["timezone"] == "Europe/Berlin"
        assert "max-another" not in body.decode() and "olga" not in body.decode()  # nobody else's data

        before = rows_mentioning(db, "zoe-the-user")
        assert len(before) >= 8, before
        other_before = rows_mentioning(db, "max-another")
        (question,) = await app.coach.handle(msg("zoe-the-user", command="forget"))
        yes = next(b.data for row in question.buttons for b in row if b.data == "f:yes")
        await app.coach.handle(msg("zoe-the-user", button=yes))
        assert rows_mentioning(db, "zoe-the-user") == {}
        assert rows_mentioning(db, "max-another") == other_before  # the other person is untouched
    finally:
        await app.close()
