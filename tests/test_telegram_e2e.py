"""The whole coach in Telegram: the app's own wiring and the real python-telegram-bot against a fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.telegram_translate import MAX_TEXT
from bot.app import build_app, make_adapters, serve
from bot.config import Settings
from bot.core.commands import load_commands
from bot.core.messages import Reply
from tests.conftest import FakeClock
from tests.fakes.telegram_api import SUPERGROUP_CHAT_ID, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = load_commands().menu()  # Telegram's menu, generated from the catalogue


class Running:
    """`python -m bot`'s serve loop in this event loop, pointed at the fake."""

    def __init__(self, fake: FakeTelegram, db: Path, clock: FakeClock, **env: str) -> None:
        self.fake, self.db, self.clock, self.env = fake, db, clock, env

    async def __aenter__(self) -> Running:
        env = {
            "TELEGRAM_BOT_TOKEN": self.fake.token,
            "TELEGRAM_BASE_URL": self.fake.base_url,
            "TELEGRAM_BASE_FILE_URL": self.fake.base_file_url,
            "HIPCOACH_DB": str(self.db),
            **self.env,
        }
        settings = Settings.from_env(env)
        self.app = await build_app(settings.db_path, clock=self.clock, settings=settings)
        self.adapters = make_adapters(self.app, settings)
        self.adapter = self.adapters[0]
        self.adapter.poll_timeout = 1
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(serve(self.app, self.adapters, self.stop))
        await self.fake.wait_for(lambda: self.adapter.receiving, what="the adapter to start polling")
        # The catch-up tick runs once the platform is up; a test that then ticks by hand must not race it.
        await self.fake.wait_for(lambda: self.app.ticker.ticks >= 1, 30, what="the catch-up tick")
        return self

    async def __aexit__(self, *exc) -> None:
        assert not self.task.done(), "the serve loop ended by itself"  # no crash
        self.stop.set()
        await asyncio.wait_for(self.task, 15)
        await self.app.close()

    async def say(self, text: str, timeout: float = 5.0, **kw) -> list[dict]:
        before = len(self.fake.sent)
        self.fake.user_message(text, **kw)
        await self.fake.wait_for(lambda: len(self.fake.sent) > before, timeout, what=f"an answer to {text!r}")
        await asyncio.sleep(0.2)  # let a multi-message answer finish
        return self.fake.sent[before:]


def labels(message: dict) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


@pytest.fixture
async def fake():
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def tg_clock():
    return FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))


