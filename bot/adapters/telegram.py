"""Telegram adapter: translates python-telegram-bot updates to core messages and core replies back.

No coaching logic lives here. The app starts it with PTB's manual lifecycle inside its single asyncio loop,
beside Discord and the scheduler, in two halves (bot/roles.py): `start_sending` (initialize, start; enough
for reminders and posts, so every process does it; in webhook mode also the webhook receiver, as every
process behind the load balancer receives) and `start_receiving` (long polling, which only the process
elected "telegram-poller" does: Telegram answers a second getUpdates with 409). stop() shuts down in reverse
order so an update already fetched is still handled.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace

from telegram import (
    BotCommand,
    CallbackQuery,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    TypeHandler,
    filters,
)
from telegram.ext import MessageHandler as PTBMessageHandler

from bot.adapters import retry
from bot.adapters.platform import deliver
from bot.adapters.telegram_limiter import BULK, AnswersFirstLimiter, retry_after_seconds
from bot.adapters.telegram_sender import TelegramSender
from bot.adapters.telegram_translate import (
    MAX_TEXT,
    PLATFORM,
    button_owner_ok,
    escape,
    incoming,
    incoming_from_message,
    is_group,
    keyboard,
    shared_post,
    split_text,
    toast_text,
)
from bot.adapters.telegram_webhook import WebhookServer
from bot.adapters.texts import AdapterTexts
from bot.adapters.turn_locks import TurnLocks
from bot.core.coach import Coach
from bot.core.commands import Catalogue, load_commands
from bot.core.messages import Reply
from bot.roles import TELEGRAM_POLLER, Role
from bot.storage.rate_limits import RateStore

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
ADMIN_CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class WebhookConfig:
    url: str  # public HTTPS URL Telegram posts to
    listen: str = "0.0.0.0"
    port: int = 8443
    secret: str = ""  # checked on every request (X-Telegram-Bot-Api-Secret-Token); random if empty
    # Register the webhook at start: only a process that is alone (SQLite). Several processes behind a load
    # balancer share one secret and the webhook is registered once, by `python -m bot webhook set`.
    register: bool = True


UPDATES = ["message", "callback_query"]


def _transient(exc: BaseException) -> bool:
    """5xx, a dropped connection or a timeout: worth another try. BadRequest / Forbidden are answers."""
    return isinstance(exc, NetworkError | TimedOut) and not isinstance(exc, BadRequest)


def with_retries(call):
    """A Bot API call retried through 5xx, timeouts and 429s (the rate limiter waits out the first few)."""
    return retry.with_retries(
        call,
        platform=PLATFORM,
        transient=_transient,
        rate_limited=lambda exc: retry_after_seconds(exc) if isinstance(exc, RetryAfter) else None,
    )


def limiter(messages_per_second: float, shared: RateStore | None = None) -> AnswersFirstLimiter:
    """Telegram's flood limits (overall, 20/min per group) with answers ahead of broadcasts, and 429s waited
    out (an answer's retried 3 times; a broadcast's reported to the dispatcher). 0 turns the rate caps off,
    e.g. for an own Bot API server."""
    if messages_per_second <= 0:
        return AnswersFirstLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    return AnswersFirstLimiter(overall_max_rate=messages_per_second, group_max_rate=20, max_retries=3, shared=shared)


class TelegramAdapter:
    name = PLATFORM

    def __init__(
        self,
        coach: Coach,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        base_file_url: str = DEFAULT_BASE_FILE_URL,
        webhook: WebhookConfig | None = None,
        poll_timeout: int = 30,
        rate_limit: float = 30.0,
        commands: Catalogue | None = None,
        texts: AdapterTexts | None = None,
        rate_store: RateStore | None = None,  # PostgreSQL: one rate for all processes (bot/storage/rate_limits.py)
        turn_lock: Callable[[str], AbstractAsyncContextManager] | None = None,
        first_sight: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self.coach = coach
        self.webhook = webhook
        self._first_sight = first_sight
        # Long polling is one process's role; in webhook mode every process receives (None: no election).
        self.role: Role | None = None if webhook else TELEGRAM_POLLER
        self.poll_timeout = poll_timeout
        self.commands = commands or load_commands()
        self.texts = texts or AdapterTexts.default()
        self.application: Application = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            # Waits out 429s and retries answers (the limiter's default is not to retry).
            .rate_limiter(limiter(rate_limit, rate_store))
            # Different people are served concurrently; one person's messages stay in order (_turn_lock).
            .concurrent_updates(16)
            .build()
        )
        if first_sight is not None:  # before every other handler: a redelivered update stops here
            self.application.add_handler(TypeHandler(Update, self._drop_repeats), group=-1)
        self.application.add_handler(CallbackQueryHandler(self._on_callback))
        self.application.add_handler(PTBMessageHandler(filters.TEXT | filters.COMMAND, self._on_message))
        self.application.add_error_handler(self._on_error)
        self.sender = TelegramSender(self, rate_limit)
        self.username = ""
        self.connected = False  # can send (reminders, posts); receiving is `receiving`
        self._webhook_server: WebhookServer | None = None
        # One person's turns in order: across processes when the app passes the repository's lock.
        self._turn_lock = TurnLocks(turn_lock)
        self._admins: dict[tuple[int, int], tuple[float, bool]] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Sending and receiving: one process alone (tests, SQLite)."""
        await self.start_sending()
        await self.start_receiving()

    async def start_sending(self) -> None:
        """What every process does: the Bot API client for reminders and posts, and in webhook mode the
        receiver (every process behind the load balancer receives)."""
        app = self.application
        await app.initialize()
        self.username = app.bot.username
        await app.bot.set_my_commands([BotCommand(name, text) for name, text in self.commands.menu()])
        await app.start()
        if self.webhook:
            await self._start_webhook(self.webhook)
        self.connected = True
        log.info(
            "event=platform_started platform=telegram bot=%s mode=%s",
            self.username,
            "webhook" if self.webhook else "polling",
        )

    async def _start_webhook(self, webhook: WebhookConfig) -> None:
        secret = webhook.secret or secrets.token_urlsafe(32)  # random only for a process that registers
        if webhook.register:
            await self.application.bot.set_webhook(webhook.url, secret_token=secret, allowed_updates=UPDATES)
        self._webhook_server = WebhookServer(self.application, secret, webhook.listen, webhook.port)
        await self._webhook_server.start()

    async def start_receiving(self) -> None:
        """Long polling, by the process elected for it; nothing to do in webhook mode."""
        if self.webhook or self.receiving:
            return
        # No drop_pending_updates: messages sent while we were down (or while the poller changed) are answered.
        await self.application.updater.start_polling(timeout=self.poll_timeout, allowed_updates=UPDATES)
        log.info("event=receiving platform=telegram mode=polling")

    async def stop_receiving(self) -> None:
        """Hand polling over: stop fetching (confirms the offset of what was fetched)."""
        updater = self.application.updater
        if updater and updater.running:
            await updater.stop()
            log.info("event=receiving_stopped platform=telegram")

    @property
    def receiving(self) -> bool:
        if self.webhook:
            return self._webhook_server is not None
        updater = self.application.updater
        return bool(updater and updater.running)

    async def stop(self) -> None:
        app = self.application
        self.connected = False
        if self._webhook_server is not None:
            await self._webhook_server.stop()  # answers in flight finish; no new ones
            self._webhook_server = None
        await self.stop_receiving()
        if app.running:
            await app.stop()  # finishes the updates already fetched
        await app.shutdown()

    # -- updates in ----------------------------------------------------------------------------

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        incoming = incoming_from_message(message, self.username)
        if incoming is None:
            return
        if incoming.space and incoming.command == "challenge":  # only organisers may start or end one
            incoming = replace(incoming, organiser=await self._is_admin(message.chat.id, message.from_user.id))
        async with self._turn_lock(incoming.user_key):
            replies = await self.coach.handle(incoming)
            reply_to = message.message_id if is_group(message.chat.type) else None
            await deliver(replies, InChat(self, message, reply_to))

    async def _drop_repeats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update handled before (a webhook POST Telegram sent again, or one a dead poller had fetched) is
        dropped. If the database cannot say, the update is handled: twice is better than never."""
        try:
            first = await self._first_sight(update.update_id)
        except Exception as exc:
            log.warning("event=update_dedup_failed error=%s", type(exc).__name__)
            return
        if not first:
            log.info("event=update_repeat update_id=%d", update.update_id)
            raise ApplicationHandlerStop

    async def _is_admin(self, chat_id: int, user_id: int) -> bool:
        """Group admins organise challenges; asked of Telegram, remembered for a few minutes."""
        key = (chat_id, user_id)
        now = time.monotonic()
        cached = self._admins.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await self.application.bot.get_chat_member(chat_id, user_id)
            admin = member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
        except TelegramError as exc:
            log.info("event=admin_check_failed error=%s", type(exc).__name__)
            return False
        if len(self._admins) > 1000:  # forget answers that have expired anyway
            self._admins = {k: v for k, v in self._admins.items() if v[0] > now}
        self._admins[key] = (now + ADMIN_CACHE_SECONDS, admin)
        return admin

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        message = query.message
        if not isinstance(message, Message) or not query.data:
            await query.answer(self.texts.button_expired)  # too old for Telegram to show us the message
            return
        if not button_owner_ok(query):
            await query.answer(self.texts.not_yours)
            return
        shared = shared_post(message)
        if not shared:
            await self._answer_callback(query)  # stop the spinner at once; the answer follows as messages
        user = query.from_user
        pressed = incoming(user, message, button=query.data)
        async with self._turn_lock(pressed.user_key):
            replies = await self.coach.handle(pressed)
            if shared:
                toast = toast_text(replies)
                await self._answer_callback(query, toast)
                if toast is not None:
                    return
            reply_to = message.reply_to_message.message_id if message.reply_to_message else None
            await deliver(replies, InChat(self, message, reply_to, editable=not shared))

    async def _answer_callback(self, query: CallbackQuery, text: str | None = None) -> None:
        try:
            await query.answer(text)
        except TelegramError as exc:
            # e.g. "query is too old" for a press queued while we were down: still act on it
            log.info("event=callback_answer_failed error=%s", type(exc).__name__)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Never log the token or message text: the exception type and update id are enough.
        update_id = getattr(update, "update_id", None)
        log.error("event=telegram_error update=%s error=%s", update_id, type(context.error).__name__)

    # -- replies out ---------------------------------------------------------------------------

    async def edit(self, message: Message, reply: Reply) -> bool:
        """Edit the message a button sat on (guided routines advance in place)."""
        if len(escape(reply.text)) > MAX_TEXT:
            return False
        try:
            await message.edit_text(escape(reply.text), parse_mode=ParseMode.HTML, reply_markup=keyboard(reply))
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            return False
        return True

    async def send_reply(self, chat_id: int, reply: Reply, reply_to: int | None = None) -> None:
        """An answer to someone waiting: each message retried through 5xx, drops and 429s."""
        for call in self.sends(chat_id, reply, reply_to):
            await with_retries(call)

    def sends(
        self, chat_id: int, reply: Reply, reply_to: int | None = None, bulk: bool = False
    ) -> list[Callable[[], Awaitable[object]]]:
        """The Bot API calls one reply takes (picture, file, text in chunks), each to be made once. With `bulk`
        a broadcast (reminder, challenge post) that gives way to answers in the rate limiter."""
        bot = self.application.bot
        reply_parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        priority = BULK if bulk else None
        calls: list[Callable[[], Awaitable[object]]] = []
        if reply.image is not None:
            calls.append(
                lambda: bot.send_photo(
                    chat_id, reply.image, reply_parameters=reply_parameters, rate_limit_args=priority
                )
            )
        if reply.file is not None:
            name, body = reply.file
            calls.append(lambda: bot.send_document(chat_id, InputFile(body, filename=name), rate_limit_args=priority))
        parts = split_text(reply.text)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            calls.append(
                lambda part=part, last=last, i=i: bot.send_message(
                    chat_id,
                    escape(part),
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply) if last else None,
                    reply_parameters=reply_parameters if i == 0 else None,
                    rate_limit_args=priority,
                )
            )
        return calls


class InChat:
    """Answers to a message or a press, in its chat (in a group, as a reply to what was asked)."""

    def __init__(self, adapter: TelegramAdapter, message: Message, reply_to: int | None, editable: bool = False):
        self.adapter, self.message, self.reply_to, self.editable = adapter, message, reply_to, editable

    async def answer(self, reply: Reply) -> None:
        await self.adapter.send_reply(self.message.chat.id, reply, reply_to=self.reply_to)

    async def edit(self, reply: Reply) -> bool:
        # a shared post (a challenge's daily post) is never rewritten for one person
        return self.editable and await self.adapter.edit(self.message, reply)

    async def post(self, channel: str, reply: Reply) -> None:
        await self.adapter.send_reply(int(channel), reply)
