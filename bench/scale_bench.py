"""Scale-out on PostgreSQL, measured with real `python -m bot` processes against the fakes in their own process.

Prints two tables:
- reminders per second through N = 1, 2, 4 processes on one PostgreSQL: N workers started and up (/healthz),
  then `--reminders` due at the next minute (half Telegram, half Discord), unpaced bots and unlimited fakes, so
  the bots and the database are what is measured; from the minute they fall due to the last one arriving at
  the fakes, and who sent how many;
- answer latency p50/p99 on PostgreSQL vs SQLite at the same load: one process, `--rate` Telegram messages a
  second from `--people` people for `--seconds`, timed at the fake from the message queued to the first answer
  sent (long polling included).

    python bench/scale_bench.py [--reminders 1000] [--processes 1,2,4] [--rate 10] [--seconds 20] [--people 50]

Needs PostgreSQL installed (tests/pg_server.py starts one in a temporary folder, as the tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bot.storage.repository import SqlRepository  # noqa: E402
from tests import pg_server  # noqa: E402
from tests.fakes.limited_servers import LimitedServers  # noqa: E402
from tests.test_kill9 import seed  # noqa: E402
from tests.test_scale_out import Workers  # noqa: E402

UNPACED = {"TELEGRAM_RATE_LIMIT": "0", "DISCORD_RATE_LIMIT": "0", "HIPCOACH_FLOOD_RATE": "0"}
QUESTIONS = (
    "my hip hurts after running",
    "what stretch helps when I sit all day",
    "hi",
    "is it ok to train with a sore hip",
    "show me a hip flexor stretch",
)


async def seed_half_and_half(url: str, count: int, fire: datetime) -> tuple[list[int], list[int]]:
    telegram = list(range(300_001, 300_001 + count // 2))
    discord = list(range(400_001, 400_001 + count - count // 2))
    await seed(url, fire, [("telegram", c) for c in telegram] + [("discord", u) for u in discord])
    return telegram, discord


def arrived(stats: dict) -> int:
    return len(stats["telegram"]["reminders_per_chat"]) + len(stats["discord"]["reminders_per_user"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def all_up(ports: list[int], timeout: float = 90) -> None:
    """Every worker's /healthz says ok: database and platforms connected (content loaded, clients started)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        for port in ports:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if (await response.json())["status"] == "ok":
                            break
                except (aiohttp.ClientError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker on port {port} not up after {timeout:.0f} s")
                await asyncio.sleep(0.2)


async def throughput(server, processes: int, count: int, folder: str) -> dict:
    """N workers started and up first; then `count` reminders due at the next minute, which every worker's
    tick takes at the same moment (start-up costs no worker a head start)."""
    url = server.database()
    repo = await SqlRepository.open(url)  # migrated before the workers start, as `python -m bot migrate` would
    await repo.close()
    async with LimitedServers(0, 0) as servers:
        workers = Workers(servers, url, folder, UNPACED)
        try:
            ports = [free_port() for _ in range(processes)]
            for i, port in enumerate(ports):
                await workers.start(f"w{i + 1}", HIPCOACH_HTTP_PORT=str(port), HIPCOACH_HTTP_HOST="127.0.0.1")
            await all_up(ports)
            now = datetime.now(UTC)
            fire = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if (fire - now).total_seconds() < 8:  # seeding takes a few seconds: the minute after
                fire += timedelta(minutes=1)
            _, discord = await seed_half_and_half(url, count, fire)
            await servers.add_discord_users(discord)
            await asyncio.sleep(max(0.0, (fire - datetime.now(UTC)).total_seconds()))
            due = time.monotonic()
            stats = await servers.wait_for(lambda s: arrived(s) >= count, 120, f"{count} reminders")
        finally:
            await workers.stop_all()
    last = max(t for p in ("telegram", "discord") if (t := stats[p]["last_at"]))
    per_worker = {
        w: stats["telegram"]["messages_by_worker"].get(w, 0) + stats["discord"]["messages_by_worker"].get(w, 0)
        for w in (f"w{i + 1}" for i in range(processes))
    }
    twice = sum(
        n - 1
        for p, k in (("telegram", "reminders_per_chat"), ("discord", "reminders_per_user"))
        for n in stats[p][k].values()
    )
    # the fake's clock and ours are both CLOCK_MONOTONIC on this machine
    return {
        "n": processes,
        "rate": count / (last - due),
        "wall": last - due,
        "per_worker": per_worker,
        "twice": twice,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def latency(url: str, rate: float, seconds: float, people: int, folder: str) -> dict:
    async with LimitedServers(0, 0) as servers:
        workers = Workers(servers, url, folder, {**UNPACED, "DISCORD_BOT_TOKEN": ""})
        try:
            await workers.start("w1")
            await servers.wait_for(lambda s: s["telegram"]["connected"], 60, "the bot to connect")
            chats = list(range(500_001, 500_001 + people))
            total = int(rate * seconds)
            begin = time.monotonic()
            for i in range(total):
                await asyncio.sleep(max(0.0, begin + i / rate - time.monotonic()))
                await servers.say(chats[i % people], QUESTIONS[(i // people) % len(QUESTIONS)])
            stats = await servers.wait_for(
                lambda s: len(s["telegram"]["latencies"]) >= total, 60, f"answers to {total} messages"
            )
        finally:
            await workers.stop_all()
    values = stats["telegram"]["latencies"]
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--rate", type=float, default=10.0, help="Telegram messages per second (latency part)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    reason = pg_server.unavailable_reason()
    if reason:
        sys.exit(f"PostgreSQL is needed: {reason}")
    server = pg_server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            if not args.skip_throughput:
                print(
                    f"\nReminders through N processes on one PostgreSQL ({args.reminders} due in one minute, "
                    "half Telegram, half Discord, unpaced, unlimited fakes)"
                )
                print(f"{'N':>2} {'reminders/s':>12} {'due->all s':>11} {'twice':>6}  per process")
                for n in (int(x) for x in args.processes.split(",")):
                    r = await throughput(server, n, args.reminders, folder)
                    print(f"{r['n']:>2} {r['rate']:>12.0f} {r['wall']:>11.1f} {r['twice']:>6}  {r['per_worker']}")
            if not args.skip_latency:
                print(
                    f"\nAnswer latency, one process, {args.rate:g} Telegram messages/s from {args.people} people "
                    f"for {args.seconds:g} s (queued at the fake -> first answer sent)"
                )
                print(f"{'backend':<11} {'answers':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}")
                for name, url in (("SQLite", str(Path(folder) / "latency.db")), ("PostgreSQL", server.database())):
                    r = await latency(url, args.rate, args.seconds, args.people, folder)
                    print(
                        f"{name:<11} {r['n']:>8} {r['p50'] * 1000:>8.0f} {r['p99'] * 1000:>8.0f} "
                        f"{r['mean'] * 1000:>8.0f} {r['max'] * 1000:>8.0f}"
                    )
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
