"""Roles with several processes on one PostgreSQL (bot/roles.py): every process sends; one elected process polls
Telegram and one connects the Discord gateway, and a standby takes over when the holder dies; webhooks go to every
process behind a load balancer and are answered once each, in order per person.

Real PostgreSQL (conftest `postgres`), real python-telegram-bot and discord.py against the fakes on 127.0.0.1, and
real `python -m bot` processes where a process has to die (kill -9) or two have to share the work."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from bot.adapters.telegram import TelegramAdapter, WebhookConfig
from bot.app import build_app, make_adapters, serve
from bot.config import Settings
from bot.core.messages import Incoming, Reply
from bot.ops import webhook
from bot.roles import PostgresElection as Election
from bot.roles import Role, SoleProcess, hold_role
from tests.conftest import FakeClock
from tests.fakes.discord_api import USER_ID, FakeDiscord
from tests.fakes.telegram_api import FakeTelegram

FAST = 0.2  # seconds between a standby's tries in the in-process tests (the default, 1 s, in the processes)


@pytest.fixture
async def telegram():
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def discord_fake():
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


def count_conflicts(fake: FakeTelegram) -> list[float]:
    """When the fake answered 409 Conflict (a second getUpdates while one was waiting)."""
    conflicts: list[float] = []
    answer = fake._error

    def recording(exc):
        if exc.status == 409:
            conflicts.append(time.monotonic())
        return answer(exc)

    fake._error = recording
    return conflicts


def conflicts_received(caplog) -> int:
    """409 Conflicts a poller in this process was answered (PTB logs each one). The fake also ends a poll that
    its client has already abandoned with 409, to nobody; that one does not count."""
    from telegram.error import Conflict

    return sum(1 for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], Conflict))


async def until(predicate, timeout: float, what: str) -> float:
    """Seconds until `predicate()` held; fails after `timeout`."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


# -- the election itself ------------------------------------------------------------------------------------


async def test_alone_on_sqlite_the_process_holds_every_role_at_once():
    started, stopped = [], []
    stop = asyncio.Event()

    async def start():
        started.append(time.monotonic())
        stop.set()

    async def stop_role():
        stopped.append(time.monotonic())

    await asyncio.wait_for(hold_role(Role("telegram-poller"), SoleProcess(), start, stop_role, stop), 2)
    assert len(started) == 1 and len(stopped) == 1  # elected at once, handed back on stop


async def test_one_holder_and_a_standby_takes_over_when_its_session_dies(postgres):
    url = postgres.database()
    role = Role("telegram-poller")
    events: list[tuple[str, str, float]] = []
    elections = {name: Election(url, retry_every=FAST) for name in ("a", "b")}
    stop = asyncio.Event()

    def runner(name: str):
        async def start():
            events.append(("start", name, time.monotonic()))

        async def stop_role():
            events.append(("stop", name, time.monotonic()))

        return hold_role(role, elections[name], start, stop_role, stop)

    tasks = [asyncio.create_task(runner("a"))]
    await until(lambda: events, 5, "a to be elected")
    tasks.append(asyncio.create_task(runner("b")))
    await asyncio.sleep(1.0)  # b tried about five times meanwhile
    assert [e[:2] for e in events] == [("start", "a")]  # one holder, however often the standby asks
    # a's process "dies": its session ends (what kill -9 does to its connection)
    pid = await elections["a"].session_pid()
    await asyncio.to_thread(postgres.psql, f"SELECT pg_terminate_backend({pid})")
    died = time.monotonic()  # pg_terminate_backend returns once the session is gone
    await until(lambda: any(e[:2] == ("start", "b") for e in events), 5, "b to take over")
    took_over = next(e[2] for e in events if e[:2] == ("start", "b")) - died
    await until(lambda: any(e[:2] == ("stop", "a") for e in events), 5, "a to notice it lost the role")
    print(f"takeover after the holder's session died: {max(took_over, 0):.2f} s (standby retries every {FAST} s)")
    assert took_over < 2 * FAST + 1.0
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    for election in elections.values():
        await election.close()


