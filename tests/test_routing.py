"""The coach's routing tables: every command routed once, typed options read, old buttons still expire."""

from __future__ import annotations

import pytest

from bot.core.challenges import SUBCOMMANDS
from bot.core.commands import load_commands
from bot.core.flows import flow_table
from bot.core.messages import Incoming


async def _command(coach, command: str, args: str = "", **options):
    return await coach.handle(Incoming("test", "ann", "ann", command=command, args=args, options=options))


def test_the_router_answers_exactly_the_catalogue_commands(coach):
    """One catalogue (content/commands.yaml) makes Telegram's menu and Discord's commands; the coach must
    answer every command in it and nothing it does not list."""
    assert coach.command_names() == set(load_commands().names)


async def test_routine_reads_typed_minutes(coach, content):
    replies = await _command(coach, "routine", minutes=15)
    assert content.routines[replies[0].topic].minutes == 15
    replies = await _command(coach, "routine", "5 min")  # chat: the text still says it
    assert content.routines[replies[0].topic].minutes == 5


async def test_typed_minutes_win_over_text_and_odd_values_snap(coach, content):
    replies = await _command(coach, "routine", "5 min", minutes=11)
    assert content.routines[replies[0].topic].minutes == 10


async def test_unknown_prefix_and_command_button_expire(coach, content):
    for data in ("zz:1", "c:nope", "t", "rd:abc", "tz:"):
        replies = await coach.handle(Incoming("test", "ann", "ann", button=data))
        assert replies[0].text == content.messages["expired_button"], data


def test_a_flow_claimed_twice_is_an_error():
    async def step(turn, typed):
        return None

    with pytest.raises(ValueError, match="routine"):
        flow_table({"routine": step}, {"routine": step})


def test_challenge_subcommands_are_the_catalogues():
    """`/challenge join` typed in a chat and Discord's /challenge join are one list, not two."""
    assert set(SUBCOMMANDS) == {slash.name for slash in load_commands().slash("challenge")}
