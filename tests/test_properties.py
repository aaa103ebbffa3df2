"""Property-based tests (issue 7): whatever arrives, the real coach on a real SQLite database answers
with short, well-formed replies that the platforms accept, and never shows or touches another person's
data; the adapters' pure translation keeps every platform limit for any reply.

Each hypothesis test builds one coach and one database (a fixture, shared by that test's examples on
purpose: earlier examples leave the attacker mid-conversation, which is more to explore) and drives the
async core from a private event loop. Bounded: the whole file runs in well under 30 s.
"""

from __future__ import annotations

import asyncio
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, MessageEntity, User

from bot.adapters import discord as dc
from bot.adapters import telegram_translate as tg
from bot.adapters.terminal import to_incoming
from bot.core.coach import Coach, main_topic, worst_safety
from bot.core.commands import load_commands
from bot.core.messages import MAX_BUTTON_DATA, Button, Incoming, Reply
from bot.storage.repository import SqlRepository
from tests.conftest import FakeClock
from tests.eval.run import load_eval

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MAX_REPLY_CHARS = 4000
PLATFORM = "test"


def bounded(examples: int):
    return settings(
        max_examples=examples,
        deadline=timedelta(seconds=5),  # a regex blow-up or a quadratic loop fails; ordinary load does not
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- strategies ---------------------------------------------------------------------------------

WORDS = (
    "my knee hip hips hurts tight sharp numb not no yes dull routine stretch pigeon next stop more skip desk "
    "goal forget help beginner pain remind reminders every morning at 7 7am 18:15 weekdays pause resume done "
    "snooze streak timezone Berlin Europe/London UTC+2 challenge join leaderboard days ? ! , ² \x00 😀 שלום"
).split()
ODD = [
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u202e",  # right-to-left override
    "\ufeff",
    "\ud800",  # lone surrogate
    "\udfff",
    "\U0001f600",
    "\U0001f9b5\U0001f3fd",
    "\u0663",  # Arabic-Indic three (a Unicode digit)
    "²",
    "\n",
    "\t",
    " ",
    "\u00a0",
    "/",
    ":",
    "@",
    '"',
    "=",
    "#",
    "<#1>",
    "{name}",
    "%s",
    "&amp;",
    "*_~`|>",
]
HUGE = st.builds(
    lambda unit, size: (unit * (size // len(unit) + 1))[:size],
    st.text(min_size=1, max_size=12),
    st.integers(2_000, 100_000),
)
SMALL_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200),  # controls, surrogates
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD)), max_size=20).map("".join),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)
TEXT = st.one_of(SMALL_TEXT, HUGE)
# Placeholders filled in with the seeded ids: V* are the victim's, A* the attacker's own.
ARG_TEMPLATES = [
    "",
    "1",
    "2",
    "1 2",
    "0",
    "99999999999999",
    "1" * 5000,
    "\u0663",
    "07:30 Europe/Berlin",
    "weekdays at 18:15 UTC",
    "3 days",
    "until 2026-12-24",
    "2026-02-30",
    "Berlin",
    "pigeon",
    "knee",
    "knee beginner 10",
    "join",
    "leave",
    "done",
    "leaderboard",
    "status",
    "list",
    "end",
    "cancel",
    "join #<VC>",
    "leave #<VC>",
    "done #<VC>",
    "leaderboard #<VC>",
    "status id=<VC>",
    "end <VC>",
    "cancel #<VC>",
    "join #<AC>",
    "leaderboard #<AC>",
    "start",
    "start name=Spam days=7 time=23:00 timezone=UTC",
    "start 7 days 23:00 Berlin spam week",
    "start name=Spam days=7 time=23:30 timezone=UTC channel=<VCH>",
    'start name="x" days=999 time=25:00 timezone=Mars/Phobos start=1999-01-01 level=expert',
]
ARGS = st.one_of(
    TEXT,
    st.sampled_from(ARG_TEMPLATES),
    st.tuples(st.sampled_from(ARG_TEMPLATES), TEXT).map(" ".join),
)
COMMANDS = load_commands().names  # the catalogue: every command a person can type
COMMAND = st.one_of(
    st.sampled_from(COMMANDS),
    st.sampled_from(COMMANDS).map(str.upper),
    st.sampled_from(COMMANDS).map(lambda c: "/" + c),
    st.text(max_size=40),
    st.text(alphabet=string.ascii_letters + "_@/ ", max_size=70),
)
BUTTON_TEMPLATES = [
    "rd:<VR>:20261125",
    "rd:<VR>:20261124",
    "rz:<VR>:30",
    "rz:<VR>:60",
    "rk:<VR>:20261125",
    "rb:<VR>:keep",
    "rb:<VR>:move",
    "rb:<VR>:stop",
    "rz:<AR>:30",
    "rk:<AR>:20261125",
    "rb:<AR>:keep",
    "ch:j:<VC>",
    "ch:b:<VC>",
    "ch:d:<VC>:1",
    "ch:d:<VC>:2",
    "ch:d:<VC>",
    "ch:x:<VC>",
    "ch:j:<AC>",
    "ch:b:<AC>",
    "ch:d:<AC>:1",
    "r:general-beginner-5:0",
    "r:general-beginner-5:2",
    "r:general-beginner-5:2:s",
    "r:general-beginner-5:99",
    "rq:general-beginner-5",
    "t:knee-pain",
    "m:knee-pain",
    "x:pigeon",
    "s:knee:f:dull",
    "o:start",
    "o:skip",
    "o:g:knee",
    "o:l:beginner",
    "f:yes",
    "f:no",
    "tz:Europe/Berlin",
    "tz:Mars/Phobos",
    "c:reminders",
    "c:streak",
    "c:export",
    "c:challenge",
    "c:frobnicate",
]
KINDS = ["r", "t", "m", "x", "rq", "s", "o", "f", "c", "rd", "rz", "rk", "rb", "tz", "ch", "", "zz"]
PART = st.one_of(
    st.sampled_from(["<VR>", "<VC>", "<AR>", "<AC>", "0", "1", "-1", "j", "d", "b", "", "²"]), st.text(max_size=10)
)
BUTTON = st.one_of(
    st.text(max_size=200),
    st.sampled_from(BUTTON_TEMPLATES),
    st.builds(lambda kind, parts: ":".join([kind, *parts]), st.sampled_from(KINDS), st.lists(PART, max_size=4)),
)
ACTION = st.one_of(
    st.tuples(st.just("text"), TEXT, st.just("")),
    st.tuples(st.just("command"), COMMAND, ARGS),
    st.tuples(st.just("button"), BUTTON, st.just("")),
)
# A Telegram-style group is its own one channel (space == channel); a Discord-style server has channels.
WHERE = st.sampled_from(["private", "group-organiser", "group-member", "server-organiser", "server-member"])


