"""Telegram <-> core translation: updates to `Incoming`, `Reply` text and buttons to what the Bot API takes.

Pure functions over python-telegram-bot's objects, no I/O, so they are tested without a server
(tests/test_telegram_translation.py); the adapter (telegram.py) does the talking.
"""

from __future__ import annotations

import functools
import html
import re

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from telegram.constants import ChatType, MessageEntityType

from bot.adapters import chunks
from bot.core.messages import Button, Incoming, Reply

PLATFORM = "telegram"
MAX_TEXT = 4096
TOAST_LIMIT = 200  # characters Telegram shows in a callback answer
_COMMAND = re.compile(r"/(?P<head>\S+)(?P<args>.*)", re.DOTALL)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks whose HTML-escaped form fits Telegram's limit."""
    return chunks.split_text(text, limit, measure=lambda t: len(escape(t)))


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return _markup(reply.buttons)


@functools.lru_cache(maxsize=256)  # answers use a few hundred layouts; reminder keyboards are one-offs
def _markup(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    # PTB objects are immutable once built and most answers carry one of a few layouts, so one
    # markup per layout is built once instead of on every message.
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label[:64], callback_data=b.data) for b in row] for row in buttons]
    )


def is_group(chat_type: str) -> bool:
    return chat_type in (ChatType.GROUP, ChatType.SUPERGROUP)


def mentions_bot(message: Message, username: str) -> tuple[bool, str]:
    """(addressed to the bot?, text without the @mention). Privacy mode still sends us replies and commands."""
    text = message.text or ""
    mention = f"@{username}".lower()
    for entity in message.entities or ():
        if entity.type == MessageEntityType.MENTION:
            value = message.parse_entity(entity)
            if value.lower() == mention:
                return True, (text.replace(value, " ")).strip()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.username == username:
        return True, text
    return False, text


def incoming(user: User, message: Message, **what) -> Incoming:
    """The one Telegram -> core translation, for typed messages and button presses alike."""
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        chat_id=str(message.chat.id),
        private=message.chat.type == ChatType.PRIVATE,
        display_name=user.first_name or user.username or "",
        **group_context(message),
        **what,
    )


def incoming_from_message(message: Message, username: str) -> Incoming | None:
    """A Telegram message as a core message; None for group chatter not addressed to the bot."""
    user = message.from_user
    if user is None or user.is_bot or message.text is None:
        return None
    text = message.text
    typed = _COMMAND.fullmatch(text)  # "/" alone or "/ word" is no command, as in Telegram's own parsing
    if typed is not None:
        # The name ends at any whitespace: "/ask\nwhy are my hips tight" asks, as Telegram shows it.
        command, _, target = typed["head"].partition("@")
        if target and target.lower() != username.lower():
            return None  # a command for another bot in the group
        return incoming(user, message, at=message.date, command=command.lower()[:64], args=typed["args"].strip())
    if is_group(message.chat.type):
        addressed, text = mentions_bot(message, username)
        if not addressed:
            return None
    return incoming(user, message, at=message.date, text=text)


def group_context(message: Message) -> dict:
    """In a group, the group is both the space and the channel (challenges run per group)."""
    if not is_group(message.chat.type):
        return {}
    return {"space": str(message.chat.id), "channel": str(message.chat.id)}


def shared_post(message: Message) -> bool:
    """A group post for everyone (a challenge's daily post), not an answer to one person."""
    return is_group(message.chat.type) and message.reply_to_message is None


def toast_text(replies: list[Reply]) -> str | None:
    """A press on a shared post answered by one short line: shown as a pop-up to the presser alone,
    so a group is not flooded with everyone's check-in confirmations."""
    if len(replies) != 1:
        return None
    reply = replies[0]
    if reply.buttons or reply.channel or reply.file or reply.image or len(reply.text) > TOAST_LIMIT:
        return None
    return reply.text


def button_owner_ok(query: CallbackQuery) -> bool:
    """In groups the bot answers as a reply to the asker; only they may press those buttons."""
    message = query.message
    if not isinstance(message, Message) or not is_group(message.chat.type):
        return True
    asked = message.reply_to_message
    return asked is None or asked.from_user is None or asked.from_user.id == query.from_user.id
