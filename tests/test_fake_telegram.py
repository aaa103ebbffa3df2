"""The fake Bot API server speaks the wire format the real python-telegram-bot expects (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api import FakeTelegram, HtmlError, parse_html, plain

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Next ▶", callback_data="routine:next"), InlineKeyboardButton("Stop", callback_data="stop")]]
)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    # httpx honours proxy variables; the fake must be reached directly on 127.0.0.1
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake):
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


# -- basics -------------------------------------------------------------------------------------------------


async def test_get_me_over_real_http_on_loopback(fake, bot):
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/bot")
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (999, "HipCoachBot", True)
    assert me.can_read_all_group_messages is False and me.supports_inline_queries is False
    assert bot.username == "HipCoachBot"
    call = fake.calls_to("getMe")[0]
    assert call.http_verb == "POST"


async def test_wrong_token_and_unknown_method(fake, bot):
    with pytest.raises(InvalidToken, match="(?i)rejected by the server"):  # initialize() calls getMe
        async with Bot("654321:not-the-right-token", base_url=fake.base_url):
            pass
    assert fake.calls_to("getMe")[-1].params == {}
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_send_message_html_and_keyboard_round_trip(fake, bot):
    message = await bot.send_message(
        1001, "<b>Hip</b> opener &amp; &lt;stretch&gt;", parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert message.text == "Hip opener & <stretch>"  # Telegram returns the parsed text
    assert message.reply_markup == KEYBOARD
    assert message.from_user.id == 999 and message.chat.id == 1001 and message.chat.type == "private"

    record = fake.sent[0]
    assert record["chat_id"] == 1001
    assert record["text"] == "<b>Hip</b> opener &amp; &lt;stretch&gt;"  # stored as given
    assert record["plain_text"] == plain(record["text"]) == "Hip opener & <stretch>"
    assert record["parse_mode"] == "HTML"
    assert record["reply_markup"] == KEYBOARD.to_dict()

    # the wire: form-urlencoded, strings as is, complex values as JSON text
    call = fake.calls_to("sendMessage")[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.raw["chat_id"] == "1001"
    assert isinstance(call.raw["reply_markup"], str) and call.params["reply_markup"]["inline_keyboard"][0][1] == {
        "text": "Stop",
        "callback_data": "stop",
    }

    second = await bot.send_message(1001, "again")
    other_chat = await bot.send_message(2002, "hello")
    assert second.message_id == message.message_id + 1
    assert other_chat.message_id == 1


async def test_reply_parameters(fake, bot):
    asked = fake.user_message("how often should I stretch?")["message"]
    reply = await bot.send_message(1001, "Daily.", reply_parameters=ReplyParameters(asked["message_id"]))
    assert reply.reply_to_message.message_id == asked["message_id"]
    assert fake.sent[0]["reply_to_message_id"] == asked["message_id"]
    assert fake.sent[0]["reply_parameters"]["message_id"] == asked["message_id"]
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(1001, "x", reply_parameters=ReplyParameters(777))
    lenient = await bot.send_message(1001, "x", reply_parameters=ReplyParameters(777, allow_sending_without_reply=True))
    assert lenient.reply_to_message is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("hips < knees", 'Unsupported start tag "" at byte offset 5'),
        ("rock & roll", "Unescaped"),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_bad_html_is_rejected(bot, text, error):
    with pytest.raises(BadRequest, match="(?i)can't parse entities") as caught:
        await bot.send_message(1001, text, parse_mode="HTML")
    assert error.lower() in str(caught.value).lower()  # PTB drops "Bad Request: " and capitalize()s the rest


async def test_text_limits_and_button_data(fake, bot):
    await bot.send_message(1001, "&amp;" * 4096, parse_mode="HTML")  # 4096 characters after parsing: fine
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1001, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1001, "&lt;" * 4097, parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(1001, "   ")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(1001, "<b></b>", parse_mode="HTML")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])  # 66 bytes
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "pick", reply_markup=too_long)
    assert len(fake.sent) == 1


async def test_edits(fake, bot):
    message = await bot.send_message(1001, "Step 1", reply_markup=KEYBOARD)
    await bot.edit_message_text("<i>Step 2</i>", 1001, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<i>Step 2</i>", 1001, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("Step 2", 1001, message.message_id)  # same text, no keyboard: modified
    assert edited.reply_markup is None
    with pytest.raises(BadRequest, match="(?i)not modified"):
        await bot.edit_message_reply_markup(1001, message.message_id, reply_markup=None)
    await bot.edit_message_reply_markup(1001, message.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", 1001, 4242)
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.edit_message_text("<b>x", 1001, message.message_id, parse_mode="HTML")
    assert [e["method"] for e in fake.edits] == ["editMessageText", "editMessageText", "editMessageReplyMarkup"]
    assert fake.edits[0]["text"] == "<i>Step 2</i>" and fake.edits[0]["plain_text"] == "Step 2"
    assert fake.message(1001, message.message_id)["reply_markup"] == KEYBOARD.to_dict()
    assert await bot.delete_message(1001, message.message_id) is True
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(1001, message.message_id)


async def test_photo_upload_and_download(fake, bot):
    png = b"\x89PNG\r\n\x1a\n fake image"
    message = await bot.send_photo(1001, png, caption="<b>Pigeon</b> pose", parse_mode="HTML")
    assert message.photo and message.caption == "Pigeon pose"
    call = fake.calls_to("sendPhoto")[0]
    assert call.content_type == "multipart/form-data"
    assert fake.sent[0]["upload"].data == png and fake.sent[0]["caption"] == "<b>Pigeon</b> pose"
    file = await bot.get_file(message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == png  # through base_file_url
    again = await bot.send_photo(1001, message.photo[-1].file_id)  # by file_id: form-urlencoded
    assert again.photo[-1].file_id == message.photo[-1].file_id
    assert fake.calls_to("sendPhoto")[1].content_type == "application/x-www-form-urlencoded"


async def test_commands_chat_action_webhook(fake, bot):
    await bot.set_my_commands([BotCommand("start", "Start, and set your goal"), BotCommand("help", "What I can do")])
    assert fake.commands == [
        {"command": "start", "description": "Start, and set your goal"},
        {"command": "help", "description": "What I can do"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start!", "nope")])
    assert await bot.send_chat_action(1001, "typing") is True
    assert fake.chat_actions == [{"chat_id": 1001, "action": "typing"}]

    fake.user_message("pending")
    await bot.set_webhook("https://example.invalid/telegram")  # recorded only, never contacted
    assert (await bot.get_webhook_info()).url == "https://example.invalid/telegram"
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


# -- failures -----------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's RetryAfter int -> timedelta
async def test_injected_failures_map_to_ptb_exceptions(fake, bot):
    fake.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter, match=r"(?i)Retry in (1|0:00:01)"):
        await bot.send_message(1001, "x")
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="(?i)blocked"):
        await bot.send_message(1001, "x")
    fake.fail_next("sendMessage", 500)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(1001, "x")
    assert type(caught.value) is NetworkError
    fake.garbage_next("sendMessage")
    with pytest.raises(TelegramError) as caught:
        await bot.send_message(1001, "x")
    assert type(caught.value) is TelegramError and "Invalid server response" in str(caught.value)
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(1001, "x")
    assert fake.sent == []
    assert (await bot.send_message(1001, "through")).text == "through"  # failures are consumed


async def test_failures_are_consumed_in_order_per_method(fake, bot):
    fake.fail_next("sendMessage", 500, times=2)
    fake.garbage_next("sendMessage")
    for expected in (NetworkError, NetworkError, TelegramError):
        with pytest.raises(expected):
            await bot.send_message(1001, "x")
    await bot.send_chat_action(1001, "typing")  # another method is unaffected
    await bot.send_message(1001, "ok")
    assert len(fake.sent) == 1


async def test_blocked_user(fake, bot):
    fake.block_user(1001)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(1001, "x")
    await bot.send_message(2002, "someone else")
    assert [m["chat_id"] for m in fake.sent] == [2002]


async def test_slow_answer_times_out_but_is_still_delivered(fake, bot):
    fake.hang_next("sendMessage", 0.4)
    with pytest.raises(TimedOut):
        await bot.send_message(1001, "slow", read_timeout=0.1)
    assert fake.sent == []
    await fake.wait_sent(1, timeout=2)  # like Telegram: a timed-out request may still have been carried out
    assert fake.sent[0]["text"] == "slow"


async def test_wait_for_explains_what_happened(fake, bot):
    await bot.send_message(1001, "only one")
    with pytest.raises(TimeoutError) as caught:
        await fake.wait_sent(2, timeout=0.05)
    assert (
        "at least 2 sent" in str(caught.value)
        and "only one" in str(caught.value)
        and "sendMessage" in str(caught.value)
    )


# -- getUpdates ---------------------------------------------------------------------------------------------


async def test_get_updates_offset_limit_and_long_poll(fake, bot):
    first = fake.user_message("one")
    fake.user_message("two")
    fake.user_message("three")
    updates = await bot.get_updates(limit=2)
    assert [u.message.text for u in updates] == ["one", "two"]
    assert updates[0].update_id == first["update_id"] and updates[1].update_id == first["update_id"] + 1
    assert len(await bot.get_updates()) == 3  # nothing confirmed yet: delivered again
    rest = await bot.get_updates(offset=updates[-1].update_id + 1)  # confirms one and two
    assert [u.message.text for u in rest] == ["three"]
    assert [u["message"]["text"] for u in fake.pending_updates] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()
    assert fake.pending_updates == []

    # a long poll returns as soon as an update arrives
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=rest[-1].update_id + 1, timeout=10))
    await asyncio.sleep(0.1)
    fake.user_message("four")
    assert [u.message.text for u in await poll] == ["four"]
    assert time.monotonic() - started < 1.0

    # an empty long poll waits its timeout, capped in real time
    fake.long_poll_cap = 0.2
    started = time.monotonic()
    assert await bot.get_updates(offset=(await poll)[-1].update_id + 1, timeout=30) == ()
    assert 0.15 < time.monotonic() - started < 1.5


async def test_a_second_poller_terminates_the_first(fake, bot):
    async with Bot(fake.token, base_url=fake.base_url) as second:
        first_poll = asyncio.create_task(bot.get_updates(timeout=5))
        await fake.wait_calls("getUpdates", 1)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
            await first_poll


def test_html_parser_details():
    assert parse_html('<a href="https://x.org/?a=1&amp;b=2">link</a> <code class="language-py">x</code>')[1] == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://x.org/?a=1&b=2"},
        {"type": "code", "offset": 5, "length": 1, "language": "py"},
    ]
    assert parse_html("😀 <b>x</b>")[1] == [{"type": "bold", "offset": 3, "length": 1}]  # UTF-16 offsets
    assert parse_html("&#8594; &#x2192; &quot;q&quot; a > b")[0] == '→ → "q" a > b'
    assert parse_html("AT&T", strict_ampersand=False)[0] == "AT&T"  # what Telegram itself does
    with pytest.raises(HtmlError):
        parse_html("AT&T")
    assert plain("<b>broken") == "broken" and plain("a &amp; <i>b</i>") == "a & b"


# -- the real Application -------------------------------------------------------------------------------------


async def test_application_polls_and_dispatches(fake):
    seen: list[str] = []

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(f"start:{' '.join(context.args)}")
        await update.effective_message.reply_text("<b>Welcome</b>", parse_mode="HTML", reply_markup=KEYBOARD)

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(f"text:{update.effective_message.text}")
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        seen.append(f"button:{query.data}")
        await query.answer("On it")
        await query.edit_message_text("Step 2", reply_markup=KEYBOARD)

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        fake.user_message("/start now")
        welcome = (await fake.wait_sent(1))[0]
        assert welcome["text"] == "<b>Welcome</b>" and welcome["chat_id"] == 1001

        fake.user_message("my hips are tight")
        await fake.wait_sent(2)
        assert fake.sent[1]["text"] == "echo: my hips are tight"

        # groups: a command addressed to us counts, one for another bot does not
        fake.user_message("/start@OtherBot", user_id=1002, chat_type="supergroup")
        fake.user_message("/start@HipCoachBot group", user_id=1002, chat_type="supergroup")
        await fake.wait_sent(3)
        assert fake.sent[2]["chat_id"] < 0

        fake.press_button(welcome, "routine:next")
        await fake.wait_for(lambda: fake.answered_callbacks and fake.edits, what="the button to be handled")
        assert fake.answered_callbacks[0]["text"] == "On it"
        assert fake.edits[0]["text"] == "Step 2" and fake.edits[0]["message_id"] == welcome["message_id"]
        with pytest.raises(ValueError, match="(?i)no button"):
            fake.press_button(welcome, "not-on-the-keyboard")
        assert seen == ["start:now", "text:my hips are tight", "start:group", "button:routine:next"]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert fake.pending_updates == []  # the updater confirmed everything it fetched on stop
    assert fake.calls_to("deleteWebhook")  # PTB's polling bootstrap


async def test_answering_a_callback_twice_or_unknown(fake, bot):
    message = await bot.send_message(1001, "pick", reply_markup=KEYBOARD)
    update = Update.de_json(fake.press_button(fake.sent[0], "stop"), bot)
    assert update.callback_query.message.message_id == message.message_id
    await update.callback_query.answer()
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await update.callback_query.answer()
    with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
        await bot.answer_callback_query("123")
    assert len(fake.answered_callbacks) == 1