# -- checks shared by the core and the translation properties -----------------------------------


def check_platform_limits(reply: Reply, owner: int | None = 123456789012345678) -> None:
    """What Telegram and Discord would accept, for one reply."""
    # Telegram: every chunk fits 4,096 after HTML escaping and carries something visible.
    for chunk in tg.split_text(reply.text):
        assert len(tg.escape(chunk)) <= tg.MAX_TEXT
    markup = tg.keyboard(reply)
    if markup is not None:
        for row in markup.inline_keyboard:
            for b in row:
                assert 1 <= len(b.callback_data.encode()) <= MAX_BUTTON_DATA
                assert len(b.text) <= 64
    # Discord: 2,000 per message, embeds within their limits, at most 5 rows of 5 buttons, custom_id
    # at most 100 characters and routable back to the core's data, labels at most 80.
    outs = dc.render(reply, owner)
    for out in outs:
        assert (out.content is None) != (out.embed is None)
        if out.content is not None:
            assert len(out.content) <= dc.MAX_TEXT
        if out.embed is not None:
            assert 0 < len(out.embed.title) <= dc.MAX_TITLE
            assert len(out.embed.description or "") <= dc.MAX_EMBED_TEXT
        if out.view is not None:
            children = out.view.children
            assert len(children) <= 25
            assert {c.row for c in children} <= set(range(5))
            for row in range(5):
                assert sum(c.row == row for c in children) <= 5
            for c in children:
                assert len(c.custom_id) <= dc.MAX_CUSTOM_ID
                assert len(c.label or "") <= 80
    if reply.buttons and len(reply.buttons) <= 5 and all(len(row) <= 5 for row in reply.buttons):
        view = outs[-1].view
        datas = [b.data for row in reply.buttons for b in row]
        for c, data in zip(view.children, datas, strict=True):
            match = re.fullmatch(dc.CUSTOM_ID_TEMPLATE, c.custom_id)
            assert match is not None and match["data"] == data, f"button {data!r} cannot be routed back"


