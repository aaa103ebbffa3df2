"""The whole coach in Discord: the app's own wiring and the real discord.py over HTTP and WebSocket, against a fake."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.texts import AdapterTexts
from bot.app import build_app, make_adapters, serve
from bot.config import Settings
from bot.core.delivery import BLOCKED, SENT, Target
from bot.core.messages import Button, Reply, rows
from tests.conftest import FakeClock
from tests.fakes.discord_api import OTHER_USER_ID, PRIVILEGED_INTENTS, USER_ID, FakeDiscord
from tests.fakes.telegram_api import FakeTelegram

NOT_YOURS = AdapterTexts.default().not_yours
SOMETHING_WENT_WRONG = AdapterTexts.default().something_went_wrong

EPHEMERAL = 64
HIP_SUBCOMMANDS = {
    "ask",
    "routine",
    "exercise",
    "remind",
    "reminders",
    "pause",
    "stop",
    "done",
    "streak",
    "goal",
    "forget",
    "export",
    "about",
}

CHALLENGE_SUBCOMMANDS = {"start", "join", "leave", "done", "leaderboard", "status", "list", "end", "cancel"}


class Running:
    """`python -m bot`'s serve loop in this event loop, pointed at the fake Discord."""

    def __init__(self, fake: FakeDiscord, db: Path, clock: FakeClock, **env: str) -> None:
        self.fake, self.db, self.clock, self.env = fake, db, clock, env

    async def __aenter__(self) -> Running:
        env = {
            "DISCORD_BOT_TOKEN": self.fake.token,
            "DISCORD_API_BASE_URL": self.fake.api_base,
            "DISCORD_GATEWAY_URL": self.fake.gateway_url,
            "HIPCOACH_DB": str(self.db),
            **self.env,
        }
        settings = Settings.from_env(env)
        self.app = await build_app(settings.db_path, clock=self.clock)
        self.adapters = make_adapters(self.app, settings)
        self.adapter = self.adapters[0]
        self.adapter.guild_ready_timeout = 0.1
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(serve(self.app, self.adapters, self.stop))
        await self.fake.wait_for(lambda: self.adapter.receiving, what="the Discord client to be ready")
        # The catch-up tick runs once the platform is up; a test that then ticks by hand must not race it.
        await self.fake.wait_for(lambda: self.app.ticker.ticks >= 1, 30, what="the catch-up tick")
        return self

    async def __aexit__(self, *exc) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)
        await self.app.close()

    async def answer_to(self, interaction_id: int, count: int = 1) -> list[dict]:
        await self.fake.wait_for(
            lambda: len(self.fake.responses_to(interaction_id)) >= count, what=f"{count} answer(s) to an interaction"
        )
        await asyncio.sleep(0.1)  # let a multi-message answer finish
        return self.fake.responses_to(interaction_id)

    async def dm(self, text: str, user_id: int = USER_ID) -> list[dict]:
        before = len(self.fake.messages)
        self.fake.user_message(text, user_id=user_id)
        await self.fake.wait_for(lambda: len(self.fake.messages) > before, what=f"an answer to {text!r}")
        await asyncio.sleep(0.2)
        return self.fake.messages[before:]


def text_of(message: dict) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or ():
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(p for p in parts if p)


def buttons(message: dict) -> dict[str, str]:
    return {
        c["label"]: c["custom_id"]
        for row in message.get("components") or ()
        for c in row.get("components", ())
        if c.get("type") == 2
    }


@pytest.fixture
async def fake():
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))


