"""Issue 13, first items: what the person asked for, and text that reads well on a phone."""

from __future__ import annotations

from bot.core.coach import main_topic
from tests.eval.run import load_eval


async def test_routine_command_keeps_the_minutes_asked_for(chat):
    replies = await chat.command("routine", "knee beginner 5")
    assert main_topic(replies) == "knee-beginner-5"
    assert "5 min" in chat.text() and "10 min" not in chat.text()
    replies = await chat.command("routine", "lower-back 15")
    assert main_topic(replies).endswith("-15")


async def test_help_is_a_list_that_mentions_reminders_streaks_pause_and_export(chat):
    await chat.command("help")
    lines = chat.text().splitlines()
    assert len(lines) >= 6, chat.text()  # one thing per line, not a paragraph
    text = chat.text().lower()
    for word in ("remind", "streak", "/pause", "/export"):
        assert word in text, word


async def test_an_unknown_command_says_what_i_can_do_once(chat):
    await chat.command("nonsense")
    assert chat.text().count("Here's what I can do") == 1
    assert '"nonsense"' in chat.text()


async def test_off_topic_suggestions_are_buttons_not_also_a_list(chat):
    await chat.say("what's the capital of peru")
    labels = chat.labels()
    assert len(labels) >= 2
    assert not any(label in chat.text() for label in labels), chat.text()


async def test_did_you_mean_always_offers_a_real_choice(chat):
    offered = 0
    for case in load_eval():
        replies = await chat.say(case["text"])
        for reply in replies:
            if reply.text.startswith("I want to get this right"):
                offered += 1
                assert sum(len(row) for row in reply.buttons) >= 2, case["text"]
    assert offered >= 1  # the set does reach "did you mean", so the check above ran
