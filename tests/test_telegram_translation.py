"""The Telegram adapter's pure translation: text splitting, escaping, which messages reach the coach."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import CallbackQuery, Chat, Message, MessageEntity, User

from bot.adapters.telegram_translate import (
    MAX_TEXT,
    button_owner_ok,
    escape,
    incoming_from_message,
    keyboard,
    split_text,
)
from bot.core.messages import Button, Reply

BOT = User(999, "Hip Coach", True, username="HipCoachBot")
ALICE = User(1001, "Alice <&>", False, username="alice")
BOB = User(1002, "Bob", False)
PRIVATE = Chat(1001, Chat.PRIVATE)
GROUP = Chat(-500, Chat.SUPERGROUP, title="Mobility crew")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def message(text, chat=PRIVATE, user=ALICE, entities=(), reply_to=None, message_id=1):
    return Message(message_id, NOW, chat, from_user=user, text=text, entities=list(entities), reply_to_message=reply_to)


def test_split_keeps_paragraphs_and_fits_after_escaping():
    paragraphs = [("Hips & knees <3 " * 40).strip() for _ in range(12)]
    text = "\n\n".join(paragraphs)
    assert len(text) > MAX_TEXT and len(escape(text)) > 2 * MAX_TEXT
    chunks = split_text(text)
    assert all(len(escape(c)) <= MAX_TEXT for c in chunks)
    assert "\n\n".join(chunks) == text  # nothing lost, split only on paragraph boundaries
    assert len(chunks) >= 2


def test_split_handles_one_giant_word_and_ampersands():
    chunks = split_text("&" * 10_000)
    assert "".join(chunks) == "&" * 10_000
    assert all(len(escape(c)) <= MAX_TEXT for c in chunks)


def test_html_is_escaped():
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


def test_private_text_and_commands():
    inc = incoming_from_message(message("my knee hurts"), "HipCoachBot")
    assert (inc.platform, inc.user_id, inc.chat_id, inc.text, inc.private) == (
        "telegram",
        "1001",
        "1001",
        "my knee hurts",
        True,
    )
    assert inc.display_name == "Alice <&>"  # raw here; escaping happens on the way out
    cmd = incoming_from_message(message("/exercise pigeon pose"), "HipCoachBot")
    assert (cmd.command, cmd.args) == ("exercise", "pigeon pose")


def test_group_answers_only_commands_mentions_and_replies():
    bot_message = message("earlier answer", chat=GROUP, user=BOT, message_id=7)
    assert incoming_from_message(message("anyone for lunch?", chat=GROUP), "HipCoachBot") is None
    mention = "@HipCoachBot my knee hurts"
    inc = incoming_from_message(
        message(mention, chat=GROUP, entities=[MessageEntity(MessageEntity.MENTION, 0, 12)]), "HipCoachBot"
    )
    assert inc.text == "my knee hurts" and not inc.private
    assert incoming_from_message(message("thanks!", chat=GROUP, reply_to=bot_message), "HipCoachBot").text == "thanks!"
    assert incoming_from_message(message("/help@HipCoachBot", chat=GROUP), "HipCoachBot").command == "help"
    assert incoming_from_message(message("/help@OtherBot", chat=GROUP), "HipCoachBot") is None


def test_keyboard_rows_and_callback_data():
    reply = Reply("pick", ((Button("A", "t:posture"), Button("B", "t:knee-pain")), (Button("C", "o:skip"),)))
    markup = keyboard(reply)
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["t:posture", "t:knee-pain"],
        ["o:skip"],
    ]
    assert keyboard(Reply("no buttons")) is None


def test_group_buttons_belong_to_the_person_answered():
    asked = message("@HipCoachBot routine", chat=GROUP, user=ALICE, message_id=10)
    answer = message("Step 1 of 5", chat=GROUP, user=BOT, reply_to=asked, message_id=11)
    assert button_owner_ok(CallbackQuery("q1", ALICE, "inst", message=answer, data="r:x:1"))
    assert not button_owner_ok(CallbackQuery("q2", BOB, "inst", message=answer, data="r:x:1"))
    private_answer = message("Step 1 of 5", chat=PRIVATE, user=BOT, message_id=12)
    assert button_owner_ok(CallbackQuery("q3", ALICE, "inst", message=private_answer, data="r:x:1"))