# -- two apps in one test process: Discord gateway once, REST from everyone -------------------------------


class InProcess:
    """`python -m bot`'s serve loop in this event loop, on a shared PostgreSQL database."""

    def __init__(self, env: dict[str, str], clock: FakeClock) -> None:
        self.env, self.clock = env, clock

    async def start(self) -> InProcess:
        settings = Settings.from_env(self.env)
        self.app = await build_app(settings.db_path, clock=self.clock, settings=settings)
        self.adapters = make_adapters(self.app, settings)
        self.adapter = self.adapters[0]
        if hasattr(self.adapter, "guild_ready_timeout"):
            self.adapter.guild_ready_timeout = 0.1
        if hasattr(self.adapter, "poll_timeout"):
            self.adapter.poll_timeout = 1
        self.stop = asyncio.Event()
        election = Election(self.app.repo.url, retry_every=FAST)
        self.task = asyncio.create_task(serve(self.app, self.adapters, self.stop, election=election))
        await until(lambda: self.adapter.connected, 10, "the adapter to be able to send")
        return self

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)
        await self.app.close()


def discord_env(fake: FakeDiscord, db: str) -> dict[str, str]:
    return {
        "DISCORD_BOT_TOKEN": fake.token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "HIPCOACH_DB": db,
    }


async def test_one_discord_gateway_the_standby_sends_reminders_by_rest_and_takes_over(postgres, discord_fake):
    url = postgres.database()
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    first = await InProcess(discord_env(discord_fake, url), clock).start()
    second = await InProcess(discord_env(discord_fake, url), clock).start()
    try:
        bots = [first, second]
        await until(lambda: any(b.adapter.receiving for b in bots), 10, "one gateway")
        await asyncio.sleep(3 * FAST)  # the standby has asked for the role a few times
        holder, standby = (first, second) if first.adapter.receiving else (second, first)
        assert not standby.adapter.receiving and standby.adapter.connected
        assert discord_fake.identify_count == 1 and len(discord_fake._connections) == 1

        # A reminder set up and fired by the standby goes out through the REST API alone.
        person = Incoming("discord", str(USER_ID), str(USER_ID), command="remind", args="07:30 Europe/Berlin")
        await standby.app.coach.handle(person)
        fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
        clock.now = fire
        stats = await standby.app.reminders.tick(fire)
        assert stats.sent == 1
        (reminder,) = discord_fake.sent_to_user(USER_ID)
        assert "Time for your hips" in str(reminder) and discord_fake.identify_count == 1

        # The holder stops (a deploy): the standby connects the gateway and answers DMs.
        stopped = time.monotonic()
        await holder.close()
        bots.remove(holder)
        took_over = await until(lambda: standby.adapter.receiving, 10, "the standby to connect the gateway")
        print(f"discord-gateway handed over in {took_over:.2f} s (from stop to READY on the standby)")
        assert took_over < 5
        assert discord_fake.identify_count == 2 and len(discord_fake._connections) == 1
        before = len(discord_fake.messages)
        discord_fake.user_message("what is fascia")
        await discord_fake.wait_for(lambda: len(discord_fake.messages) > before, 5, "an answer from the new holder")
        assert time.monotonic() - stopped < 10
    finally:
        for bot in bots:
            await bot.close()


async def test_one_telegram_poller_the_standby_sends_reminders_and_takes_over(postgres, telegram, caplog):
    url = postgres.database()
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    env = {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
        "HIPCOACH_DB": url,
    }
    first = await InProcess(env, clock).start()
    second = await InProcess(env, clock).start()
    bots = [first, second]
    try:
        await until(lambda: any(b.adapter.receiving for b in bots), 10, "one poller")
        await asyncio.sleep(2.0)  # several long polls and standby tries
        holder, standby = (first, second) if first.adapter.receiving else (second, first)
        assert not standby.adapter.receiving and conflicts_received(caplog) == 0

        person = Incoming("telegram", "1001", "1001", command="remind", args="07:30 Europe/Berlin")
        await standby.app.coach.handle(person)
        fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
        clock.now = fire
        assert (await standby.app.reminders.tick(fire)).sent == 1  # the standby sends with the token alone
        assert "Time for your hips" in telegram.sent[-1]["plain_text"]

        await holder.close()
        bots.remove(holder)
        took_over = await until(lambda: standby.adapter.receiving, 10, "the standby to poll")
        print(f"telegram-poller handed over in {took_over:.2f} s (from stop to polling on the standby)")
        before = len(telegram.sent)
        telegram.user_message("what is fascia")
        await telegram.wait_for(lambda: len(telegram.sent) > before, 10, "an answer from the new poller")
        assert conflicts_received(caplog) == 0  # never two pollers at once
    finally:
        for bot in bots:
            await bot.close()


