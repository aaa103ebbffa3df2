"""A fake Telegram Bot API server for end-to-end tests with the real python-telegram-bot library.

The fake listens on 127.0.0.1 (ephemeral port) and speaks the Bot API wire format that PTB uses:

* every API call is an HTTP POST to ``{base_url}{token}/{method}`` (``base_url`` ends in ``/bot``);
* parameters arrive ``application/x-www-form-urlencoded``: strings as they are, everything else
  (ints, bools, lists, dicts such as ``reply_markup``) as JSON text; with a file upload the same
  fields arrive as ``multipart/form-data`` and the file is a part named after the parameter;
* answers are JSON ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
  "description": "...", "parameters": {...}}`` with the HTTP status equal to ``error_code``;
  PTB maps the HTTP status (not ``error_code``) to its exceptions: any non-2xx answer whose
  ``parameters`` has ``retry_after`` raises RetryAfter, else 403 Forbidden, 400 BadRequest,
  401/404 InvalidToken, 409 Conflict, anything else NetworkError; a non-JSON body raises
  TelegramError. PTB strips a leading "Bad Request: " from descriptions and ``capitalize()``s the
  rest, so match BadRequest texts case-insensitively.

It never connects anywhere: webhooks are only recorded, photo URLs are never fetched.

Typical use::

    async with FakeTelegram() as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        fake.user_message("/start")
        ...
        await fake.wait_sent(1)
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-token-for-the-fake-api-000000000"
HOST = "127.0.0.1"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
GROUP_CHAT_ID = -4000000001
SUPERGROUP_CHAT_ID = -1001000000001

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)
INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

# Form fields whose value is always JSON text, and fields that are always plain strings (never coerced).
_JSON_FIELDS = frozenset(
    "reply_markup reply_parameters entities caption_entities commands scope allowed_updates "
    "link_preview_options media results button options permissions prices reaction".split()
)
_STRING_FIELDS = frozenset(
    "text caption description short_description callback_query_id inline_message_id parse_mode url action "
    "language_code secret_token photo document file_id query title name emoji question "
    "business_connection_id message_effect_id ip_address".split()
)


# -- HTML, the way Telegram parses it ------------------------------------------------------------------------


class HtmlError(ValueError):
    """Telegram would reject the text with 400 ``Bad Request: can't parse entities: ...``."""


