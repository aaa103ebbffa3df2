"""Discord adapter: translates discord.py interactions and messages to core messages and core replies back.

No coaching logic lives here. The app runs `client.start()` as a task in its single asyncio loop,
beside Telegram and the scheduler. Slash commands live in one `/hip` group; buttons carry their whole
state in the custom_id (`hc:<owner>:<core button data>`) and are handled by a DynamicItem registered
on the client, so a button keeps working after a restart without any per-message view in memory.
"""

from __future__ import annotations

import asyncio
import enum
import io
import logging
import math
import secrets
from dataclasses import dataclass, field

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bot.adapters import chunks, retry
from bot.adapters.discord_commands import challenge_commands, command_signature, hip_commands
from bot.adapters.turn_locks import TurnLocks
from bot.core.coach import Coach
from bot.core.delivery import BLOCKED, FAILED, RETRY, SENT, UNAVAILABLE, SendResult, Target
from bot.core.messages import Incoming, Reply

log = logging.getLogger(__name__)
# discord.py warns at every start that voice needs extra packages; a coach never speaks.
logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT be supported" not in record.getMessage())

PLATFORM = "discord"
MAX_TEXT = 2000
MAX_TITLE = 256
MAX_EMBED_TEXT = 4096
MAX_CUSTOM_ID = 100
EMBED_COLOUR = 0x2E9E6B
IMAGE_NAME = "hipcoach.png"  # an image reply (a leaderboard) travels as this attachment
# Discord wants an interaction answered within 3 s; past this the answer is deferred and sent as a follow-up.
DEFER_AFTER = 1.5
DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY = "wss://gateway.discord.gg/"
CUSTOM_ID_TEMPLATE = r"hc:(?P<owner>[0-9]*):(?P<data>.+)"
# Error codes in Discord's JSON bodies that mean "can't be reached": stop, don't retry.
UNREACHABLE = {
    10003,  # unknown channel (deleted)
    10013,  # unknown user
    50001,  # missing access (the bot can no longer see the channel)
    50007,  # cannot send messages to this user (DMs closed)
    50013,  # missing permissions
}
# Members with this role may organise challenges without Manage Server (a server creates the role itself).
ORGANISER_ROLE = "Challenge Organiser"
NOT_YOURS = "This button belongs to someone else's conversation. Ask me yourself to get your own!"
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."
TOO_FAST = "You're sending messages faster than I can answer; give me a few seconds."
POSTED = "Posted in <#{channel}>."


def _transient(exc: BaseException) -> bool:
    """Worth another try: a server error discord.py gave up on (it retries only 500/502/504 itself), a 429 that
    outlasted its own retries, a dropped connection or a timeout. Other HTTP errors are answers."""
    if isinstance(exc, discord.HTTPException):
        return isinstance(exc, discord.DiscordServerError) or exc.status == 429
    return isinstance(exc, aiohttp.ClientError | TimeoutError | OSError)


def with_retries(call):
    """A Discord call retried through server errors, 429s that outlasted discord.py's own tries, and drops."""
    return retry.with_retries(call, platform=PLATFORM, transient=_transient)


def point_at(api_base: str, gateway: str) -> None:
    """Aim discord.py's REST client and gateway at another host (a REST proxy, or the tests' fake).

    Both are class attributes in discord.py, so this is process-wide; one Discord client per process."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def escape(text: str) -> str:
    return discord.utils.escape_markdown(text)


def custom_id(owner: int | None, data: str) -> str:
    return f"hc:{owner or ''}:{data}"[:MAX_CUSTOM_ID]


# -- replies out --------------------------------------------------------------------------------


class Rendered(discord.ui.View):
    """Buttons to show, not a live view: presses reach CoachButton by custom_id, so nothing is kept in memory
    per message (a stored view per message would grow for months) and presses survive restarts."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False


def buttons_view(reply: Reply, owner: int | None) -> Rendered | None:
    if not reply.buttons:
        return None
    view = Rendered()
    for row_index, row in enumerate(reply.buttons[:5]):
        for button in row[:5]:
            style = discord.ButtonStyle.success if button.data.startswith("rd:") else discord.ButtonStyle.secondary
            view.add_item(
                discord.ui.Button(
                    label=button.label[:80], custom_id=custom_id(owner, button.data), style=style, row=row_index
                )
            )
    return view


