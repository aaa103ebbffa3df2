"""Replies out through Discord: answers to a person (to their message, or to their command or press within
Discord's interaction rules), retried through hiccups as someone is waiting; and the sender for reminders and
challenge posts, which makes one attempt and reports the outcome (the dispatcher retries)."""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.adapters import retry
from bot.adapters.discord_render import Outgoing, render, sendable
from bot.adapters.shared_limiter import SharedSlots
from bot.core.delivery import BLOCKED, FAILED, RETRY, SENT, UNAVAILABLE, SendResult, Target
from bot.core.messages import Reply
from bot.storage.rate_limits import RateStore

if TYPE_CHECKING:
    from bot.adapters.discord import DiscordAdapter

PLATFORM = "discord"
# Error codes in Discord's JSON bodies that mean "can't be reached": stop, don't retry.
UNREACHABLE = {
    10003,  # unknown channel (deleted)
    10013,  # unknown user
    50001,  # missing access (the bot can no longer see the channel)
    50007,  # cannot send messages to this user (DMs closed)
    50013,  # missing permissions
}


def _transient(exc: BaseException) -> bool:
    """Worth another try: a server error discord.py gave up on (it retries only 500/502/504 itself), a 429 that
    outlasted its own retries, a dropped connection or a timeout. Other HTTP errors are answers."""
    if isinstance(exc, discord.HTTPException):
        return isinstance(exc, discord.DiscordServerError) or exc.status == 429
    return isinstance(exc, aiohttp.ClientError | TimeoutError | OSError)


def with_retries(call):
    """A Discord call retried through server errors, 429s that outlasted discord.py's own tries, and drops."""
    return retry.with_retries(call, platform=PLATFORM, transient=_transient)


class InChat:
    """Answers to a message: in a server the first one is a reply to it, the rest follow in the channel."""

    def __init__(self, adapter: DiscordAdapter, message: discord.Message) -> None:
        self.adapter, self.message = adapter, message
        self.first = True

    async def answer(self, reply: Reply) -> None:
        message, slots = self.message, self.adapter.sender.slots
        for out in render(reply, message.author.id):
            if slots is not None:  # a message counts against the bot's global rate (interactions do not)
                await slots.take(bulk=False)
            if self.first and message.guild is not None:
                await with_retries(lambda out=out: message.reply(**out.kwargs(), nonce=out.nonce, mention_author=False))
            else:
                await with_retries(lambda out=out: message.channel.send(**out.kwargs(), nonce=out.nonce))
            self.first = False

    async def edit(self, reply: Reply) -> bool:
        return False  # a message is answered, never rewritten

    async def post(self, channel: str, reply: Reply) -> None:
        await self.adapter.post_in_channel(int(channel), reply)


class InInteraction:
    """Answers to a command or a press: the interaction's response first, then follow-ups."""

    def __init__(
        self, adapter: DiscordAdapter, interaction: discord.Interaction, ephemeral: bool, press: Press | None
    ) -> None:
        self.adapter, self.interaction, self.ephemeral, self.press = adapter, interaction, ephemeral, press
        # after a "thinking..." deferral there is a placeholder message to fill first
        self.original_pending = interaction.response.is_done() and press is not Press.OWN

    async def answer(self, reply: Reply) -> None:
        for out in render(reply, self.interaction.user.id):
            await self._send(out)

    async def edit(self, reply: Reply) -> bool:
        """A person's own button advances its message in place; a shared post is never rewritten for one."""
        if self.press is not Press.OWN:
            return False
        response, interaction = self.interaction.response, self.interaction
        first, *rest = render(reply, interaction.user.id)
        if not response.is_done():
            await with_retries(lambda: response.edit_message(**first.kwargs()))
        else:
            await with_retries(lambda: interaction.edit_original_response(**first.kwargs()))
        for out in rest:  # a split reply: the rest follow as new messages
            await self._send(out)
        return True

    async def post(self, channel: str, reply: Reply) -> None:
        await self.adapter.post_in_channel(int(channel), reply)

    async def _send(self, out: Outgoing) -> None:
        response, interaction, ephemeral = self.interaction.response, self.interaction, self.ephemeral
        if not response.is_done():
            await with_retries(lambda: response.send_message(**sendable(out), ephemeral=ephemeral))
        elif self.original_pending:
            await with_retries(lambda: interaction.edit_original_response(**out.kwargs()))
            self.original_pending = False
        else:
            await with_retries(lambda: interaction.followup.send(**sendable(out), ephemeral=ephemeral))

    async def acknowledge(self, posted: list[str]) -> None:
        """Every interaction gets an answer, even when the core had nothing to say to the person."""
        response, interaction, texts = self.interaction.response, self.interaction, self.adapter.texts
        quiet = texts.posted.format(channel=posted[0]) if posted else texts.too_fast
        if not response.is_done():
            if self.press is Press.OWN and not posted:
                await response.defer()  # acknowledge the press silently
            else:
                await response.send_message(quiet, ephemeral=True)
        elif self.original_pending:
            await interaction.edit_original_response(content=quiet)


