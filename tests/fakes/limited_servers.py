"""The fake Telegram and Discord servers in a process of their own, with the platforms' rate limits enforced.

Scale-out tests (tests/test_scale_out.py) and bench/scale_bench.py run several real `python -m bot` processes
against one Telegram and one Discord. The fakes must then be one shared server each, like the real platforms,
and they must not share a CPU-starved event loop with the test: they run here, in their own process::

    python -m tests.fakes.limited_servers --telegram-limit 30 --discord-limit 50

prints one JSON line (the URLs) and serves until stdin closes or SIGTERM. What it adds to the fakes:

* Strict limits, counted per rolling second over everything a bot does that the platform meters: Telegram's
  ~30 messages/s per bot (send*/edit*/copy/forward calls), Discord's global 50 requests/s per bot (every REST
  request). Above the limit the request is not carried out and is answered 429 the way each platform does it
  (Telegram: `parameters.retry_after` in whole seconds; Discord: `retry_after` in the body, `global: true`, the
  `Via` header discord.py requires before it retries).
* Who sent what: give each bot process its own base URL, `{telegram_base}` with `/wN` in front of the path
  (`worker_urls("w1")`); the prefix is stripped before the fake sees the request and every metered request
  is counted against its worker.
* A small control API on another port: GET /stats (counts per chat/user and per worker, 429s, the busiest
  second of attempts and of accepted messages, answer latencies), POST /discord/users, POST /telegram/say.

`LimitedServers` (below) starts the process and reads the stats for a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import signal
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram

HOST = "127.0.0.1"
REMINDER = "Time for your hips"  # the first line of every daily reminder (content/messages)
_WORKER = re.compile(r"^/(w\d+)(/.*)$")
_ID = re.compile(r"\d{4,}")
_MESSAGE_CREATE = re.compile(r"^/api/v\d+/channels/\d+/messages$")
_TELEGRAM_METERED = re.compile(r"^(send(?!chataction)\w+|edit\w+|copymessage|forwardmessage)$")


def busiest_second(times: list[float]) -> int:
    """The most events in any window of one second (a rolling second, not calendar seconds)."""
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@dataclass
class Meter:
    """One platform's limit: accepted requests in the last rolling second, and what was seen overall."""

    limit: float  # requests per rolling second; 0 = unlimited
    accepted: deque = field(default_factory=deque)  # monotonic times within the last second
    attempts: list = field(default_factory=list)  # every metered request's time (for the busiest second)
    admitted: list = field(default_factory=list)  # every accepted request's time of arrival
    sent_at: list = field(default_factory=list)  # every carried-out request's time of completion
    by_worker: Counter = field(default_factory=Counter)  # accepted per worker
    refused_by_worker: Counter = field(default_factory=Counter)
    too_many: int = 0
    messages_by_worker: Counter = field(default_factory=Counter)  # messages created (Discord: not DM opens)
    refused_routes: Counter = field(default_factory=Counter)  # "POST /channels/{id}/messages" -> 429s

    def admit(self, worker: str, route: str = "") -> float | None:
        """None when the request may go through; else the seconds until the rolling second has room."""
        now = time.monotonic()
        self.attempts.append(now)
        while self.accepted and now - self.accepted[0] >= 1.0:
            self.accepted.popleft()
        if self.limit and len(self.accepted) >= self.limit:
            self.too_many += 1
            self.refused_by_worker[worker] += 1
            self.refused_routes[route] += 1
            return self.accepted[0] + 1.0 - now
        self.accepted.append(now)
        self.admitted.append(now)
        return None

    def done(self, worker: str, ok: bool) -> None:
        if ok:
            self.sent_at.append(time.monotonic())
            self.by_worker[worker] += 1

    def stats(self) -> dict:
        return {
            "limit": self.limit,
            "accepted": len(self.sent_at),
            "too_many": self.too_many,
            "max_attempts_per_second": busiest_second(self.attempts),
            "max_sent_per_second": busiest_second(self.admitted),
            "by_worker": dict(self.by_worker),
            "refused_by_worker": dict(self.refused_by_worker),
            "messages_by_worker": dict(self.messages_by_worker),
            "refused_routes": dict(self.refused_routes),
            "first_at": self.sent_at[0] if self.sent_at else None,
            "last_at": self.sent_at[-1] if self.sent_at else None,
        }