@dataclass
class Outgoing:
    """One Discord message: text or an embed, and buttons."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    # One nonce per message for all its retries: Discord (enforce_nonce) answers a retry whose first try got
    # through but lost its answer with that message instead of posting it twice.
    nonce: int = field(default_factory=lambda: secrets.randbits(63))

    def kwargs(self) -> dict:
        out = {"content": self.content, "embed": self.embed, "view": self.view}
        if self.files:  # fresh File objects each time: discord.py consumes them when sending
            out["files"] = [discord.File(io.BytesIO(body), filename=name) for name, body in self.files]
        return out


def card_embed(text: str) -> discord.Embed | None:
    title, _, body = text.partition("\n")
    title, body = escape(title.strip()), escape(body.strip())
    if not title or len(title) > MAX_TITLE or len(body) > MAX_EMBED_TEXT:
        return None
    return discord.Embed(title=title, description=body or None, colour=EMBED_COLOUR)


def render(reply: Reply, owner: int | None) -> list[Outgoing]:
    """A core reply as Discord messages: a card as an embed, long text split below 2,000 characters,
    buttons on the last message."""
    view = buttons_view(reply, owner)
    files = [f for f in ((IMAGE_NAME, reply.image) if reply.image else None, reply.file) if f is not None]
    embed = card_embed(reply.text) if reply.card else None
    if embed is not None:
        if reply.image:
            embed.set_image(url=f"attachment://{IMAGE_NAME}")
        return [Outgoing(embed=embed, view=view, files=files)]
    parts = chunks.split_text(reply.text, MAX_TEXT, measure=lambda t: len(escape(t)))
    out = [Outgoing(content=escape(part)) for part in parts]
    out[-1].view = view
    out[-1].files = files
    return out


# -- updates in ---------------------------------------------------------------------------------


def strip_mention(content: str, bot_id: int) -> str:
    for form in (f"<@{bot_id}>", f"<@!{bot_id}>"):
        content = content.replace(form, " ")
    return " ".join(content.split())


def incoming_from_message(message: discord.Message, bot_user: discord.abc.User) -> Incoming | None:
    """Every DM goes to the coach; in servers only messages that mention the bot (no message-content intent)."""
    author = message.author
    if author.bot or message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    private = message.guild is None
    if not private and not any(user.id == bot_user.id for user in message.mentions):
        return None
    text = strip_mention(message.content or "", bot_user.id)
    return Incoming(
        platform=PLATFORM,
        user_id=str(author.id),
        chat_id=str(author.id),  # personal things (reminders) go to the person's DMs
        text=text,
        private=private,
        display_name=author.display_name or "",
        space=str(message.guild.id) if message.guild else "",
        channel=str(message.channel.id),
        organiser=is_organiser(author, getattr(message.channel, "permissions_for", None)),
        at=message.created_at,
    )


def incoming_from_interaction(
    interaction: discord.Interaction, command: str | None = None, args: str = "", button: str | None = None
) -> Incoming:
    user = interaction.user
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        chat_id=str(user.id),
        command=command,
        args=args,
        button=button,
        private=interaction.guild is None,
        display_name=user.display_name or "",
        space=str(interaction.guild_id or ""),
        channel=str(interaction.channel_id or ""),
        organiser=interaction.guild_id is not None
        and (interaction.permissions.manage_guild or has_organiser_role(user)),
        at=interaction.created_at,
    )


def has_organiser_role(member: discord.abc.User) -> bool:
    return any(role.name.lower() == ORGANISER_ROLE.lower() for role in getattr(member, "roles", ()))


def is_organiser(member: discord.abc.User, permissions_for) -> bool:
    """Manage Server, or the role a server gives its challenge organisers. Never in DMs."""
    if permissions_for is None or not isinstance(member, discord.Member):
        return False
    return permissions_for(member).manage_guild or has_organiser_role(member)


class CoachButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_TEMPLATE):
    """Any button the coach ever sent, rebuilt from its custom_id when pressed (also after a restart)."""

    def __init__(self, owner: str, data: str) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id(int(owner) if owner else None, data)))
        self.owner = int(owner) if owner else None
        self.data = data

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> CoachButton:
        return cls(match["owner"], match["data"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.adapter.on_button(interaction, self.owner, self.data)


# -- the client and the adapter -------------------------------------------------------------------


class HipClient(discord.Client):
    def __init__(self, adapter: DiscordAdapter, **options) -> None:
        super().__init__(**options)
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(hip_commands(adapter))
        self.tree.add_command(challenge_commands(adapter))
        self.tree.on_error = self.on_command_error

    async def on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """One log line (never the message text), and the person still gets an answer."""
        log.error("event=discord_command_error user=discord:%s error=%s", interaction.user.id, type(error).__name__)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(SOMETHING_WENT_WRONG, ephemeral=True)
        except discord.HTTPException:
            pass

    async def on_error(self, event: str, *args, **kwargs) -> None:
        log.exception("event=discord_error handler=%s", event)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CoachButton)
        await self.adapter.sync_commands()

    async def on_ready(self) -> None:
        self.adapter.ready.set()
        log.info("event=platform_started platform=discord bot_id=%s guilds=%d", self.user.id, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)


def intents() -> discord.Intents:
    """The minimum: guilds (for slash commands and channels) and messages in DMs and servers. No privileged
    intent: message content arrives anyway for DMs and for messages that mention the bot."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.dm_messages = True
    wanted.guild_messages = True
    return wanted