def check_core_replies(replies: list[Reply], error_text: str) -> None:
    assert isinstance(replies, list) and replies, "no reply at all"
    for reply in replies:
        assert isinstance(reply, Reply)
        assert reply.text.strip(), "an empty reply"
        assert len(reply.text) < MAX_REPLY_CHARS, f"reply of {len(reply.text)} chars"
        assert reply.text != error_text, "the coach hit an internal error"
        datas = [b.data for row in reply.buttons for b in row]
        # Discord refuses a message whose components share a custom_id, and shows at most 5 rows of 5.
        assert len(datas) == len(set(datas)), f"duplicate button data {datas}"
        assert len(reply.buttons) <= 5 and all(len(row) <= 5 for row in reply.buttons), "buttons Discord would drop"
        for row in reply.buttons:
            assert row, "an empty row of buttons"
            for button in row:
                assert button.label.strip() and button.data
                assert len(button.data.encode()) <= MAX_BUTTON_DATA
                assert button.data.isprintable() and not any(ch.isspace() for ch in button.data)
        check_platform_limits(reply)


# -- the core: two people, one of them trying everything ----------------------------------------

VICTIM_SECRETS = ("Zebulon", "Quixote", "Quokka", "04:13")


class World:
    """A real coach on a fresh SQLite file, a victim with distinctive data, and an attacker."""

    def __init__(self, knowledge_pair, path) -> None:
        self.loop = asyncio.new_event_loop()
        self.repo = self.run(SqlRepository.open(path))
        content, knowledge = knowledge_pair
        self.coach = Coach(content, knowledge, self.repo, FakeClock(NOW))
        self.error = content.messages["error"]
        self.ids: dict[str, str] = {}
        self.seen = 0  # fresh user ids

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def handle(self, incoming: Incoming) -> list[Reply]:
        return self.run(self.coach.handle(incoming))

    def close(self) -> None:
        self.run(self.repo.close())
        self.loop.close()

    def person(self, user: str, name: str, where: str = "private", n: str = "", **kw) -> Incoming:
        space = channel = ""
        if where.startswith("group"):
            space = channel = f"group-{user}{n}"
        elif where.startswith("server"):
            space, channel = f"server-{user}{n}", f"chan-{user}{n}"
        return Incoming(
            PLATFORM,
            user,
            user,
            private=not space,
            display_name=name,
            space=space,
            channel=channel,
            organiser=where.endswith("organiser"),
            **kw,
        )

    def must(self, incoming: Incoming) -> list[Reply]:
        replies = self.handle(incoming)
        check_core_replies(replies, self.error)
        return replies

    def seed(self) -> None:
        v = "victim"
        vname = "Zebulon Quixote"
        self.must(self.person(v, vname, command="goal", args="knee"))
        self.must(self.person(v, vname, button="o:l:beginner"))
        self.must(self.person(v, vname, command="remind", args="04:13 Pacific/Chatham"))
        self.must(self.person(v, vname, command="done"))
        start = 'start name="Quokka Marathon" days=7 time=23:00 timezone=Europe/Berlin'
        self.must(self.person(v, vname, "server-organiser", command="challenge", args=start))
        self.must(self.person(v, vname, "server-member", command="challenge", args="done"))
        # a second group of the victim's, with no challenge in it
        self.must(self.person(v, vname, "group-member", n="2", text="hello"))
        a = "mallory"
        self.must(self.person(a, "Mallory", command="remind", args="07:30 Europe/London"))
        self.must(self.person(a, "Mallory", command="done"))
        own = "start name=Mine days=7 time=23:00 timezone=UTC"
        self.must(self.person(a, "Mallory", "server-organiser", command="challenge", args=own))
        self.must(self.person(a, "Mallory", "server-member", command="challenge", args="join"))
        self.must(self.person(a, "Mallory", "group-organiser", command="challenge", args=own))
        self.ids = {
            "<VR>": str(self.run(self.repo.reminders_of(f"{PLATFORM}:{v}"))[0].id),
            "<AR>": str(self.run(self.repo.reminders_of(f"{PLATFORM}:{a}"))[0].id),
            "<VC>": str(self.run(self.repo.challenges_in(PLATFORM, f"server-{v}"))[0].id),
            "<AC>": str(self.run(self.repo.challenges_in(PLATFORM, f"server-{a}"))[0].id),
            "<VCH>": f"group-{v}2",
        }

    def fill(self, text: str) -> str:
        for key, value in self.ids.items():
            text = text.replace(key, value)
        return text

    def victim_rows(self) -> tuple:
        challenge = self.run(self.repo.get_challenge(int(self.ids["<VC>"])))
        board = self.run(self.repo.leaderboard(challenge.id, 50))
        return self.run(self.repo.export_user(f"{PLATFORM}:victim")), challenge, board


