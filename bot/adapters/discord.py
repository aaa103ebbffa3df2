"""Discord adapter: translates discord.py interactions and messages to core messages and core replies back.

No coaching logic lives here. The app runs the client in its single asyncio loop, beside Telegram and the
scheduler, in two halves (bot/roles.py): `start_sending` logs the HTTP client in (every process: reminders and
challenge posts go out through the REST API) and `start_receiving` connects the gateway, which only the process
elected "discord-gateway" does (DMs arrive on one session, shard 0). Slash commands (`/hip`, `/challenge`)
are generated from the command catalogue (discord_commands.py); replies go out through discord_replies.py.
Buttons carry their whole state in the custom_id (`hc:<owner>:<core button data>`) and are handled by a
DynamicItem registered on the client, so a button keeps working after a restart without any per-message view.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bot.adapters.discord_commands import command_groups, command_signature
from bot.adapters.discord_render import (  # noqa: F401 (rendering and its limits: importable from the adapter)
    MAX_CUSTOM_ID,
    MAX_EMBED_TEXT,
    MAX_TEXT,
    MAX_TITLE,
    custom_id,
    render,
)
from bot.adapters.discord_replies import (
    PLATFORM,
    DiscordSender,
    InChat,
    InInteraction,
    Press,
    is_ephemeral,
    with_retries,
)
from bot.adapters.platform import deliver
from bot.adapters.texts import AdapterTexts
from bot.adapters.turn_locks import TurnLocks
from bot.core.coach import Coach
from bot.core.commands import Catalogue, Slash, load_commands
from bot.core.messages import Incoming, Reply
from bot.roles import DISCORD_GATEWAY, Role
from bot.storage.rate_limits import RateStore

log = logging.getLogger(__name__)
# discord.py warns at every start that voice needs extra packages; a coach never speaks.
logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT be supported" not in record.getMessage())

# Discord wants an interaction answered within 3 s; past this the answer is deferred and sent as a follow-up.
DEFER_AFTER = 1.5
DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY = "wss://gateway.discord.gg/"
CUSTOM_ID_TEMPLATE = r"hc:(?P<owner>[0-9]*):(?P<data>.+)"
# Members with this role may organise challenges without Manage Server (a server creates the role itself).
ORGANISER_ROLE = "Challenge Organiser"


def point_at(api_base: str, gateway: str) -> None:
    """Aim discord.py's REST client and gateway at another host (a REST proxy, or the tests' fake).

    Both are class attributes in discord.py, so this is process-wide; one Discord client per process."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


# -- updates in ---------------------------------------------------------------------------------


def strip_mention(content: str, bot_id: int) -> str:
    for form in (f"<@{bot_id}>", f"<@!{bot_id}>"):
        content = content.replace(form, " ")
    return " ".join(content.split())


def incoming(
    user: discord.abc.User, private: bool, guild_id: int | None, channel_id: int | None, at, organiser: bool, **what
) -> Incoming:
    """The one Discord -> core translation: personal things (reminders) go to the person's DMs."""
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        chat_id=str(user.id),
        private=private,
        display_name=user.display_name or "",
        space=str(guild_id or ""),
        channel=str(channel_id or ""),
        organiser=organiser,
        at=at,
        **what,
    )


def incoming_from_message(message: discord.Message, bot_user: discord.abc.User) -> Incoming | None:
    """Every DM goes to the coach; in servers only messages that mention the bot (no message-content intent)."""
    author = message.author
    if author.bot or message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    if message.guild is not None and not any(user.id == bot_user.id for user in message.mentions):
        return None
    organiser = is_organiser(author, getattr(message.channel, "permissions_for", None))
    guild_id = message.guild.id if message.guild else None
    text = strip_mention(message.content or "", bot_user.id)
    return incoming(author, guild_id is None, guild_id, message.channel.id, message.created_at, organiser, text=text)


def incoming_from_interaction(interaction: discord.Interaction, **what) -> Incoming:
    user = interaction.user
    organiser = interaction.guild_id is not None and (interaction.permissions.manage_guild or has_organiser_role(user))
    private = interaction.guild is None
    return incoming(
        user, private, interaction.guild_id, interaction.channel_id, interaction.created_at, organiser, **what
    )


def slash_incoming(interaction: discord.Interaction, slash: Slash, values: Mapping[str, object]) -> Incoming:
    """A slash command with its typed options (a channel as its id, the current one when left empty)."""
    values = dict(values)
    for option in slash.options:
        if option.type == "channel":
            channel = values.get(option.name)
            values[option.name] = str(channel.id if channel else interaction.channel_id)
    options = slash.typed(values)
    return incoming_from_interaction(interaction, command=slash.command, args=slash.text_args(values), options=options)


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
        for group in command_groups(adapter.commands, adapter.on_slash, adapter.coach.choices):
            self.tree.add_command(group)
        self.tree.on_error = self.on_command_error

    async def on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """One log line (never the message text), and the person still gets an answer."""
        log.error("event=discord_command_error user=discord:%s error=%s", interaction.user.id, type(error).__name__)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(self.adapter.texts.something_went_wrong, ephemeral=True)
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


