"""A fake Discord (gateway over WebSocket + REST API v10) for end-to-end tests with the real discord.py.

The fake listens on 127.0.0.1 (ephemeral port) and never connects anywhere. Point discord.py at it with::

    discord.http.Route.BASE = fake.api_base                                        # http://127.0.0.1:PORT/api/v10
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)  # ws://127.0.0.1:PORT/gateway
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
    task = asyncio.create_task(client.start(fake.token))
    await fake.wait_ready()

What it models (and what discord.py 2.7 relies on):

* Gateway: HELLO (op 10), HEARTBEAT -> HEARTBEAT_ACK, IDENTIFY -> READY + one GUILD_CREATE per guild (+ events
  that were dispatched while no session existed), RESUME -> replay of missed events + RESUMED, REQUEST_GUILD_MEMBERS
  -> GUILD_MEMBERS_CHUNK. Frames are uncompressed JSON TEXT frames (discord.py accepts them although it asks for
  ``compress=zlib-stream``; set ``gateway_compression = True`` for real zlib-stream BINARY frames). Events honour
  the IDENTIFY intents: guild messages need GUILD_MESSAGES, DMs need DIRECT_MESSAGES, and without the privileged
  MESSAGE_CONTENT intent a guild message that does not mention the bot arrives with empty content (as on Discord).
  Without GUILD_MEMBERS only the bot's own member is in GUILD_CREATE. A client closing with 1000/1001 ends its
  session (like Discord; discord.py's ``client.close()`` usually closes with 4000, which keeps it);
  ``disconnect()`` closes from the server side with a resumable code.
* REST: every request is recorded in ``calls``; answers are JSON with ``Content-Type: application/json`` exactly
  (discord.py compares the header verbatim and treats anything else as text). Errors look like Discord's:
  ``{"message": ..., "code": ...}`` (+ ``errors`` for 50035 Invalid Form Body). Success answers carry
  X-RateLimit-* headers with plenty of room. A 429 carries ``Via`` (discord.py treats a 429 without it as a
  Cloudflare ban and raises instead of retrying) and the body's ``retry_after`` is what discord.py sleeps.
  discord.py retries 500/502/504 by itself after sleeping 1 s, 3 s, 5 s, 7 s (5 tries): an injected 500 costs
  the test seconds; inject 503 for a server error that surfaces at once (DiscordServerError).
* Interactions: INTERACTION_CREATE payloads with everything discord.py 2.7 reads. Callbacks come with
  ``?with_response=1`` and discord.py needs an InteractionCallbackResponse body (``interaction`` + ``resource``);
  ``response_message_id`` is what discord.py stores a view under. A callback later than ``interaction_deadline``
  seconds (3 s like Discord) answers 404 10062 Unknown interaction; a second callback answers 400 40060.
  After a deferred (type 5) answer, the first followup *replaces* the loading message (it keeps the defer's
  ephemeral flag, as on Discord); ``PATCH .../messages/@original`` does the same.
* Application commands: PUT/GET/POST/PATCH/DELETE global and guild commands, validated like Discord (names,
  descriptions, option order, choices) and answered with stable ids. ``slash()`` uses the synced definition (ids,
  option types, data.guild_id for guild commands) and refuses what a real user could not invoke.

Messages the bot creates are kept as records (plain dicts, updated in place by edits) in ``messages``; see
``_create`` for the keys. Non-ephemeral bot messages are echoed back over the gateway as MESSAGE_CREATE /
MESSAGE_UPDATE, as Discord does (``echo_bot_messages``), so a bot that does not ignore itself will notice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import fnmatch
import hashlib
import json
import logging
import math
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
API_VERSION = 10
API_PREFIX = f"/api/v{API_VERSION}"
DISCORD_EPOCH_MS = 1_420_070_400_000

APPLICATION_ID = 1_180_000_000_000_000_001
BOT_USER_ID = 1_180_000_000_000_000_002
BOT_USERNAME = "HipCoach"
OWNER_USER_ID = 1000
USER_ID = 1001
OTHER_USER_ID = 1002
DEFAULT_USERS = {OWNER_USER_ID: "olive", USER_ID: "alex", OTHER_USER_ID: "sam"}
GUILD_ID = 1_190_000_000_000_000_001
OTHER_GUILD_ID = 1_190_000_000_000_000_002
CHANNEL_ID = 1_190_000_000_000_000_011  # the text channel of GUILD_ID
OTHER_CHANNEL_ID = 1_190_000_000_000_000_012  # the text channel of OTHER_GUILD_ID
DM_CHANNEL_BASE = 1_195_000_000_000_000_000  # a user's DM channel id is DM_CHANNEL_BASE + user id
NONCE_WINDOW = 300.0  # seconds an enforced nonce is remembered ("the past few minutes" in Discord's docs)

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents)
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = MEMBER_PERMISSIONS  # what the bot's managed role grants
DM_APP_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
)

# Message flags
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15

# Interaction and callback types
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
_ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE},
}

NON_RESUMABLE_CLOSE_CODES = frozenset({4004, 4010, 4011, 4012, 4013, 4014})
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
JOINED_AT = "2025-01-06T10:00:00.000000+00:00"
MAX_CONTENT = 2000

DEFAULT_MESSAGES = {
    400: "400: Bad Request",
    401: "401: Unauthorized",
    403: "403: Forbidden",
    404: "404: Not Found",
    405: "405: Method Not Allowed",
    429: "You are being rate limited.",
    500: "500: Internal Server Error",
    502: "502: Bad Gateway",
    503: "503: Service Unavailable",
    504: "504: Gateway Timeout",
}


# -- records -------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One REST request to the fake. path is below /api/v10 (e.g. "/channels/123/messages"); json is the decoded
    body (payload_json for multipart requests), None without one; query holds the query string."""

    method: str
    path: str
    json: Any
    query: dict[str, str]
    status: int = 0  # the HTTP status the fake answered with
    at: float = 0.0  # time.monotonic()
    files: list[dict] = field(default_factory=list)  # multipart uploads: {"field", "filename", "content_type", "data"}

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int = 0,
        message: str = "",
        *,
        errors: dict | None = None,
        body: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or DEFAULT_MESSAGES.get(status, f"{status}"))
        self.status = status
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(status, f"{status}")
        self.errors = errors
        self.body = body
        self.headers = headers or {}


def _form_error(path: list[str | int], code: str, message: str) -> ApiError:
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return ApiError(400, 50035, "Invalid Form Body", errors=errors)


def _unknown_channel() -> ApiError:
    return ApiError(404, 10003, "Unknown Channel")


def _unknown_message() -> ApiError:
    return ApiError(404, 10008, "Unknown Message")


def _unknown_interaction() -> ApiError:
    return ApiError(404, 10062, "Unknown interaction")


def _unknown_webhook() -> ApiError:
    return ApiError(404, 10015, "Unknown Webhook")


@dataclass
class _Injection:
    pattern: Any  # str (fnmatch or regex) or re.Pattern
    kind: str  # "fail" | "hang" | "drop" | "lose"
    remaining: int
    status: int = 0
    code: int = 0
    message: str = ""
    retry_after: float | None = None
    seconds: float = 0.0


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    created: float
    name: str = ""
    responded: int | None = None  # callback type
    original_id: int | None = None  # the message @original refers to
    placeholder_id: int | None = None  # a deferred "thinking" message not filled yet
    component_message_id: int | None = None
    modal: dict | None = None  # the modal the bot answered with (callback type 9)
    followup_ids: list[int] = field(default_factory=list)


