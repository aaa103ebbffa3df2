"""One send rate for the whole bot across processes (issue 15): four limiters with their own connection pools on
one real PostgreSQL, as four processes would be, send through python-telegram-bot to a strict fake Bot API that
answers 429 to a message above its limit in any rolling second. Shared: no 429, no second over the limit, the
throughput near the limit, and answers to people still go out within a fraction of a second. The control, four
per-process limiters, draws 429s: the test can fail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

import pytest
from aiohttp import web
from telegram.error import RetryAfter
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.adapters.shared_limiter import HORIZON, SharedSlots
from bot.adapters.telegram_limiter import BULK, AnswersFirstLimiter
from bot.storage.database import open_database
from bot.storage.rate_limits import NO_HORIZON, Lease, Refused, SqlRateLimits
from bot.storage.repository import SqlRepository

BOTH_BACKENDS = True
TOKEN = "123456:shared-limiter-test"
LIMIT = 30  # the fake's messages per rolling second, like Telegram's per bot
RATE = 28.0  # what the bot is configured to send (TELEGRAM_RATE_LIMIT), a little under the limit
PROCESSES = 4


def most_in_a_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


class StrictTelegram:
    """getMe and sendMessage; a message that would be the LIMIT+1st within one second gets Telegram's 429."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.attempts: list[float] = []  # every sendMessage that arrived
        self.accepted: list[tuple[float, int, str]] = []  # (time, chat_id, text)
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> StrictTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            me = {"id": 123456, "is_bot": True, "first_name": "Hip Coach", "username": "hipcoach_bot"}
            return web.json_response({"ok": True, "result": me})
        data = await request.post() if request.content_type != "application/json" else await request.json()
        now = time.monotonic()
        self.attempts.append(now)
        recent = sum(1 for t, _, _ in self.accepted[-self.limit - 1 :] if now - t < 1.0)
        if recent >= self.limit:
            self.refused += 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return web.json_response(body, status=429)
        chat_id = int(data["chat_id"])
        self.accepted.append((now, chat_id, str(data.get("text", ""))))
        message = {
            "message_id": len(self.accepted),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
        }
        return web.json_response({"ok": True, "result": {**message, "text": data.get("text", "")}})


def worker_command(base_url: str, db_url: str, index: int, per_process: int, start_at: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.test_shared_limiter",
        base_url,
        db_url,
        str(index),
        str(per_process),
        str(start_at),
    ]


async def worker(base_url: str, db_url: str, index: int, per_process: int, start_at: float) -> dict:
    """One process of the bot: its own PTB bot, limiter and connection pool (none when db_url is empty: the
    per-process limiter). At `start_at` (wall clock, shared by all) it queues `per_process` reminders at once,
    and while they go out answers a person every 1.6 s (the four together: one answer every 0.4 s)."""
    db = await open_database(db_url) if db_url else None
    limiter = AnswersFirstLimiter(RATE, shared=SqlRateLimits(db) if db else None)
    bot = ExtBot(TOKEN, base_url=base_url, rate_limiter=limiter, request=HTTPXRequest(connection_pool_size=16))
    refused_bulk, latencies = 0, []

    async def reminder(chat_id: int) -> None:
        nonlocal refused_bulk
        try:
            await bot.send_message(chat_id, "time to stretch", rate_limit_args=BULK)
        except RetryAfter:  # the dispatcher would try again later; here it only counts
            refused_bulk += 1

    async with bot:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        fan_out = [asyncio.create_task(reminder(1_000_000 * (index + 1) + i)) for i in range(per_process)]
        await asyncio.sleep(0.5 + 0.4 * index)  # the fan-out fills the rate first; the four take turns
        asked = 0
        while not all(task.done() for task in fan_out):
            asked_at = time.monotonic()
            with contextlib.suppress(RetryAfter):  # the control's answers may run out of retries
                await bot.send_message(7_000 + 100 * index + asked, "an answer")
                latencies.append(time.monotonic() - asked_at)
            asked += 1
            await asyncio.sleep(max(0.0, 1.6 - (time.monotonic() - asked_at)))
        await asyncio.gather(*fan_out)
    if db is not None:
        await db.close()
    slots = limiter.slots
    return {
        "refused_bulk": refused_bulk,
        "latencies": latencies,
        "unshared": getattr(slots, "unshared", 0),
        "late": getattr(slots, "late", 0),
    }