@pytest.fixture
def world(knowledge_pair, tmp_path):
    w = World(knowledge_pair, tmp_path / "properties.db")
    w.seed()
    yield w
    w.close()


def test_seeded_victim_is_distinctive(world):
    # The secrets really are in the victim's data, so their absence from the attacker's replies means something.
    rows, challenge, board = world.victim_rows()
    dump = repr(rows) + repr(challenge) + repr(board)
    assert all(secret in dump for secret in ("Zebulon", "Quokka", "04:13"))
    owner = Incoming(PLATFORM, "victim", "victim", command="reminders", display_name="Zebulon Quixote")
    assert "04:13" in world.handle(owner)[0].text


@bounded(500)
@example(actions=[(("command", "stop", "1" * 5000), "private")])  # int() refuses more than 4,300 digits
@example(
    actions=[
        (
            ("command", "challenge", "start name=Spam days=7 time=23:30 timezone=UTC channel=<VCH>"),
            "group-organiser",
        )
    ]
)
@given(actions=st.lists(st.tuples(ACTION, WHERE), min_size=1, max_size=4))
def test_attacker_gets_short_replies_and_never_the_victims_data(world, actions):
    before = world.victim_rows()
    said: list[str] = []
    for (kind, value, args), where in actions:
        value, args = world.fill(value), world.fill(args)
        said += [value, args]
        if kind == "text":
            incoming = world.person("mallory", "Mallory", where, text=value)
        elif kind == "command":
            incoming = world.person("mallory", "Mallory", where, command=value, args=args)
        else:
            incoming = world.person("mallory", "Mallory", where, button=value)
        replies = world.handle(incoming)
        check_core_replies(replies, world.error)
        shown = "\n".join(
            [r.text for r in replies]
            + [b.label + " " + b.data for r in replies for row in r.buttons for b in row]
            + [r.file[1].decode("utf-8", "replace") for r in replies if r.file]
        )
        typed = "\n".join(said).lower()
        for secret in VICTIM_SECRETS:
            if secret.lower() not in typed:
                assert secret not in shown, f"the victim's {secret!r} shown to the attacker"
        for r in replies:
            # A post goes where the organiser is, to their own challenge's channel (cancelling it from a DM), or
            # to a channel they named in a server (Discord offers only the server's own channels); never to the
            # victim's channels, and a Telegram-style group is its only channel, so nowhere else from there.
            named = kind == "command" and "channel=" in args and where.startswith("server")
            own = {None, incoming.channel, "chan-mallory", "group-mallory"}
            assert r.channel in own or named, f"posted in {r.channel!r} from {incoming.channel!r}"
            assert r.channel not in ("chan-victim", "group-victim2"), f"posted in the victim's {r.channel!r}"
    assert world.victim_rows() == before


# -- the core: invisible characters change nothing --------------------------------------------------

INVISIBLE = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u202e"]
EVAL = load_eval()


@bounded(150)
@given(
    case=st.sampled_from(EVAL),
    inserts=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(INVISIBLE)), min_size=1, max_size=4),
)
def test_invisible_characters_inside_words_change_neither_topic_nor_safety(world, case, inserts):
    # Copy-paste brings soft hyphens and zero-width spaces; RTL keyboards add direction marks.
    text = case["text"]
    for where, char in inserts:
        at = round(where * len(text))
        text = text[:at] + char + text[at:]
    world.seen += 1
    clean = world.handle(Incoming("eval", f"c{world.seen}", f"c{world.seen}", text=case["text"]))
    marked = world.handle(Incoming("eval", f"m{world.seen}", f"m{world.seen}", text=text))
    assert worst_safety(marked) == worst_safety(clean), repr(text)
    assert main_topic(marked) == main_topic(clean), repr(text)


# -- the core: anything at all from anyone ----------------------------------------------------


