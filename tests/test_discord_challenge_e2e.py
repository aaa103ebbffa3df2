"""A server runs a hip challenge together, end to end on the fake Discord through the app's own wiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import FakeClock
from tests.fakes.discord_api import GUILD_ID, MANAGE_GUILD, MEMBER_PERMISSIONS, OTHER_USER_ID, USER_ID, FakeDiscord
from tests.test_discord_e2e import EPHEMERAL, Running, buttons, text_of

ORGANISER = MEMBER_PERMISSIONS | MANAGE_GUILD
START = {"name": "30-day hips", "days": 30, "time": "07:00", "timezone": "Europe/Berlin"}


def posts(fake: FakeDiscord, channel: int) -> list[dict]:
    """Public posts in the channel (not the ephemeral answers people got there)."""
    return [m for m in fake.sent_in(channel) if m["via"] == "channel" and not m["flags"] & EPHEMERAL]


@pytest.fixture
async def fake():
    async with FakeDiscord() as fake:
        yield fake


async def test_a_server_challenge_from_start_to_leaderboard_across_a_restart(fake, tmp_path):
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    channel = fake.channel_id(GUILD_ID)
    db = tmp_path / "c.db"
    async with Running(fake, db, clock) as bot:
        refused = fake.slash("challenge", subcommand="start", options=START, guild_id=GUILD_ID, user_id=OTHER_USER_ID)
        (refusal,) = await bot.answer_to(refused)
        assert refusal["flags"] & EPHEMERAL and "Only organisers" in text_of(refusal)
        assert not posts(fake, channel)

        started = fake.slash("challenge", subcommand="start", options=START, guild_id=GUILD_ID, permissions=ORGANISER)
        await bot.answer_to(started)
        (kickoff,) = posts(fake, channel)
        assert "30-day hips" in text_of(kickoff) and kickoff["flags"] & EPHEMERAL == 0
        join = buttons(kickoff)["➕ Join"]
        assert join.startswith("hc::")  # anyone in the channel may press it

        pressed = fake.press(join, message_id=kickoff["id"], guild_id=GUILD_ID, user_id=OTHER_USER_ID)
        (joined,) = await bot.answer_to(pressed)
        assert "You're in 30-day hips" in text_of(joined) and joined["flags"] & EPHEMERAL
        joined_too = fake.slash("challenge", subcommand="join", guild_id=GUILD_ID)
        await bot.answer_to(joined_too)

    async with Running(fake, db, clock) as bot:  # a restart between the kick-off and day 1
        day1 = datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # 07:00 in Berlin (CET)
        clock.now = day1
        stats = await bot.app.challenges.tick(day1)
        assert stats.sent == 1
        post = posts(fake, channel)[-1]
        assert "Day 1 of 30" in text_of(post) and post["embeds"]
        done = buttons(post)["✅ Done today"]

        clock.now = day1 + timedelta(minutes=30)
        first = fake.press(done, message_id=post["id"], guild_id=GUILD_ID, user_id=OTHER_USER_ID)
        (ok,) = await bot.answer_to(first)
        assert "Day 1 of 30 done" in text_of(ok) and ok["flags"] & EPHEMERAL
        clock.now = day1 + timedelta(minutes=45)
        second = fake.press(done, message_id=post["id"], guild_id=GUILD_ID, user_id=USER_ID)
        await bot.answer_to(second)
        again = fake.press(done, message_id=post["id"], guild_id=GUILD_ID, user_id=USER_ID)
        (repeat,) = await bot.answer_to(again)
        assert "already checked in" in text_of(repeat)
        assert fake.message(post["id"]) == post  # the shared post itself is never rewritten

        board = fake.slash("challenge", subcommand="leaderboard", guild_id=GUILD_ID)
        (leaderboard,) = await bot.answer_to(board)
        rows = [line for line in text_of(leaderboard).splitlines() if line[:2] in ("1.", "2.")]
        assert leaderboard["embeds"] and len(rows) == 2
        # a tie on days: sam checked in first
        assert rows[0].lower().startswith("1. sam") and rows[1].lower().startswith("2. alex")

        pictured = fake.slash("challenge", subcommand="leaderboard", options={"image": True}, guild_id=GUILD_ID)
        (with_image,) = await bot.answer_to(pictured)
        (attachment,) = with_image["attachments"]
        assert attachment["filename"].endswith(".png")
        assert with_image["embeds"][0]["image"]["url"] == f"attachment://{attachment['filename']}"