async def four_processes(fake: StrictTelegram, db_url: str, per_process: int) -> dict:
    """Four real processes against the fake; what a person and an operator would notice."""
    start_at = time.time() + 4.0  # all four have imported and connected by then
    procs = [
        await asyncio.create_subprocess_exec(
            *worker_command(fake.base_url, db_url, i, per_process, start_at),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(PROCESSES)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 60)
    reports = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    bulk_times = [t for t, chat, _ in fake.accepted if chat >= 1_000_000]
    latencies = [x for r in reports for x in r["latencies"]]
    return {
        "refused": fake.refused,
        "refused_bulk": sum(r["refused_bulk"] for r in reports),
        "most_attempts_in_a_second": most_in_a_second(fake.attempts),
        "sent": len(fake.accepted),
        "per_process": [sum(1 for _, chat, _ in fake.accepted if chat // 1_000_000 == p + 1) for p in range(4)],
        "throughput": (len(bulk_times) - 1) / (max(bulk_times) - min(bulk_times)) if len(bulk_times) > 1 else 0.0,
        "answers": len(latencies),
        "answer_p50": sorted(latencies)[len(latencies) // 2] if latencies else 0.0,
        "answer_max": max(latencies, default=0.0),
        "unshared": sum(r["unshared"] for r in reports),
        "late": sum(r["late"] for r in reports),
    }


# -- the store on its own, on both backends ---------------------------------------------------------------------


async def test_bookings_follow_one_schedule_and_bulk_stops_at_the_horizon(repo):
    store = SqlRateLimits(repo.db)
    horizon = 0.25
    first = await store.book("telegram", "bot", 20.0, 4, horizon)
    second = await store.book("telegram", "bot", 20.0, 4, horizon)
    assert isinstance(first, Lease) and first.first_in < 0.05 and first.interval == pytest.approx(0.05)
    # the next booking starts where the first one's four slots end (0.2 s), whoever books it
    assert isinstance(second, Lease) and 0.15 < second.first_in <= 0.201
    refused = await store.book("telegram", "bot", 20.0, 1, horizon)  # 0.4 s booked ahead: bulk waits
    assert isinstance(refused, Refused) and 0.1 < refused.retry_in <= 0.4 - horizon + 0.01
    answer = await store.book("telegram", "bot", 20.0, 1, NO_HORIZON)  # an answer books regardless
    assert isinstance(answer, Lease) and 0.35 < answer.first_in <= 0.401
    other = await store.book("discord", "bot", 20.0, 1, horizon)  # another platform has its own schedule
    assert isinstance(other, Lease) and other.first_in < 0.05


async def test_a_429_anywhere_pauses_the_next_booking_of_everyone(repo):
    store = SqlRateLimits(repo.db)
    await store.pause("telegram", "bot", 2.0)
    after = await store.book("telegram", "bot", 20.0, 1, NO_HORIZON)
    assert isinstance(after, Lease) and 1.9 < after.first_in <= 2.0
    bulk = await store.book("telegram", "bot", 20.0, 1, HORIZON)
    assert isinstance(bulk, Refused) and bulk.retry_in > 1.8


class BrokenStore:
    async def book(self, *args):
        raise ConnectionError("database unreachable")

    async def pause(self, *args):
        raise ConnectionError("database unreachable")


async def test_without_the_database_answers_still_go_out_at_the_process_own_pace():
    slots = SharedSlots(BrokenStore(), "telegram", rate=20.0)
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(slots.take(bulk=False) for _ in range(10))), 2)
    assert 0.4 < time.monotonic() - started < 0.8 and slots.unshared >= 10  # paced at 20/s, not stuck


# -- two limiters on one store: answers first and 429s across processes ----------------------------------------


async def test_an_answer_in_one_process_overtakes_the_fan_out_queued_in_another(repo):
    fanning = SharedSlots(SqlRateLimits(repo.db), "telegram", 20.0)
    answering = SharedSlots(SqlRateLimits(repo.db), "telegram", 20.0)
    went: list[tuple[str, float]] = []
    started = time.monotonic()

    async def one(slots: SharedSlots, name: str, bulk: bool) -> None:
        await slots.take(bulk)
        went.append((name, time.monotonic() - started))

    fan_out = [asyncio.create_task(one(fanning, f"r{i}", True)) for i in range(40)]  # 2 s of slots at 20/s
    await asyncio.sleep(0.5)
    asked = time.monotonic() - started
    await one(answering, "answer", False)
    assert dict(went)["answer"] - asked < 0.4  # behind at most the horizon, not the 1.5 s of fan-out left
    await asyncio.gather(*fan_out)
    times = sorted(t for _, t in went)
    assert all(b - a >= 0.9 for a, b in zip(times, times[20:], strict=False))  # 20/s overall, answer included


async def test_a_429_in_one_process_pauses_the_others(repo):
    first = AnswersFirstLimiter(20.0, shared=SqlRateLimits(repo.db))
    second = AnswersFirstLimiter(20.0, shared=SqlRateLimits(repo.db))
    refusals = [RetryAfter(1)]

    async def refused_once() -> dict:
        if refusals:
            raise refusals.pop()
        return {"ok": True}

    async def fine() -> dict:
        return {"ok": True}

    with pytest.raises(RetryAfter):  # a reminder: not retried here, reported to the dispatcher
        await first.process_request(refused_once, (), {}, "sendMessage", {"chat_id": 1}, BULK)
    await asyncio.sleep(0.1)  # the pause reaches the database
    started = time.monotonic()
    await second.process_request(fine, (), {}, "sendMessage", {"chat_id": 2}, None)
    assert time.monotonic() - started > 0.8  # the other process never saw the 429 itself, and still waited


# -- four processes on a real PostgreSQL against a strict fake -------------------------------------------------


async def test_four_processes_share_one_rate_with_answers_first(postgres):
    url = postgres.database()
    await (await SqlRepository.open(url)).close()  # migrated once, as `python -m bot migrate` would
    async with StrictTelegram() as fake:
        seen = await four_processes(fake, url, per_process=50)
    print("shared:", seen)
    assert seen["unshared"] == 0 and seen["refused"] == 0 and seen["refused_bulk"] == 0, seen
    assert seen["most_attempts_in_a_second"] <= LIMIT, seen
    assert seen["per_process"] == [50, 50, 50, 50] and seen["sent"] == 200 + seen["answers"], seen
    assert seen["throughput"] >= 0.85 * RATE, seen  # the rate is used, not just respected
    assert seen["answers"] >= 10 and seen["answer_max"] < 0.6, seen  # never behind the fan-out (~7 s of it)


async def test_control_four_per_process_limiters_get_429s():
    async with StrictTelegram() as fake:
        seen = await four_processes(fake, "", per_process=30)  # SQLite's in-process limiter, four times
    print("control:", seen)
    assert seen["refused"] > 0 and seen["most_attempts_in_a_second"] > LIMIT, seen


# -- Discord: the sender's messages take the shared slots, answers in chat first ---------------------------------


class RecordingChannel:
    def __init__(self, log: list[float], refuse: list[Exception]) -> None:
        self.log, self.refuse = log, refuse

    async def send(self, **kwargs) -> None:
        if self.refuse:
            raise self.refuse.pop()
        self.log.append(time.monotonic())


class StubClient:
    """Stands in for discord.py's client at the edge the sender uses: a DM channel per person."""

    def __init__(self, log: list[float], refuse: list[Exception]) -> None:
        self.channel = RecordingChannel(log, refuse)

    def is_ready(self) -> bool:
        return True

    async def create_dm(self, _user) -> RecordingChannel:
        return self.channel


async def test_discord_senders_in_four_processes_keep_to_one_rate_and_a_rate_limit_pauses_all(postgres):
    from types import SimpleNamespace

    import discord

    from bot.adapters.discord_replies import DiscordSender
    from bot.core.delivery import RETRY, SENT, Target
    from bot.core.messages import Reply

    url = postgres.database()
    await (await SqlRepository.open(url)).close()
    databases = [await open_database(url) for _ in range(PROCESSES)]
    sent: list[float] = []
    refuse: list[Exception] = [discord.RateLimited(1.0)]
    senders = []
    for db in databases:
        adapter = SimpleNamespace(client=StubClient(sent, refuse), connected=True)
        senders.append(DiscordSender(adapter, rate_limit=20.0, shared=SqlRateLimits(db)))
    try:
        first = await senders[0].send(Target("discord", "42", "discord:42"), [Reply("hello")])  # the fake says 429 once
        assert first.status == RETRY and first.retry_after == 1.0
        await asyncio.sleep(0.05)  # the pause reaches the database
        started = time.monotonic()
        results = await asyncio.gather(
            *(
                s.send(Target("discord", str(100 + i), f"discord:{100 + i}"), [Reply("time to stretch")])
                for s in senders
                for i in range(15)
            )
        )
    finally:
        for db in databases:
            await db.close()
    assert all(r.status == SENT for r in results) and len(sent) == 60
    assert min(sent) - started > 0.8  # every process waited out the one 429
    print("discord: most in a second", most_in_a_second(sent), "over", round(max(sent) - min(sent), 2), "s")
    assert most_in_a_second(sent) <= 21 and max(sent) - min(sent) >= 2.7  # 60 at 20/s: about 3 s, never faster


async def test_on_postgresql_both_platforms_get_the_shared_store_and_on_sqlite_their_own_limiters(db_url, backend):
    from types import SimpleNamespace

    from bot.adapters.telegram_limiter import Slots
    from bot.app import make_adapters
    from bot.config import Settings
    from bot.core.commands import load_commands

    repo = await SqlRepository.open(db_url)
    app = SimpleNamespace(repo=repo, coach=None, commands=load_commands(), texts=None)
    settings = Settings.lenient({"TELEGRAM_BOT_TOKEN": "123456:wiring-test", "DISCORD_BOT_TOKEN": "d.wiring.test"})
    try:
        telegram, discord_adapter = make_adapters(app, settings)
    finally:
        await repo.close()
    slots = telegram.application.bot.rate_limiter.slots
    if backend == "postgresql":
        assert isinstance(slots, SharedSlots) and isinstance(discord_adapter.sender.slots, SharedSlots)
    else:  # SQLite: one process, the in-process limiter exactly as before
        assert type(slots) is Slots and discord_adapter.sender.slots is None


if __name__ == "__main__":  # a worker process of the four-process tests
    base, db, index, count, at = sys.argv[1:6]
    print(json.dumps(asyncio.run(worker(base, db, int(index), int(count), float(at)))))