async def test_hip_commands_sync_globally_once_and_not_again_when_unchanged(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        commands = {c["name"]: c for c in fake.commands()}
        assert set(commands) == {"hip", "challenge"}
        assert {o["name"] for o in commands["hip"]["options"]} == HIP_SUBCOMMANDS
        assert {o["name"] for o in commands["challenge"]["options"]} == CHALLENGE_SUBCOMMANDS
        assert bot.adapter.synced
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        assert not bot.adapter.synced  # same definitions: no second sync
    puts = [c for c in fake.calls if c.method == "PUT" and "/commands" in c.path]
    assert len(puts) == 1


async def test_commands_sync_to_one_server_when_configured(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock, DISCORD_GUILD_ID=str(fake.GUILD_ID)):
        assert {c["name"] for c in fake.commands(guild_id=fake.GUILD_ID)} == {"hip", "challenge"}
        assert not fake.commands()


async def test_slash_ask_in_a_server_answers_ephemerally(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        iid = fake.slash("hip", subcommand="ask", options={"question": "my knee hurts"}, guild_id=fake.GUILD_ID)
        (answer,) = await bot.answer_to(iid)
        assert answer["flags"] & EPHEMERAL
        assert "knee" in text_of(answer).lower() and "hip" in text_of(answer).lower()
        assert "Sharp or shooting" in buttons(answer)
        assert all(cid.startswith(f"hc:{USER_ID}:") for cid in buttons(answer).values())


async def test_slash_in_dm_is_a_normal_message(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        iid = fake.slash("hip", subcommand="about")
        (answer,) = await bot.answer_to(iid)
        assert not answer["flags"] & EPHEMERAL
        assert "medical" in text_of(answer).lower()


async def test_mention_in_a_channel_gets_a_reply_and_other_chatter_is_ignored(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        channel = fake.channel_id(fake.GUILD_ID)
        fake.user_message("my hips feel tight after sitting all day", guild_id=fake.GUILD_ID)
        await asyncio.sleep(0.5)
        assert not fake.messages  # not addressed to the bot
        fake.user_message("why are my hips tight after sitting?", guild_id=fake.GUILD_ID, mention_bot=True)
        (reply,) = await fake.wait_messages(1)
        assert reply["channel_id"] == channel and reply["via"] == "channel"
        assert "sit" in text_of(reply).lower()
        assert bot.adapter.connected


async def test_wrong_member_pressing_a_button_gets_an_ephemeral_explanation(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        fake.user_message("my knee hurts", guild_id=fake.GUILD_ID, mention_bot=True)
        (reply,) = await fake.wait_messages(1)
        iid = fake.press(
            buttons(reply)["Sharp or shooting"],
            message_id=reply["id"],
            user_id=OTHER_USER_ID,
            guild_id=fake.GUILD_ID,
        )
        (refusal,) = await bot.answer_to(iid)
        assert refusal["content"] == NOT_YOURS and refusal["flags"] & EPHEMERAL


async def test_dm_screening_through_buttons(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        (answer,) = await bot.dm("my knee hurts when i squat")
        assert answer["dm_user_id"] == USER_ID
        iid = fake.press(buttons(answer)["Dull, achy or tight"], message_id=answer["id"])
        (question,) = await bot.answer_to(iid)
        assert "injury" in text_of(question).lower() and set(buttons(question)) == {"Yes", "No"}


async def test_guided_routine_advances_by_editing_an_embed(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        iid = fake.slash("hip", subcommand="routine", options={"minutes": 5})
        overview, step = await bot.answer_to(iid, count=2)
        assert overview["embeds"] and "5 min" in overview["embeds"][0]["title"]
        assert step["embeds"][0]["title"].startswith("Step 1 of")
        for n in (2, 3):
            press = fake.press(buttons(step)["Next ▶"], message_id=step["id"])
            mid = step["id"]
            await fake.wait_for(lambda n=n, mid=mid: fake.message(mid)["embeds"][0]["title"].startswith(f"Step {n} of"))
            step = fake.message(step["id"])
            assert not fake.responses_to(press)  # edited in place, no new message
        assert len([m for m in fake.messages if "Step" in text_of(m)]) == 1


async def test_buttons_keep_working_after_a_restart(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        (answer,) = await bot.dm("my knee hurts")
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        assert fake.identify_count >= 2  # really a new connection
        iid = fake.press(buttons(answer)["Dull, achy or tight"], message_id=answer["id"])
        (question,) = await bot.answer_to(iid)
        assert "injury" in text_of(question).lower()


async def test_reminder_dm_with_buttons_and_done_updates_the_streak(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        iid = fake.slash(
            "hip", subcommand="remind", options={"time": "07:30", "timezone": "Europe/Berlin"}, guild_id=fake.GUILD_ID
        )
        (confirm,) = await bot.answer_to(iid)
        assert "07:30" in text_of(confirm) and confirm["flags"] & EPHEMERAL
        fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
        clock.now = fire
        before = len(fake.messages)
        stats = await bot.app.reminders.tick(fire)
        assert stats.sent == 1
        (reminder,) = fake.messages[before:]
        assert reminder["dm_user_id"] == USER_ID and reminder["via"] == "channel"
        assert "Time for your hips" in text_of(reminder) and reminder["embeds"]
        assert {"✅ Done", "⏰ 30 min", "Skip today", "▶ Start routine"} <= set(buttons(reminder))
        clock.now = fire + timedelta(minutes=20)
        iid = fake.press(buttons(reminder)["✅ Done"], message_id=reminder["id"])
        answers = await bot.answer_to(iid)
        assert "Streak: 1 day" in text_of(answers[-1])


async def test_closed_dms_pause_reminders_and_the_user_is_told_next_time(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        iid = fake.slash("hip", subcommand="remind", options={"time": "07:30", "timezone": "Europe/Berlin"})
        await bot.answer_to(iid)
        fake.close_dms(USER_ID)
        fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
        clock.now = fire
        stats = await bot.app.reminders.tick(fire)
        assert stats.blocked == 1
        (reminder,) = await bot.app.repo.reminders_of(f"discord:{USER_ID}")
        assert reminder.status == "paused" and reminder.pause_reason == "blocked"
        iid = fake.slash("hip", subcommand="streak", guild_id=fake.GUILD_ID)
        answers = await bot.answer_to(iid)
        assert "couldn't reach you" in text_of(answers[0])


async def test_a_slow_core_is_deferred_within_the_deadline_then_answered(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        handle = bot.app.coach.handle

        async def slow_handle(incoming):
            await asyncio.sleep(0.6)  # a database stuck behind a lock, say
            return await handle(incoming)

        bot.app.coach.handle = slow_handle
        bot.adapter.defer_after = 0.2
        iid = fake.slash("hip", subcommand="ask", options={"question": "what is fascia"}, guild_id=fake.GUILD_ID)
        (answer,) = await bot.answer_to(iid)
        types = [r["type"] for r in fake.interaction_responses if r["interaction_id"] == iid]
        assert types == [5]  # deferred ("thinking"), then the answer replaced it
        assert "fascia" in text_of(answer).lower() and answer["flags"] & EPHEMERAL


async def test_429_on_a_rest_route_is_retried_and_delivered_once(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        fake.fail_next("POST /channels/*/messages", 429, retry_after=0.5)
        answers = await bot.dm("what is fascia")
        assert len([m for m in answers if "fascia" in text_of(m).lower()]) == 1
        attempts = [c for c in fake.calls if c.method == "POST" and c.path.endswith("/messages")]
        assert len(attempts) >= 2  # one refused with 429, then the retry


async def test_exercise_and_timezone_autocomplete(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock):
        iid = fake.autocomplete("hip", subcommand="exercise", options={"name": "pig"}, focused="name")
        await fake.wait_for(lambda: any(r["interaction_id"] == iid for r in fake.interaction_responses))
        (response,) = [r for r in fake.interaction_responses if r["interaction_id"] == iid]
        assert response["type"] == 8 and response["data"]["choices"][0]["value"] == "Pigeon pose"
        iid = fake.autocomplete(
            "hip", subcommand="remind", options={"time": "7", "timezone": "new york"}, focused="timezone"
        )
        await fake.wait_for(lambda: any(r["interaction_id"] == iid for r in fake.interaction_responses))
        (response,) = [r for r in fake.interaction_responses if r["interaction_id"] == iid]
        assert response["data"]["choices"][0]["value"] == "America/New_York"


async def test_no_privileged_intent_is_needed(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock):
        assert fake.identified_intents & PRIVILEGED_INTENTS == 0


async def test_gateway_disconnect_resumes_and_the_coach_keeps_answering(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        await fake.disconnect(code=4000)
        await fake.wait_for(lambda: fake.resume_count >= 1, what="the client to resume")
        answers = await bot.dm("what is fascia")
        assert any("fascia" in text_of(m).lower() for m in answers)


async def test_a_10000_character_answer_is_split_below_2000_with_buttons_last(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        paragraphs = [f"Part {i}. " + "Move your hips gently & often. " * 12 for i in range(27)]
        long = Reply("\n\n".join(paragraphs), rows(Button("Thanks", "t:benefits")))
        assert len(long.text) > 10_000

        async def long_answer(incoming):
            return [long]

        bot.app.coach.handle = long_answer
        answers = await bot.dm("tell me everything")
        assert len(answers) >= 6 and all(len(m["content"]) <= 2000 for m in answers)
        assert [bool(buttons(m)) for m in answers] == [False] * (len(answers) - 1) + [True]
        assert all(m["content"].startswith("Part ") for m in answers)  # split on paragraph boundaries
        assert sum(m["content"].count("Part ") for m in answers) == 27


async def test_channel_posts_have_buttons_for_everyone_and_a_deleted_channel_is_unreachable(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        channel = fake.channel_id(fake.GUILD_ID)
        done = rows(Button("Done today", "t:x"))
        post = Reply("Day 1 of 30-day hips\nHip CARs, bridges, butterfly.", done, card=True)
        target = Target("discord", str(channel), "discord:1000", channel=True)
        result = await bot.adapter.sender.send(target, [post])
        assert result.status == SENT
        (message,) = fake.sent_in(channel)
        assert message["embeds"][0]["title"] == "Day 1 of 30-day hips"
        assert buttons(message)["Done today"] == "hc::t:x"  # no owner: anyone in the channel may press
        fake.delete_channel(channel)
        assert (await bot.adapter.sender.send(target, [post])).status == BLOCKED


async def test_python_m_bot_serves_discord_and_telegram_at_once_and_stops_on_sigterm(fake, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    async with FakeTelegram() as telegram:
        env.update(
            DISCORD_BOT_TOKEN=fake.token,
            DISCORD_API_BASE_URL=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_BASE_URL=telegram.base_url,
            TELEGRAM_BASE_FILE_URL=telegram.base_file_url,
            HIPCOACH_DB=str(tmp_path / "both.db"),
            HIPCOACH_LOG_LEVEL="DEBUG",  # the libraries' own request logging too: tokens must still not appear
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
            await fake.wait_for(lambda: fake.is_ready and fake.commands(), timeout=20, what="the Discord side")
            await telegram.wait_for(lambda: telegram.commands is not None, timeout=20, what="the Telegram side")
            fake.fail_next("POST /channels/*/messages", 503)  # errors get logged too
            telegram.fail_next("sendMessage", 500)
            fake.user_message("what is fascia")
            telegram.user_message("what is fascia")
            await fake.wait_messages(1, timeout=10)
            await telegram.wait_sent(1, timeout=10)
            assert "fascia" in text_of(fake.messages[0]).lower()
            assert "fascia" in telegram.sent[0]["plain_text"].lower()
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
    logs = err.decode() + out.decode()
    assert proc.returncode == 0, logs[-2000:]
    assert fake.token not in logs and telegram.token not in logs  # never logged
    assert "platform=discord" in logs and "platform=telegram" in logs
    assert "Traceback" not in logs and "Unclosed" not in logs and "was destroyed" not in logs  # a clean stop


async def test_a_command_whose_answer_is_refused_still_gets_a_friendly_reply(fake, tmp_path, clock):
    async with Running(fake, tmp_path / "d.db", clock) as bot:
        fake.fail_next("POST /interactions/*", 400, code=50035, message="Invalid Form Body")
        iid = fake.slash("hip", subcommand="about", guild_id=fake.GUILD_ID)
        (answer,) = await bot.answer_to(iid)
        assert answer["content"] == SOMETHING_WENT_WRONG and answer["flags"] & EPHEMERAL