async def test_control_two_pollers_without_an_election_draw_409_conflicts(telegram, caplog):
    """The control for the 409 counts: two processes that both poll are refused by Telegram."""
    adapters = []
    coach = object()  # never reached: nobody writes
    for _ in range(2):
        adapter = TelegramAdapter(coach, telegram.token, telegram.base_url, telegram.base_file_url, poll_timeout=1)
        await adapter.start()
        adapters.append(adapter)
    try:
        await asyncio.sleep(2.5)
    finally:
        for adapter in adapters:
            await adapter.stop()
    assert conflicts_received(caplog) >= 1


# -- real processes ---------------------------------------------------------------------------------------


class Process:
    """One `python -m bot`, its log lines (stderr) kept with the time they arrived."""

    def __init__(self, name: str, env: dict[str, str], cwd) -> None:
        self.name, self.env, self.cwd = name, env, cwd
        self.lines: list[tuple[float, str]] = []

    async def start(self) -> Process:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
        env.update(HIPCOACH_LOG_LEVEL="INFO", **self.env)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for raw in self.proc.stderr:
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))

    def saw(self, text: str) -> float | None:
        return next((at for at, line in self.lines if text in line), None)

    async def wait_line(self, text: str, timeout: float = 20) -> float:
        await until(lambda: self.saw(text) is not None or self.proc.returncode is not None, timeout, text)
        assert self.saw(text) is not None, f"{self.name} ended: " + "\n".join(line for _, line in self.lines[-20:])
        return self.saw(text)

    def kill9(self) -> float:
        self.proc.kill()
        return time.monotonic()

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        await self.reader
        return code

    def log(self) -> str:
        return "\n".join(line for _, line in self.lines)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_kill_9_the_poller_and_gateway_holder_a_standby_takes_both_over(
    postgres, telegram, discord_fake, tmp_path
):
    url = postgres.database()
    conflicts = count_conflicts(telegram)
    env = {
        "HIPCOACH_DB": url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
        **discord_env(discord_fake, url),
    }
    first = await Process("first", env, tmp_path).start()
    await first.wait_line("event=role_elected role=telegram-poller")
    await first.wait_line("event=role_elected role=discord-gateway")
    second = await Process("second", env, tmp_path).start()
    processes = [first, second]
    try:
        await second.wait_line("event=role_standby role=telegram-poller")
        await second.wait_line("event=role_standby role=discord-gateway")
        await second.wait_line("event=platform_sending platform=discord")  # the standby can send by REST
        telegram.user_message("what is fascia")
        await telegram.wait_sent(1, timeout=10)
        assert discord_fake.identify_count == 1 and conflicts == []

        killed = first.kill9()
        gateway_back = asyncio.create_task(
            until(lambda: discord_fake.identify_count == 2 and discord_fake.is_ready, 15, "a new gateway")
        )
        await second.wait_line("event=role_elected role=telegram-poller", timeout=15)
        await second.wait_line("event=role_elected role=discord-gateway", timeout=15)
        await until(lambda: any(c.method == "getUpdates" and c.at > killed for c in telegram.calls), 10, "a poller")
        polled = min(c.at for c in telegram.calls if c.method == "getUpdates" and c.at > killed) - killed
        ready = await gateway_back
        elected = {
            role: second.saw(f"event=role_elected role={role}") - killed
            for role in ("telegram-poller", "discord-gateway")
        }
        print(
            f"after kill -9: telegram-poller elected in {elected['telegram-poller']:.2f} s, first getUpdates by the "
            f"standby {polled:.2f} s; discord-gateway elected in {elected['discord-gateway']:.2f} s, READY "
            f"{ready:.2f} s after the kill"
        )
        assert max(elected.values()) < 3.0  # the standby asks every second

        telegram.user_message("how often should I stretch my hips")
        await telegram.wait_sent(2, timeout=10)
        discord_fake.user_message("what is fascia")
        await discord_fake.wait_for(lambda: discord_fake.messages, 10, "a Discord answer from the new holder")
        # Never two pollers at once: the one 409 allowed is the fake ending the dead process's own long poll when
        # the new poller arrives (Telegram does the same); the survivor itself was never refused.
        assert len([at for at in conflicts if at < killed]) == 0 and len(conflicts) <= 1
        assert "Conflict" not in second.log()
        assert len(telegram.sent) == 2  # each message answered once
    finally:
        for process in processes:
            await process.stop()
    assert second.proc.returncode == 0, second.log()[-3000:]