@bounded(400)
@given(
    kind=st.sampled_from(["text", "command", "button"]),
    value=st.one_of(TEXT, BUTTON, COMMAND),
    args=ARGS,
    user=st.sampled_from(["u1", "u2", "😀", "\x00", "x" * 300]),
    name=st.one_of(
        st.just(""), st.text(max_size=300), st.text(alphabet=st.characters(codec=None, exclude_categories=()))
    ),
    where=WHERE,
)
def test_anyone_anything_gets_short_well_formed_replies(world, kind, value, args, user, name, where):
    value, args = world.fill(value), world.fill(args)
    if kind == "text":
        incoming = world.person(user, name, where, text=value)
    elif kind == "command":
        incoming = world.person(user, name, where, command=value, args=args)
    else:
        incoming = world.person(user, name, where, button=value[:200])
    check_core_replies(world.handle(incoming), world.error)


# -- Telegram translation ------------------------------------------------------------------------

BOT_NAME = "HipCoachBot"
TG_BOT = User(999, "Hip Coach", True, username=BOT_NAME)
TG_USER = User(1001, "Alice", False, username="alice")
TG_PRIVATE = Chat(1001, Chat.PRIVATE)
TG_GROUP = Chat(-500, Chat.SUPERGROUP, title="crew")
WHITESPACE = st.sampled_from([" ", "  ", "\n", "\t", " \n", "\u00a0", "\r\n"])
COMMAND_NAME = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=40)


def tg_message(text: str, chat: Chat = TG_PRIVATE, entities=(), reply_to=None) -> Message:
    return Message(1, NOW, chat, from_user=TG_USER, text=text, entities=list(entities), reply_to_message=reply_to)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@bounded(300)
@given(text=st.one_of(SMALL_TEXT, st.text(max_size=100).map(lambda t: "/" + t)))
def test_telegram_any_private_text_reaches_the_coach(text):
    inc = tg.incoming_from_message(tg_message(text), BOT_NAME)
    if inc is None:  # only a command addressed to another bot ("/start@OtherBot") is left alone
        head = text[1:].split(None, 1)[0]
        assert text.startswith("/") and "@" in head and head.partition("@")[2].lower() != BOT_NAME.lower()
        return
    assert inc.platform == "telegram" and inc.user_id == "1001" and inc.private
    if inc.command is None:
        assert inc.text == text
    else:
        assert text.startswith("/")
        assert len(inc.command) <= 64 and not any(ch.isspace() for ch in inc.command)
        assert inc.command == inc.command.lower() and inc.args == inc.args.strip()


@bounded(300)
@example(name="ask", sep="\n", args="why are my hips tight", target="")  # was the command "ask\nwhy"
@given(
    name=COMMAND_NAME,
    sep=WHITESPACE,
    args=st.text(max_size=300),
    target=st.sampled_from(["", "@HipCoachBot", "@hipcoachbot"]),
)
def test_telegram_command_name_and_args(name, sep, args, target):
    assume(args.strip())
    text = f"/{name}{target}{sep}{args}"
    for chat in (TG_PRIVATE, TG_GROUP):
        inc = tg.incoming_from_message(tg_message(text, chat), BOT_NAME)
        assert inc is not None
        assert inc.command == name.lower()[:64], text
        assert inc.args == args.strip()


@bounded(100)
@given(name=COMMAND_NAME, args=st.text(max_size=50))
def test_telegram_group_command_for_another_bot_is_ignored(name, args):
    assert tg.incoming_from_message(tg_message(f"/{name}@OtherBot {args}", TG_GROUP), BOT_NAME) is None


@bounded(200)
@given(before=st.text(max_size=100), after=st.text(max_size=100))
def test_telegram_group_mention_is_answered_without_the_mention(before, after):
    assume(not before.startswith("/"))
    mention = f"@{BOT_NAME}"
    text = f"{before} {mention} {after}"
    entity = MessageEntity(MessageEntity.MENTION, utf16_len(before) + 1, len(mention))
    inc = tg.incoming_from_message(tg_message(text, TG_GROUP, [entity]), BOT_NAME)
    assert inc is not None and not inc.private and inc.space == inc.channel == "-500"
    assert mention not in inc.text and inc.text == inc.text.strip()
    # group chatter without the mention or a reply to the bot is none of our business
    plain = f"{before} {after}"
    assume(not plain.startswith("/"))
    assert tg.incoming_from_message(tg_message(plain, TG_GROUP), BOT_NAME) is None
    replied = Message(7, NOW, TG_GROUP, from_user=TG_BOT, text="earlier")
    assert tg.incoming_from_message(tg_message(plain, TG_GROUP, reply_to=replied), BOT_NAME).text == plain