@dataclass(eq=False)
class _Session:
    id: str
    intents: int
    shard: list | None = None
    events: list[dict] = field(default_factory=list)  # every dispatch with its "s" (s == index + 1)
    conn: _Connection | None = None
    ready_upto: int = 0  # len(events) right after READY + GUILD_CREATEs
    ready_sent: bool = False

    @property
    def seq(self) -> int:
        return len(self.events)


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    query: dict[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    session: _Session | None = None
    cursor: int = 0
    send_resumed: bool = False
    sender: asyncio.Task | None = None
    closed_by_fake: bool = False
    compressor: Any = None


def _token_for(user_id: int) -> str:
    head = base64.b64encode(str(user_id).encode()).decode().rstrip("=")
    return f"{head}.GfAkE0.FaKe-t0ken_for-local-tests-0nly_xyzQ"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _walk_components(components: Any):
    """Every component dict in a (possibly nested, components v2) component list."""
    if not isinstance(components, list):
        return
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk_components(component.get("components"))
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                yield from _walk_components([component[key]])


# -- the server ----------------------------------------------------------------------------------------------


class FakeDiscord:
    """An in-process Discord gateway + REST API on 127.0.0.1 with inspectable state and failure injection."""

    GUILD_ID = GUILD_ID
    OTHER_GUILD_ID = OTHER_GUILD_ID
    USER_ID = USER_ID
    OTHER_USER_ID = OTHER_USER_ID

    def __init__(
        self,
        *,
        application_id: int = APPLICATION_ID,
        bot_user_id: int = BOT_USER_ID,
        bot_username: str = BOT_USERNAME,
    ) -> None:
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.bot_username = bot_username
        self.token = _token_for(bot_user_id)

        # knobs
        self.heartbeat_interval_ms = 41_250
        self.interaction_deadline = 3.0  # seconds to the first callback, as on Discord
        self.gateway_compression = False  # True: zlib-stream BINARY frames when the client asks for them
        self.echo_bot_messages = True  # MESSAGE_CREATE/UPDATE for the bot's own non-ephemeral messages
        self.allowed_privileged_intents = PRIVILEGED_INTENTS  # "enabled in the developer portal"

        # recordings
        self.calls: list[Call] = []
        self.messages: list[dict] = []  # bot-created messages (live records, updated by edits)
        self.edits: list[dict] = []
        self.deleted: list[dict] = []
        self.interaction_responses: list[dict] = []  # {interaction_id, type, data}
        self.user_messages: list[dict] = []  # what the fake users said (user_message)
        self.reactions: list[dict] = []  # {channel_id, message_id, emoji, added}
        self.typing: list[int] = []  # channel ids the bot triggered typing in
        self.command_syncs: list[int | None] = []  # one entry per bulk PUT: the guild id, None for global
        self.presences: list[dict] = []  # op 3 payloads
        self.gateway_received: list[dict] = []  # every gateway payload from the client (tokens masked)
        self.dispatched: list[tuple[str, int]] = []  # (event name, s) in the order they were queued
        self.dropped_events: list[tuple[str, str]] = []  # (event name, why) not delivered (intents)
        self.internal_errors: list[str] = []  # bugs in the fake itself
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.gateway_connection_count = 0

        # model
        self._last_snowflake = 0
        self._users: dict[int, dict] = {}
        for user_id, name in DEFAULT_USERS.items():
            self.add_user(user_id, name)
        self._guilds: dict[int, dict] = {}
        self._channels: dict[int, dict] = {}
        self._add_guild(GUILD_ID, "Hip Coach Test Server", CHANNEL_ID, "general")
        self._add_guild(OTHER_GUILD_ID, "Other Test Server", OTHER_CHANNEL_ID, "hip-talk")
        self._bot: dict[int, dict] = {}  # bot message records by id (including unfilled deferred placeholders)
        self._user_wire: dict[int, dict] = {}  # user messages as Discord would deliver them
        self._files: dict[int, tuple[str, str, bytes]] = {}  # attachment id -> filename, content type, data
        self._interactions: dict[int, _Interaction] = {}
        self._tokens: dict[str, int] = {}
        self._commands: dict[int | None, list[dict]] = {}
        self._command_ids: dict[tuple, int] = {}
        self._closed_dms: set[int] = set()
        self._deleted_channels: set[int] = set()
        self._revoked: set[int] = set()
        self._injections: list[_Injection] = []
        self._nonces: dict[str, tuple[int, float]] = {}  # enforced nonce -> (message id, monotonic time created)
        self.nonce_replays = 0  # creates answered with the earlier message because their nonce was seen

        # gateway
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None
        self._session_counter = 0
        self._pending: list[tuple] = []  # dispatched while no session existed
        self._connections: set[_Connection] = set()

        self._closing = False
        self._wakeup = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.middlewares: list = []  # aiohttp middlewares around every request (tests/fakes/limited_servers.py)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (any free port, or the given one: a platform coming back where it was)."""
        self._wakeup = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=self.middlewares)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        for conn in list(self._connections):
            conn.closed_by_fake = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake stopping"), 1.0)
            await self._stop_sender(conn)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://{HOST}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{HOST}:{self.port}/gateway"

    # -- the world -------------------------------------------------------------------------------------------

    def add_user(self, user_id: int, username: str, *, bot: bool = False) -> dict:
        """Register (or rename) a user; they become a member of every guild."""
        user = {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": username.capitalize(),
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        self._users[user_id] = user
        for guild in getattr(self, "_guilds", {}).values():
            if user_id not in guild["members"] and user_id != OWNER_USER_ID:
                guild["members"].append(user_id)
        return copy.deepcopy(user)

    def _add_guild(self, guild_id: int, name: str, channel_id: int, channel_name: str) -> None:
        self._guilds[guild_id] = {
            "id": guild_id,
            "name": name,
            "channel_id": channel_id,
            "bot_role_id": guild_id + 100,
            "members": [uid for uid in self._users if uid != OWNER_USER_ID],
        }
        self._channels[channel_id] = {
            "id": channel_id,
            "type": 0,
            "guild_id": guild_id,
            "name": channel_name,
            "position": 0,
            "topic": None,
            "overwrites": [],
        }

    @property
    def guild_ids(self) -> list[int]:
        return list(self._guilds)

    def channel_id(self, guild_id: int) -> int:
        """The text channel of a guild."""
        try:
            return self._guilds[guild_id]["channel_id"]
        except KeyError:
            raise ValueError(f"FakeDiscord: unknown guild {guild_id}; known: {list(self._guilds)}") from None

    def dm_channel_id(self, user_id: int) -> int:
        """The (stable) DM channel between the bot and a user."""
        channel_id = DM_CHANNEL_BASE + user_id
        if channel_id not in self._channels:
            self._channels[channel_id] = {"id": channel_id, "type": 1, "recipient_id": user_id}
        return channel_id

    def _bot_user(self, *, me: bool = False) -> dict:
        user = {
            "id": str(self.bot_user_id),
            "username": self.bot_username,
            "discriminator": "4242",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        if me:
            user.update(verified=True, mfa_enabled=False, email=None, locale="en-US", premium_type=0)
        return user

    def _user(self, user_id: int) -> dict:
        if user_id == self.bot_user_id:
            return self._bot_user()
        return copy.deepcopy(self._users[user_id])

    def _ensure_user(self, user_id: int, username: str | None) -> dict:
        if user_id not in self._users:
            self.add_user(user_id, username or f"user{user_id}")
        user = self._user(user_id)
        if username:
            user["username"] = username
            user["global_name"] = username.capitalize()
        return user

    def _member(self, guild_id: int, user_id: int, *, with_user: bool = True, permissions: int | None = None) -> dict:
        guild = self._guilds[guild_id]
        roles = [str(guild["bot_role_id"])] if user_id == self.bot_user_id else []
        member: dict[str, Any] = {
            "roles": roles,
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": JOINED_AT,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        if with_user:
            member["user"] = self._user(user_id)
        if permissions is not None:
            member["permissions"] = str(permissions)
        return member

    def _roles(self, guild_id: int) -> list[dict]:
        guild = self._guilds[guild_id]

        def role(role_id: int, name: str, permissions: int, position: int, **extra: Any) -> dict:
            return {
                "id": str(role_id),
                "name": name,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "icon": None,
                "unicode_emoji": None,
                "position": position,
                "permissions": str(permissions),
                "managed": False,
                "mentionable": False,
                "flags": 0,
                **extra,
            }

        return [
            role(guild_id, "@everyone", MEMBER_PERMISSIONS, 0),
            role(
                guild["bot_role_id"],
                self.bot_username,
                BOT_PERMISSIONS,
                1,
                managed=True,
                tags={"bot_id": str(self.bot_user_id)},
            ),
        ]

    def _channel(self, channel_id: int) -> dict:
        channel = self._channels[channel_id]
        if channel["type"] == 1:
            return {
                "id": str(channel_id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self._user(channel["recipient_id"])],
            }
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(channel["guild_id"]),
            "name": channel["name"],
            "position": channel["position"],
            "permission_overwrites": copy.deepcopy(channel["overwrites"]),
            "nsfw": False,
            "parent_id": None,
            "topic": channel["topic"],
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def _guild(self, guild_id: int, intents: int = 0, *, create: bool = False) -> dict:
        guild = self._guilds[guild_id]
        everyone = [uid for uid in guild["members"]] + [self.bot_user_id]
        payload: dict[str, Any] = {
            "id": str(guild_id),
            "name": guild["name"],
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(OWNER_USER_ID),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "nsfw": False,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "roles": self._roles(guild_id),
            "emojis": [],
            "stickers": [],
            "system_channel_id": str(guild["channel_id"]),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "widget_enabled": False,
            "hub_type": None,
            "incidents_data": None,
        }
        if create:
            shown = everyone if intents & INTENT_GUILD_MEMBERS else [self.bot_user_id]
            channels = []
            for channel_id, channel in self._channels.items():
                if channel.get("guild_id") == guild_id and channel_id not in self._deleted_channels:
                    wire = self._channel(channel_id)
                    wire.pop("guild_id")  # GUILD_CREATE channels come without it
                    channels.append(wire)
            payload.update(
                joined_at=JOINED_AT,
                large=False,
                unavailable=False,
                lazy=True,
                member_count=len(everyone),
                members=[self._member(guild_id, uid) for uid in shown],
                channels=channels,
                threads=[],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
                embedded_activities=[],
            )
        return payload

    def _bot_permissions(self, channel_id: int) -> int:
        channel = self._channels.get(channel_id)
        if channel is None or channel["type"] == 1:
            return DM_APP_PERMISSIONS
        permissions = MEMBER_PERMISSIONS | BOT_PERMISSIONS
        if channel_id in self._revoked:
            permissions &= ~SEND_MESSAGES
        return permissions

    def _snowflake(self) -> int:
        value = max((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22, self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    # -- inspection ------------------------------------------------------------------------------------------

    def sent_to_user(self, user_id: int) -> list[dict]:
        """The bot's messages in the DM channel with that user (deleted ones included, marked deleted)."""
        return [m for m in self.messages if m["dm_user_id"] == user_id]

    def sent_in(self, channel_id: int) -> list[dict]:
        return [m for m in self.messages if m["channel_id"] == channel_id]

    def message(self, message_id: int) -> dict | None:
        """The current state (after edits) of a bot message record, else of a user message record."""
        found = self._bot.get(message_id)
        if found is not None and not found["pending"]:
            return copy.deepcopy(found)
        for record in self.user_messages:
            if record["id"] == message_id:
                return copy.deepcopy(record)
        return None

    def responses_to(self, interaction_id: int) -> list[dict]:
        """Messages created for an interaction: callback type 4, a deferred answer once filled, followups."""
        return [m for m in self.messages if m["interaction_id"] == interaction_id]

    def response_types(self, interaction_id: int) -> list[int]:
        return [r["type"] for r in self.interaction_responses if r["interaction_id"] == interaction_id]

    def choices(self, interaction_id: int) -> list[dict] | None:
        """The autocomplete choices the bot answered an autocomplete interaction with (None: no answer yet)."""
        for response in self.interaction_responses:
            if response["interaction_id"] == interaction_id and response["type"] == AUTOCOMPLETE_RESULT:
                return copy.deepcopy(response["data"].get("choices", []))
        return None

    def commands(self, guild_id: int | None = None) -> list[dict]:
        """The application commands as synced (global when guild_id is None)."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    def calls_to(self, pattern: Any) -> list[Call]:
        """Calls whose "METHOD /path" matches (fnmatch or regex; a pattern starting with "/" ignores the method)."""
        return [c for c in self.calls if self._matches(pattern, c)]

    @property
    def is_ready(self) -> bool:
        return self._session is not None and self._session.ready_sent

    @property
    def identified_intents(self) -> int | None:
        return self._session.intents if self._session is not None else None

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.conn is not None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(self._explain(what or getattr(predicate, "__name__", "condition"), timeout))
            await asyncio.sleep(0.005)

    async def wait_messages(self, count: int, timeout: float = 5.0) -> list[dict]:
        await self.wait_for(lambda: len(self.messages) >= count, timeout, f"at least {count} bot message(s)")
        return list(self.messages)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Until the bot identified and the fake wrote READY and every GUILD_CREATE to its socket."""
        await self.wait_for(lambda: self.is_ready, timeout, "the bot to IDENTIFY and get READY + GUILD_CREATEs")

    async def wait_calls(self, pattern: Any, count: int = 1, timeout: float = 5.0) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_to(pattern)) >= count, timeout, f"{count} call(s) to {pattern}")
        return self.calls_to(pattern)

    async def wait_response(self, interaction_id: int, timeout: float = 5.0) -> dict:
        """Until the bot answered the interaction (any callback type); returns {interaction_id, type, data}."""

        def answered() -> dict | None:
            return next((r for r in self.interaction_responses if r["interaction_id"] == interaction_id), None)

        await self.wait_for(answered, timeout, f"a callback for interaction {interaction_id}")
        return answered()  # type: ignore[return-value]

    async def wait_choices(self, interaction_id: int, timeout: float = 5.0) -> list[dict]:
        await self.wait_for(lambda: self.choices(interaction_id) is not None, timeout, "autocomplete choices")
        return self.choices(interaction_id) or []

    def _explain(self, what: str, timeout: float) -> str:
        lines = [f"FakeDiscord: timed out after {timeout}s waiting for {what}."]
        session = self._session
        if session is None:
            lines.append(f"gateway: no session (identifies={self.identify_count}, pending events={len(self._pending)})")
        else:
            sent = session.conn.cursor if session.conn else "-"
            lines.append(
                f"gateway: session {session.id} intents={session.intents} events={session.seq} sent={sent} "
                f"connected={session.conn is not None} ready_sent={session.ready_sent} "
                f"identifies={self.identify_count} resumes={self.resume_count}"
            )
        if self.dropped_events:
            lines.append(f"dropped events: {self.dropped_events[-5:]}")
        lines.append(f"{len(self.calls)} REST call(s); the last ones:")
        for call in self.calls[-12:]:
            body = json.dumps(call.json, default=str)[:200] if call.json is not None else ""
            lines.append(f"  {call.status} {call.route} {body}")
        lines.append(f"bot messages: {len(self.messages)}")
        for message in self.messages[-5:]:
            lines.append(f"  -> channel {message['channel_id']} via {message['via']}: {message['content'][:100]!r}")
        if self.interaction_responses:
            lines.append(
                f"interaction callbacks: {[(r['interaction_id'], r['type']) for r in self.interaction_responses[-5:]]}"
            )
        if self.internal_errors:
            lines.append(f"errors inside the fake: {self.internal_errors[-3:]}")
        return "\n".join(lines)

    # -- what users do ---------------------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict, *, intent: int | None = None) -> None:
        """Send a raw gateway event (queued for the next session if none exists)."""
        self._dispatch(event, data, intent=intent)

    def _where(self, user_id: int, guild_id: int | None, channel_id: int | None) -> tuple[int | None, int]:
        if guild_id is None and channel_id is not None and self._channels.get(channel_id, {}).get("guild_id"):
            guild_id = self._channels[channel_id]["guild_id"]
        if guild_id is None:
            dm = self.dm_channel_id(user_id)
            if channel_id is not None and channel_id != dm:
                raise ValueError(f"FakeDiscord: channel {channel_id} is not the DM channel of user {user_id} ({dm})")
            return None, dm
        if guild_id not in self._guilds:
            raise ValueError(f"FakeDiscord: unknown guild {guild_id}; known: {list(self._guilds)}")
        if channel_id is None:
            channel_id = self.channel_id(guild_id)
        if self._channels.get(channel_id, {}).get("guild_id") != guild_id:
            raise ValueError(f"FakeDiscord: channel {channel_id} is not a channel of guild {guild_id}")
        return guild_id, channel_id

    def user_message(
        self,
        content: str,
        *,
        user_id: int = USER_ID,
        username: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        mention_bot: bool = False,
        reply_to: int | None = None,
    ) -> int:
        """A user writes a message: in a DM with the bot (guild_id None) or in a guild channel. Returns its id."""
        author = self._ensure_user(user_id, username)
        guild_id, channel_id = self._where(user_id, guild_id, channel_id)
        bot_mention = f"<@{self.bot_user_id}>"
        if mention_bot:
            content = f"{bot_mention} {content}"
        mentioned: list[int] = []
        for match in re.finditer(r"<@!?(\d+)>", content):
            uid = int(match.group(1))
            if (uid in self._users or uid == self.bot_user_id) and uid not in mentioned:
                mentioned.append(uid)
        reference = None
        if reply_to is not None:
            referenced = self._any_wire(reply_to)
            if referenced is None or int(referenced["channel_id"]) != channel_id:
                raise ValueError(f"FakeDiscord: no message {reply_to} in channel {channel_id} to reply to")
            referenced_author = int(referenced["author"]["id"])
            if referenced_author not in mentioned:
                mentioned.append(referenced_author)  # a reply pings its author by default
            reference = referenced
        message_id = self._snowflake()
        wire: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 19 if reference else 0,
            "content": content,
            "author": author,
            "attachments": [],
            "embeds": [],
            "components": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": 0,
            "nonce": str(message_id),
        }
        for uid in mentioned:
            user = self._user(uid)
            if guild_id is not None:
                user["member"] = self._member(guild_id, uid, with_user=False)
            wire["mentions"].append(user)
        if guild_id is not None:
            wire["guild_id"] = str(guild_id)
            wire["member"] = self._member(guild_id, user_id, with_user=False)
        if reference is not None:
            wire["message_reference"] = {"type": 0, "message_id": reference["id"], "channel_id": str(channel_id)}
            if guild_id is not None:
                wire["message_reference"]["guild_id"] = str(guild_id)
            referenced = copy.deepcopy(reference)
            referenced.pop("referenced_message", None)
            wire["referenced_message"] = referenced
        self._user_wire[message_id] = wire
        self.user_messages.append(
            {
                "id": message_id,
                "channel_id": channel_id,
                "guild_id": guild_id,
                "user_id": user_id,
                "content": content,
                "mentions_bot": self.bot_user_id in mentioned,
                "reply_to": reply_to,
            }
        )
        self._dispatch(
            "MESSAGE_CREATE",
            wire,
            intent=INTENT_GUILD_MESSAGES if guild_id is not None else INTENT_DIRECT_MESSAGES,
            content_gated=guild_id is not None and self.bot_user_id not in mentioned,
        )
        return message_id

    def slash(
        self,
        name: str,
        *,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
        user_id: int = USER_ID,
        username: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        check: bool = True,
    ) -> int:
        """A user runs /name [subcommand] options... (INTERACTION_CREATE type 2). Returns the interaction id.

        subcommand may be "group sub" for a subcommand inside a subcommand group. permissions are the member's
        permissions in the channel (None: an ordinary member's). With check (and synced commands), the command
        must be visible to that user there (synced, allowed context, default_member_permissions) and the options
        must fit its definition, otherwise ValueError/PermissionError: a real user could not send it.
        """
        return self._command_interaction(
            APPLICATION_COMMAND, name, subcommand, options or {}, None, user_id, username, guild_id, channel_id,
            permissions, check,
        )  # fmt: skip

    def autocomplete(
        self,
        name: str,
        *,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
        focused: str,
        user_id: int = USER_ID,
        username: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        check: bool = True,
    ) -> int:
        """A user types into option `focused` (its partial value is options[focused], default "")
        (INTERACTION_CREATE type 4). The bot's choices show up in choices(id) / interaction_responses (type 8)."""
        values = dict(options or {})
        values.setdefault(focused, "")
        return self._command_interaction(
            AUTOCOMPLETE, name, subcommand, values, focused, user_id, username, guild_id, channel_id, permissions,
            check,
        )  # fmt: skip

    def press(
        self,
        custom_id: str,
        *,
        message_id: int,
        user_id: int = USER_ID,
        username: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        values: list[str] | None = None,
        check: bool = True,
    ) -> int:
        """A user clicks a button (or picks `values` in a select menu) on a bot message. Returns the interaction id.

        With check, the component must be on the message now and enabled, and an ephemeral message can only be
        used by the user it was shown to."""
        record = self._bot.get(message_id)
        if record is None or record["deleted"] or record["pending"]:
            raise ValueError(f"FakeDiscord.press: no (visible) bot message {message_id}")
        component = next(
            (c for c in _walk_components(record["components"]) if c.get("custom_id") == custom_id and "type" in c),
            None,
        )
        if check:
            if component is None:
                on_it = [c.get("custom_id") for c in _walk_components(record["components"]) if c.get("custom_id")]
                raise ValueError(
                    f"FakeDiscord.press: no component {custom_id!r} on message {message_id}; it has {on_it}"
                )
            if component.get("disabled"):
                raise ValueError(f"FakeDiscord.press: component {custom_id!r} is disabled")
            if record["flags"] & EPHEMERAL and record["shown_to"] not in (None, user_id):
                raise ValueError(f"FakeDiscord.press: message {message_id} is ephemeral and not shown to {user_id}")
        if guild_id is not None and guild_id != record["guild_id"]:
            raise ValueError(f"FakeDiscord.press: message {message_id} is not in guild {guild_id}")
        if channel_id is not None and channel_id != record["channel_id"]:
            raise ValueError(f"FakeDiscord.press: message {message_id} is not in channel {channel_id}")
        component_type = component["type"] if component else (3 if values is not None else 2)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component is not None and "id" in component:
            data["id"] = component["id"]
        if component_type in SELECT_TYPES:
            data["values"] = list(values or [])
            if check and component_type == 3:
                allowed = [o.get("value") for o in component.get("options", [])]
                bad = [v for v in data["values"] if v not in allowed]
                if bad:
                    raise ValueError(f"FakeDiscord.press: {bad} are not options of {custom_id!r} ({allowed})")
        return self._new_interaction(
            MESSAGE_COMPONENT,
            data,
            user_id=user_id,
            username=username,
            guild_id=record["guild_id"],
            channel_id=record["channel_id"],
            permissions=permissions,
            message=self._wire(record),
            component_message_id=message_id,
        )

    def submit_modal(
        self,
        custom_id: str,
        values: dict[str, Any],
        *,
        user_id: int | None = None,
        username: str | None = None,
        check: bool = True,
    ) -> int:
        """A user submits the modal the bot opened (callback type 9) with text input values by custom_id
        (a list of strings for a select inside a label). Returns the interaction id."""
        opener = next(
            (
                it
                for it in reversed(list(self._interactions.values()))
                if it.modal is not None and it.modal.get("custom_id") == custom_id
            ),
            None,
        )
        if opener is None:
            raise ValueError(f"FakeDiscord.submit_modal: the bot never opened a modal {custom_id!r}")
        modal = opener.modal or {}
        user_id = opener.user_id if user_id is None else user_id
        seen: set[str] = set()

        def answer(component: dict) -> dict | None:
            kind = component.get("type")
            if kind == 1:
                inner = [a for a in map(answer, component.get("components", [])) if a is not None]
                return {"type": 1, "components": inner}
            if kind == 18:
                inner_answer = answer(component.get("component", {}))
                return {"type": 18, "component": inner_answer} if inner_answer else None
            cid = component.get("custom_id")
            if cid is None:
                return None
            seen.add(cid)
            if kind == 4:
                value = str(values.get(cid, ""))
                if check and component.get("required", True) and not value:
                    raise ValueError(f"FakeDiscord.submit_modal: the required text input {cid!r} is empty")
                return {"type": 4, "custom_id": cid, "value": value}
            if kind in SELECT_TYPES:
                return {"type": kind, "custom_id": cid, "values": list(values.get(cid, []))}
            return None

        components = [a for a in map(answer, modal.get("components", [])) if a is not None]
        unknown = set(values) - seen
        if check and unknown:
            raise ValueError(f"FakeDiscord.submit_modal: modal {custom_id!r} has no inputs {sorted(unknown)}")
        message = None
        if opener.component_message_id is not None and opener.component_message_id in self._bot:
            message = self._wire(self._bot[opener.component_message_id])
        return self._new_interaction(
            MODAL_SUBMIT,
            {"custom_id": custom_id, "components": components},
            user_id=user_id,
            username=username,
            guild_id=opener.guild_id,
            channel_id=opener.channel_id,
            permissions=None,
            message=message,
            component_message_id=opener.component_message_id,
        )

    def _find_command(self, name: str, guild_id: int | None) -> tuple[dict | None, int | None]:
        if guild_id is not None:
            for command in self._commands.get(guild_id, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command, guild_id
        for command in self._commands.get(None, []):
            if command["name"] == name and command.get("type", 1) == 1:
                return command, None
        return None, None

    def _command_interaction(
        self,
        itype: int,
        name: str,
        subcommand: str | None,
        options: dict[str, Any],
        focused: str | None,
        user_id: int,
        username: str | None,
        guild_id: int | None,
        channel_id: int | None,
        permissions: int | None,
        check: bool,
    ) -> int:
        self._ensure_user(user_id, username)
        guild_id, channel_id = self._where(user_id, guild_id, channel_id)
        synced = any(self._commands.values())
        command, scope = self._find_command(name, guild_id)
        if check and synced:
            if command is None:
                where = f"guild {guild_id}" if guild_id else "DMs"
                raise ValueError(f"FakeDiscord: /{name} is not a synced command visible in {where}")
            self._check_invocable(command, guild_id, permissions)
        if command is not None:
            command_id = int(command["id"])
        else:
            command_id = self._command_ids.setdefault(("unsynced", name), self._snowflake())
        resolved: dict[str, dict] = {}
        built = self._build_options(
            command.get("options", []) if (command is not None and check) else None,
            subcommand.split() if subcommand else [],
            options,
            focused,
            guild_id,
            resolved,
            check and itype == APPLICATION_COMMAND,
        )
        data: dict[str, Any] = {"id": str(command_id), "name": name, "type": 1}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        # Discord sets data.guild_id for guild commands only; unsynced: guild_id in a guild (the tree falls back
        # to global commands when it has no guild command of that name)
        command_guild = scope if command is not None else guild_id
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        return self._new_interaction(
            itype,
            data,
            user_id=user_id,
            username=username,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            name=f"{name} {subcommand}" if subcommand else name,
        )

    @staticmethod
    def _check_invocable(command: dict, guild_id: int | None, permissions: int | None) -> None:
        name = command["name"]
        context = 0 if guild_id is not None else 1
        contexts = command.get("contexts")
        if contexts is not None and context not in contexts:
            raise ValueError(f"FakeDiscord: /{name} is not available in {'guilds' if context == 0 else 'DMs'}")
        if guild_id is None and command.get("dm_permission") is False:
            raise ValueError(f"FakeDiscord: /{name} has dm_permission false")
        required = command.get("default_member_permissions")
        if guild_id is not None and required is not None:
            have = MEMBER_PERMISSIONS if permissions is None else permissions
            needed = int(required)
            if not have & ADMINISTRATOR and (needed == 0 or have & needed != needed):
                raise PermissionError(
                    f"FakeDiscord: /{name} needs permissions {needed} (default_member_permissions); the member has "
                    f"{have}: Discord would not show it (pass permissions=... or check=False)"
                )

    def _build_options(
        self,
        definitions: list[dict] | None,
        path: list[str],
        values: dict[str, Any],
        focused: str | None,
        guild_id: int | None,
        resolved: dict[str, dict],
        require: bool,
    ) -> list[dict]:
        chain: list[tuple[str, int]] = []
        for index, part in enumerate(path):
            kind = 1 if index == len(path) - 1 else 2
            if definitions is not None:
                found = next((o for o in definitions if o.get("name") == part and o.get("type") in (1, 2)), None)
                if found is None:
                    names = [o.get("name") for o in definitions if o.get("type") in (1, 2)]
                    raise ValueError(f"FakeDiscord: no subcommand {part!r}; there are {names}")
                kind = found["type"]
                definitions = found.get("options", [])
            chain.append((part, kind))
        if definitions is not None and not path and any(o.get("type") in (1, 2) for o in definitions):
            raise ValueError("FakeDiscord: this command has subcommands; pass subcommand=...")
        leaf: list[dict] = []
        for key, value in values.items():
            definition = None
            if definitions is not None:
                definition = next((o for o in definitions if o.get("name") == key), None)
                if definition is None:
                    raise ValueError(
                        f"FakeDiscord: unknown option {key!r}; options: {[o.get('name') for o in definitions]}"
                    )
            kind = definition["type"] if definition else self._infer_type(value)
            entry: dict[str, Any] = {"name": key, "type": kind}
            if key == focused:
                entry["value"] = str(value)
                entry["focused"] = True
            else:
                entry["value"] = self._option_value(kind, value, guild_id, resolved)
                choices = (definition or {}).get("choices")
                if choices and definition is not None and value not in [c.get("value") for c in choices]:
                    raise ValueError(f"FakeDiscord: {value!r} is not a choice of {key!r}: {choices}")
            leaf.append(entry)
        if require and definitions is not None:
            missing = [o["name"] for o in definitions if o.get("required") and o["name"] not in values]
            if missing:
                raise ValueError(f"FakeDiscord: required option(s) {missing} missing")
        for part, kind in reversed(chain):
            leaf = [{"name": part, "type": kind, "options": leaf}]
        return leaf

    @staticmethod
    def _infer_type(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        return 3

    def _option_value(self, kind: int, value: Any, guild_id: int | None, resolved: dict[str, dict]) -> Any:
        if kind == 6:  # user
            uid = int(value)
            resolved.setdefault("users", {})[str(uid)] = self._user(uid) if uid in self._users else {"id": str(uid)}
            if guild_id is not None and uid in self._users:
                member = self._member(guild_id, uid, with_user=False, permissions=MEMBER_PERMISSIONS)
                resolved.setdefault("members", {})[str(uid)] = member
            return str(uid)
        if kind == 7:  # channel
            cid = int(value)
            wire = self._channel(cid) if cid in self._channels else {"id": str(cid), "type": 0, "name": "unknown"}
            wire["permissions"] = str(MEMBER_PERMISSIONS)
            resolved.setdefault("channels", {})[str(cid)] = wire
            return str(cid)
        if kind in (8, 9):
            return str(value)
        if kind == 4:
            return int(value)
        if kind == 10:
            return float(value)
        if kind == 5:
            return bool(value)
        return str(value)

    def _new_interaction(
        self,
        itype: int,
        data: dict,
        *,
        user_id: int,
        username: str | None,
        guild_id: int | None,
        channel_id: int,
        permissions: int | None,
        message: dict | None = None,
        component_message_id: int | None = None,
        name: str = "",
    ) -> int:
        user = self._ensure_user(user_id, username)
        interaction_id = self._snowflake()
        raw_token = f"interaction:{interaction_id}:{hashlib.sha256(str(interaction_id).encode()).hexdigest()}"
        token = base64.urlsafe_b64encode(raw_token.encode()).decode().rstrip("=")
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "channel_id": str(channel_id),
            "channel": self._channel(channel_id),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "app_permissions": str(self._bot_permissions(channel_id)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            have = MEMBER_PERMISSIONS if permissions is None else permissions
            payload["guild_id"] = str(guild_id)
            payload["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = self._member(guild_id, user_id, permissions=have)
            payload["member"]["user"] = user
            payload["authorizing_integration_owners"] = {"0": str(guild_id)}
            payload["context"] = 0
            payload["channel"]["permissions"] = str(have)
        else:
            payload["user"] = user
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1
        if message is not None:
            payload["message"] = message
        self._interactions[interaction_id] = _Interaction(
            id=interaction_id,
            token=token,
            type=itype,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            created=time.monotonic(),
            name=name or str(data.get("name") or data.get("custom_id") or ""),
            component_message_id=component_message_id,
        )
        self._tokens[token] = interaction_id
        self._dispatch("INTERACTION_CREATE", payload)
        return interaction_id

    # -- failure injection and scenario switches -------------------------------------------------------------

    def fail_next(
        self,
        route_pattern: Any,
        status: int = 500,
        *,
        times: int = 1,
        code: int = 0,
        message: str = "",
        retry_after: float | None = None,
    ) -> None:
        """The next `times` requests matching route_pattern ("METHOD /path" with real ids, e.g.
        "POST /channels/*/messages"; fnmatch, or a regex string / compiled pattern; a pattern starting with "/"
        matches any method) are answered with this error instead of being carried out. A 429 comes with
        retry_after (default 0.05 s), global false, Retry-After/X-RateLimit-*/Via headers: discord.py sleeps and
        retries. Injections are consumed in the order they were added."""
        if status == 429 and retry_after is None:
            retry_after = 0.05
        self._injections.append(_Injection(route_pattern, "fail", times, status, code, message, retry_after))

    def hang_next(self, route_pattern: Any, seconds: float, times: int = 1) -> None:
        """Delay the answer to the next matching requests (they are carried out afterwards)."""
        self._injections.append(_Injection(route_pattern, "hang", times, seconds=seconds))

    def drop_next(self, route_pattern: Any, times: int = 1) -> None:
        """Close the connection without an answer to the next matching requests, before they are carried out
        (a connection lost mid-request: the client never hears back; nothing happened on the server)."""
        self._injections.append(_Injection(route_pattern, "drop", times))

    def lose_answer_next(self, route_pattern: Any, times: int = 1) -> None:
        """Carry out the next matching requests, then close the connection before answering (the server acted,
        the client never heard: the case an idempotency key exists for)."""
        self._injections.append(_Injection(route_pattern, "lose", times))

    def close_dms(self, user_id: int) -> None:
        """The user does not accept DMs: posting in their DM channel -> 403 50007."""
        self._closed_dms.add(user_id)

    def open_dms(self, user_id: int) -> None:
        self._closed_dms.discard(user_id)

    def delete_channel(self, channel_id: int, *, notify: bool = False) -> None:
        """The channel is gone: it answers 404 10003 Unknown Channel. With notify, CHANNEL_DELETE is dispatched
        (discord.py then drops it from its cache)."""
        self._deleted_channels.add(channel_id)
        if notify and channel_id in self._channels:
            self._dispatch("CHANNEL_DELETE", self._channel(channel_id), intent=INTENT_GUILDS)

    def revoke_permission(self, channel_id: int, *, notify: bool = False) -> None:
        """The bot loses Send Messages in the channel (a member overwrite): posts -> 403 50013 Missing Permissions.
        Interaction answers still work there (as on Discord). With notify, CHANNEL_UPDATE is dispatched."""
        channel = self._channels.get(channel_id)
        if channel is None or channel["type"] != 0:
            raise ValueError(f"FakeDiscord.revoke_permission: {channel_id} is not a guild text channel")
        self._revoked.add(channel_id)
        overwrite = {"id": str(self.bot_user_id), "type": 1, "allow": "0", "deny": str(SEND_MESSAGES)}
        channel["overwrites"] = [o for o in channel["overwrites"] if o["id"] != overwrite["id"]] + [overwrite]
        if notify:
            self._dispatch("CHANNEL_UPDATE", self._channel(channel_id), intent=INTENT_GUILDS)

    def restore_permission(self, channel_id: int, *, notify: bool = False) -> None:
        self._revoked.discard(channel_id)
        channel = self._channels[channel_id]
        channel["overwrites"] = [o for o in channel["overwrites"] if o["id"] != str(self.bot_user_id)]
        if notify:
            self._dispatch("CHANNEL_UPDATE", self._channel(channel_id), intent=INTENT_GUILDS)

    async def disconnect(self, code: int = 4000, *, invalidate: bool = False) -> None:
        """Drop the bot's gateway socket from the server side. With a resumable code (4000, 4001, ..., 1000)
        discord.py reconnects and RESUMEs; events dispatched meanwhile are replayed. With invalidate, the
        session is forgotten first: the RESUME gets op 9 and the bot identifies again (events are lost)."""
        session = self._session
        if session is None:
            return
        if invalidate:
            self._sessions.pop(session.id, None)
            self._session = None
        conn = session.conn
        if conn is not None:
            conn.closed_by_fake = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=code, message=b"fake disconnect"), 2.0)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes the socket and resumes."""
        if self._session is not None and self._session.conn is not None:
            await self._send(self._session.conn, {"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION. resumable False: the session is dropped and the bot identifies again."""
        session = self._session
        if session is None or session.conn is None:
            return
        if not resumable:
            self._sessions.pop(session.id, None)
            self._session = None
        await self._send(session.conn, {"op": 9, "d": resumable, "s": None, "t": None})

    def _matches(self, pattern: Any, call: Call) -> bool:
        subject = call.path if (isinstance(pattern, str) and pattern.startswith("/")) else call.route
        if isinstance(pattern, re.Pattern):
            return pattern.fullmatch(subject) is not None
        if fnmatch.fnmatchcase(subject, pattern):
            return True
        try:
            return re.fullmatch(pattern, subject) is not None
        except re.error:
            return False

    def _take_injection(self, call: Call) -> _Injection | None:
        for injection in self._injections:
            if injection.remaining > 0 and self._matches(injection.pattern, call):
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                return injection
        return None

    # -- gateway ---------------------------------------------------------------------------------------------

    def _dispatch(self, event: str, data: dict, *, intent: int | None = None, content_gated: bool = False) -> None:
        session = self._session
        if session is None:
            self._pending.append((event, copy.deepcopy(data), intent, content_gated))
            return
        self._append_event(session, event, data, intent, content_gated)

    def _append_event(self, session: _Session, event: str, data: dict, intent: int | None, content_gated: bool) -> None:
        if intent is not None and not session.intents & intent:
            self.dropped_events.append((event, f"intent {intent} not requested"))
            return
        data = copy.deepcopy(data)
        if content_gated and not session.intents & INTENT_MESSAGE_CONTENT:
            data.update(content="", embeds=[], attachments=[], components=[])
            data.pop("poll", None)
        payload = {"op": 0, "t": event, "s": session.seq + 1, "d": data}
        session.events.append(payload)
        self.dispatched.append((event, payload["s"]))
        if session.conn is not None:
            session.conn.wake.set()

    async def _send(self, conn: _Connection, payload: dict) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with conn.lock:
            if conn.ws.closed:
                return
            try:
                if conn.compressor is not None:
                    data = conn.compressor.compress(text.encode()) + conn.compressor.flush(zlib.Z_SYNC_FLUSH)
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                pass  # the socket is going away; a RESUME replays what was lost

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return self._json(400, {"message": "400: Bad Request", "code": 0})
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0)
        await ws.prepare(request)
        conn = _Connection(ws=ws, query=dict(request.query))
        if self.gateway_compression and request.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        self._connections.add(conn)
        self.gateway_connection_count += 1
        try:
            if request.query.get("encoding", "json") != "json":
                await ws.close(code=4002, message=b"Error while decoding payload.")
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ['["fake-gateway"]']}
            await self._send(conn, {"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_gateway_message(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                elif msg.type == WSMsgType.ERROR:
                    break
        except Exception as exc:  # a bug in the fake
            if not isinstance(exc, ConnectionError):
                log.exception("FakeDiscord gateway failed")
                self.internal_errors.append(f"gateway: {exc!r}")
        finally:
            self._connections.discard(conn)
            await self._stop_sender(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if not conn.closed_by_fake and ws.close_code in (1000, 1001):
                    # the client ended its session on purpose (discord.py: client.close())
                    self._sessions.pop(session.id, None)
                    if self._session is session:
                        self._session = None
        return ws

    async def _stop_sender(self, conn: _Connection) -> None:
        task, conn.sender = conn.sender, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _close(self, conn: _Connection, code: int, reason: str) -> None:
        conn.closed_by_fake = True
        await conn.ws.close(code=code, message=reason.encode())

    async def _on_gateway_message(self, conn: _Connection, raw: str) -> None:
        try:
            payload = json.loads(raw)
        except ValueError:
            await self._close(conn, 4002, "Error while decoding payload.")
            return
        op = payload.get("op")
        data = payload.get("d")
        shown = copy.deepcopy(payload)
        if isinstance(shown.get("d"), dict) and "token" in shown["d"]:
            shown["d"]["token"] = "***"
        self.gateway_received.append(shown)
        if op == 1:
            self.heartbeat_count += 1
            await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif op == 8:
            await self._request_members(conn, data or {})
        elif op == 3:
            self.presences.append(data)
        elif op == 4:
            pass  # voice state updates are not modelled
        else:
            await self._close(conn, 4001, "Unknown opcode.")

    async def _identify(self, conn: _Connection, data: dict) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and list(shard) != [0, 1]:
            await self._close(conn, 4010, "Invalid shard.")
            return
        self.identify_count += 1
        self._session_counter += 1
        session_id = hashlib.md5(f"fake-session-{self._session_counter}".encode()).hexdigest()
        session = _Session(id=session_id, intents=intents, shard=shard)
        old = self._session
        if old is not None:
            self._sessions.pop(old.id, None)
        self._sessions[session_id] = session
        self._session = session
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": self._bot_user(me=True),
            "user_settings": {},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self._guilds],
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake-region"],
            "application": {"id": str(self.application_id), "flags": (1 << 19) | (1 << 23)},
            "_trace": ['["fake-gateway"]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        self._append_event(session, "READY", ready, None, False)
        for guild_id in self._guilds:
            self._append_event(session, "GUILD_CREATE", self._guild(guild_id, intents, create=True), None, False)
        session.ready_upto = session.seq
        pending, self._pending = self._pending, []
        for event, event_data, intent, gated in pending:
            self._append_event(session, event, event_data, intent, gated)
        self._attach(conn, session, cursor=0)

    async def _resume(self, conn: _Connection, data: dict) -> None:
        if data.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or not isinstance(seq, int) or seq > session.seq or seq < 0:
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        self.resume_count += 1
        stale = session.conn
        if stale is not None and stale is not conn:
            stale.closed_by_fake = True
            stale.session = None
            await self._stop_sender(stale)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stale.ws.close(code=4000, message=b"resumed elsewhere"), 1.0)
        conn.send_resumed = True
        self._attach(conn, session, cursor=seq)

    def _attach(self, conn: _Connection, session: _Session, cursor: int) -> None:
        conn.session = session
        conn.cursor = cursor
        session.conn = conn
        conn.wake.set()
        conn.sender = asyncio.create_task(self._sender(conn), name="FakeDiscord-gateway-sender")

    async def _sender(self, conn: _Connection) -> None:
        session = conn.session
        assert session is not None
        while not conn.ws.closed:
            conn.wake.clear()
            while conn.cursor < len(session.events) and not conn.ws.closed:
                payload = session.events[conn.cursor]
                conn.cursor += 1
                await self._send(conn, payload)
                if not session.ready_sent and conn.cursor >= session.ready_upto:
                    session.ready_sent = True
            if conn.send_resumed:
                conn.send_resumed = False
                await self._send(conn, {"op": 0, "t": "RESUMED", "s": None, "d": {"_trace": ['["fake-gateway"]']}})
            await conn.wake.wait()

    async def _request_members(self, conn: _Connection, data: dict) -> None:
        session = conn.session
        if session is None:
            await self._close(conn, 4003, "Not authenticated.")
            return
        guild_id = int(data.get("guild_id", 0))
        if guild_id not in self._guilds:
            return
        everyone = self._guilds[guild_id]["members"] + [self.bot_user_id]
        user_ids = data.get("user_ids")
        if user_ids:
            wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            chosen = [u for u in everyone if u in wanted]
        else:
            query = str(data.get("query") or "").lower()
            chosen = [u for u in everyone if self._user(u)["username"].lower().startswith(query)]
            if data.get("limit"):
                chosen = chosen[: int(data["limit"])]
        chunk = {
            "guild_id": str(guild_id),
            "members": [self._member(guild_id, u) for u in chosen],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._append_event(session, "GUILD_MEMBERS_CHUNK", chunk, None, False)

    # -- HTTP plumbing ---------------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        # exactly "application/json": discord.py compares the header verbatim (no charset)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)

    def _error_response(self, exc: ApiError) -> web.Response:
        if exc.body is not None:
            body = exc.body
        else:
            body = {"message": exc.message, "code": exc.code}
            if exc.errors:
                body["errors"] = exc.errors
        return self._json(exc.status, body, exc.headers)

    def _routes(self) -> list[tuple[str, str, Callable, bool]]:
        """(method, path regex, handler, needs bot auth)."""
        app = r"(?P<app>\d+)"
        guild = r"(?P<guild>\d+)"
        channel = r"(?P<channel>\d+)"
        message = r"(?P<message>\d+)"
        hook = r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"
        return [
            ("GET", r"/gateway", self._r_gateway, False),
            ("GET", r"/gateway/bot", self._r_gateway_bot, True),
            ("GET", r"/users/@me", self._r_me, True),
            ("POST", r"/users/@me/channels", self._r_open_dm, True),
            ("GET", r"/users/(?P<user>\d+)", self._r_user, True),
            ("GET", r"/oauth2/applications/@me", self._r_application, True),
            ("GET", r"/applications/@me", self._r_application, True),
            ("GET", rf"/applications/{app}/commands", self._r_get_commands, True),
            ("PUT", rf"/applications/{app}/commands", self._r_put_commands, True),
            ("POST", rf"/applications/{app}/commands", self._r_post_command, True),
            ("GET", rf"/applications/{app}/commands/(?P<command>\d+)", self._r_get_command, True),
            ("PATCH", rf"/applications/{app}/commands/(?P<command>\d+)", self._r_patch_command, True),
            ("DELETE", rf"/applications/{app}/commands/(?P<command>\d+)", self._r_delete_command, True),
            ("GET", rf"/applications/{app}/guilds/{guild}/commands", self._r_get_commands, True),
            ("PUT", rf"/applications/{app}/guilds/{guild}/commands", self._r_put_commands, True),
            ("POST", rf"/applications/{app}/guilds/{guild}/commands", self._r_post_command, True),
            ("GET", rf"/applications/{app}/guilds/{guild}/commands/(?P<command>\d+)", self._r_get_command, True),
            ("PATCH", rf"/applications/{app}/guilds/{guild}/commands/(?P<command>\d+)", self._r_patch_command, True),
            ("DELETE", rf"/applications/{app}/guilds/{guild}/commands/(?P<command>\d+)", self._r_delete_command, True),
            ("GET", rf"/applications/{app}/emojis", self._r_app_emojis, True),
            ("GET", rf"/applications/{app}/entitlements", self._r_empty_list, True),
            ("GET", rf"/applications/{app}/skus", self._r_empty_list, True),
            ("GET", rf"/channels/{channel}", self._r_get_channel, True),
            ("GET", rf"/channels/{channel}/messages", self._r_history, True),
            ("POST", rf"/channels/{channel}/messages", self._r_post_message, True),
            ("GET", rf"/channels/{channel}/messages/{message}", self._r_get_message, True),
            ("PATCH", rf"/channels/{channel}/messages/{message}", self._r_patch_message, True),
            ("DELETE", rf"/channels/{channel}/messages/{message}", self._r_delete_message, True),
            ("PUT", rf"/channels/{channel}/messages/{message}/reactions/(?P<emoji>[^/]+)/@me", self._r_react, True),
            (
                "DELETE",
                rf"/channels/{channel}/messages/{message}/reactions/(?P<emoji>[^/]+)/@me",
                self._r_unreact,
                True,
            ),
            ("POST", rf"/channels/{channel}/typing", self._r_typing, True),
            ("GET", rf"/guilds/{guild}", self._r_get_guild, True),
            ("GET", rf"/guilds/{guild}/channels", self._r_guild_channels, True),
            ("GET", rf"/guilds/{guild}/members/(?P<user>\d+)", self._r_get_member, True),
            ("POST", r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback", self._r_callback, False),
            ("POST", hook, self._r_followup, False),
            ("GET", rf"{hook}/messages/(?P<message>@original|\d+)", self._r_get_webhook_message, False),
            ("PATCH", rf"{hook}/messages/(?P<message>@original|\d+)", self._r_edit_webhook_message, False),
            ("DELETE", rf"{hook}/messages/(?P<message>@original|\d+)", self._r_delete_webhook_message, False),
        ]

    async def _http(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/attachments/"):
            return self._serve_attachment(path)
        relative = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
        call = Call(request.method, relative, None, dict(request.query), at=time.monotonic())
        self.calls.append(call)
        try:
            call.json, call.files = await self._read_body(request)
            if not path.startswith(API_PREFIX + "/"):
                raise ApiError(404, 0, "404: Not Found")
            response = await self._route(request, call)
        except ApiError as exc:
            response = self._error_response(exc)
        except Exception as exc:  # a bug in the fake: answer a non-retried error and make it loud
            log.exception("FakeDiscord failed on %s %s", request.method, path)
            self.internal_errors.append(f"{call.route}: {exc!r}")
            response = self._json(400, {"message": f"FakeDiscord internal error: {exc!r}", "code": 0})
        call.status = response.status
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "multipart/form-data":
            body: Any = None
            files: list[dict] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                elif part.filename is not None:
                    files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "content_type": part.headers.get("Content-Type", "application/octet-stream"),
                            "data": await part.read(),
                        }
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    async def _route(self, request: web.Request, call: Call) -> web.Response:
        path_matched = False
        for method, pattern, handler, needs_auth in self._routes():
            match = re.fullmatch(pattern, call.path)
            if match is None:
                continue
            path_matched = True
            if method != call.method:
                continue
            if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            injection = self._take_injection(call)
            if injection is not None and injection.kind == "hang":
                await self._sleep(injection.seconds)
            elif injection is not None and injection.kind == "drop":
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)  # never reaches the client: the connection is gone
            elif injection is not None and injection.kind != "lose":
                raise self._injected_error(injection, pattern)
            result = await handler(call, **match.groupdict())
            if injection is not None and injection.kind == "lose":  # done, but the answer never reaches the client
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            if isinstance(result, web.Response):
                return result
            headers = self._ratelimit_headers(pattern)
            if result is None:
                return web.Response(status=204, headers=headers)
            return self._json(200, result, headers)
        if path_matched:
            raise ApiError(405, 0, "405: Method Not Allowed")
        raise ApiError(404, 0, "404: Not Found")

    @staticmethod
    def _bucket(pattern: str) -> str:
        return hashlib.md5(pattern.encode()).hexdigest()[:16]

    def _ratelimit_headers(self, pattern: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 0.05:.3f}",
            "X-RateLimit-Reset-After": "0.050",
            "X-RateLimit-Bucket": self._bucket(pattern),
        }

    def _injected_error(self, injection: _Injection, pattern: str) -> ApiError:
        if injection.status == 429:
            retry_after = float(injection.retry_after or 0.05)
            headers = {
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": self._bucket(pattern),
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",  # discord.py only retries a 429 that came through Discord's proxy
            }
            body = {"message": injection.message or DEFAULT_MESSAGES[429], "retry_after": retry_after, "global": False}
            if injection.code:
                body["code"] = injection.code
            return ApiError(429, injection.code, body["message"], body=body, headers=headers)
        return ApiError(injection.status, injection.code, injection.message)

    def _serve_attachment(self, path: str) -> web.Response:
        parts = path.split("/")
        try:
            filename, content_type, data = self._files[int(parts[3])]
        except (IndexError, KeyError, ValueError):
            return self._json(404, {"message": "404: Not Found", "code": 0})
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    # -- REST: users, application, gateway -------------------------------------------------------------------

    async def _r_gateway(self, call: Call) -> dict:
        return {"url": self.gateway_url}

    async def _r_gateway_bot(self, call: Call) -> dict:
        limit = {
            "total": 1000,
            "remaining": 1000 - self.identify_count,
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        }
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    async def _r_me(self, call: Call) -> dict:
        return self._bot_user(me=True)

    async def _r_user(self, call: Call, user: str) -> dict:
        user_id = int(user)
        if user_id != self.bot_user_id and user_id not in self._users:
            raise ApiError(404, 10013, "Unknown User")
        return self._user(user_id)

    async def _r_open_dm(self, call: Call) -> dict:
        body = call.json if isinstance(call.json, dict) else {}
        try:
            user_id = int(body.get("recipient_id"))
        except (TypeError, ValueError):
            raise _form_error(["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required") from None
        if user_id not in self._users:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return self._channel(self.dm_channel_id(user_id))

    async def _r_application(self, call: Call) -> dict:
        return {
            "id": str(self.application_id),
            "name": "Hip Coach",
            "icon": None,
            "description": "Hip mobility coach (fake application)",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": (1 << 19) | (1 << 23),
            "owner": self._user(OWNER_USER_ID),
            "team": None,
            "bot": self._bot_user(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,  # set -> discord.py warns and no interaction reaches the gateway
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}},
        }

    async def _r_app_emojis(self, call: Call, app: str) -> dict:
        return {"items": []}

    async def _r_empty_list(self, call: Call, app: str) -> list:
        return []

    # -- REST: application commands --------------------------------------------------------------------------

    def _scope(self, app: str, guild: str | None) -> int | None:
        if int(app) != self.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if guild is None:
            return None
        if int(guild) not in self._guilds:
            raise ApiError(403, 50001, "Missing Access")
        return int(guild)

    async def _r_get_commands(self, call: Call, app: str, guild: str | None = None) -> list:
        return self.commands(self._scope(app, guild))

    async def _r_put_commands(self, call: Call, app: str, guild: str | None = None) -> list:
        scope = self._scope(app, guild)
        body = call.json
        if not isinstance(body, list):
            raise _form_error([], "BASE_TYPE_ARRAY", "Must be an array.")
        if len(body) > 100:
            raise _form_error([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        seen: set[tuple[int, str]] = set()
        for index, command in enumerate(body):
            self._validate_command(command, [index])
            key = (command.get("type", 1), command.get("name"))
            if key in seen:
                raise _form_error([index, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Duplicate name {key[1]}")
            seen.add(key)
        self._commands[scope] = [self._stored_command(c, scope) for c in body]
        self.command_syncs.append(scope)
        return self.commands(scope)

    async def _r_post_command(self, call: Call, app: str, guild: str | None = None) -> dict:
        scope = self._scope(app, guild)
        command = call.json
        self._validate_command(command, [])
        stored = self._stored_command(command, scope)
        commands = [
            c for c in self._commands.get(scope, []) if (c["type"], c["name"]) != (stored["type"], stored["name"])
        ]
        self._commands[scope] = commands + [stored]
        return copy.deepcopy(stored)

    def _stored_by_id(self, scope: int | None, command: str) -> dict:
        found = next((c for c in self._commands.get(scope, []) if c["id"] == command), None)
        if found is None:
            raise ApiError(404, 10063, "Unknown application command")
        return found

    async def _r_get_command(self, call: Call, app: str, command: str, guild: str | None = None) -> dict:
        return copy.deepcopy(self._stored_by_id(self._scope(app, guild), command))

    async def _r_patch_command(self, call: Call, app: str, command: str, guild: str | None = None) -> dict:
        scope = self._scope(app, guild)
        found = self._stored_by_id(scope, command)
        merged = {**found, **(call.json or {})}
        self._validate_command(merged, [])
        found.update(self._stored_command(merged, scope))
        return copy.deepcopy(found)

    async def _r_delete_command(self, call: Call, app: str, command: str, guild: str | None = None) -> None:
        scope = self._scope(app, guild)
        found = self._stored_by_id(scope, command)
        self._commands[scope].remove(found)
        return None

    def _stored_command(self, command: dict, scope: int | None) -> dict:
        kind = command.get("type", 1)
        key = (scope, kind, command["name"])
        command_id = self._command_ids.setdefault(key, self._snowflake())
        permissions = command.get("default_member_permissions")
        stored = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self._snowflake()),
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description", ""),
            "description_localizations": command.get("description_localizations"),
            "default_member_permissions": None if permissions is None else str(permissions),  # Discord: a string
            "nsfw": bool(command.get("nsfw", False)),
            "integration_types": command.get("integration_types", [0]),
            "contexts": command.get("contexts"),
        }
        if "dm_permission" in command:
            stored["dm_permission"] = command["dm_permission"]
        if command.get("options"):
            stored["options"] = copy.deepcopy(command["options"])
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored

    def _validate_command(self, command: Any, path: list) -> None:
        if not isinstance(command, dict):
            raise _form_error(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        kind = command.get("type", 1)
        if kind not in (1, 2, 3, 4):
            raise _form_error([*path, "type"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4).")
        name = command.get("name")
        if kind == 1:
            self._check_name(name, [*path, "name"], "APPLICATION_COMMAND_INVALID_NAME")
            self._check_description(command.get("description"), [*path, "description"])
        else:
            if not isinstance(name, str) or not 1 <= len(name) <= 32:
                raise _form_error([*path, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
            if command.get("description"):
                raise _form_error(
                    [*path, "description"],
                    "APPLICATION_COMMAND_DESCRIPTION_INVALID",
                    "Context menu commands cannot have description",
                )
        permissions = command.get("default_member_permissions")
        valid_int = isinstance(permissions, int) and not isinstance(permissions, bool) and permissions >= 0
        if permissions is not None and not valid_int and not (isinstance(permissions, str) and permissions.isdigit()):
            raise _form_error([*path, "default_member_permissions"], "NUMBER_TYPE_COERCE", "Value is not int.")
        contexts = command.get("contexts")
        if contexts is not None and (not isinstance(contexts, list) or any(c not in (0, 1, 2) for c in contexts)):
            raise _form_error([*path, "contexts"], "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2}.")
        self._validate_options(command.get("options") or [], [*path, "options"], depth=0)

    def _validate_options(self, options: Any, path: list, depth: int) -> None:
        if not isinstance(options, list):
            raise _form_error(path, "BASE_TYPE_ARRAY", "Must be an array.")
        if len(options) > 25:
            raise _form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        names: set[str] = set()
        optional_seen = False
        kinds = {o.get("type") for o in options if isinstance(o, dict)}
        if kinds & {1, 2} and kinds - {1, 2}:
            raise _form_error(
                path,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command and sub-command group option types are mutually exclusive to all other types",
            )
        for index, option in enumerate(options):
            where = [*path, index]
            if not isinstance(option, dict):
                raise _form_error(where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            kind = option.get("type")
            if kind not in range(1, 12):
                raise _form_error([*where, "type"], "BASE_TYPE_CHOICES", "Value must be one of (1..11).")
            self._check_name(option.get("name"), [*where, "name"], "APPLICATION_COMMAND_INVALID_NAME")
            self._check_description(option.get("description"), [*where, "description"])
            if option["name"] in names:
                raise _form_error(
                    [*where, "name"], "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
                )
            names.add(option["name"])
            if kind in (1, 2):
                if (kind == 2 and depth > 0) or (kind == 1 and depth > 1):
                    raise _form_error(
                        [*where, "type"], "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-commands nested too deep"
                    )
                inner = option.get("options") or []
                if kind == 2 and any(isinstance(o, dict) and o.get("type") != 1 for o in inner):
                    raise _form_error(
                        [*where, "options"],
                        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                        "A sub-command group may only contain sub-commands",
                    )
                self._validate_options(inner, [*where, "options"], depth + 1)
                continue
            if option.get("required"):
                if optional_seen:
                    raise _form_error(
                        [*where, "required"],
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                optional_seen = True
            choices = option.get("choices")
            if choices is not None:
                if option.get("autocomplete"):
                    raise _form_error(
                        [*where, "autocomplete"],
                        "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                        "Autocomplete cannot be set with choices",
                    )
                if len(choices) > 25:
                    raise _form_error([*where, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
                for c_index, choice in enumerate(choices):
                    label = choice.get("name") if isinstance(choice, dict) else None
                    if not isinstance(label, str) or not 1 <= len(label) <= 100:
                        raise _form_error(
                            [*where, "choices", c_index, "name"],
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        )

    @staticmethod
    def _check_name(name: Any, path: list, code: str) -> None:
        if not isinstance(name, str) or not re.fullmatch(r"[-_'\w]{1,32}", name) or name != name.lower():
            raise _form_error(path, code, f"Command name is invalid: {name!r}")

    @staticmethod
    def _check_description(description: Any, path: list) -> None:
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise _form_error(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")

    # -- REST: channels and guilds ---------------------------------------------------------------------------

    def _live_channel(self, channel: str) -> int:
        channel_id = int(channel)
        if channel_id not in self._channels or channel_id in self._deleted_channels:
            raise _unknown_channel()
        return channel_id

    async def _r_get_channel(self, call: Call, channel: str) -> dict:
        return self._channel(self._live_channel(channel))

    async def _r_get_guild(self, call: Call, guild: str) -> dict:
        guild_id = int(guild)
        if guild_id not in self._guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        payload = self._guild(guild_id)
        payload["approximate_member_count"] = len(self._guilds[guild_id]["members"]) + 1
        return payload

    async def _r_guild_channels(self, call: Call, guild: str) -> list:
        guild_id = int(guild)
        if guild_id not in self._guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        return [
            self._channel(cid)
            for cid, c in self._channels.items()
            if c.get("guild_id") == guild_id and cid not in self._deleted_channels
        ]

    async def _r_get_member(self, call: Call, guild: str, user: str) -> dict:
        guild_id, user_id = int(guild), int(user)
        if guild_id not in self._guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        if user_id != self.bot_user_id and user_id not in self._guilds[guild_id]["members"]:
            raise ApiError(404, 10007, "Unknown Member")
        return self._member(guild_id, user_id)

    def _check_can_post(self, channel_id: int) -> None:
        channel = self._channels[channel_id]
        if channel["type"] == 1 and channel["recipient_id"] in self._closed_dms:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        if channel_id in self._revoked:
            raise ApiError(403, 50013, "Missing Permissions")

    async def _r_post_message(self, call: Call, channel: str) -> dict:
        channel_id = self._live_channel(channel)
        self._check_can_post(channel_id)
        payload = call.json if isinstance(call.json, dict) else {}
        self._validate_message(payload, files=call.files, creating=True)
        reply_to = None
        reference = payload.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            target = self._any_wire(int(reference["message_id"]))
            if target is None or int(target["channel_id"]) != channel_id:
                if reference.get("fail_if_not_exists", True):
                    raise _form_error(["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            else:
                reply_to = int(reference["message_id"])
        earlier = self._enforced_nonce(payload)
        if earlier is not None:
            return self._wire(earlier)
        record = self._create(channel_id, payload, call.files, via="channel", reply_to=reply_to)
        if payload.get("nonce") is not None:
            self._nonces[str(payload["nonce"])] = (record["id"], time.monotonic())
        return self._wire(record)

    def _enforced_nonce(self, payload: dict) -> dict | None:
        """Discord: with enforce_nonce, a nonce the same author used in the past few minutes returns that message
        and creates none (the window's exact length is not documented; NONCE_WINDOW here)."""
        nonce = payload.get("nonce")
        if nonce is None or not payload.get("enforce_nonce"):
            return None
        now = time.monotonic()
        if len(self._nonces) > 10_000:  # keep a long soak's fake small
            self._nonces = {k: v for k, v in self._nonces.items() if now - v[1] < NONCE_WINDOW}
        seen = self._nonces.get(str(nonce))
        if seen is None or now - seen[1] >= NONCE_WINDOW or seen[0] not in self._bot:
            return None
        self.nonce_replays += 1
        return self._bot[seen[0]]

    async def _r_history(self, call: Call, channel: str) -> list:
        channel_id = self._live_channel(channel)
        limit = max(1, min(100, int(call.query.get("limit", 50))))
        before = int(call.query["before"]) if "before" in call.query else None
        after = int(call.query["after"]) if "after" in call.query else None
        found = []
        for message_id in sorted(set(self._bot) | set(self._user_wire), reverse=True):
            wire = self._any_wire(message_id)
            if wire is None or int(wire["channel_id"]) != channel_id or wire.get("flags", 0) & EPHEMERAL:
                continue
            if (before is not None and message_id >= before) or (after is not None and message_id <= after):
                continue
            found.append(self._gated(wire, channel_id))
        return found[:limit]

    def _gated(self, wire: dict, channel_id: int) -> dict:
        """REST reads are subject to the message content intent too."""
        session = self._session
        is_guild = self._channels[channel_id]["type"] == 0
        own = int(wire["author"]["id"]) == self.bot_user_id
        mentioned = any(int(u["id"]) == self.bot_user_id for u in wire.get("mentions", []))
        if (
            is_guild
            and not own
            and not mentioned
            and session is not None
            and not session.intents & INTENT_MESSAGE_CONTENT
        ):
            wire = {**wire, "content": "", "embeds": [], "attachments": [], "components": []}
        return wire

    async def _r_get_message(self, call: Call, channel: str, message: str) -> dict:
        channel_id = self._live_channel(channel)
        wire = self._any_wire(int(message))
        if wire is None or int(wire["channel_id"]) != channel_id or wire.get("flags", 0) & EPHEMERAL:
            raise _unknown_message()
        return self._gated(wire, channel_id)

    async def _r_patch_message(self, call: Call, channel: str, message: str) -> dict:
        channel_id = self._live_channel(channel)
        message_id = int(message)
        if message_id in self._user_wire and int(self._user_wire[message_id]["channel_id"]) == channel_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        record = self._bot.get(message_id)
        if record is None or record["deleted"] or record["channel_id"] != channel_id or record["flags"] & EPHEMERAL:
            raise _unknown_message()
        self._edit(record, call.json if isinstance(call.json, dict) else {}, call.files, via="channel")
        return self._wire(record)

    async def _r_delete_message(self, call: Call, channel: str, message: str) -> None:
        channel_id = self._live_channel(channel)
        message_id = int(message)
        if message_id in self._user_wire and int(self._user_wire[message_id]["channel_id"]) == channel_id:
            if self._channels[channel_id]["type"] == 1:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            wire = self._user_wire.pop(message_id)
            self.deleted.append({"message_id": message_id, "channel_id": channel_id, "user_message": wire})
            return None
        record = self._bot.get(message_id)
        if record is None or record["deleted"] or record["channel_id"] != channel_id or record["flags"] & EPHEMERAL:
            raise _unknown_message()
        self._delete(record, via="channel")
        return None

    async def _r_react(self, call: Call, channel: str, message: str, emoji: str) -> None:
        channel_id = self._live_channel(channel)
        if self._any_wire(int(message)) is None:
            raise _unknown_message()
        self.reactions.append({"channel_id": channel_id, "message_id": int(message), "emoji": emoji, "added": True})
        return None

    async def _r_unreact(self, call: Call, channel: str, message: str, emoji: str) -> None:
        channel_id = self._live_channel(channel)
        self.reactions.append({"channel_id": channel_id, "message_id": int(message), "emoji": emoji, "added": False})
        return None

    async def _r_typing(self, call: Call, channel: str) -> None:
        channel_id = self._live_channel(channel)
        self._check_can_post(channel_id)
        self.typing.append(channel_id)
        return None

    # -- REST: interactions and their webhooks ---------------------------------------------------------------

    async def _r_callback(self, call: Call, interaction: str, token: str) -> Any:
        it = self._interactions.get(int(interaction))
        if it is None or it.token != token:
            raise _unknown_interaction()
        if it.responded is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - it.created > self.interaction_deadline:
            raise _unknown_interaction()
        body = call.json if isinstance(call.json, dict) else {}
        kind = body.get("type")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if kind not in _ALLOWED_CALLBACKS.get(it.type, set()):
            raise _form_error(["type"], "INTERACTION_CALLBACK_TYPE_INVALID", f"Callback type {kind} is not valid here")
        resource: dict[str, Any] = {"type": kind}
        message_record = None
        if kind == CHANNEL_MESSAGE:
            self._validate_message(data, files=call.files, creating=True)
            message_record = self._create(it.channel_id, data, call.files, via="interaction", interaction=it)
            it.original_id = message_record["id"]
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            message_record = self._create(
                it.channel_id, {"flags": int(data.get("flags") or 0) & EPHEMERAL}, [], via="interaction",
                interaction=it, pending=True,
            )  # fmt: skip
            it.original_id = it.placeholder_id = message_record["id"]
        elif kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            target = self._bot.get(it.component_message_id or 0)
            if target is None or target["deleted"]:
                raise _unknown_message()
            it.original_id = target["id"]
            if kind == UPDATE_MESSAGE:
                self._edit(target, data, call.files, via="interaction", interaction_id=it.id)
                message_record = target
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise _form_error(["data", "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for index, choice in enumerate(choices):
                label = choice.get("name") if isinstance(choice, dict) else None
                if not isinstance(label, str) or not 1 <= len(label) <= 100:
                    raise _form_error(
                        ["data", "choices", index, "name"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                value = choice.get("value")
                if isinstance(value, str) and len(value) > 100:
                    raise _form_error(
                        ["data", "choices", index, "value"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
        elif kind == MODAL:
            title = data.get("title")
            if not isinstance(title, str) or not 1 <= len(title) <= 45:
                raise _form_error(["data", "title"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
            if not data.get("custom_id") or not 1 <= len(data.get("components") or []) <= 5:
                raise _form_error(["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
            it.modal = copy.deepcopy(data)
        it.responded = kind
        self.interaction_responses.append({"interaction_id": it.id, "type": kind, "data": copy.deepcopy(data)})
        if call.query.get("with_response", "").lower() not in ("1", "true"):
            return None
        summary: dict[str, Any] = {"id": str(it.id), "type": it.type}
        if message_record is not None:
            summary.update(
                response_message_id=str(message_record["id"]),
                response_message_loading=kind == DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=bool(message_record["flags"] & EPHEMERAL),
            )
            resource["message"] = self._wire(message_record)
        return {"interaction": summary, "resource": resource}

    def _webhook_interaction(self, app: str, token: str) -> _Interaction:
        if int(app) != self.application_id:
            raise _unknown_webhook()
        interaction_id = self._tokens.get(token)
        if interaction_id is None:
            raise _unknown_webhook()
        return self._interactions[interaction_id]

    def _webhook_target(self, it: _Interaction, message: str) -> dict:
        if message == "@original":
            if it.original_id is None:
                raise _unknown_message()
            message_id = it.original_id
        else:
            message_id = int(message)
            if message_id not in (it.original_id, *it.followup_ids):
                raise _unknown_message()
        record = self._bot.get(message_id)
        if record is None or record["deleted"]:
            raise _unknown_message()
        return record

    async def _r_followup(self, call: Call, app: str, token: str) -> Any:
        it = self._webhook_interaction(app, token)
        if it.responded is None:
            raise _unknown_webhook()  # followups need the interaction to be acknowledged first
        payload = call.json if isinstance(call.json, dict) else {}
        self._validate_message(payload, files=call.files, creating=True)
        if it.placeholder_id is not None:  # the first followup after a defer replaces the "thinking" message
            record = self._bot[it.placeholder_id]
            it.placeholder_id = None
            self._fill(record, payload, call.files, via="followup")
        else:
            record = self._create(it.channel_id, payload, call.files, via="followup", interaction=it)
        it.followup_ids.append(record["id"])
        if call.query.get("wait", "").lower() not in ("1", "true"):
            return None
        return self._wire(record)

    async def _r_get_webhook_message(self, call: Call, app: str, token: str, message: str) -> dict:
        it = self._webhook_interaction(app, token)
        return self._wire(self._webhook_target(it, message))

    async def _r_edit_webhook_message(self, call: Call, app: str, token: str, message: str) -> dict:
        it = self._webhook_interaction(app, token)
        record = self._webhook_target(it, message)
        payload = call.json if isinstance(call.json, dict) else {}
        if record["pending"]:
            it.placeholder_id = None
            self._fill(record, payload, call.files, via="interaction")
        else:
            self._edit(record, payload, call.files, via="webhook", interaction_id=it.id)
        return self._wire(record)

    async def _r_delete_webhook_message(self, call: Call, app: str, token: str, message: str) -> None:
        it = self._webhook_interaction(app, token)
        record = self._webhook_target(it, message)
        if record["pending"]:
            it.placeholder_id = None
            record["pending"] = False
        self._delete(record, via="webhook")
        return None

    # -- bot messages ----------------------------------------------------------------------------------------

    def _validate_message(self, payload: Any, *, files: list[dict], creating: bool) -> None:
        if not isinstance(payload, dict):
            raise _form_error([], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            raise _form_error(["content"], "BASE_TYPE_STRING", "Must be a string.")
        if isinstance(content, str) and len(content) > MAX_CONTENT:
            raise _form_error(["content"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        flags = int(payload.get("flags") or 0)
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            raise _form_error(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        limits = {"title": 256, "description": 4096}
        for index, embed in enumerate(embeds):
            if not isinstance(embed, dict):
                raise _form_error(["embeds", index], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            for key, limit in limits.items():
                text = embed.get(key) or ""
                total += len(text)
                if len(text) > limit:
                    raise _form_error(
                        ["embeds", index, key], "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                    )
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise _form_error(["embeds", index, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for f_index, item in enumerate(fields):
                for key, limit in (("name", 256), ("value", 1024)):
                    text = item.get(key)
                    if not isinstance(text, str) or not text.strip():
                        raise _form_error(
                            ["embeds", index, "fields", f_index, key], "BASE_TYPE_REQUIRED", "This field is required"
                        )
                    total += len(text)
                    if len(text) > limit:
                        raise _form_error(
                            ["embeds", index, "fields", f_index, key],
                            "BASE_TYPE_MAX_LENGTH",
                            f"Must be {limit} or fewer in length.",
                        )
            for key, inner, limit in (("footer", "text", 2048), ("author", "name", 256)):
                text = (embed.get(key) or {}).get(inner) or ""
                total += len(text)
                if len(text) > limit:
                    raise _form_error(
                        ["embeds", index, key, inner], "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                    )
        if total > 6000:
            raise _form_error(["embeds"], "MESSAGE_EMBEDS_TOO_LARGE", "Embed size exceeds maximum size of 6000")
        components = payload.get("components") or []
        self._validate_components(components, flags)
        if creating:
            has_body = bool((content or "").strip()) or bool(embeds) or bool(components) or bool(files)
            has_body = has_body or bool(payload.get("sticker_ids")) or bool(payload.get("poll"))
            if not has_body:
                raise ApiError(400, 50006, "Cannot send an empty message")

    def _validate_components(self, components: Any, flags: int) -> None:
        if not isinstance(components, list):
            raise _form_error(["components"], "BASE_TYPE_ARRAY", "Must be an array.")
        custom_ids: set[str] = set()
        if flags & IS_COMPONENTS_V2:
            if len(list(_walk_components(components))) > 40:
                raise _form_error(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
        elif len(components) > 5:
            raise _form_error(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        for row_index, row in enumerate(components):
            if not isinstance(row, dict):
                raise _form_error(
                    ["components", row_index], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            if not flags & IS_COMPONENTS_V2 and row.get("type") != 1:
                raise _form_error(
                    ["components", row_index, "type"],
                    "UNION_TYPE_CHOICES",
                    "Top-level components must be action rows (or set IS_COMPONENTS_V2)",
                )
            if row.get("type") == 1:
                children = row.get("components") or []
                kinds = [c.get("type") for c in children if isinstance(c, dict)]
                if not children or len(children) > 5 or (any(k in SELECT_TYPES for k in kinds) and len(children) != 1):
                    raise _form_error(
                        ["components", row_index, "components"],
                        "BASE_TYPE_BAD_LENGTH",
                        "An action row holds 1-5 buttons or exactly one select menu",
                    )
        for component in _walk_components(components):
            kind = component.get("type")
            custom_id = component.get("custom_id")
            if kind == 2:
                style = component.get("style")
                if style == 5:
                    if not component.get("url"):
                        raise _form_error(["components"], "BUTTON_COMPONENT_URL_REQUIRED", "A link button needs url")
                elif style in (1, 2, 3, 4):
                    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
                        raise _form_error(
                            ["components"],
                            "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                            f"custom_id must be 1-100 characters: {custom_id!r}",
                        )
                label = component.get("label")
                if label is not None and len(label) > 80:
                    raise _form_error(
                        ["components"], "BASE_TYPE_MAX_LENGTH", "Button labels must be 80 or fewer in length."
                    )
                if not label and not component.get("emoji") and style != 6:
                    raise _form_error(
                        ["components"], "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A button needs a label or an emoji"
                    )
            elif kind in SELECT_TYPES:
                if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
                    raise _form_error(
                        ["components"],
                        "COMPONENT_CUSTOM_ID_INVALID",
                        f"custom_id must be 1-100 characters: {custom_id!r}",
                    )
                if len(component.get("placeholder") or "") > 150:
                    raise _form_error(
                        ["components"], "BASE_TYPE_MAX_LENGTH", "Placeholders must be 150 or fewer in length."
                    )
                if kind == 3:
                    options = component.get("options") or []
                    if not 1 <= len(options) <= 25:
                        raise _form_error(["components"], "BASE_TYPE_BAD_LENGTH", "A select menu needs 1-25 options")
                    for option in options:
                        for key in ("label", "value"):
                            if not 1 <= len(str(option.get(key) or "")) <= 100:
                                raise _form_error(
                                    ["components"],
                                    "BASE_TYPE_BAD_LENGTH",
                                    f"Select option {key} must be 1-100 characters",
                                )
                        if len(option.get("description") or "") > 100:
                            raise _form_error(
                                ["components"],
                                "BASE_TYPE_MAX_LENGTH",
                                "Select option descriptions must be 100 or fewer in length.",
                            )
            if custom_id is not None:
                if custom_id in custom_ids:
                    raise _form_error(
                        ["components"],
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        f"Component custom id cannot be duplicated: {custom_id!r}",
                    )
                custom_ids.add(custom_id)

    def _attachments(self, payload: dict, files: list[dict], channel_id: int) -> list[dict]:
        described = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)}
        found = []
        for upload in files:
            index = re.fullmatch(r"files\[(\d+)\]", upload["field"] or "")
            info = described.get(index.group(1) if index else "", {})
            attachment_id = self._snowflake()
            filename = info.get("filename") or upload["filename"]
            self._files[attachment_id] = (filename, upload["content_type"], upload["data"])
            found.append(
                {
                    "id": str(attachment_id),
                    "filename": filename,
                    "size": len(upload["data"]),
                    "content_type": upload["content_type"],
                    "description": info.get("description"),
                    "url": f"http://{HOST}:{self.port}/attachments/{channel_id}/{attachment_id}/{filename}",
                    "proxy_url": f"http://{HOST}:{self.port}/attachments/{channel_id}/{attachment_id}/{filename}",
                }
            )
        return found

    def _create(
        self,
        channel_id: int,
        payload: dict,
        files: list[dict],
        *,
        via: str,
        interaction: _Interaction | None = None,
        reply_to: int | None = None,
        pending: bool = False,
    ) -> dict:
        """A bot message record. Keys: id, channel_id, guild_id, dm_user_id, content, embeds, components, flags,
        via, interaction_id, edited, deleted, reply_to, attachments, tts, allowed_mentions, shown_to (the user an
        ephemeral message is shown to), deferred (filled in after a defer), pending, type, timestamp,
        edited_timestamp, payload (as first sent)."""
        channel = self._channels[channel_id]
        message_id = self._snowflake()
        flags = int(payload.get("flags") or 0)
        if via == "channel":
            flags &= SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2  # others are not settable
        record: dict[str, Any] = {
            "id": message_id,
            "channel_id": channel_id,
            "guild_id": channel.get("guild_id"),
            "dm_user_id": channel.get("recipient_id"),
            "content": payload.get("content") or "",
            "embeds": copy.deepcopy(payload.get("embeds") or []),
            "components": copy.deepcopy(payload.get("components") or []),
            "flags": flags,
            "via": via,
            "interaction_id": interaction.id if interaction else None,
            "edited": False,
            "deleted": False,
            "reply_to": reply_to,
            "attachments": self._attachments(payload, files, channel_id),
            "tts": bool(payload.get("tts", False)),
            "allowed_mentions": copy.deepcopy(payload.get("allowed_mentions")),
            "shown_to": interaction.user_id if (interaction and flags & EPHEMERAL) else None,
            "deferred": pending,
            "pending": pending,
            "type": self._message_type(interaction, reply_to),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "payload": copy.deepcopy(payload),
        }
        self._bot[message_id] = record
        if not pending:
            self.messages.append(record)
        self._echo("MESSAGE_CREATE", record)
        return record

    @staticmethod
    def _message_type(interaction: _Interaction | None, reply_to: int | None) -> int:
        if interaction is not None and interaction.type in (APPLICATION_COMMAND, AUTOCOMPLETE):
            return 20  # CHAT_INPUT_COMMAND
        if reply_to is not None:
            return 19  # REPLY
        return 0

    def _fill(self, record: dict, payload: dict, files: list[dict], *, via: str) -> None:
        """A deferred "thinking" message gets its content (first @original edit or first followup)."""
        self._validate_message(payload, files=files, creating=False)
        self._apply(record, payload, files)
        if not (record["content"].strip() or record["embeds"] or record["components"] or record["attachments"]):
            raise ApiError(400, 50006, "Cannot send an empty message")
        record["pending"] = False
        record["via"] = via
        record["payload"] = copy.deepcopy(payload)
        self.messages.append(record)
        self._echo("MESSAGE_UPDATE", record)

    def _apply(self, record: dict, payload: dict, files: list[dict]) -> dict:
        changed: dict[str, Any] = {}
        if "content" in payload:
            changed["content"] = record["content"] = payload["content"] or ""
        for key in ("embeds", "components"):
            if key in payload:
                changed[key] = record[key] = copy.deepcopy(payload[key] or [])
        if "flags" in payload and payload["flags"] is not None:
            settable = SUPPRESS_EMBEDS | IS_COMPONENTS_V2
            record["flags"] = (record["flags"] & ~settable) | (int(payload["flags"]) & settable)
            changed["flags"] = record["flags"]
        if "attachments" in payload or files:
            keep_ids = {str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)}
            kept = (
                [a for a in record["attachments"] if a["id"] in keep_ids]
                if "attachments" in payload
                else record["attachments"]
            )
            changed["attachments"] = record["attachments"] = kept + self._attachments(
                payload, files, record["channel_id"]
            )
        if "allowed_mentions" in payload:
            record["allowed_mentions"] = copy.deepcopy(payload["allowed_mentions"])
        return changed

    def _edit(
        self, record: dict, payload: dict, files: list[dict], *, via: str, interaction_id: int | None = None
    ) -> None:
        self._validate_message(payload, files=files, creating=False)
        before = {k: copy.deepcopy(record[k]) for k in ("content", "embeds", "components", "flags", "attachments")}
        changed = self._apply(record, payload, files)
        if not (record["content"].strip() or record["embeds"] or record["components"] or record["attachments"]):
            record.update(before)
            raise ApiError(400, 50006, "Cannot send an empty message")
        record["edited"] = True
        record["edited_timestamp"] = _now_iso()
        self.edits.append(
            {
                "message_id": record["id"],
                "channel_id": record["channel_id"],
                "via": via,
                "interaction_id": interaction_id,
                **copy.deepcopy(changed),
                "payload": copy.deepcopy(payload),
            }
        )
        self._echo("MESSAGE_UPDATE", record)

    def _delete(self, record: dict, *, via: str) -> None:
        record["deleted"] = True
        self.deleted.append({"message_id": record["id"], "channel_id": record["channel_id"], "via": via})
        if self.echo_bot_messages and not record["flags"] & EPHEMERAL:
            data = {"id": str(record["id"]), "channel_id": str(record["channel_id"])}
            if record["guild_id"] is not None:
                data["guild_id"] = str(record["guild_id"])
            self._dispatch("MESSAGE_DELETE", data, intent=self._message_intent(record))
        del self._bot[record["id"]]

    def _message_intent(self, record: dict) -> int:
        return INTENT_GUILD_MESSAGES if record["guild_id"] is not None else INTENT_DIRECT_MESSAGES

    def _echo(self, event: str, record: dict) -> None:
        if self.echo_bot_messages and not record["flags"] & EPHEMERAL:
            self._dispatch(event, self._wire(record, gateway=True), intent=self._message_intent(record))

    def _any_wire(self, message_id: int) -> dict | None:
        record = self._bot.get(message_id)
        if record is not None:
            return self._wire(record)
        wire = self._user_wire.get(message_id)
        return copy.deepcopy(wire) if wire is not None else None

    def _wire(self, record: dict, *, gateway: bool = False) -> dict:
        """A bot message as Discord returns/dispatches it."""
        pending = record["pending"]
        wire: dict[str, Any] = {
            "id": str(record["id"]),
            "channel_id": str(record["channel_id"]),
            "type": record["type"],
            "content": "" if pending else record["content"],
            "author": self._bot_user(),
            "attachments": [] if pending else copy.deepcopy(record["attachments"]),
            "embeds": [] if pending else [{"type": "rich", **e} for e in record["embeds"]],
            "components": [] if pending else copy.deepcopy(record["components"]),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": record["tts"],
            "timestamp": record["timestamp"],
            "edited_timestamp": record["edited_timestamp"],
            "flags": record["flags"] | (LOADING if pending else 0),
        }
        for match in re.finditer(r"<@!?(\d+)>", wire["content"]):
            uid = int(match.group(1))
            if uid in self._users and all(m["id"] != str(uid) for m in wire["mentions"]):
                wire["mentions"].append(self._user(uid))
        if record["guild_id"] is not None:
            wire["guild_id"] = str(record["guild_id"])
            if gateway:
                wire["member"] = self._member(record["guild_id"], self.bot_user_id, with_user=False)
        if record["interaction_id"] is not None:
            it = self._interactions[record["interaction_id"]]
            wire["webhook_id"] = str(self.application_id)
            wire["application_id"] = str(self.application_id)
            metadata: dict[str, Any] = {
                "id": str(it.id),
                "type": it.type,
                "user": self._user(it.user_id),
                "authorizing_integration_owners": {"0": str(it.guild_id or 0)},
            }
            if it.type == APPLICATION_COMMAND:
                metadata["name"] = it.name
            if record["id"] != it.original_id and it.original_id is not None:
                metadata["original_response_message_id"] = str(it.original_id)
            if it.component_message_id is not None:
                metadata["interacted_message_id"] = str(it.component_message_id)
            wire["interaction_metadata"] = metadata
        if record["reply_to"] is not None:
            wire["message_reference"] = {
                "type": 0,
                "message_id": str(record["reply_to"]),
                "channel_id": str(record["channel_id"]),
            }
            if record["guild_id"] is not None:
                wire["message_reference"]["guild_id"] = str(record["guild_id"])
            referenced = self._bot.get(record["reply_to"])
            if referenced is not None and referenced["reply_to"] is None:
                wire["referenced_message"] = self._wire(referenced)
            elif record["reply_to"] in self._user_wire:
                replied = copy.deepcopy(self._user_wire[record["reply_to"]])
                replied.pop("referenced_message", None)
                wire["referenced_message"] = replied
        return wire


__all__ = [
    "APPLICATION_ID",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "DM_CHANNEL_BASE",
    "EPHEMERAL",
    "GUILD_ID",
    "OTHER_CHANNEL_ID",
    "OTHER_GUILD_ID",
    "OTHER_USER_ID",
    "OWNER_USER_ID",
    "USER_ID",
    "ApiError",
    "Call",
    "FakeDiscord",
]