class Press(enum.Enum):
    OWN = "own"  # a button on an answer to this person
    SHARED = "shared"  # a button on a public post, for everyone in the channel


def is_ephemeral(interaction: discord.Interaction) -> bool:
    """A button on an ephemeral message answers ephemerally too (its owner is the only one who sees it)."""
    message = interaction.message
    return message is not None and message.flags.ephemeral


class DiscordSender:
    """The delivery port for reminders: a DM per reminder; outcomes mapped to sent / blocked / retry / failed."""

    def __init__(self, adapter: DiscordAdapter, rate_limit: float = 20.0, shared: RateStore | None = None) -> None:
        self.adapter = adapter
        # 20/s by default: well under Discord's 50 requests/s, as a first DM costs two requests (DISCORD_RATE_LIMIT)
        self.rate_per_second = math.inf if rate_limit <= 0 else rate_limit
        # Several processes (PostgreSQL): the dispatcher's pacing is per process, so each message also takes a
        # slot of the one rate they share, answers in chat first. One process: the dispatcher's pacing is enough.
        self.slots = SharedSlots(shared, PLATFORM, rate_limit) if shared is not None and rate_limit > 0 else None

    async def send(self, target: Target, replies: list[Reply], key: str | None = None) -> SendResult:
        client = self.adapter.client
        if client is None or not self.adapter.connected:  # logged in: REST works without the gateway
            return SendResult(UNAVAILABLE, error="not connected")
        try:
            if target.channel:  # a challenge post: everyone in the channel may press its buttons
                channel, owner = client.get_partial_messageable(int(target.chat_id)), None
            else:
                owner = int(target.chat_id)
                channel = await client.create_dm(discord.Object(id=owner))
            outs = [out for reply in replies for out in render(reply, owner)]
            for part, out in enumerate(outs):
                if self.slots is not None:
                    await self.slots.take(bulk=True)
                await channel.send(**out.kwargs(), nonce=delivery_nonce(key, part))
        except discord.HTTPException as exc:
            if exc.status == 429 and self.slots is not None:  # every process holds off, not just this one
                self.slots.pause(getattr(exc, "retry_after", None) or 1.0)
            return outcome_of(exc)
        except discord.RateLimited as exc:  # a 429 longer than discord.py waits out itself (not an HTTPException)
            if self.slots is not None:
                self.slots.pause(exc.retry_after)
            return SendResult(RETRY, retry_after=exc.retry_after, error="rate limited")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return SendResult(RETRY, error=type(exc).__name__)
        return SendResult(SENT)


def delivery_nonce(key: str | None, part: int) -> str | None:
    """The same nonce for the same message of the same delivery, on every attempt and after a restart. discord.py
    sends it with enforce_nonce, so Discord answers a repeat within a few minutes with the message it already
    created (a lost answer, a kill -9 between send and record) instead of posting it twice. None: a random one."""
    return None if key is None else f"hc{key}.{part}"[:25]


def outcome_of(exc: discord.HTTPException) -> SendResult:
    """Discord's answer as a delivery outcome: unreachable (closed DMs, deleted channel, no permission) is
    BLOCKED so the core pauses or stops instead of retrying; 5xx and rate limits are RETRY."""
    if exc.code in UNREACHABLE:
        return SendResult(BLOCKED, error=f"unreachable {exc.code}")
    if isinstance(exc, discord.RateLimited):
        return SendResult(RETRY, retry_after=exc.retry_after, error="rate limited")
    if isinstance(exc, discord.DiscordServerError) or exc.status == 429:
        return SendResult(RETRY, error=f"server {exc.status}")
    return SendResult(FAILED, error=f"http {exc.status} {exc.code}")
