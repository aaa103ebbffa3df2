"""Issue 14, the platform side: one command catalogue from which Telegram's menu and Discord's application
commands are generated (and stay exactly what they were), typed slash options, senders that make one attempt,
the terminal served like any other platform, and settings read in one place."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest
from discord import app_commands

from bot.adapters.discord import slash_incoming
from bot.adapters.discord_commands import command_groups, command_signature
from bot.adapters.platform import Platform, deliver
from bot.adapters.terminal import TerminalPlatform
from bot.app import build_app, serve
from bot.config import Settings
from bot.core.commands import load_commands
from bot.core.delivery import RETRY, SENT, Target
from bot.core.messages import Reply
from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.test_telegram_e2e import Running

ROOT = Path(__file__).resolve().parents[1]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000"
    "1ff5a2b0e0b0000000049454e44ae426082"
)
# What Discord has stored since before the catalogue (a public contract): generated payloads must match.
DISCORD_BEFORE = json.loads((ROOT / "tests" / "data" / "discord_commands.json").read_text())
TELEGRAM_MENU_BEFORE = [
    ("start", "Start, and set your goal"),
    ("help", "What I can do"),
    ("routine", "A guided hip routine, step by step"),
    ("exercise", "How to do an exercise: /exercise pigeon"),
    ("ask", "Ask a hip question: /ask why are my hips tight"),
    ("remind", "Daily reminder: /remind 07:30 Europe/Berlin"),
    ("reminders", "See your reminders"),
    ("pause", "Pause reminders: /pause 3 days"),
    ("stop", "Stop reminders"),
    ("done", "Check in for today"),
    ("streak", "Your streak and the last weeks"),
    ("timezone", "Set your time zone: /timezone Berlin"),
    ("goal", "Set your goal and level"),
    ("challenge", "Group challenge: /challenge join, done, leaderboard"),
    ("export", "A copy of everything I store about you"),
    ("forget", "Delete everything I store about you"),
    ("about", "Sources, and why this is not medical advice"),
]
# Every command the coach answered before the catalogue, chat-only aliases included.
COACH_COMMANDS = (
    "start help routine exercise ask goal forget export about remind reminders pause resume stop done snooze "
    "skip streak progress timezone challenge"
).split()


def generated_payloads() -> list[dict]:
    async def build() -> list[dict]:
        tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))

        async def run(*args) -> None:
            pass

        for group in command_groups(load_commands(), run, lambda kind, typed: []):
            tree.add_command(group)
        return [command.to_dict(tree) for command in tree.get_commands()]

    return asyncio.run(build())


def by_name(payloads: list[dict]) -> list[dict]:
    """Subcommands in name order: Discord lists them by name, and sync compares them order-independently."""
    return [{**group, "options": sorted(group["options"], key=lambda s: s["name"])} for group in payloads]


def test_generated_discord_commands_are_exactly_todays():
    payloads = generated_payloads()
    assert by_name(json.loads(json.dumps(payloads))) == by_name(DISCORD_BEFORE)
    assert command_signature(payloads) == command_signature(DISCORD_BEFORE)  # so no re-sync after upgrading


def test_telegram_menu_is_the_same_list_and_texts():
    assert load_commands().menu() == TELEGRAM_MENU_BEFORE


def test_the_catalogue_holds_every_command_the_coach_answers():
    catalogue = load_commands()
    assert sorted(catalogue.names) == sorted(COACH_COMMANDS)
    assert {"resume", "snooze", "skip", "progress"}.isdisjoint(name for name, _ in catalogue.menu())


# -- typed slash options ------------------------------------------------------------------------------------


def interaction(channel_id: int = 555) -> SimpleNamespace:
    user = SimpleNamespace(id=42, display_name="Ana", roles=())
    return SimpleNamespace(
        user=user,
        guild=object(),
        guild_id=7,
        channel_id=channel_id,
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        permissions=SimpleNamespace(manage_guild=True),
    )


def slash(group: str, name: str):
    (found,) = [s for s in load_commands().slash(group) if s.name == name]
    return found


def test_challenge_start_passes_typed_options_and_defaults_the_channel_to_here():
    values = {"name": "30-day hips", "days": 30, "time": "07:00", "timezone": "Europe/Berlin"}
    incoming = slash_incoming(interaction(), slash("challenge", "start"), values)
    assert incoming.command == "challenge"
    assert dict(incoming.options) == {
        "name": "30-day hips",
        "days": 30,
        "time": "07:00",
        "timezone": "Europe/Berlin",
        "channel": "555",
        "level": None,
        "start": None,
    }
    assert incoming.args == "start"  # the options are not flattened into text to be parsed again
    chosen = slash_incoming(
        interaction(), slash("challenge", "start"), {**values, "channel": SimpleNamespace(id=999), "start_date": ""}
    )
    assert chosen.options["channel"] == "999" and chosen.options["start"] is None


def test_routine_minutes_and_leaderboard_image_are_typed():
    routine = slash_incoming(interaction(), slash("hip", "routine"), {"minutes": 10})
    assert routine.command == "routine" and dict(routine.options) == {"minutes": 10}
    assert routine.args == ""
    board = slash_incoming(interaction(), slash("challenge", "leaderboard"), {"image": True})
    assert (board.command, board.args, dict(board.options)) == ("challenge", "leaderboard", {"image": True})
    plain = slash_incoming(interaction(), slash("challenge", "leaderboard"), {})
    assert plain.args == "leaderboard"


def test_free_text_options_arrive_as_args_as_in_a_chat():
    remind = slash_incoming(interaction(), slash("hip", "remind"), {"time": "07:30", "timezone": "Europe/Berlin"})
    assert (remind.command, remind.args) == ("remind", "07:30 Europe/Berlin")
    ask = slash_incoming(interaction(), slash("hip", "ask"), {"question": " why are my hips tight? "})
    assert ask.args == "why are my hips tight?"
    pause = slash_incoming(interaction(), slash("hip", "pause"), {})
    assert (pause.command, pause.args) == ("pause", "")
    join = slash_incoming(interaction(), slash("challenge", "join"), {})
    assert (join.command, join.args) == ("challenge", "join")


# -- one delivery of replies ----------------------------------------------------------------------------------


class Recorder:
    def __init__(self, editable: bool) -> None:
        self.editable, self.done = editable, []

    async def answer(self, reply):
        self.done.append(("answer", reply.text))

    async def edit(self, reply):
        if self.editable:
            self.done.append(("edit", reply.text))
        return self.editable

    async def post(self, channel, reply):
        self.done.append(("post", channel))


async def test_deliver_routes_each_reply_to_its_place():
    replies = [Reply("a"), Reply("b", edit=True), Reply("c", channel="9")]
    to = Recorder(editable=True)
    assert await deliver(replies, to) == ["9"]
    assert to.done == [("answer", "a"), ("edit", "b"), ("post", "9")]
    to = Recorder(editable=False)
    await deliver(replies, to)
    assert to.done == [("answer", "a"), ("answer", "b"), ("post", "9")]


# -- senders: one attempt each --------------------------------------------------------------------------------


async def test_telegram_sender_makes_one_attempt_and_a_retry_sends_only_what_is_missing(tmp_path):
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    async with FakeTelegram() as fake, Running(fake, tmp_path / "t.db", clock) as bot:
        target = Target("telegram", "1001", "telegram:1001")
        fake.fail_next("sendMessage", 500)
        before = len(fake.calls_to("sendMessage"))
        result = await bot.adapter.sender.send(target, [Reply("Time for your hips")], key="r1")
        assert result.status == RETRY and len(fake.calls_to("sendMessage")) == before + 1  # no retry of its own
        # a picture went out, then its caption message failed: the dispatcher's retry sends only the message
        board = Reply("Leaderboard", image=PNG)
        fake.fail_next("sendMessage", 500)
        assert (await bot.adapter.sender.send(target, [board], key="c7")).status == RETRY
        assert (await bot.adapter.sender.send(target, [board], key="c7")).status == SENT
        assert len(fake.calls_to("sendPhoto")) == 1
        assert [m["plain_text"] for m in fake.sent_to(1001)].count("Leaderboard") == 1


# -- the terminal is a platform served like the others ------------------------------------------------------


async def test_the_terminal_runs_through_serve_and_its_end_stops_the_app(tmp_path):
    app = await build_app(str(tmp_path / "term.db"), clock=FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC)))
    stop = asyncio.Event()
    out = io.StringIO()
    terminal = TerminalPlatform(app.coach, stop.set, app.texts, io.StringIO("my hip hurts\n"), out, "tester")
    assert isinstance(terminal, Platform)
    try:
        await asyncio.wait_for(serve(app, [terminal], stop), 30)
    finally:
        await app.close()
    assert app.senders["terminal"] is terminal.sender
    assert out.getvalue().count("you> ") == 2 and app.texts.terminal_bye in out.getvalue()


# -- settings in one place ----------------------------------------------------------------------------------


def test_only_the_settings_read_the_environment():
    for module in (
        "bot/app.py",
        "bot/__main__.py",
        "bot/adapters/telegram.py",
        "bot/adapters/discord.py",
        *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "bot" / "ops").glob("*.py"))),
    ):
        source = (ROOT / module).read_text()
        assert not re.search(r"os\.environ|os\.getenv|environ\.get", source), module


def test_lenient_settings_still_read_tokens_and_logging_when_a_number_is_bad():
    env = {"TELEGRAM_RATE_LIMIT": "fast", "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35, "HIPCOACH_LOG_FORMAT": "JSON"}
    with pytest.raises(ValueError):
        Settings.from_env(env)
    settings = Settings.lenient(env)
    assert settings.secrets == [env["TELEGRAM_BOT_TOKEN"]] and settings.log_format == "json"