# -- webhooks behind a load balancer ----------------------------------------------------------------------


class RoundRobin:
    """A tiny HTTP load balancer on 127.0.0.1, answers passed back. Round robin per chat: each chat's next update
    goes to the other backend, the worst case for order (a plain per-request round robin does that only by
    chance when several chats interleave)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.served: dict[str, int] = {backend: 0 for backend in backends}
        self.chats_served: dict[int | None, list[str]] = {}  # chat id -> where its updates went, in order

    async def start(self) -> str:
        self.session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        chat = (json.loads(body).get("message") or {}).get("chat", {}).get("id")
        route = self.chats_served.setdefault(chat, [])
        backend = self.backends[len(route) % len(self.backends)]
        route.append(backend)
        self.served[backend] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", SECRET.lower())}
        async with self.session.post(backend + request.path, data=body, headers=headers) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.session.close()


SECRET = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_SECRET = "one-secret-for-all"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def send_like_telegram(front: str, telegram: FakeTelegram, people: int, per_person: int, text_of):
    """What Telegram does with a webhook: one chat's updates one after the other (the next once the previous
    got its answer), different chats at once. Each person writes in a group of their own, where the first
    message of each answer replies to the message it answers, so answers can be matched to messages.
    Returns the message ids asked per chat, and how long each POST took to be answered."""
    asked: dict[int, list[int]] = {}
    latencies: list[float] = []

    async def person(n: int, http: aiohttp.ClientSession) -> None:
        chat_id = -1_000_000_000_000 - n
        asked[chat_id] = []
        for i in range(per_person):
            text = f"@{telegram.bot_username} {text_of(n, i)}"
            update = telegram.user_message(text, user_id=5000 + n, chat_id=chat_id, chat_type="supergroup")
            asked[chat_id].append(update["message"]["message_id"])
            began = time.monotonic()
            async with http.post(front + "/telegram", json=update, headers={SECRET: WEBHOOK_SECRET}) as r:
                assert r.status == 200
            latencies.append(time.monotonic() - began)

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(person(n, http) for n in range(people)))
    return asked, latencies


def out_of_order(telegram: FakeTelegram, asked: dict[int, list[int]]) -> list[tuple[int, list[int], list[int]]]:
    """Chats whose answers (matched by the message they reply to) are not exactly one per message, in order."""
    wrong = []
    for chat_id, message_ids in asked.items():
        answered = [
            m["reply_to_message"]["message_id"]
            for m in telegram.sent
            if m["chat_id"] == chat_id and m.get("reply_to_message")
        ]
        if answered != message_ids:
            wrong.append((chat_id, message_ids, answered))
    return wrong


class EveryOtherSlow:
    """A stand-in coach: even-numbered messages take 300 ms, odd ones none, so an update handled after its
    successor shows up as an answer out of order."""

    async def handle(self, incoming: Incoming) -> list[Reply]:
        n = int(incoming.text.rsplit(" ", 1)[-1])
        await asyncio.sleep(0.3 if n % 2 == 0 else 0)
        return [Reply(f"answer {n}")]


@pytest.mark.parametrize("handling", ["answered-after-handling", "control:ptb-acks-first"])
async def test_webhook_answers_stay_in_order_only_when_handled_before_the_post_is_answered(telegram, handling):
    """The reason for our webhook receiver: PTB's own answers 200 once the update is queued, so behind a load
    balancer the next update of a chat can overtake it in the other process (the control must fail)."""
    ports = [_free_port(), _free_port()]
    adapters = []
    for port in ports:
        if handling == "answered-after-handling":
            hook = WebhookConfig("https://coach.example/telegram", "127.0.0.1", port, WEBHOOK_SECRET, register=False)
            adapter = TelegramAdapter(EveryOtherSlow(), telegram.token, telegram.base_url, webhook=hook)
            await adapter.start()
        else:
            adapter = TelegramAdapter(EveryOtherSlow(), telegram.token, telegram.base_url)
            await adapter.start_sending()
            await adapter.application.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path="telegram",
                webhook_url="https://coach.example/telegram",
                secret_token=WEBHOOK_SECRET,
            )
        adapters.append(adapter)
    balancer = RoundRobin([f"http://127.0.0.1:{port}" for port in ports])
    front = await balancer.start()
    try:
        # One person: their updates alternate between the two processes (slow even ones, quick odd ones).
        asked, _ = await send_like_telegram(front, telegram, people=1, per_person=6, text_of=lambda n, i: f"msg {i}")
        await asyncio.sleep(0.6)  # answers still being handled after their POST was answered
    finally:
        await balancer.stop()
        for adapter in adapters:
            await adapter.stop()
    wrong = out_of_order(telegram, asked)
    if handling == "answered-after-handling":
        assert wrong == []
    else:
        ((_, want, got),) = wrong
        assert sorted(got) == want and got != want  # all answered once, but an answer overtook the one before
        print(f"control (PTB's webhook answers before handling): asked {want}, answers replied to {got}")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_two_webhook_processes_behind_round_robin_answer_every_update_once_in_order(postgres, telegram, tmp_path):
    url = postgres.database()
    ports = [_free_port(), _free_port()]
    common = {
        "HIPCOACH_DB": url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
        "TELEGRAM_WEBHOOK_URL": "https://coach.example/telegram",
        "TELEGRAM_WEBHOOK_SECRET": "one-secret-for-all",
    }
    processes = [
        await Process(f"web{i}", {**common, "TELEGRAM_WEBHOOK_LISTEN": f"127.0.0.1:{port}"}, tmp_path).start()
        for i, port in enumerate(ports)
    ]
    balancer = RoundRobin([f"http://127.0.0.1:{port}" for port in ports])
    front = await balancer.start()
    try:
        for process in processes:
            await process.wait_line("event=webhook_listening")
        assert telegram.calls_to("setWebhook") == [] and telegram.webhook_url == ""  # no process registered

        people, per_person = 6, 6
        questions = ["what is fascia", "how often should I stretch", "why are my hips tight", "what is a hip hinge"]
        began = time.monotonic()
        asked, latencies = await send_like_telegram(
            front, telegram, people, per_person, lambda n, i: questions[(n + i) % len(questions)]
        )
        async with aiohttp.ClientSession() as http:
            async with http.post(front + "/telegram", json={"update_id": 1}, headers={SECRET: "wrong"}) as r:
                assert r.status == 403  # a forged request is refused by whichever process gets it
        elapsed = time.monotonic() - began
        assert out_of_order(telegram, asked) == []
        assert all(len(set(balancer.chats_served[chat_id])) == 2 for chat_id in asked)  # alternating processes
        total = people * per_person
        assert all(count > 0 for count in balancer.served.values()) and sum(balancer.served.values()) == total + 1
        latencies.sort()
        print(
            f"{total} updates through 2 webhook processes in {elapsed:.2f} s, every one answered once and in "
            f"order; POST answered p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, max "
            f"{latencies[-1] * 1000:.0f} ms; per process {sorted(balancer.served.values())}"
        )

        # Registration is one command's job (`python -m bot webhook set` calls this), with the shared secret.
        env = {
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_BASE_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://coach.example/telegram",
            "TELEGRAM_WEBHOOK_SECRET": "one-secret-for-all",
        }
        assert "Webhook set" in await webhook("set", Settings.from_env(env))
        (call,) = telegram.calls_to("setWebhook")
        assert telegram.webhook_url == "https://coach.example/telegram"
        assert call.params["secret_token"] == "one-secret-for-all"
    finally:
        await balancer.stop()
        codes = [await process.stop() for process in processes]
    assert codes == [0, 0], "\n".join(p.log()[-2000:] for p in processes)


class Overlaps:
    """A stand-in coach that notes when one person's turns overlap (each turn takes 150 ms)."""

    def __init__(self) -> None:
        self.busy: set[str] = set()
        self.overlaps = 0
        self.turns = 0

    async def handle(self, incoming: Incoming) -> list[Reply]:
        if incoming.user_key in self.busy:
            self.overlaps += 1
        self.busy.add(incoming.user_key)
        await asyncio.sleep(0.15)
        self.busy.discard(incoming.user_key)
        self.turns += 1
        return [Reply("ok")]


