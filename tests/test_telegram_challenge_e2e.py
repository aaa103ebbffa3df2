"""A Telegram group runs a hip challenge, and a person exports their data: real python-telegram-bot, fake Bot API."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from tests.conftest import FakeClock
from tests.fakes.telegram_api import SUPERGROUP_CHAT_ID, FakeTelegram
from tests.test_telegram_e2e import Running, labels

GROUP = SUPERGROUP_CHAT_ID
START = "/challenge start 7 days 07:00 Berlin Hip week"


def in_group(fake: FakeTelegram) -> list[dict]:
    return fake.sent_to(GROUP)


async def press(fake: FakeTelegram, message: dict, label: str, user_id: int, name: str) -> dict:
    before = len(fake.answered_callbacks)
    fake.press_button(message, labels(message)[label], user_id=user_id, first_name=name)
    await fake.wait_for(lambda: len(fake.answered_callbacks) > before, what=f"the answer to {label!r}")
    return fake.answered_callbacks[-1]


async def test_a_group_challenge_with_admin_start_toasts_and_leaderboard(tmp_path):
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    async with FakeTelegram() as fake, Running(fake, tmp_path / "g.db", clock) as bot:
        refused = await bot.say(START, user_id=1002, first_name="Sam", chat_type="supergroup")
        assert "Only organisers" in refused[0]["plain_text"]
        assert refused[0]["reply_to_message_id"] is not None  # answered as a reply to the asker

        fake.admins[GROUP] = {1001}
        posted = await bot.say(START, user_id=1001, first_name="Alice", chat_type="supergroup")
        kickoff = next(m for m in posted if "Hip week" in m["plain_text"] and "➕ Join" in labels(m))
        assert kickoff["reply_to_message_id"] is None  # a post for the whole group

        sent_before = len(in_group(fake))
        toast = await press(fake, kickoff, "➕ Join", 1002, "Sam")
        assert "You're in Hip week" in toast["text"]
        await asyncio.sleep(0.2)
        assert len(in_group(fake)) == sent_before  # a pop-up for Sam, not a group message

        day1 = datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
        clock.now = day1
        stats = await bot.app.challenges.tick(day1)
        assert stats.sent == 1
        post = in_group(fake)[-1]
        assert "Day 1 of 7" in post["plain_text"] and "✅ Done today" in labels(post)

        clock.now = day1 + timedelta(minutes=5)
        assert "Day 1 of 7 done" in (await press(fake, post, "✅ Done today", 1002, "Sam"))["text"]
        clock.now = day1 + timedelta(minutes=9)
        assert "Day 1 of 7 done" in (await press(fake, post, "✅ Done today", 1001, "Alice"))["text"]

        (board,) = await bot.say("/challenge leaderboard", user_id=1001, chat_type="supergroup")
        rows = [line for line in board["plain_text"].splitlines() if line[:2] in ("1.", "2.")]
        assert rows[0].startswith("1. Sam") and rows[1].startswith("2. Alice")

        sent = await bot.say("/challenge leaderboard image", user_id=1001, chat_type="supergroup")
        photo = next(m for m in sent if m["method"] == "sendPhoto")
        assert photo["upload"].data[:8] == b"\x89PNG\r\n\x1a\n"


async def test_export_arrives_as_a_json_document(tmp_path):
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    async with FakeTelegram() as fake, Running(fake, tmp_path / "e.db", clock) as bot:
        await bot.say("/remind 07:30 Europe/Berlin")
        sent = await bot.say("/export")
        document = next(m for m in sent if m["method"] == "sendDocument")
        assert document["document"]["file_name"].endswith(".json")
        data = json.loads(document["upload"].data)
        assert data["user"] == "telegram:1001" and data["tables"]["reminders"][0]["local_time"] == "07:30"