async def test_start_registers_commands_and_onboards(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        assert [c["command"] for c in fake.commands] == [name for name, _ in COMMANDS]
        assert all(c["description"] for c in fake.commands)
        sent = await bot.say("/start", first_name="<b>Al & Co</b>")
        assert "<b>Al & Co</b>" in sent[0]["plain_text"]  # shown literally: escaped, not markup
        assert sent[0]["parse_mode"] == "HTML"
        assert "Undo desk sitting" in labels(sent[0])
        fake.press_button(sent[0], labels(sent[0])["Undo desk sitting"])
        await fake.wait_for(lambda: fake.answered_callbacks and len(fake.sent) >= 2, what="the level question")
        assert "New to this" in labels(fake.sent[-1])


async def test_knee_pain_screening_through_buttons(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        sent = await bot.say("my knee hurts when i squat")
        text = " ".join(m["plain_text"] for m in sent)
        assert "knee" in text.lower() and "hip" in text.lower()
        question = next(m for m in sent if "Sharp or shooting" in labels(m))
        assert "what does it feel like" in question["plain_text"]  # answer and question in one message
        before = len(fake.sent)
        fake.press_button(question, labels(question)["Dull, achy or tight"])
        await fake.wait_for(lambda: len(fake.sent) > before, what="the injury question")
        assert "injury" in fake.sent[-1]["plain_text"].lower() and set(labels(fake.sent[-1])) == {"Yes", "No"}
        assert len(fake.answered_callbacks) == 1  # the spinner was stopped


async def test_guided_routine_advances_by_editing(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        sent = await bot.say("/routine 5 min")
        step = sent[-1]
        assert "Step 1 of" in step["plain_text"]
        for n in (2, 3):
            fake.press_button(step, labels(step)["Next ▶"])
            await fake.wait_for(lambda n=n: fake.edits and f"Step {n} of" in fake.edits[-1]["plain_text"])
            step = fake.message(step["chat"]["id"], step["message_id"])
        assert len([m for m in fake.sent if "Step" in m["plain_text"]]) == 1  # no flood: one message, edited
        assert len(fake.answered_callbacks) == 2


async def test_reminder_fires_with_buttons_and_done_updates_streak(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        sent = await bot.say("/remind 07:30 Europe/Berlin")
        assert "07:30" in sent[0]["plain_text"]
        fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
        tg_clock.now = fire
        before = len(fake.sent)
        await bot.app.reminders.tick(fire)
        reminder = fake.sent[before]
        assert reminder["chat_id"] == 1001 and "Time for your hips" in reminder["plain_text"]
        assert {"✅ Done", "⏰ 30 min", "Skip today", "▶ Start routine"} <= set(labels(reminder))
        tg_clock.now = fire + timedelta(minutes=20)
        fake.press_button(reminder, labels(reminder)["✅ Done"])
        await fake.wait_for(lambda: "Streak: 1 day" in fake.sent[-1]["plain_text"], what="the streak")


async def test_429_is_waited_out_and_delivered_once(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        fake.fail_next("sendMessage", 429, retry_after=1)
        sent = await bot.say("what is fascia")
        assert len([m for m in sent if "fascia" in m["plain_text"].lower()]) == 1
        statuses = [c for c in fake.calls_to("sendMessage")]
        assert len(statuses) >= 2  # one refused with 429, then the retry


async def test_blocked_user_gets_reminders_paused(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        await bot.say("/remind 07:30 Europe/Berlin")
        fake.block_user(1001)
        fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
        tg_clock.now = fire
        stats = await bot.app.reminders.tick(fire)
        assert stats.blocked == 1
        reminders = await bot.app.repo.reminders_of("telegram:1001")
        assert reminders[0].status == "paused" and reminders[0].pause_reason == "blocked"
        fake.unblock_user(1001)
        sent = await bot.say("hi")
        assert "couldn't reach you" in sent[0]["plain_text"]


async def test_long_answer_is_split_below_the_limit_on_paragraphs(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        paragraphs = [f"Paragraph {i}: " + "hips & knees <3 " * 60 for i in range(11)]
        text = "\n\n".join(p.strip() for p in paragraphs)
        assert len(text) >= 10_000
        before = len(fake.sent)
        await bot.adapter.send_reply(1001, Reply(text))
        parts = fake.sent[before:]
        assert len(parts) >= 3 and all(len(m["plain_text"]) <= MAX_TEXT for m in parts)
        assert "\n\n".join(m["plain_text"] for m in parts) == text
        assert all(m["plain_text"].startswith("Paragraph") for m in parts)


async def test_groups_answer_mentions_and_commands_only(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        fake.user_message("lunch anyone?", chat_type="supergroup")
        sent = await bot.say("@HipCoachBot routine please", chat_type="supergroup")
        assert all(m["chat_id"] == SUPERGROUP_CHAT_ID for m in sent)
        assert "lunch" not in " ".join(m["plain_text"] for m in fake.sent)
        step = sent[-1]
        answered = len(fake.answered_callbacks)
        fake.press_button(step, labels(step)["Next ▶"], user_id=2002, first_name="Bob")
        await fake.wait_for(lambda: len(fake.answered_callbacks) > answered)
        assert "someone else" in (fake.answered_callbacks[-1].get("text") or "")
        assert not fake.edits  # Bob's press changed nothing
        sent = await bot.say("/frobnicate@HipCoachBot", chat_type="supergroup")
        assert "frobnicate" in sent[0]["plain_text"]


async def test_messages_sent_while_down_are_answered(fake, tmp_path, tg_clock):
    fake.user_message("what is fascia")  # waiting before the bot starts
    async with Running(fake, tmp_path / "t.db", tg_clock):
        await fake.wait_sent(1)
        assert "fascia" in fake.sent[0]["plain_text"].lower()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_python_m_bot_serves_telegram_and_stops_cleanly_on_sigterm(fake, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_BASE_FILE_URL=fake.base_file_url,
        HIPCOACH_DB=str(tmp_path / "p.db"),
        HIPCOACH_LOG_LEVEL="INFO",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for(lambda: fake.commands is not None, timeout=20, what="the bot to start")
        fake.user_message("/help")
        await fake.wait_sent(1, timeout=10)
        assert "routine" in fake.sent[0]["plain_text"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert fake.token not in err.decode() and fake.token not in out.decode()  # never logged


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_checks_the_secret_token_on_every_request(fake, tmp_path, tg_clock):
    import aiohttp

    port = _free_port()
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_URL": "https://coach.example/telegram",
        "TELEGRAM_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret-token",
    }
    settings = Settings.from_env(env)
    app = await build_app(str(tmp_path / "w.db"), clock=tg_clock)
    adapters = make_adapters(app, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, adapters, stop))
    try:
        await fake.wait_for(lambda: adapters[0].connected, what="the webhook server")
        assert fake.webhook_url == "https://coach.example/telegram"  # alone (SQLite): registered at start
        assert fake.calls_to("setWebhook")[0].params["secret_token"] == "s3cret-token"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "what is fascia",
                "chat": {"id": 1001, "type": "private"},
                "from": {"id": 1001, "is_bot": False, "first_name": "Alice"},
            },
        }
        url = f"http://127.0.0.1:{port}/telegram"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
            await asyncio.sleep(0.3)
            assert fake.sent == []  # forged requests reached nobody
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) as r:
                assert r.status == 200
        await fake.wait_sent(1)
        assert "fascia" in fake.sent[0]["plain_text"].lower()
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await app.close()


async def test_5xx_and_timeouts_are_retried_and_the_answer_arrives_once(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        fake.fail_next("sendMessage", 500, times=2)
        sent = await bot.say("what is fascia")
        assert len([m for m in sent if "fascia" in m["plain_text"].lower()]) == 1
        assert len(fake.calls_to("sendMessage")) == 3  # two refused, then delivered


async def test_a_press_whose_answer_fails_is_still_handled(fake, tmp_path, tg_clock):
    async with Running(fake, tmp_path / "t.db", tg_clock) as bot:
        sent = await bot.say("/routine 5 min")
        step = sent[-1]
        fake.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired")
        fake.press_button(step, labels(step)["Next ▶"])
        await fake.wait_for(lambda: fake.edits and "Step 2 of" in fake.edits[-1]["plain_text"], what="step 2")


async def test_an_update_fetched_again_by_another_process_is_answered_once(fake, postgres, tg_clock):
    """A poller killed after handling an update but before confirming it (or a webhook POST Telegram sends
    again to another process) delivers the same update_id twice; with several processes on PostgreSQL the
    person gets one answer, and a new update still gets its own."""
    db = postgres.database()
    async with Running(fake, db, tg_clock) as bot:
        update = fake.user_message("what is fascia")
        await fake.wait_for(lambda: len(fake.sent) >= 1, what="the first answer")
        await asyncio.sleep(0.3)
        answered = len(fake.sent)
    async with Running(fake, db, tg_clock) as bot:  # the standby that takes over
        fake.push_update(update)  # the same update_id, as Telegram hands out an unconfirmed update again
        await fake.wait_for(lambda: not fake.pending_updates, what="the repeat to be fetched")
        sent = await bot.say("what is a hip CAR")
        assert len(fake.sent) - answered == len(sent) >= 1  # only the new question was answered
        assert all("fascia" not in m["text"].lower() for m in sent)