class DiscordSender:
    """The delivery port for reminders: a DM per reminder; outcomes mapped to sent / blocked / retry / failed."""

    def __init__(self, adapter: DiscordAdapter, rate_limit: float = 20.0) -> None:
        self.adapter = adapter
        # 20/s by default: well under Discord's 50 requests/s, as a first DM costs two requests (DISCORD_RATE_LIMIT)
        self.rate_per_second = math.inf if rate_limit <= 0 else rate_limit

    async def send(self, target: Target, replies: list[Reply], key: str | None = None) -> SendResult:
        client = self.adapter.client
        if client is None or not client.is_ready():
            return SendResult(UNAVAILABLE, error="not connected")
        try:
            if target.channel:  # a challenge post: everyone in the channel may press its buttons
                channel, owner = client.get_partial_messageable(int(target.chat_id)), None
            else:
                owner = int(target.chat_id)
                channel = await client.create_dm(discord.Object(id=owner))
            outs = [out for reply in replies for out in render(reply, owner)]
            for part, out in enumerate(outs):
                await channel.send(**out.kwargs(), nonce=delivery_nonce(key, part))
        except discord.HTTPException as exc:
            return outcome_of(exc)
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


class DiscordAdapter:
    platform = PLATFORM

    def __init__(
        self,
        coach: Coach,
        token: str,
        guild_id: int | None = None,
        api_base: str = DEFAULT_API_BASE,
        gateway: str = DEFAULT_GATEWAY,
        guild_ready_timeout: float = 2.0,
        defer_after: float = DEFER_AFTER,
        rate_limit: float = 20.0,
    ) -> None:
        self.coach = coach
        self._token = token
        self.guild_id = guild_id
        self.api_base, self.gateway = api_base, gateway
        self.guild_ready_timeout = guild_ready_timeout
        self.defer_after = defer_after
        self.client: HipClient | None = None
        self.sender = DiscordSender(self, rate_limit)
        self.ready = asyncio.Event()
        self.synced = False  # did the last start push command definitions to Discord?
        self._task: asyncio.Task | None = None
        self._turn_lock = TurnLocks()

    def __repr__(self) -> str:  # the token never reaches a log line through repr()
        return f"DiscordAdapter(guild_id={self.guild_id})"

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_ready() and not self.client.is_closed()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, sync commands if they changed, connect; returns when ready, raises if the start failed."""
        point_at(self.api_base, self.gateway)
        self.ready = asyncio.Event()
        self.client = HipClient(
            self,
            intents=intents(),
            guild_ready_timeout=self.guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),  # a quoted "@everyone" never pings anyone
            max_messages=None,  # no message cache: we never look messages up again (state is in custom_ids)
        )
        self._task = asyncio.create_task(self.client.start(self._token), name="discord-client")
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            self._task.result()  # raises what stopped the client (bad token, network down)
            raise ConnectionError("discord client stopped before it was ready")

    async def stop(self) -> None:
        client, task = self.client, self._task
        if client is not None and not client.is_closed():
            await client.close()
        if task is not None:
            try:
                await asyncio.wait_for(task, 10)
            except (Exception, asyncio.CancelledError) as exc:
                log.info("event=platform_stopped platform=discord error=%s", type(exc).__name__)

    async def sync_commands(self) -> None:
        """Push the command definitions only when they differ from what Discord has (sync is rate-limited)."""
        tree = self.client.tree
        guild = discord.Object(id=self.guild_id) if self.guild_id else None
        if guild is not None:
            tree.copy_global_to(guild=guild)
        local = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
        remote = [command.to_dict() for command in await tree.fetch_commands(guild=guild)]
        self.synced = command_signature(local) != command_signature(remote)
        if self.synced:
            await tree.sync(guild=guild)
        log.info(
            "event=commands_checked platform=discord scope=%s synced=%s", "guild" if guild else "global", self.synced
        )

    # -- updates in ----------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        client = self.client
        if client is None or client.user is None:
            return
        incoming = incoming_from_message(message, client.user)
        if incoming is None:
            return
        async with self._turn_lock(message.author.id):
            replies = await self.coach.handle(incoming)
            first = True
            for reply in replies:
                if reply.channel:
                    await self.post_in_channel(int(reply.channel), reply)
                    continue
                for out in render(reply, message.author.id):
                    if first and message.guild is not None:
                        await with_retries(
                            lambda out=out: message.reply(**out.kwargs(), nonce=out.nonce, mention_author=False)
                        )
                    else:
                        await with_retries(lambda out=out: message.channel.send(**out.kwargs(), nonce=out.nonce))
                    first = False

    async def post_in_channel(self, channel_id: int, reply: Reply) -> None:
        """A public post (a challenge kick-off or daily post): its buttons are for everyone in the channel."""
        channel = self.client.get_partial_messageable(channel_id)
        for out in render(reply, owner=None):
            await with_retries(lambda out=out: channel.send(**out.kwargs(), nonce=out.nonce))

    async def on_command(self, interaction: discord.Interaction, command: str, args: str = "") -> None:
        incoming = incoming_from_interaction(interaction, command=command, args=args.strip())
        await self._answer(interaction, incoming)

    async def on_button(self, interaction: discord.Interaction, owner: int | None, data: str) -> None:
        if owner is not None and owner != interaction.user.id:
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        incoming = incoming_from_interaction(interaction, button=data)
        await self._answer(interaction, incoming, Press.OWN if owner is not None else Press.SHARED)

    async def _answer(self, interaction: discord.Interaction, incoming: Incoming, press: Press | None = None) -> None:
        """Answer within Discord's 3 s: straight away when the core is quick, else defer and follow up.

        Commands and presses on shared posts (a challenge's Done button) answer privately in servers, so a
        channel is not flooded with everyone's confirmations; a person's own buttons answer where they are."""
        in_server = interaction.guild is not None
        ephemeral = _is_ephemeral(interaction) or (in_server and press is not Press.OWN)
        user_id = interaction.user.id

        async def turn() -> list[Reply]:
            async with self._turn_lock(user_id):
                return await self.coach.handle(incoming)

        work = asyncio.ensure_future(turn())
        done, _ = await asyncio.wait({work}, timeout=self.defer_after)
        if not done:
            if press is Press.OWN:
                await interaction.response.defer()  # "thinking" on the button, the message stays
            else:
                await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            log.info("event=interaction_deferred platform=discord user=%s", incoming.user_key)
        replies = await work
        await self._deliver(interaction, replies, ephemeral=ephemeral, press=press)

    async def _deliver(
        self, interaction: discord.Interaction, replies: list[Reply], ephemeral: bool, press: Press | None
    ) -> None:
        owner = interaction.user.id
        response = interaction.response
        # after a "thinking..." deferral there is a placeholder message to fill first
        original_pending = response.is_done() and press is not Press.OWN
        posted = []
        for reply in replies:
            if reply.channel:
                await self.post_in_channel(int(reply.channel), reply)
                posted.append(reply.channel)
                continue
            edit = press is Press.OWN and reply.edit  # a shared post is never rewritten for one person
            for out in render(reply, owner):
                if edit and not response.is_done():
                    await with_retries(lambda out=out: response.edit_message(**out.kwargs()))
                elif edit:
                    await with_retries(lambda out=out: interaction.edit_original_response(**out.kwargs()))
                elif not response.is_done():
                    await with_retries(lambda out=out: response.send_message(**_sendable(out), ephemeral=ephemeral))
                elif original_pending:
                    await with_retries(lambda out=out: interaction.edit_original_response(**out.kwargs()))
                    original_pending = False
                else:
                    await with_retries(lambda out=out: interaction.followup.send(**_sendable(out), ephemeral=ephemeral))
                edit = False  # a split reply: the rest follow as new messages
        # every interaction gets an answer, even when the core had nothing to say to the person
        quiet = POSTED.format(channel=posted[0]) if posted else TOO_FAST
        if not response.is_done():
            if press is Press.OWN and not posted:
                await response.defer()  # acknowledge the press silently
            else:
                await response.send_message(quiet, ephemeral=True)
        elif original_pending:
            await interaction.edit_original_response(content=quiet)


class Press(enum.Enum):
    OWN = "own"  # a button on an answer to this person
    SHARED = "shared"  # a button on a public post, for everyone in the channel


def _sendable(out: Outgoing) -> dict:
    """send_message / followup.send reject None for embed and view; leave them out instead."""
    return {k: v for k, v in out.kwargs().items() if v is not None}


def _is_ephemeral(interaction: discord.Interaction) -> bool:
    """A button on an ephemeral message answers ephemerally too (its owner is the only one who sees it)."""
    message = interaction.message
    return message is not None and message.flags.ephemeral