_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}  # the only named ones Telegram knows


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the HTML entity at text[pos] == '&' like tdlib does; (None, pos) if there is none."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        base, digits = 10, "0123456789"
        if end < n and text[end] == "x":
            end += 1
            base, digits = 16, "0123456789abcdefABCDEF"
        start = end
        while end < n and text[end] in digits:
            end += 1
        if end == start or end - pos >= 10:
            return None, pos
        code = int(text[start:end], base)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos
        char = chr(code)
    else:
        start = end
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        found = _NAMED_ENTITIES.get(text[start:end])
        if found is None:
            return None, pos
        char = found
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict]]:
    """Telegram's HTML parse mode: (text without markup, entities with UTF-16 offsets) or HtmlError.

    Modelled on tdlib's parser (same tags, attributes, entities and error wording). One deliberate
    difference: Telegram keeps a '&' that starts no entity as a literal '&'; with strict_ampersand
    (the default) the fake rejects it, because it almost always means the text was not escaped.
    """
    out: list[str] = []
    u16 = 0
    entities: list[dict] = []
    stack: list[tuple[str, dict[str, str], int, int]] = []  # tag, attributes, utf16 offset, len(out)
    i, n = 0, len(text)

    def offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8", "surrogatepass"))

    def fail(message: str) -> None:
        raise HtmlError(f"can't parse entities: {message}")

    while i < n:
        char = text[i]
        if char == "&":
            decoded, after = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += _u16(decoded)
                i = after
                continue
            if strict_ampersand:
                fail(f'Unescaped "&" at byte offset {offset(i)}; write &amp; (the fake is stricter than Telegram)')
        if char != "<":
            out.append(char)
            u16 += _u16(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":  # an end tag
            i += 1
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            name = text[start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                fail(f"Unclosed end tag at byte offset {offset(begin)}")
            i += 1
            if not stack:
                fail(f"Unexpected end tag at byte offset {offset(begin)}")
            tag, attrs, start_u16, start_out = stack.pop()
            if name and name != tag:
                fail(f'Unmatched end tag at byte offset {offset(begin)}, expected "</{tag}>", found "</{name}>"')
            if u16 > start_u16:
                entity: dict[str, Any] = {"type": _TAG_TYPES[tag], "offset": start_u16, "length": u16 - start_u16}
                if tag == "a":
                    entity["url"] = attrs.get("href") or "".join(out[start_out:])
                elif tag == "code" and attrs.get("class", "").startswith("language-"):
                    entity["language"] = attrs["class"].removeprefix("language-")
                elif tag == "blockquote" and "expandable" in attrs:
                    entity["type"] = "expandable_blockquote"
                elif tag == "tg-emoji":
                    if not attrs.get("emoji-id", "").isdigit():
                        fail("Invalid custom emoji identifier specified")
                    entity["custom_emoji_id"] = attrs["emoji-id"]
                entities.append(entity)
            continue
        # a start tag
        start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            fail(f"Unclosed start tag at byte offset {offset(begin)}")
        name = text[start:i].lower()
        if name not in _TAG_TYPES:
            fail(f'Unsupported start tag "{name}" at byte offset {offset(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                fail(f'Unclosed start tag "{name}" at byte offset {offset(begin)}')
            if text[i] == ">":
                i += 1
                break
            start = i
            while i < n and not text[i].isspace() and text[i] not in "=>/\"'":
                i += 1
            attr = text[start:i].lower()
            if not attr:
                fail(f'Empty attribute name in the tag "{name}" at byte offset {offset(begin)}')
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                fail(f'Unclosed start tag "{name}" at byte offset {offset(begin)}')
            if text[i] != "=":
                attrs[attr] = ""
                continue
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                fail(f'Unclosed start tag "{name}" at byte offset {offset(begin)}')
            if text[i] in "\"'":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded, after = _decode_entity(text, i)
                        if decoded is not None:
                            value.append(decoded)
                            i = after
                            continue
                    value.append(text[i])
                    i += 1
                if i >= n:
                    fail(f"Unclosed start tag at byte offset {offset(begin)}")
                i += 1
                attrs[attr] = "".join(value)
            else:
                start = i
                while i < n and text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                if i >= n or (not text[i].isspace() and text[i] != ">"):
                    fail(f"Unexpected end of name token at byte offset {offset(i)}")
                attrs[attr] = text[start:i].lower()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset(begin)}')
        stack.append((name, attrs, u16, len(out)))
    if stack:
        fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def plain(text: str) -> str:
    """What a user sees of an HTML text: tags stripped, entities unescaped (lenient with invalid markup)."""
    try:
        return parse_html(text, strict_ampersand=False)[0]
    except HtmlError:
        return html.unescape(re.sub(r"<[^>]*>", "", text))


def _auto_entities(text: str) -> list[dict]:
    """The entities Telegram itself finds in a user's plain text: bot commands and @mentions."""
    found = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?", text):
        found.append(("bot_command", match.start(), match.group()))
    for match in re.finditer(r"(?<![\w@/])@[A-Za-z0-9_]{3,32}", text):
        found.append(("mention", match.start(), match.group()))
    return [
        {"type": kind, "offset": _u16(text[:start]), "length": _u16(value)}
        for kind, start, value in sorted(found, key=lambda f: f[1])
    ]


# -- records -------------------------------------------------------------------------------------------------


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One HTTP request to the fake. params are parsed (JSON fields decoded, numbers as int, bools as bool);
    raw has the form fields exactly as they arrived (files as UploadedFile)."""

    method: str
    params: dict
    at: float  # time.monotonic()
    http_verb: str = "POST"
    content_type: str = ""
    raw: dict = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Injected:
    kind: str  # "fail" | "hang" | "garbage" | "drop"
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    seconds: float = 0.0


def _drop(request: web.Request) -> web.Response:
    """Abort the TCP connection: the client gets no HTTP answer at all (its request is never carried out)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)  # never reaches the client: the connection is gone


def _coerce(key: str, value: str) -> Any:
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _STRING_FIELDS:
        return value
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _inline_buttons(markup: Any) -> list[dict]:
    if not isinstance(markup, dict):
        return []
    return [b for row in markup.get("inline_keyboard") or [] for b in row if isinstance(b, dict)]


# -- the server ----------------------------------------------------------------------------------------------


class FakeTelegram:
    """An in-process Bot API server on 127.0.0.1 with inspectable state and failure injection."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "HipCoachBot",
        bot_id: int = 999,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Hip Coach",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.long_poll_cap = 2.0  # seconds a getUpdates long poll may really wait, whatever its timeout
        self.strict_ampersand = True  # reject '&' that starts no entity (Telegram would show it literally)

        self.calls: list[Call] = []
        self.sent: list[dict] = []
        self.edits: list[dict] = []
        self.deleted: list[dict] = []
        self.answered_callbacks: list[dict] = []
        self.commands: list[dict] | None = None
        self.chat_actions: list[dict] = []
        self.webhook_url = ""
        self.webhook_secret = ""  # secret_token of the last setWebhook (Telegram sends it with every update)
        self.webhook_allowed_updates: list[str] | None = None
        self.internal_errors: list[str] = []  # bugs in the fake itself (answered with HTTP 500)

        self._updates: list[dict] = []
        self._next_update_id = 1
        self._callback_ids = itertools.count(4_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> current wire message
        self._formats: dict[tuple[int, int], tuple] = {}  # content used for "message is not modified"
        self._chats: dict[int, dict] = {}
        self._callbacks: dict[str, dict] = {}
        self._files: dict[str, dict] = {}
        self._scoped_commands: dict[tuple[str, str], list[dict]] = {}
        self._injected: dict[str, deque[_Injected]] = {}
        self._blocked: set[int] = set()
        self._failing: dict[str, tuple[float, int, str, float | None]] = {}  # method -> until, status, ...
        self.admins: dict[int, set[int]] = {}  # chat id -> user ids who are administrators (getChatMember)
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.middlewares: list = []  # aiohttp middlewares around every request (tests/fakes/limited_servers.py)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=self.middlewares)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{HOST}:{self.port}/file/bot"

    # -- inspection ------------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_to(self, chat_id: int) -> list[dict]:
        return [m for m in self.sent if m["chat_id"] == chat_id]

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """The current state of a message (after edits), as Telegram would deliver it."""
        found = self._messages.get((chat_id, message_id))
        return copy.deepcopy(found) if found is not None else None

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._updates)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(self._explain(what or getattr(predicate, "__name__", "condition"), timeout))
            await asyncio.sleep(0.005)

    async def wait_sent(self, count: int, timeout: float = 5.0) -> list[dict]:
        await self.wait_for(lambda: len(self.sent) >= count, timeout, f"at least {count} sent message(s)")
        return list(self.sent)

    async def wait_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout, f"{count} call(s) to {method}")
        return self.calls_to(method)

    def _explain(self, what: str, timeout: float) -> str:
        lines = [f"FakeTelegram: timed out after {timeout}s waiting for {what}."]
        interesting = [c for c in self.calls if c.method.lower() != "getupdates"]
        polls = len(self.calls) - len(interesting)
        lines.append(f"{len(self.calls)} call(s) so far ({polls} getUpdates); the last ones:")
        for call in interesting[-15:]:
            params = {k: v for k, v in call.params.items() if not isinstance(v, UploadedFile)}
            lines.append(f"  {call.method} {json.dumps(params, default=str)[:300]}")
        lines.append(f"sent: {len(self.sent)} message(s)")
        for message in self.sent[-5:]:
            lines.append(f"  -> chat {message['chat_id']}: {str(message.get('text'))[:120]!r}")
        lines.append(f"undelivered updates: {[u['update_id'] for u in self._updates]}")
        if self.internal_errors:
            lines.append(f"errors inside the fake: {self.internal_errors[-3:]}")
        return "\n".join(lines)

    # -- what users do ---------------------------------------------------------------------------------------

    def push_update(self, update: dict) -> None:
        """Queue a raw Update for getUpdates; update_id is assigned when missing."""
        self._push(update)

    def _push(self, update: dict) -> dict:
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self._updates.append(update)
        self._wake()
        return copy.deepcopy(update)

    def user_message(
        self,
        text: str,
        user_id: int = 1001,
        chat_id: int | None = None,
        first_name: str = "Alice",
        username: str | None = "alice",
        chat_type: str = "private",
        reply_to_bot_message: dict | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        user = self._user(user_id, first_name, username)
        if chat_id is None:
            chat_id = {"private": user_id, "supergroup": SUPERGROUP_CHAT_ID}.get(chat_type, GROUP_CHAT_ID)
        chat = self._chat(chat_id, chat_type, user)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            "text": text,
        }
        found = _auto_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to_bot_message is not None:
            message["reply_to_message"] = self._reply_copy(reply_to_bot_message)
        self._messages[(chat_id, message["message_id"])] = message
        return self._push({"message": message})

    def press_button(
        self,
        message: dict,
        data: str,
        user_id: int = 1001,
        first_name: str = "Alice",
        *,
        username: str | None = "alice",
        check: bool = True,
    ) -> dict:
        """A user taps an inline button on a message the bot sent (check: the button must be on it now)."""
        key = self._key(message)
        current = self._messages.get(key)
        if current is None:
            raise ValueError(f"press_button: the fake knows no message {key} (chat_id, message_id)")
        if check:
            on_it = [b.get("callback_data") for b in _inline_buttons(current.get("reply_markup"))]
            if data not in on_it:
                raise ValueError(f"press_button: no button with data {data!r} on message {key}; it has {on_it}")
        query_id = str(next(self._callback_ids))
        self._callbacks[query_id] = {"answered": False, "user_id": user_id, "message": key, "data": data}
        query = {
            "id": query_id,
            "from": self._user(user_id, first_name, username),
            "message": copy.deepcopy(current),
            "chat_instance": str(abs(key[0]) * 7919 + 13),
            "data": data,
        }
        return self._push({"callback_query": query})

    # -- failure injection -----------------------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int, description: str = "", retry_after: int | None = None, times: int = 1
    ) -> None:
        if status == 429 and retry_after is None:
            retry_after = 1
        if not description:
            description = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}").format(retry_after=retry_after)
        for _ in range(times):
            self._queue(method).append(_Injected("fail", status, description, retry_after))

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the answer (the request is still carried out afterwards, as a slow Telegram would)."""
        for _ in range(times):
            self._queue(method).append(_Injected("hang", seconds=seconds))

    def garbage_next(self, method: str, times: int = 1) -> None:
        for _ in range(times):
            self._queue(method).append(_Injected("garbage"))

    def fail_for(self, method: str, seconds: float, status: int = 429, retry_after: float | None = None) -> None:
        """Every call to method fails for the next `seconds` (a storm of 429s, an outage of 5xx); injections
        queued with fail_next/hang_next/... are served first. Telegram sends whole seconds of retry_after; a
        shorter float here stands in for a long storm in a short test."""
        if status == 429 and retry_after is None:
            retry_after = 1
        description = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}").format(retry_after=retry_after)
        self._failing[method.lower()] = (time.monotonic() + seconds, status, description, retry_after)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without an answer, before the request is carried out (a connection lost
        mid-request: the client sent it and never hears back; nothing happened on the server)."""
        for _ in range(times):
            self._queue(method).append(_Injected("drop"))

    def block_user(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def _queue(self, method: str) -> deque[_Injected]:
        return self._injected.setdefault(method.lower(), deque())

    # -- HTTP ------------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._route(request)
        except ApiError as exc:
            return self._error(exc)
        except Exception as exc:  # a bug in the fake: make it loud in wait_for messages
            log.exception("FakeTelegram failed on %s", request.path)
            self.internal_errors.append(f"{request.path}: {exc!r}")
            return self._error(ApiError(500, f"Internal Server Error: the fake crashed: {exc!r}"))

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return self._download(path.removeprefix("/file/bot"))
        if not path.startswith("/bot"):
            raise ApiError(404, "Not Found")
        token, _, method = path.removeprefix("/bot").partition("/")
        raw, params = await self._read_params(request)
        self.calls.append(Call(method, params, time.monotonic(), request.method, request.content_type, raw))
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._methods().get(method.lower())
        if not method or handler is None:
            raise ApiError(404, "Not Found: method not found")
        queue = self._injected.get(method.lower())
        if queue:
            injected = queue.popleft()
            if injected.kind == "fail":
                parameters = {"retry_after": injected.retry_after} if injected.retry_after is not None else None
                raise ApiError(injected.status, injected.description, parameters)
            if injected.kind == "garbage":
                return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
            if injected.kind == "drop":
                return _drop(request)
            await self._sleep(injected.seconds)
        failing = self._failing.get(method.lower())
        if failing is not None and time.monotonic() < failing[0]:
            _, status, description, retry_after = failing
            raise ApiError(status, description, {"retry_after": retry_after} if retry_after is not None else None)
        chat_id = params.get("chat_id")
        if chat_id in self._blocked and (method.lower().startswith(("send", "edit", "copy", "forward"))):
            raise ApiError(403, BLOCKED)
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> tuple[dict, dict]:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = await request.json() if request.can_read_body else {}
            except ValueError:
                raise _bad("can't parse JSON encoded request body") from None
            return {**raw, **body}, {**raw, **body}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    raw[key] = UploadedFile(key, value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
        params = {k: _coerce(k, v) if isinstance(v, str) else v for k, v in raw.items()}
        return raw, params

    @staticmethod
    def _error(exc: ApiError) -> web.Response:
        payload: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return web.json_response(payload, status=exc.status)

    def _download(self, rest: str) -> web.Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        for stored in self._files.values():
            if stored["file_path"] == file_path:
                return web.Response(body=stored["data"], content_type="application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

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

    # -- helpers ---------------------------------------------------------------------------------------------

    @staticmethod
    def _user(user_id: int, first_name: str, username: str | None) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if username:
            user["username"] = username
        return user

    def _chat(self, chat_id: int, chat_type: str = "", user: dict | None = None) -> dict:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat_type = chat_type or ("private" if chat_id > 0 else "supergroup" if chat_id < -(10**12) else "group")
            if chat_type == "private":
                user = user or {"first_name": "User"}
                chat = {"id": chat_id, "type": "private", "first_name": user.get("first_name", "User")}
                if user.get("username"):
                    chat["username"] = user["username"]
            else:
                chat = {"id": chat_id, "type": chat_type, "title": "Hip Coach Test Group"}
            self._chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    @staticmethod
    def _key(message: dict) -> tuple[int, int]:
        chat_id = message.get("chat_id")
        if chat_id is None:
            chat_id = message["chat"]["id"]
        return int(chat_id), int(message["message_id"])

    def _reply_copy(self, message: dict) -> dict:
        current = self._messages.get(self._key(message))
        replied = copy.deepcopy(current if current is not None else message)
        replied.pop("reply_to_message", None)
        return replied

    def _chat_id(self, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _bad("chat not found")
        return chat_id

    def _formatted(self, text: Any, parse_mode: Any, entities: Any, limit: int, caption: bool = False) -> tuple:
        text = "" if text is None else str(text)
        if isinstance(parse_mode, str) and parse_mode.lower() == "html":
            try:
                shown, found = parse_html(text, strict_ampersand=self.strict_ampersand)
            except HtmlError as exc:
                raise _bad(str(exc)) from None
        else:  # Markdown modes are not validated by the fake
            shown, found = text, entities if isinstance(entities, list) else []
        shown = shown.strip()
        if not shown and not caption:
            raise _bad("message text is empty")
        if len(shown) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return shown, json.dumps(found, sort_keys=True)

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            for button in (b for row in rows for b in row):
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Text must be a String")
                if not any(key in button for key in INLINE_BUTTON_ACTIONS):
                    raise _bad("text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                        raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _reply_target(self, chat_id: int, params: dict) -> tuple[dict | None, int | None]:
        reply_parameters = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow = allow or bool(reply_parameters.get("allow_sending_without_reply"))
            chat_id = reply_parameters.get("chat_id", chat_id)
        if message_id is None:
            return None, None
        replied = self._messages.get((chat_id, message_id))
        if replied is None:
            if allow:
                return None, None
            raise _bad("message to be replied not found")
        return self._reply_copy(replied), message_id

    def _new_message(self, chat_id: int, params: dict, markup: dict | None) -> tuple[dict, int | None]:
        replied, reply_to_id = self._reply_target(chat_id, params)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": copy.deepcopy(self._chat(chat_id)),
            "date": int(time.time()),
        }
        if replied is not None:
            message["reply_to_message"] = replied
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        return message, reply_to_id

    def _record(self, method: str, message: dict, params: dict, **extra: Any) -> dict:
        record = copy.deepcopy(message)
        record.update(
            method=method,
            chat_id=message["chat"]["id"],
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            reply_parameters=params.get("reply_parameters"),
            params=params,
            **extra,
        )
        return record

    def _methods(self) -> dict[str, Callable[[dict], Any]]:
        return {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "getchatmember": self._get_chat_member,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }

    # -- Bot API methods -------------------------------------------------------------------------------------

    async def _true(self, params: dict) -> bool:
        return True

    async def _get_me(self, params: dict) -> dict:
        return dict(self.bot_user)

    async def _set_webhook(self, params: dict) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url  # recorded only: the fake never connects to it
        self.webhook_secret = str(params.get("secret_token") or "")
        self.webhook_allowed_updates = params.get("allowed_updates")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: dict) -> bool:
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_allowed_updates = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict) -> dict:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self.webhook_allowed_updates is not None:
                info["allowed_updates"] = self.webhook_allowed_updates
        return info

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll still waiting is terminated with 409, as Telegram does
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        deadline = time.monotonic() + min(timeout, self.long_poll_cap)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
            self._confirm(offset)
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0 or self._closing:
                return copy.deepcopy(self._updates[:limit])
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                pass

    async def _send_message(self, params: dict) -> dict:
        chat_id = self._chat_id(params)
        text = params.get("text")
        shown, fmt = self._formatted(text, params.get("parse_mode"), params.get("entities"), MAX_TEXT)
        markup = self._check_markup(params.get("reply_markup"))
        message, reply_to_id = self._new_message(chat_id, params, markup)
        message["text"] = shown
        key = (chat_id, message["message_id"])
        self._messages[key] = message
        self._formats[key] = (shown, fmt)
        self.sent.append(
            self._record("sendMessage", message, params, text=text, plain_text=shown, reply_to_message_id=reply_to_id)
        )
        return copy.deepcopy(message)

    async def _get_chat_member(self, params: dict) -> dict:
        chat_id = self._chat_id(params)
        user_id = int(params.get("user_id") or 0)
        if not user_id:
            raise _bad("user_id is required")
        status = "administrator" if user_id in self.admins.get(chat_id, set()) else "member"
        member: dict[str, Any] = {"status": status, "user": self._user(user_id, f"user{user_id}", None)}
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        return member

    async def _send_document(self, params: dict) -> dict:
        chat_id = self._chat_id(params)
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document.removeprefix("attach://"))
        if not isinstance(document, UploadedFile) or not document.data:
            raise _bad("there is no document in the request")
        caption = params.get("caption")
        shown = ""
        if caption is not None:
            entities = params.get("caption_entities")
            shown, _ = self._formatted(caption, params.get("parse_mode"), entities, MAX_CAPTION, caption=True)
        message, reply_to_id = self._new_message(chat_id, params, self._check_markup(params.get("reply_markup")))
        file_id = f"BQACAgFAKE{next(self._file_ids):06d}"
        self._files[file_id] = {"data": document.data, "file_path": f"documents/{document.filename}"}
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": document.filename,
            "file_size": len(document.data),
        }
        if shown:
            message["caption"] = shown
        self._messages[(chat_id, message["message_id"])] = message
        self.sent.append(
            self._record(
                "sendDocument",
                message,
                params,
                text=None,
                caption=caption,
                plain_text=shown,
                reply_to_message_id=reply_to_id,
                upload=document,
            )
        )
        return copy.deepcopy(message)

    async def _send_photo(self, params: dict) -> dict:
        chat_id = self._chat_id(params)
        photo = params.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = params.get(photo.removeprefix("attach://"))
        upload = photo if isinstance(photo, UploadedFile) else None
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            file_id = f"AgACAgFAKE{next(self._file_ids):06d}"
            self._files[file_id] = {"data": upload.data, "file_path": f"photos/file_{len(self._files)}.jpg"}
        elif isinstance(photo, str) and photo:
            file_id = photo if not photo.startswith(("http://", "https://")) else f"AgACAgURL{next(self._file_ids)}"
        else:
            raise _bad("there is no photo in the request")
        caption = params.get("caption")
        shown = ""
        if caption is not None:
            entities = params.get("caption_entities")
            shown, _ = self._formatted(caption, params.get("parse_mode"), entities, MAX_CAPTION, caption=True)
        markup = self._check_markup(params.get("reply_markup"))
        message, reply_to_id = self._new_message(chat_id, params, markup)
        size = len(upload.data) if upload else 0
        message["photo"] = [
            {"file_id": f"{file_id}-s", "file_unique_id": f"u{file_id}-s", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 800, "file_size": size},
        ]
        if shown:
            message["caption"] = shown
        key = (chat_id, message["message_id"])
        self._messages[key] = message
        self.sent.append(
            self._record(
                "sendPhoto",
                message,
                params,
                text=None,
                caption=caption,
                plain_text=shown,
                reply_to_message_id=reply_to_id,
                upload=upload,
            )
        )
        return copy.deepcopy(message)

    def _editable(self, params: dict) -> tuple[tuple[int, int], dict]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")  # inline messages are not modelled
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        key = (chat_id, message_id)
        message = self._messages.get(key)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        return key, message

    async def _edit_message_text(self, params: dict) -> dict:
        key, message = self._editable(params)
        text = params.get("text")
        shown, fmt = self._formatted(text, params.get("parse_mode"), params.get("entities"), MAX_TEXT)
        markup = self._check_markup(params.get("reply_markup"))
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        if self._formats.get(key) == (shown, fmt) and message.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        message["text"] = shown
        message["edit_date"] = int(time.time())
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)  # editing without a keyboard removes it, as on Telegram
        self._formats[key] = (shown, fmt)
        self.edits.append(
            self._record("editMessageText", message, params, text=text, plain_text=shown, message_id=key[1])
        )
        return copy.deepcopy(message)

    async def _edit_message_reply_markup(self, params: dict) -> dict:
        key, message = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        self.edits.append(
            self._record(
                "editMessageReplyMarkup",
                message,
                params,
                text=message.get("text"),
                plain_text=message.get("text"),
                message_id=key[1],
            )
        )
        return copy.deepcopy(message)

    async def _delete_message(self, params: dict) -> bool:
        chat_id = self._chat_id(params)
        key = (chat_id, params.get("message_id"))
        message = self._messages.pop(key, None)  # type: ignore[arg-type]
        if message is None:
            raise _bad("message to delete not found")
        self._formats.pop(key, None)  # type: ignore[arg-type]
        self.deleted.append({"chat_id": chat_id, "message_id": key[1], "message": message})
        return True

    async def _answer_callback_query(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        known = self._callbacks.get(query_id)
        if known is None or known["answered"]:
            raise _bad(QUERY_INVALID[len("Bad Request: ") :])
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        known["answered"] = True
        self.answered_callbacks.append(dict(params))
        return True

    @staticmethod
    def _scope_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command"))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "").strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        parsed = [{"command": c["command"], "description": c["description"]} for c in commands]
        self._scoped_commands[self._scope_key(params)] = parsed
        self.commands = parsed
        return True

    async def _get_my_commands(self, params: dict) -> list[dict]:
        return copy.deepcopy(self._scoped_commands.get(self._scope_key(params), []))

    async def _delete_my_commands(self, params: dict) -> bool:
        self._scoped_commands.pop(self._scope_key(params), None)
        self.commands = None
        return True

    async def _send_chat_action(self, params: dict) -> bool:
        chat_id = self._chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append({"chat_id": chat_id, "action": params["action"]})
        return True

    async def _get_file(self, params: dict) -> dict:
        file_id = str(params.get("file_id") or "")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(stored["data"]),
            "file_path": stored["file_path"],
        }
