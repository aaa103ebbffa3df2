"""Whatever people (or broken clients) send, the coach answers briefly, never with a crash or its
internal-error apology, and the person's stored data survives."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.coach import Coach
from bot.core.messages import Incoming, Reply
from bot.storage.repository import SqlRepository

BOTH_BACKENDS = True  # tests/conftest.py: each test runs on SQLite and on PostgreSQL

MAX_REPLY_CHARS = 1500
USER = "test:alice"  # the `chat` fixture's user key


def check_replies(replies: list[Reply], error_text: str) -> None:
    assert isinstance(replies, list) and replies, "no reply at all"
    for reply in replies:
        assert isinstance(reply, Reply)
        assert reply.text.strip(), "an empty reply"
        assert len(reply.text) < MAX_REPLY_CHARS, f"reply of {len(reply.text)} chars"
        # The apology is what the coach says when something blew up inside it.
        assert reply.text != error_text, "the coach hit an internal error"
        for row in reply.buttons:
            for button in row:
                assert button.label.strip() and button.data


def _garbage(seed: int, size: int = 2000) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.randrange(256) for _ in range(size))


BAD_TEXTS = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u2003 \n",
    "100kB": "my hips are tight " * 6000,
    "100kB-one-word": "x" * 100_000,
    "binary-replace": _garbage(1).decode("utf-8", errors="replace"),
    "binary-latin1": _garbage(2).decode("latin-1"),
    "control-chars": "\x00\x01\x02my\x00knee\x1b[31m hurts\x7f\x08\x0c\x0b\x00",
    "only-nul": "\x00" * 50,
    "emoji": "\U0001f600\U0001f643\U0001f9b5\U0001f9b6\u2764\ufe0f\U0001f44d\U0001f3fd",
    "arabic": "\u0645\u0631\u062d\u0628\u0627\u060c \u0648\u0631\u0643\u064a \u064a\u0624\u0644\u0645\u0646\u064a",
    "hebrew": "\u05e9\u05dc\u05d5\u05dd, \u05d4\u05d9\u05e8\u05da \u05db\u05d5\u05d0\u05d1 \u05dc\u05d9",
    "rtl-override": "\u202eknee my \u202churts",
    "zalgo": "h\u0334\u0352i\u0335\u0353p\u0336\u0354s" * 50,
    "lone-surrogate": "hip \ud800 pain \udfff",
    "sql": "'; DROP TABLE users; --",
    "sql-2": "1' OR '1'='1'; DELETE FROM profiles WHERE '1'='1",
    "format-string": "{name} {0} %s %(x)s {__class__}",
    "markup": "<script>alert(1)</script> *bold* _it_ [link](http://x)",
    "newlines": "\n".join(["knee"] * 3000),
}


# -- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BAD_TEXTS))
async def test_bad_text_gets_a_short_reply(chat, content, name):
    check_replies(await chat.say(BAD_TEXTS[name]), content.messages["error"])


async def test_a_name_with_a_lone_surrogate_is_answered_and_stored(coach, content):
    # found by hypothesis in a fresh environment: the display name is stored, and SQLite needs valid UTF-8
    incoming = Incoming("test", "surrogate", "surrogate", text="my hips are tight", display_name="Al\ud800ex")
    check_replies(await coach.handle(incoming), content.messages["error"])
    assert incoming.display_name == "Al?ex"


async def test_long_text_is_read_in_part_and_still_understood(chat, content):
    replies = await chat.say("my knee hurts when I squat. " * 4000)  # ~110 kB
    check_replies(replies, content.messages["error"])
    assert replies[0].text == content.messages["too_long"]
    assert any(r.topic == "knee-pain" for r in replies[1:])


async def test_control_characters_do_not_hide_a_red_flag(chat, content):
    replies = await chat.say("\x00sharp\x1b shooting pain\x00 down my leg\x7f")
    check_replies(replies, content.messages["error"])
    assert any(r.safety != "none" for r in replies)


# -- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, args",
    [
        ("frobnicate", ""),
        ("FROBNICATE", "with args"),
        ("x" * 5000, ""),
        ("exercise", "pigeon " * 700),
        ("exercise", "\x00\U0001f600" * 2500),
        ("exercise", "'; DROP TABLE users; --"),
        ("goal", "z" * 5000),
        ("routine", "q" * 5000),
        ("ask", "w" * 5000),
        ("help", "\x00" * 5000),
        ("start", "\u202e" * 5000),
    ],
)
async def test_bad_commands_get_a_short_reply(chat, content, command, args):
    check_replies(await chat.command(command, args), content.messages["error"])


async def test_unknown_command_says_so_and_shows_help(chat, content):
    replies = await chat.command("frobnicate")
    check_replies(replies, content.messages["error"])
    assert "frobnicate" in replies[0].text
    assert "routine" in replies[0].text.lower()


async def test_exercise_with_absurd_args_does_not_echo_it_all(chat, content):
    replies = await chat.command("exercise", "a" * 5000)
    check_replies(replies, content.messages["error"])
    assert "a" * 200 not in replies[0].text
    assert any(r.buttons for r in replies)  # some real exercises are offered instead


# -- forged buttons ------------------------------------------------------------------------------

FORGED = [
    "r:nonexistent:3",
    "r:general-beginner-10:999",
    "r:general-beginner-5:-1",
    "r:general-beginner-5:3:s:extra",
    "r::",
    "r",
    "s:knee:x:y",
    "s:elbow:f:dull",
    "s:knee:f",
    "s:::",
    "t:../../etc",
    "t:../../etc/passwd",
    "x:",
    "x:nonexistent",
    "m:nonexistent",
    "rq:nonexistent",
    "o:g:nonexistent",
    "o:l:",
    "o:",
    "f:maybe",
    "c:frobnicate",
    "c:",
    "",
    ":",
    ":::::::",
    "\x00",
    "\U0001f600:\U0001f600",
    "t:" + "a" * 10_000,
    "r:" + ":".join(["1"] * 5000),
]


@pytest.mark.parametrize("data", FORGED, ids=lambda d: repr(d[:30]))
async def test_forged_button_gets_a_short_reply(chat, content, data):
    check_replies(await chat.press_data(data), content.messages["error"])


@pytest.mark.parametrize(
    "data", ["r:nonexistent:3", "r:general-beginner-10:999", "s:knee:x:y", "t:../../etc", "x:", "", "q" * 5000]
)
async def test_forged_button_says_the_button_expired(chat, content, data):
    replies = await chat.press_data(data)
    assert [r.text for r in replies] == [content.messages["expired_button"]]


@pytest.mark.parametrize("step", ["\u00b2", "\u2460", "\u0663\u00b2"])  # superscript 2, circled 1, Arabic-Indic 3 + ²
async def test_routine_button_with_digit_like_step_is_expired_not_an_internal_error(chat, content, step):
    # str.isdigit() accepts these characters, int() does not.
    replies = await chat.press_data(f"r:general-beginner-5:{step}")
    check_replies(replies, content.messages["error"])
    assert [r.text for r in replies] == [content.messages["expired_button"]]


# -- stored data survives -----------------------------------------------------------------------


async def _onboard(chat) -> None:
    await chat.command("goal", "knee")
    await chat.press("new to")


async def test_profile_survives_bad_input(chat, repo, content):
    await _onboard(chat)
    before = await repo.get_profile(USER)
    assert before.goal == "knee" and before.level == "beginner" and before.onboarded

    for text in BAD_TEXTS.values():
        check_replies(await chat.say(text), content.messages["error"])
    for data in FORGED:
        await chat.press_data(data)
    await chat.command("frobnicate")
    await chat.command("exercise", "a" * 5000)
    await chat.command("goal", "nonsense " * 500)

    assert await repo.get_profile(USER) == before
    # ... and it still drives the coaching: a routine is picked for the knee goal.
    replies = await chat.say("routine")
    check_replies(replies, content.messages["error"])
    assert replies[0].topic and replies[0].topic.startswith("knee-beginner-")


async def test_conversation_still_works_after_bad_input(chat, content):
    for text in ("", "\x00" * 10, "'; DROP TABLE users; --", "x" * 100_000):
        await chat.say(text)
    await chat.press_data("s:knee:x:y")
    await chat.say("my knee hurts")
    await chat.press("dull")
    assert "injury" in chat.text().lower()


async def test_sql_looking_text_leaves_the_users_table_intact(chat, coach, repo, content):
    await _onboard(chat)
    bob = Incoming("test", "bob", "bob", text="hello", display_name="Bob")
    await coach.handle(bob)

    for sql in ("'; DROP TABLE users; --", '"; DROP TABLE profiles; --', "1'); DELETE FROM users; --"):
        check_replies(await chat.say(sql), content.messages["error"])
        check_replies(await chat.command("exercise", sql), content.messages["error"])

    # A user whose id and name are SQL, too.
    tables = "Robert'); DROP TABLE users;--"
    check_replies(
        await coach.handle(Incoming("test", tables, tables, text=tables, display_name=tables)),
        content.messages["error"],
    )

    assert (await repo.count_rows(USER))["users"] == 1
    assert (await repo.count_rows("test:bob"))["users"] == 1
    assert (await repo.count_rows(f"test:{tables}"))["users"] == 1
    assert (await repo.db.fetch("SELECT COUNT(*) FROM users"))[0][0] == 3
    assert (await repo.get_profile(USER)).goal == "knee"


# -- property tests ------------------------------------------------------------------------------

WORDS = [
    "my",
    "knee",
    "hip",
    "hips",
    "hurts",
    "tight",
    "sharp",
    "numb",
    "not",
    "no",
    "yes",
    "dull",
    "routine",
    "stretch",
    "pigeon",
    "next",
    "stop",
    "more",
    "skip",
    "desk",
    "goal",
    "forget",
    "help",
    "beginner",
    "pain",
    "bladder",
    "?",
    "!",
    ",",
    "\u00b2",
    "\x00",
    "\U0001f600",
    "\u05e9\u05dc\u05d5\u05dd",
]
ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=300),  # surrogates and controls too
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    st.text(max_size=5000),
)
KINDS = ["r", "t", "m", "x", "rq", "s", "o", "f", "c", "", "zz"]
PARTS = [
    "general-beginner-5",
    "knee-beginner-5",
    "knee",
    "hip",
    "lower-back",
    "knee-pain",
    "pigeon",
    "g",
    "l",
    "f",
    "i",
    "dull",
    "sharp",
    "yes",
    "no",
    "skip",
    "start",
    "routine",
    "0",
    "1",
    "5",
    "999",
    "-1",
    "",
]
ANY_BUTTON = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda kind, parts: ":".join([kind, *parts]),
        st.sampled_from(KINDS),
        st.lists(st.one_of(st.sampled_from(PARTS), st.text(max_size=8)), max_size=4),
    ),
)


class SyncCoach:
    """A real coach on an in-memory database, driven from synchronous (hypothesis) tests."""

    def __init__(self, knowledge_pair) -> None:
        self.loop = asyncio.new_event_loop()
        self.repo = self.loop.run_until_complete(SqlRepository.open(":memory:"))
        content, knowledge = knowledge_pair
        self.coach = Coach(content, knowledge, self.repo)
        self.error = content.messages["error"]

    def handle(self, incoming: Incoming) -> list[Reply]:
        return self.loop.run_until_complete(self.coach.handle(incoming))

    def close(self) -> None:
        self.loop.run_until_complete(self.repo.close())
        self.loop.close()


@pytest.fixture(scope="module")
def sync_coach(knowledge_pair):
    sc = SyncCoach(knowledge_pair)
    yield sc
    sc.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ANY_TEXT, user=st.sampled_from(["p1", "p2", "p3"]))
def test_any_text_gets_a_short_reply(sync_coach, text, user):
    # A few users share the database so earlier examples leave them mid-conversation.
    check_replies(sync_coach.handle(Incoming("prop", user, user, text=text)), sync_coach.error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=ANY_BUTTON, user=st.sampled_from(["b1", "b2", "b3"]))
def test_any_button_data_gets_a_short_reply(sync_coach, data, user):
    check_replies(sync_coach.handle(Incoming("prop", user, user, button=data)), sync_coach.error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.one_of(
        st.sampled_from(["start", "help", "routine", "exercise", "ask", "goal", "about"]), st.text(max_size=50)
    ),
    args=ANY_TEXT,
)
def test_any_command_gets_a_short_reply(sync_coach, command, args):
    check_replies(sync_coach.handle(Incoming("prop", "c1", "c1", command=command, args=args)), sync_coach.error)