def _strip_worker(request: web.Request) -> tuple[str, web.Request]:
    match = _WORKER.match(request.path)
    if match is None:
        return "", request
    return match.group(1), request.clone(rel_url=request.rel_url.with_path(match.group(2)))


class Limited:
    """Both fakes, their meters, and the control API."""

    def __init__(self, telegram_limit: float, discord_limit: float) -> None:
        self.telegram = FakeTelegram()
        self.discord = FakeDiscord()
        self.telegram_meter = Meter(telegram_limit)
        self.discord_meter = Meter(discord_limit)
        self.telegram.middlewares.append(self._telegram_mw)
        self.discord.middlewares.append(self._discord_mw)
        self.said: dict[int, float] = {}  # chat id -> when a user message was queued (answer latency)
        self.latencies: list[float] = []
        self._control: web.AppRunner | None = None
        self.control_port = 0

    @web.middleware
    async def _telegram_mw(self, request: web.Request, handler) -> web.StreamResponse:
        worker, request = _strip_worker(request)
        method = request.path.rpartition("/")[2].lower()
        if not request.path.startswith("/bot") or not _TELEGRAM_METERED.match(method):
            return await handler(request)
        wait = self.telegram_meter.admit(worker, method)
        if wait is not None:
            retry_after = max(1, math.ceil(wait))  # Telegram says whole seconds
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
            return web.json_response(body, status=429)
        response = await handler(request)
        self.telegram_meter.done(worker, response.status == 200)
        if response.status == 200 and method.startswith("send"):
            self.telegram_meter.messages_by_worker[worker] += 1
        if response.status == 200 and method == "sendmessage":
            chat = json.loads(response.body)["result"]["chat"]["id"]
            asked = self.said.pop(chat, None)
            if asked is not None:
                self.latencies.append(time.monotonic() - asked)
        return response

    @web.middleware
    async def _discord_mw(self, request: web.Request, handler) -> web.StreamResponse:
        worker, request = _strip_worker(request)
        if not request.path.startswith("/api/"):
            return await handler(request)  # the gateway's WebSocket and attachments are not metered
        wait = self.discord_meter.admit(worker, f"{request.method} {_ID.sub('{id}', request.path)}")
        if wait is not None:
            body = {"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": True}
            headers = {
                "Retry-After": str(max(1, math.ceil(wait))),
                "X-RateLimit-Global": "true",
                "X-RateLimit-Scope": "global",
                "Via": "1.1 google",  # discord.py only retries a 429 that came through Discord's proxy
            }
            # exactly "application/json" (no charset): discord.py compares the header verbatim
            headers["Content-Type"] = "application/json"
            return web.Response(status=429, body=json.dumps(body).encode(), headers=headers)
        response = await handler(request)
        self.discord_meter.done(worker, 200 <= response.status < 300)
        if response.status == 200 and request.method == "POST" and _MESSAGE_CREATE.match(request.path):
            self.discord_meter.messages_by_worker[worker] += 1
        return response

    # -- control API -----------------------------------------------------------------------------------------

    def stats(self) -> dict:
        telegram = self.telegram_meter.stats()
        telegram["reminders_per_chat"] = Counter(
            str(m["chat_id"]) for m in self.telegram.sent if REMINDER in (m.get("plain_text") or "")
        )
        telegram["sent_messages"] = len(self.telegram.sent)
        texts: dict[str, list[str]] = {}
        for m in self.telegram.sent:  # what each chat saw, in order (first lines only)
            texts.setdefault(str(m["chat_id"]), []).append((m.get("plain_text") or "").partition("\n")[0])
        telegram["first_lines_per_chat"] = texts
        telegram["latencies"] = self.latencies
        telegram["connected"] = self.telegram.commands is not None
        discord = self.discord_meter.stats()
        discord["reminders_per_user"] = Counter(
            str(m["dm_user_id"]) for m in self.discord.messages if m.get("dm_user_id") and REMINDER in _text(m)
        )
        discord["nonce_replays"] = self.discord.nonce_replays
        discord["ready"] = self.discord.is_ready
        return {"telegram": telegram, "discord": discord, "now": time.monotonic()}

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _users(self, request: web.Request) -> web.Response:
        for user_id in (await request.json())["ids"]:
            self.discord.add_user(int(user_id), f"member{user_id}")
        return web.json_response({"ok": True})

    async def _say(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = int(body["chat_id"])
        self.said[chat] = time.monotonic()
        self.telegram.user_message(body["text"], user_id=chat, first_name=f"Member{chat}", username=None)
        return web.json_response({"ok": True})

    async def start(self) -> dict:
        await self.telegram.start()
        await self.discord.start()
        app = web.Application()
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/discord/users", self._users)
        app.router.add_post("/telegram/say", self._say)
        self._control = web.AppRunner(app, access_log=None)
        await self._control.setup()
        site = web.TCPSite(self._control, HOST, 0)
        await site.start()
        self.control_port = self._control.addresses[0][1]
        return {
            "control": f"http://{HOST}:{self.control_port}",
            "telegram_token": self.telegram.token,
            "telegram_port": self.telegram.port,
            "discord_token": self.discord.token,
            "discord_port": self.discord.port,
            "discord_gateway": self.discord.gateway_url,
        }

    async def stop(self) -> None:
        if self._control is not None:
            await self._control.cleanup()
        await self.telegram.stop()
        await self.discord.stop()


def _text(message: dict) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or ():
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(parts)


async def _serve(telegram_limit: float, discord_limit: float) -> None:
    servers = Limited(telegram_limit, discord_limit)
    print(json.dumps(await servers.start()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.read(1) or stop.set())  # the test went away: stop too
    await stop.wait()
    await servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram-limit", type=float, default=30, help="messages per rolling second; 0 = none")
    parser.add_argument("--discord-limit", type=float, default=50, help="requests per rolling second; 0 = none")
    args = parser.parse_args()
    asyncio.run(_serve(args.telegram_limit, args.discord_limit))


# -- the test's side -----------------------------------------------------------------------------------------


class LimitedServers:
    """Starts `python -m tests.fakes.limited_servers` and reads its stats: `async with LimitedServers() as s`."""

    def __init__(self, telegram_limit: float = 30, discord_limit: float = 50, cwd: str | None = None) -> None:
        self.limits = (telegram_limit, discord_limit)
        self.cwd = cwd or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.process: asyncio.subprocess.Process | None = None
        self.urls: dict = {}
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LimitedServers:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.limited_servers",
            "--telegram-limit",
            str(self.limits[0]),
            "--discord-limit",
            str(self.limits[1]),
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the limited fake servers did not start")
        self.urls = json.loads(line)
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._http is not None:
            await self._http.close()
        if self.process is not None and self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def worker_env(self, worker: str) -> dict[str, str]:
        """The platform settings for one bot process; its requests are counted as `worker`'s."""
        telegram = f"http://{HOST}:{self.urls['telegram_port']}/{worker}"
        return {
            "TELEGRAM_BOT_TOKEN": self.urls["telegram_token"],
            "TELEGRAM_BASE_URL": f"{telegram}/bot",
            "TELEGRAM_BASE_FILE_URL": f"{telegram}/file/bot",
            "DISCORD_BOT_TOKEN": self.urls["discord_token"],
            "DISCORD_API_BASE_URL": f"http://{HOST}:{self.urls['discord_port']}/{worker}/api/v10",
            "DISCORD_GATEWAY_URL": self.urls["discord_gateway"],
        }

    async def _post(self, path: str, body: dict) -> None:
        async with self._http.post(self.urls["control"] + path, json=body) as response:
            response.raise_for_status()

    async def add_discord_users(self, ids: list[int]) -> None:
        await self._post("/discord/users", {"ids": ids})

    async def say(self, chat_id: int, text: str) -> None:
        """A Telegram user writes to the bot; the time to the bot's first answer is recorded."""
        await self._post("/telegram/say", {"chat_id": chat_id, "text": text})

    async def stats(self) -> dict:
        async with self._http.get(self.urls["control"] + "/stats") as response:
            return await response.json()

    async def wait_for(self, predicate, timeout: float, what: str) -> dict:
        """Poll the stats until predicate(stats) holds; TimeoutError with the last stats otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            stats = await self.stats()
            if predicate(stats):
                return stats
            if time.monotonic() > deadline:
                brief = {
                    p: {k: v for k, v in s.items() if not k.startswith("reminders_per")}
                    for p, s in ((p, stats[p]) for p in ("telegram", "discord"))
                }
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; {json.dumps(brief)[:1500]}")
            await asyncio.sleep(0.2)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
