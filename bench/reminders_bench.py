"""Reminder scheduling at scale: 100,000 subscribed users across 30 time zones.

Prints
- the cost of loading the schedule at start (with a tick over an indexed next_fire_utc there is no
  in-memory schedule to build: start-up is opening the database plus one due-query),
- memory (process peak RSS, and what a tick allocates),
- the cost of one scheduling cycle with nothing due and with 1,000 due,
- how long N reminders due in the same minute take to reach a sender limited to 30 messages/s,
  against the N/30 s that limit allows, and whether any was lost or sent twice.

    python bench/reminders_bench.py [--users 100000] [--fanout 3000] [--skip-fanout]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_knowledge  # noqa: E402
from bot.core.delivery import SENT, Dispatcher, SendResult  # noqa: E402
from bot.core.localtime import next_fire  # noqa: E402
from bot.core.reminders import Reminders  # noqa: E402
from bot.storage.reminders import ts  # noqa: E402
from bot.storage.repository import SqlRepository  # noqa: E402

ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Moscow",
    "Europe/Istanbul",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/Toronto",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Dubai",
    "Asia/Tehran",
    "Asia/Jakarta",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Perth",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Johannesburg",
]  # 30 zones, including +05:30, +05:45, +03:30, -03:30, +10:30, +12:45 and both hemispheres' DST
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class PacedSender:
    """A platform that accepts 30 messages/s (the dispatcher paces to it) and takes 20 ms per call."""

    def __init__(self, rate: float, latency: float) -> None:
        self.rate_per_second = rate
        self.latency = latency
        self.received: Counter[str] = Counter()
        self.first: float | None = None
        self.last: float | None = None

    async def send(self, target, replies, key=None) -> SendResult:
        await asyncio.sleep(self.latency)
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        self.received[target.user_key] += 1
        return SendResult(SENT)


async def seed(repo: SqlRepository, users: int, due_now: int) -> None:
    """Insert users and one daily reminder each; `due_now` of them are due at NOW."""
    rng = random.Random(7)
    stamp = ts(NOW - timedelta(days=1))
    user_rows, reminder_rows = [], []
    for i in range(users):
        zone_name = ZONES[i % len(ZONES)]
        key = f"bench:{i}"
        if i < due_now:
            fire = NOW
            at = NOW.astimezone(ZoneInfo(zone_name)).time().replace(second=0, microsecond=0)
        else:
            at = datetime(2026, 1, 1, rng.randrange(24), rng.randrange(60)).time()
            fire = next_fire(at, range(7), ZoneInfo(zone_name), NOW + timedelta(minutes=1))
        user_rows.append((key, "", stamp, stamp))
        reminder_rows.append(
            (key, "bench", str(i), at.strftime("%H:%M"), "0123456", zone_name, "active", ts(fire), stamp, stamp)
        )
    async with repo.transaction() as db:
        await db.executemany(
            "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)", user_rows
        )
        await db.executemany(
            "INSERT INTO reminders (user_key, platform, chat_id, local_time, days, timezone, status, next_fire_utc, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            reminder_rows,
        )


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(users: int, fanout: int, skip_fanout: bool) -> None:
    content, _ = build_knowledge()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        repo = await SqlRepository.open(path)
        started = time.perf_counter()
        await seed(repo, users, 1000)
        print(f"seeded {users:,} users x 1 reminder across {len(ZONES)} zones in {time.perf_counter() - started:.1f} s")
        await repo.close()

        started = time.perf_counter()
        repo = await SqlRepository.open(path)
        await repo.due_reminders(NOW - timedelta(minutes=1), 5000)
        print(
            f"schedule load at start (open database + first due query): {(time.perf_counter() - started) * 1e3:.1f} ms"
        )

        cycles = []
        for minute in range(1, 21):
            t0 = time.perf_counter()
            await repo.due_reminders(NOW - timedelta(minutes=minute), 5000)
            cycles.append(time.perf_counter() - t0)
        print(f"one cycle, nothing due (select by index): median {sorted(cycles)[10] * 1e3:.2f} ms")
        t0 = time.perf_counter()
        due = await repo.due_reminders(NOW, 5000)
        print(f"one cycle, selecting {len(due):,} due: {(time.perf_counter() - t0) * 1e3:.1f} ms")

        null = PacedSender(float("inf"), 0.0)
        reminders = Reminders(content, repo, Dispatcher({"bench": null}, repo, lambda: NOW))
        tracemalloc.start()
        t0 = time.perf_counter()
        stats = await reminders.tick(NOW)
        full = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"one full cycle with 1,000 due (select, claim, advance, build routine, hand to an instant sender): "
            f"{full * 1e3:.0f} ms, {stats.sent} sent, tick allocations peak {peak / 2**20:.1f} MB"
        )
        print(f"process peak RSS with {users:,} reminders: {rss_mb():.0f} MB")
        await repo.close()

        if skip_fanout:
            return
        path2 = Path(tmp) / "fanout.db"
        repo = await SqlRepository.open(path2)
        await seed(repo, fanout, fanout)
        sender = PacedSender(30.0, 0.02)
        reminders = Reminders(content, repo, Dispatcher({"bench": sender}, repo, lambda: NOW))
        t0 = time.monotonic()
        stats = await reminders.tick(NOW)
        elapsed = time.monotonic() - t0
        allowed = fanout / 30.0
        twice = sum(1 for n in sender.received.values() if n > 1)
        lost = fanout - len(sender.received)
        print(
            f"fan-out of {fanout:,} due in one minute to a 30 msg/s sender: {elapsed:.1f} s, first message after "
            f"{sender.first - t0:.2f} s "
            f"(limit allows {allowed:.1f} s; {100 * (elapsed / allowed - 1):+.2f}%), "
            f"sent {stats.sent:,}, lost {lost}, sent twice {twice}, "
            f"delivery log {await repo.delivery_counts()}"
        )
        await repo.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--fanout", type=int, default=3000)
    parser.add_argument("--skip-fanout", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.users, args.fanout, args.skip_fanout))
