"""Issue 15, end to end: four real `python -m bot` processes on one real PostgreSQL, against one fake Telegram and
one fake Discord that run in a process of their own and answer 429 above the platforms' limits, counted per
rolling second (tests/fakes/limited_servers.py).

* 600 reminders due in the same minute (300 Telegram chats, 300 Discord DMs) arrive exactly once each, with no
  429 and no second over a limit, and every process sends some of them.
* `kill -9` of one worker in the middle of that fan-out: none lost, none twice on Discord (each delivery's nonce),
  on Telegram at most the sends the dead worker had in flight.
* The control: the same run with per-process limiters only (the shared limiter switched off) must break the rate
  limit, which shows the rate assertions can fail.
* Two webhook workers behind a round-robin proxy, Telegram delivering each chat's updates one after another:
  every update answered once, each person's answers in the order they asked (a redelivery of one update to the
  other worker makes it fail: tried by hand).

The workers run on the real clock (the app has no test clock): the reminders are due this minute and each worker's
catch-up tick at start sends them. The fan-out tests take 30-45 s each on two cores, the webhook one ~10 s.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot.config
from bot.storage.repository import SqlRepository
from tests.fakes.limited_servers import LimitedServers
from tests.test_kill9 import seed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TELEGRAM_CHATS = list(range(100_001, 100_301))
DISCORD_USERS = list(range(200_001, 200_301))
TELEGRAM_LIMIT = 30  # messages per rolling second, per bot (Telegram's broadcast limit)
DISCORD_LIMIT = 50  # requests per rolling second, per bot (Discord's global limit)
WORKERS = ("w1", "w2", "w3", "w4")
MAX_IN_FLIGHT = 16  # the dispatcher's bound on sends in flight at once (Dispatcher.max_in_flight)
# What the bots are told: just under each platform's limit, as an operator would set it (docs/scale-out.md).
# Telegram at 27, not 28: send times reach the fake with tens of ms of jitter on a busy 2-core machine, and at 28
# the strict rolling second saw 31 (one or two 429s) in 2 of 7 runs.
PACING = {"TELEGRAM_RATE_LIMIT": "27", "DISCORD_RATE_LIMIT": "20"}  # 20 DMs/s = 40 requests/s with DM opens
# The switch that leaves every process with its own limiter only (i15-limiter's setting; see the report).
PER_PROCESS_LIMITERS = {"HIPCOACH_SHARED_LIMITER": "0"}


class Workers:
    """The bot processes, each with its own URLs at the fakes (so the fakes know who sent what)."""

    def __init__(
        self,
        servers: LimitedServers,
        url: str,
        cwd: str,
        extra: dict[str, str] | None = None,
        launcher: tuple[str, ...] | list[str] = ("-m", "bot"),
    ) -> None:
        self.launcher = list(launcher)
        self.servers = servers
        self.url = url
        self.cwd = cwd
        self.extra = extra or {}
        self.running: dict[str, asyncio.subprocess.Process] = {}

    async def start(self, name: str, **more: str) -> asyncio.subprocess.Process:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
        env.update({**self.servers.worker_env(name), **PACING, **self.extra, **more, "HIPCOACH_DB": self.url})
        log = open(os.path.join(self.cwd, f"{name}.log"), "wb")  # noqa: SIM115 - the child holds it
        process = await asyncio.create_subprocess_exec(
            sys.executable, *self.launcher, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        log.close()
        self.running[name] = process
        return process

    async def stop_all(self) -> dict[str, int | None]:
        for process in self.running.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in self.running.items():
            try:
                codes[name] = await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                codes[name] = await process.wait()
        return codes

    def log_tail(self, name: str) -> str:
        with open(os.path.join(self.cwd, f"{name}.log"), errors="replace") as f:
            return f.read()[-1500:]


def all_delivered(stats: dict) -> bool:
    return len(stats["telegram"]["reminders_per_chat"]) == len(TELEGRAM_CHATS) and len(
        stats["discord"]["reminders_per_user"]
    ) == len(DISCORD_USERS)


def delivered(stats: dict) -> int:
    return len(stats["telegram"]["reminders_per_chat"]) + len(stats["discord"]["reminders_per_user"])


def summary(stats: dict) -> str:
    t, d = stats["telegram"], stats["discord"]
    return (
        f"telegram: {len(t['reminders_per_chat'])} chats, 429s {t['too_many']}, busiest second "
        f"{t['max_attempts_per_second']} attempts / {t['max_sent_per_second']} sent (limit {TELEGRAM_LIMIT}), "
        f"per worker {t['messages_by_worker']}; "
        f"discord: {len(d['reminders_per_user'])} users, 429s {d['too_many']}, busiest second "
        f"{d['max_attempts_per_second']} requests / {d['max_sent_per_second']} accepted (limit {DISCORD_LIMIT}), "
        f"messages per worker {d['messages_by_worker']}, nonce replays {d['nonce_replays']}, "
        f"429s by route {t['refused_routes'] | d['refused_routes']}"
    )


async def fan_out(
    postgres,
    tmp_path,
    extra: dict[str, str] | None = None,
    kill_after: int | None = None,
    launcher: tuple[str, ...] | list[str] = ("-m", "bot"),
):
    """Seed 600 due reminders, run four workers until all arrived (optionally kill -9 one after `kill_after`
    reminders); the fakes' stats, the workers' exit codes and what the kill left behind."""
    url = postgres.database()
    people = [("telegram", c) for c in TELEGRAM_CHATS] + [("discord", u) for u in DISCORD_USERS]
    await seed(url, datetime.now(UTC).replace(second=0, microsecond=0), people)  # migrates before any worker
    killed = None
    async with LimitedServers(TELEGRAM_LIMIT, DISCORD_LIMIT) as servers:
        await servers.add_discord_users(DISCORD_USERS)
        workers = Workers(servers, url, str(tmp_path), extra, launcher)
        try:
            for name in WORKERS:
                await workers.start(name)
            if kill_after is not None:
                stats = await servers.wait_for(lambda s: delivered(s) >= kill_after, 45, f"{kill_after} reminders")
                # No replacement: the three left take the dead worker's claims over (its session is gone).
                killed = await kill_busiest(workers, servers, url)
            try:
                stats = await servers.wait_for(all_delivered, 50, "all 600 reminders")
            except TimeoutError as exc:
                tails = "\n".join(f"--- {n}\n{workers.log_tail(n)}" for n in workers.running)
                raise AssertionError(f"{exc}\n{tails}") from None
            await asyncio.sleep(1.0)  # anything sent twice would show up now
            stats = await servers.stats()
        finally:
            codes = await workers.stop_all()
    print(f"\n{summary(stats)}")
    return stats, codes, killed


async def claims_by_pid(url: str) -> dict[int, set[tuple[str, str]]]:
    """Deliveries claimed but not yet recorded as sent, by the pid in their claim token: (platform, chat)."""
    repo = await SqlRepository.open(url, migrate=False)
    try:
        rows = await repo.db.fetch(
            "SELECT d.claim_token, r.platform, r.chat_id FROM deliveries d JOIN reminders r ON r.id = d.reminder_id "
            "WHERE d.status = 'claimed'"
        )
    finally:
        await repo.close()
    held: dict[int, set[tuple[str, str]]] = {}
    for token, platform, chat in rows:
        parts = (token or "").rsplit("/", 3)
        if len(parts) == 4 and parts[1].isdigit():
            held.setdefault(int(parts[1]), set()).add((platform, str(chat)))
    return held


async def kill_busiest(workers: Workers, servers: LimitedServers, url: str) -> dict:
    """kill -9 the worker holding the most claims (a batch it is sending) right now; what had arrived at the
    kill and what it had claimed but not recorded as sent (the only sends that can arrive twice on Telegram)."""
    for _ in range(50):  # a worker between two batches holds none: look again shortly
        held = await claims_by_pid(url)
        pids = {process.pid: name for name, process in workers.running.items()}
        if any(pid in pids for pid in held):
            break
        await asyncio.sleep(0.1)
    name = max(workers.running, key=lambda n: len(held.get(workers.running[n].pid, ())))
    process = workers.running[name]
    before = held.get(process.pid, set())
    process.send_signal(signal.SIGKILL)
    await process.wait()
    # Read its claims at once: the survivors take a dead worker's claims over within ~0.1-0.2 s (its presence lock
    # is free), after which none carry its pid. What it held just before the kill counts too (a claim it recorded
    # as sent in between only widens what may repeat).
    after = (await claims_by_pid(url)).get(process.pid, set())
    await asyncio.sleep(0.3)  # requests that reached the fakes before the kill finish there
    at_kill = await servers.stats()
    return {"name": name, "at_kill": at_kill, "claimed": before | after}


def assert_exactly_once(stats: dict) -> None:
    telegram, discord = stats["telegram"]["reminders_per_chat"], stats["discord"]["reminders_per_user"]
    assert set(telegram) == {str(c) for c in TELEGRAM_CHATS}, "a Telegram reminder was lost"
    assert set(discord) == {str(u) for u in DISCORD_USERS}, "a Discord reminder was lost"
    assert all(n == 1 for n in discord.values()), {u: n for u, n in discord.items() if n > 1}


def assert_within_limits(stats: dict) -> None:
    telegram, discord = stats["telegram"], stats["discord"]
    assert telegram["too_many"] == 0, f"Telegram answered 429 {telegram['too_many']} times"
    assert discord["too_many"] == 0, f"Discord answered 429 {discord['too_many']} times"
    assert telegram["max_attempts_per_second"] <= TELEGRAM_LIMIT, telegram["max_attempts_per_second"]
    assert discord["max_attempts_per_second"] <= DISCORD_LIMIT, discord["max_attempts_per_second"]


async def test_four_processes_send_600_reminders_once_within_the_limits_and_all_share(postgres, tmp_path):
    stats, codes, _ = await fan_out(postgres, tmp_path)
    assert_exactly_once(stats)
    assert all(n == 1 for n in stats["telegram"]["reminders_per_chat"].values())
    assert_within_limits(stats)
    for name in WORKERS:
        sent = stats["telegram"]["messages_by_worker"].get(name, 0) + stats["discord"]["messages_by_worker"].get(
            name, 0
        )
        assert sent > 0, f"{name} sent nothing: {summary(stats)}"
    assert codes == dict.fromkeys(WORKERS, 0), codes


async def test_kill_9_of_one_worker_mid_fan_out_loses_none_and_repeats_only_in_flight_telegram(postgres, tmp_path):
    stats, codes, killed = await fan_out(postgres, tmp_path, kill_after=200)
    at_kill = killed["at_kill"]
    assert delivered(at_kill) < len(TELEGRAM_CHATS) + len(DISCORD_USERS), "the kill came after the fan-out"
    assert killed["claimed"], "the killed worker held no claims: nothing was in its hands"
    assert_exactly_once(stats)  # none lost anywhere, none twice on Discord
    twice = {c for c, n in stats["telegram"]["reminders_per_chat"].items() if n > 1}
    assert all(n <= 2 for n in stats["telegram"]["reminders_per_chat"].values())
    # Only what the dead worker had sent but not yet recorded may repeat: its claims, already delivered at the kill.
    in_flight = {chat for platform, chat in killed["claimed"] if platform == "telegram"}
    assert twice <= in_flight & set(at_kill["telegram"]["reminders_per_chat"]), twice
    assert len(twice) <= MAX_IN_FLIGHT
    ambiguous = in_flight & set(at_kill["telegram"]["reminders_per_chat"])
    print(
        f"killed {killed['name']} after {delivered(at_kill)} of 600: {len(killed['claimed'])} claims left, "
        f"{len(ambiguous)} of them already on Telegram; sent twice on Telegram: {len(twice)}"
    )
    assert_within_limits(stats)
    assert all(code == 0 for name, code in codes.items() if name != killed["name"]), codes


def per_process_launcher() -> tuple[dict[str, str], list[str]]:
    """(environment, python arguments) for workers that pace themselves each at the whole rate, as before the
    shared limiter: its setting when bot/config.py has one, else `python -m bot` with the shared limiter's store
    left out (the app then gives each platform its in-process limiter, exactly as on SQLite)."""
    switch = next(iter(PER_PROCESS_LIMITERS))
    if importlib.util.find_spec("bot.storage.rate_limits") is None or switch in Path(bot.config.__file__).read_text():
        return PER_PROCESS_LIMITERS, ["-m", "bot"]
    launcher = (
        "import runpy, bot.app; bot.app.SqlRateLimits = lambda db: None; "
        "runpy.run_module('bot', run_name='__main__', alter_sys=True)"
    )
    return {}, ["-c", launcher]


async def test_control_per_process_limiters_break_the_shared_limit(postgres, tmp_path):
    """Without the shared limiter each process paces itself at 28/s: together they go over the platform's
    limit. If this passes the rate assertions, they could not catch anything."""
    env, launcher = per_process_launcher()
    stats, _, _ = await fan_out(postgres, tmp_path, extra=env, launcher=launcher)
    assert_exactly_once(stats)  # delivery stays right: only the rate breaks
    with pytest.raises(AssertionError):
        assert_within_limits(stats)


# -- webhooks behind a round-robin proxy ---------------------------------------------------------------------

EXERCISES = {  # what a person asks -> the first line of the answer's card
    "exercise pigeon": "Pigeon pose",
    "exercise glute bridge": "Glute bridge",
    "exercise 90/90": "90/90 switches",
    "exercise leg swings": "Leg swings",
    "exercise clamshell": "Clamshell",
    "exercise frog stretch": "Frog stretch",
}
WEBHOOK_CHATS = list(range(700_001, 700_031))
SECRET = "one-secret-for-every-worker"


class RoundRobin:
    """A load balancer in front of the workers' webhook ports: each POST to the next worker in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.per_port: dict[int, int] = dict.fromkeys(ports, 0)
        self._runner = None
        self.url = ""

    async def _forward(self, request):
        from aiohttp import web

        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        self.per_port[port] += 1
        async with self.http.post(
            f"http://127.0.0.1:{port}{request.path}", data=await request.read(), headers=dict(request.headers)
        ) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    async def __aenter__(self):
        import aiohttp
        from aiohttp import web

        self.http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/telegram"
        return self

    async def __aexit__(self, *exc):
        await self._runner.cleanup()
        await self.http.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def telegram_delivers(http, url: str, chat: int, texts: list[str], first_id: int) -> list[int]:
    """Telegram's webhook delivery for one chat: the next update only after the previous one was answered."""
    statuses = []
    for i, text in enumerate(texts):
        person = {"id": chat, "is_bot": False, "first_name": f"Member{chat}"}
        update = {
            "update_id": first_id + i,
            "message": {
                "message_id": i + 1,
                "from": person,
                "chat": {"id": chat, "type": "private", "first_name": person["first_name"]},
                "date": int(datetime.now(UTC).timestamp()),
                "text": text,
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(url, json=update, headers=headers, timeout=30) as answer:
            statuses.append(answer.status)
    return statuses


async def test_two_webhook_workers_behind_round_robin_answer_every_update_once_in_order(postgres, tmp_path):
    import aiohttp

    url = postgres.database()
    repo = await SqlRepository.open(url)  # migrate once
    await repo.close()
    ports = [free_port(), free_port()]
    async with LimitedServers(TELEGRAM_LIMIT, DISCORD_LIMIT) as servers:
        workers = Workers(servers, url, str(tmp_path), {"DISCORD_BOT_TOKEN": ""})
        try:
            for i, port in enumerate(ports):
                await workers.start(
                    f"w{i + 1}",
                    TELEGRAM_WEBHOOK_URL="https://coach.example.com/telegram",
                    TELEGRAM_WEBHOOK_SECRET=SECRET,
                    TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                )
            async with aiohttp.ClientSession() as http:
                for port in ports:  # listening: a POST without the secret is refused
                    for _ in range(300):
                        try:
                            async with http.post(f"http://127.0.0.1:{port}/telegram", json={}) as answer:
                                assert answer.status == 403
                                break
                        except aiohttp.ClientConnectionError:
                            await asyncio.sleep(0.1)
                    else:
                        raise AssertionError(f"worker on {port} never listened:\n{workers.log_tail('w1')}")
                asked = {
                    chat: [list(EXERCISES)[(n + chat) % len(EXERCISES)] for n in range(len(EXERCISES))]
                    for chat in WEBHOOK_CHATS
                }
                async with RoundRobin(ports) as proxy:
                    statuses = await asyncio.gather(
                        *(
                            telegram_delivers(http, proxy.url, chat, asked[chat], 1_000 * k)
                            for k, chat in enumerate(WEBHOOK_CHATS, 1)
                        )
                    )
                    spread = dict(proxy.per_port)
            total = len(WEBHOOK_CHATS) * len(EXERCISES)
            stats = await servers.wait_for(
                lambda s: sum(len(v) for v in s["telegram"]["first_lines_per_chat"].values()) >= total,
                30,
                f"{total} answers",
            )
            await asyncio.sleep(0.5)  # an answer sent twice would show now
            stats = await servers.stats()
        finally:
            codes = await workers.stop_all()
    assert all(status == 200 for chat in statuses for status in chat)
    assert min(spread.values()) == total // 2, spread  # both workers took half of the updates
    seen = stats["telegram"]["first_lines_per_chat"]
    for chat in WEBHOOK_CHATS:
        titles = [line for line in seen[str(chat)] if any(line.startswith(t) for t in EXERCISES.values())]
        expected = [EXERCISES[text] for text in asked[chat]]
        assert [next(t for t in expected if line.startswith(t)) for line in titles] == expected, (chat, seen[str(chat)])
    assert codes == {"w1": 0, "w2": 0}, codes
    print(f"\nwebhooks: {total} updates over {spread}, every answer once and in order for {len(WEBHOOK_CHATS)} people")
