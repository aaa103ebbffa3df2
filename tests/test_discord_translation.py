"""Discord translation without a network: core replies -> Discord messages, and what the adapter accepts."""

from __future__ import annotations

import re

from bot.adapters.discord import (
    CUSTOM_ID_TEMPLATE,
    MAX_CUSTOM_ID,
    MAX_TEXT,
    command_signature,
    custom_id,
    render,
    strip_mention,
)
from bot.core.messages import MAX_BUTTON_DATA, Button, Reply, rows


def test_long_answer_is_split_below_2000_on_paragraphs_with_buttons_on_the_last():
    paragraphs = [f"Paragraph {i}: " + "hips * like _movement_ " * 20 for i in range(30)]
    reply = Reply("\n\n".join(paragraphs), rows(Button("More", "m:x")))
    out = render(reply, owner=42)
    assert len(out) > 1
    assert all(len(o.content) <= MAX_TEXT for o in out)
    assert all(o.view is None for o in out[:-1]) and out[-1].view is not None
    # markdown characters arrive as typed, not as formatting
    assert "\\*" in out[0].content and "\\_movement\\_" in out[0].content
    # nothing lost: every paragraph starts one piece of text somewhere
    joined = "\n\n".join(o.content for o in out)
    assert all(f"Paragraph {i}:" in joined for i in range(30))


def test_card_becomes_an_embed_with_its_first_line_as_title():
    reply = Reply("Everyday hip balance · 10 min\n1. Hip CARs: 3 circles\n2. Glute bridge: 12 reps", card=True)
    (out,) = render(reply, owner=None)
    assert out.content is None
    assert out.embed.title == "Everyday hip balance · 10 min"
    assert "Glute bridge" in out.embed.description


def test_a_card_too_big_for_an_embed_falls_back_to_text():
    reply = Reply("Title\n" + "word " * 2000, card=True)
    out = render(reply, owner=None)
    assert all(o.embed is None and len(o.content) <= MAX_TEXT for o in out)


def test_buttons_carry_owner_and_core_data_within_100_characters():
    longest = "x" * MAX_BUTTON_DATA
    reply = Reply("Pick one", rows(Button("A" * 200, longest), Button("Done", "rd:1:20260101"), per_row=2))
    (out,) = render(reply, owner=12345678901234567890)
    buttons = out.view.children
    owner = "hc:12345678901234567890"
    assert [b.custom_id for b in buttons] == [f"{owner}:{longest}", f"{owner}:rd:1:20260101"]
    assert all(len(b.custom_id) <= MAX_CUSTOM_ID for b in buttons)
    assert len(buttons[0].label) == 80
    match = re.fullmatch(CUSTOM_ID_TEMPLATE, buttons[1].custom_id)
    assert match["owner"] == "12345678901234567890" and match["data"] == "rd:1:20260101"
    # a view that is only drawn: presses are handled by custom_id, nothing is stored per message
    assert not out.view.is_dispatchable()


def test_button_anyone_may_press_has_an_empty_owner():
    assert re.fullmatch(CUSTOM_ID_TEMPLATE, custom_id(None, "c:join"))["owner"] == ""


def test_mention_is_removed_from_the_question():
    assert strip_mention("<@99> my knee   hurts", 99) == "my knee hurts"
    assert strip_mention("hey <@!99>, can't squat deep", 99) == "hey , can't squat deep"


def test_command_signature_ignores_ids_order_and_defaults():
    local = [{"name": "hip", "description": "d", "options": [{"name": "b", "type": 1}, {"name": "a", "type": 1}]}]
    remote = [
        {
            "id": "1",
            "application_id": "2",
            "version": "3",
            "name": "hip",
            "description": "d",
            "dm_permission": True,
            "options": [{"name": "a", "type": 1, "required": False}, {"name": "b", "type": 1}],
        }
    ]
    assert command_signature(local) == command_signature(remote)
    changed = [dict(local[0], description="new")]
    assert command_signature(changed) != command_signature(remote)


def test_a_reply_of_only_line_breaks_longer_than_a_message_still_renders_one_message():
    # found by hypothesis: splitting 2,500 line breaks left no chunk, and rendering raised IndexError
    (out,) = render(Reply("\n" * 2500, rows(Button("Done", "rd:1"))), owner=None)
    assert len(out.content) <= 2000 and out.view is not None