class DiscordAdapter:
    """The Discord platform: a discord.py client in the app's loop, slash commands from the catalogue."""

    name = PLATFORM

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
        commands: Catalogue | None = None,
        texts: AdapterTexts | None = None,
        rate_store: RateStore | None = None,  # PostgreSQL: one rate for all processes (bot/storage/rate_limits.py)
        turn_lock: Callable[[str], AbstractAsyncContextManager] | None = None,
    ) -> None:
        self.coach = coach
        self._token = token
        self.role: Role | None = DISCORD_GATEWAY  # one gateway session per bot: one elected process
        self.guild_id = guild_id
        self.api_base, self.gateway = api_base, gateway
        self.guild_ready_timeout = guild_ready_timeout
        self.defer_after = defer_after
        self.commands = commands or load_commands()
        self.texts = texts or AdapterTexts.default()
        self.client: HipClient | None = None
        self.sender = DiscordSender(self, rate_limit, rate_store)
        self.ready = asyncio.Event()
        self.synced = False  # did the last start push command definitions to Discord?
        self._task: asyncio.Task | None = None
        self._logged_in = False
        # One person's turns in order: across processes when the app passes the repository's lock.
        self._turn_lock = TurnLocks(turn_lock)

    def __repr__(self) -> str:  # the token never reaches a log line through repr()
        return f"DiscordAdapter(guild_id={self.guild_id})"

    @property
    def connected(self) -> bool:
        """Can send: the HTTP client is logged in (the gateway is not needed for REST calls)."""
        client = self.client
        return client is not None and self._logged_in and not client.is_closed()

    @property
    def receiving(self) -> bool:
        """The gateway session is up (this process is the elected one, or alone)."""
        return self.client is not None and self.client.is_ready() and not self.client.is_closed()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, sync commands if they changed, connect; returns when ready, raises if the start failed."""
        await self.start_sending()
        await self.start_receiving()

    async def start_sending(self) -> None:
        """Log the HTTP client in (and sync commands if they changed): enough to send through the REST API."""
        point_at(self.api_base, self.gateway)
        self.ready = asyncio.Event()
        self._logged_in = False
        self.client = HipClient(
            self,
            intents=intents(),
            guild_ready_timeout=self.guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),  # a quoted "@everyone" never pings anyone
            max_messages=None,  # no message cache: we never look messages up again (state is in custom_ids)
        )
        await self.client.login(self._token)  # also runs setup_hook: buttons, command sync
        self._logged_in = True
        log.info("event=platform_sending platform=discord bot_id=%s", self.client.user.id)

    async def start_receiving(self) -> None:
        """Connect the gateway; returns when ready, raises if the connection failed."""
        if self.client is None or self.client.is_closed():
            await self.start_sending()
        if self.receiving:
            return
        self.ready = asyncio.Event()
        self._task = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            self._task.result()  # raises what stopped the client (bad token, network down)
            raise ConnectionError("discord client stopped before it was ready")

    async def stop_receiving(self) -> None:
        """Hand the gateway over. discord.py closes its HTTP session with the gateway, so a fresh client logs
        in again for sending."""
        if self._task is None:
            return
        await self.stop()
        self._task = None
        await self.start_sending()

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
        async with self._turn_lock(incoming.user_key):
            replies = await self.coach.handle(incoming)
            await deliver(replies, InChat(self, message))

    async def post_in_channel(self, channel_id: int, reply: Reply) -> None:
        """A public post (a challenge kick-off or daily post): its buttons are for everyone in the channel."""
        channel = self.client.get_partial_messageable(channel_id)
        for out in render(reply, owner=None):
            await with_retries(lambda out=out: channel.send(**out.kwargs(), nonce=out.nonce))

    async def on_slash(self, interaction: discord.Interaction, slash: Slash, values: Mapping[str, object]) -> None:
        await self._answer(interaction, slash_incoming(interaction, slash, values))

    async def on_button(self, interaction: discord.Interaction, owner: int | None, data: str) -> None:
        if owner is not None and owner != interaction.user.id:
            await interaction.response.send_message(self.texts.not_yours, ephemeral=True)
            return
        incoming = incoming_from_interaction(interaction, button=data)
        await self._answer(interaction, incoming, Press.OWN if owner is not None else Press.SHARED)

    async def _answer(self, interaction: discord.Interaction, incoming: Incoming, press: Press | None = None) -> None:
        """Answer within Discord's 3 s: straight away when the core is quick, else defer and follow up.

        Commands and presses on shared posts (a challenge's Done button) answer privately in servers, so a
        channel is not flooded with everyone's confirmations; a person's own buttons answer where they are."""
        in_server = interaction.guild is not None
        ephemeral = is_ephemeral(interaction) or (in_server and press is not Press.OWN)

        async def turn() -> list[Reply]:
            async with self._turn_lock(incoming.user_key):
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
        to = InInteraction(self, interaction, ephemeral, press)
        posted = await deliver(replies, to)
        await to.acknowledge(posted)