@pytest.mark.parametrize("locks", ["repository (advisory lock)", "control:in-process"])
async def test_one_persons_turns_never_overlap_across_processes(postgres, telegram, tmp_path, locks):
    """One person writing in two chats at once (Telegram sends different chats concurrently), each chat's update
    reaching another process: with the repository's turn lock the turns take turns; the control with each
    process's own locks overlaps. Two repositories on one database are two processes' worth of sessions."""
    from bot.storage.repository import SqlRepository

    url = postgres.database()
    repos = [await SqlRepository.open(url) for _ in range(2)]
    coach = Overlaps()
    ports = [_free_port(), _free_port()]
    adapters = []
    for repo, port in zip(repos, ports, strict=True):
        hook = WebhookConfig("https://coach.example/telegram", "127.0.0.1", port, WEBHOOK_SECRET, register=False)
        turn_lock = repo.turn_lock if locks.startswith("repository") else None
        adapter = TelegramAdapter(coach, telegram.token, telegram.base_url, webhook=hook, turn_lock=turn_lock)
        await adapter.start()
        adapters.append(adapter)
    try:
        async with aiohttp.ClientSession() as http:

            async def post(port: int, chat_id: int) -> None:
                text = f"@{telegram.bot_username} hello"
                update = telegram.user_message(text, user_id=7001, chat_id=chat_id, chat_type="supergroup")
                url = f"http://127.0.0.1:{port}/telegram"
                async with http.post(url, json=update, headers={SECRET: WEBHOOK_SECRET}) as r:
                    assert r.status == 200

            for _ in range(3):  # the same person in two groups at once, one group's update per process
                await asyncio.gather(post(ports[0], -1_000_000_000_101), post(ports[1], -1_000_000_000_102))
    finally:
        for adapter in adapters:
            await adapter.stop()
        for repo in repos:
            await repo.close()
    assert coach.turns == 6
    if locks.startswith("repository"):
        assert coach.overlaps == 0
    else:
        assert coach.overlaps >= 2  # the control: per-process locks do not see the other process


async def test_webhook_processes_on_postgresql_need_the_one_shared_secret(postgres, telegram, tmp_path):
    env = {
        "HIPCOACH_DB": postgres.database(),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_WEBHOOK_URL": "https://coach.example/telegram",
    }
    settings = Settings.from_env(env)
    app = await build_app(settings.db_path, settings=settings)
    try:
        # Each process would make up its own secret and reject what the others registered: refuse, and say why.
        with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
            make_adapters(app, settings)
        (adapter,) = make_adapters(app, Settings.from_env({**env, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}))
        assert adapter.webhook.register is False and adapter.role is None  # every process receives, none registers
    finally:
        await app.close()
    # and `python -m bot` says so in a sentence, not a traceback
    child = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot"], env={**child, **env}, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in done.stderr and "Traceback" not in done.stderr