PARAGRAPHY = st.lists(
    st.one_of(st.text(max_size=300), st.sampled_from(["\n", "\n\n", " ", "&", "<b>", "&amp;", "😀" * 50]), HUGE),
    max_size=30,
).map("".join)


@bounded(200)
@example(text="0" * 25 + "\r", limit=25)  # was cut into a last chunk of only "\r": a blank message
@given(text=PARAGRAPHY, limit=st.sampled_from([tg.MAX_TEXT, 100, 25]))
def test_telegram_split_fits_after_escaping_and_loses_nothing(text, limit):
    chunks = tg.split_text(text, limit)
    assert chunks
    assert all(len(tg.escape(c)) <= limit for c in chunks)
    if text.strip():
        assert all(c.strip() for c in chunks), "a blank message"
    # only whitespace may disappear: the separators split on, and chunks that would be blank
    squeeze = lambda t: re.sub(r"\s", "", t)  # noqa: E731
    assert squeeze("".join(chunks)) == squeeze(text)


# -- Discord translation -------------------------------------------------------------------------

LABEL = st.text(min_size=1, max_size=120).filter(str.strip)
# What the core promises for button data (check_core_replies): printable, no whitespace, at most 64 bytes.
DATA = st.text(alphabet=st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=MAX_BUTTON_DATA).filter(
    lambda d: len(d.encode()) <= MAX_BUTTON_DATA
)
ANY_REPLY = st.builds(
    Reply,
    # (core replies stay below 4,000 characters; discord.py's escape_markdown is quadratic on runs of "<")
    text=st.one_of(
        PARAGRAPHY.map(lambda t: t[:5000]),
        st.sampled_from(["*", "_", "\\", "`", "> ", "# ", "<"]).map(lambda s: s * 1500),
    ),
    buttons=st.lists(st.lists(st.builds(Button, LABEL, DATA), min_size=1, max_size=7).map(tuple), max_size=7).map(
        tuple
    ),
    card=st.booleans(),
)


@bounded(200)
@given(reply=ANY_REPLY, owner=st.one_of(st.none(), st.integers(1, 2**64 - 1)))
def test_discord_render_keeps_every_limit(reply, owner):
    check_platform_limits(reply, owner)
    outs = dc.render(reply, owner)
    assert outs and all(o.view is None for o in outs[:-1])
    if reply.text.strip():
        assert all(o.embed is not None or o.content.strip() for o in outs), "a blank Discord message"


@bounded(200)
@given(
    parts=st.lists(
        st.one_of(st.text(max_size=30), st.sampled_from(["<@99>", "<@!99>", "<@12>", "<@", ">", "99"])), max_size=12
    )
)
def test_discord_strip_mention(parts):
    content = "".join(parts)
    out = dc.strip_mention(content, 99)
    assert "<@99>" not in out and "<@!99>" not in out
    assert out == " ".join(out.split())
    assert dc.strip_mention(out, 99) == out


# -- terminal ------------------------------------------------------------------------------------


@bounded(300)
@example(line="1" * 5000, count=3)  # int() refuses more than 4,300 digits
@example(line="/ask\twhy are my hips tight", count=0)
@given(
    line=st.one_of(
        TEXT,
        st.integers(-5, 50).map(str),
        st.text(alphabet="0123456789", min_size=1, max_size=6000),
        st.tuples(WHITESPACE, st.sampled_from(["/", "/help", "/ask", "//"]), WHITESPACE, st.text(max_size=30)).map(
            "".join
        ),
    ),
    count=st.integers(0, 12),
)
def test_terminal_any_line(line, count):
    choices = [Button(f"choice {i}", f"t:{i}") for i in range(count)]
    inc = to_incoming(line, choices, "me", "me")
    text = line.strip()
    assert inc.platform == "terminal" and inc.user_id == "me"
    if inc.button is not None:
        assert text.isascii() and text.isdigit() and inc.button == choices[int(text) - 1].data
    elif inc.command is not None:
        assert text.startswith("/") and not any(ch.isspace() for ch in inc.command)
        assert inc.args == inc.args.strip()
    else:
        assert inc.text == text
