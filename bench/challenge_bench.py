"""Group challenges at scale: one 30-day challenge with 10,000 members on a real SQLite file.

Ten days of history are written first (each member checks in on a day with 75% probability; the
aggregates are filled in as the check-in transaction would). Then, on day 11, through coach.handle
(the whole turn: user lookup, routing, the check-in transaction):
- every member presses "Done today" once (sequentially: per-press latency p50 / p99 / max),
- 1,000 double presses at once (asyncio.gather): throughput, and that each counted once,
- leaderboard and status for 500 random members (top 10 plus the asker's own row),
- the daily post (yesterday's completion rate, halfway numbers) through tick(), and the final summary.
Target: every interactive figure under 50 ms.

    python bench/challenge_bench.py [--members 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_knowledge  # noqa: E402
from bot.core.challenges import Challenges  # noqa: E402
from bot.core.coach import Coach  # noqa: E402
from bot.core.delivery import SENT, SendResult  # noqa: E402
from bot.core.messages import Incoming  # noqa: E402
from bot.storage.reminders import ts  # noqa: E402
from bot.storage.repository import SqlRepository  # noqa: E402

START = datetime(2026, 11, 25, 9, tzinfo=UTC)  # day 1 is 26 Nov (Berlin)
DAY_11 = datetime(2026, 12, 6, 8, tzinfo=UTC)  # 09:00 Berlin on day 11


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sink:
    rate_per_second = math.inf

    def __init__(self) -> None:
        self.posts: list[str] = []

    async def send(self, target, replies, key=None):
        self.posts.append("\n".join(r.text for r in replies))
        return SendResult(SENT)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def line(name: str, seconds: list[float]) -> str:
    ms = [s * 1e3 for s in seconds]
    return (
        f"{name:<34} n={len(ms):>6,}  p50 {percentile(ms, 0.5):6.2f} ms  p99 {percentile(ms, 0.99):6.2f} ms"
        f"  max {max(ms):6.2f} ms"
    )


def incoming(member: int, **kw) -> Incoming:
    return Incoming(
        "bench",
        f"u{member}",
        "chan",
        private=False,
        display_name=f"Member {member}",
        space="guild",
        channel="chan",
        **kw,
    )


async def seed_history(repo: SqlRepository, challenge_id: int, members: int, days: int) -> int:
    """Users, members and `days` days of check-ins, aggregates as the check-in transaction keeps them."""
    rng = random.Random(7)
    users, parts, checkins = [], [], []
    for m in range(members):
        key = f"bench:u{m}"
        users.append((key, f"Member {m}", ts(START), ts(START)))
        done = streak = best = 0
        last = None
        reached = START
        for day in range(1, days + 1):
            if rng.random() < 0.75:
                at = START + timedelta(days=day, minutes=rng.randrange(600))
                checkins.append((challenge_id, key, day, ts(at)))
                streak = streak + 1 if last == day - 1 else 1
                best, done, last, reached = max(best, streak), done + 1, day, at
        parts.append((challenge_id, key, f"Member {m}", 1, ts(START), done, streak, best, last, ts(reached)))
    async with repo.transaction() as db:
        await db.executemany(
            "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)", users
        )
        await db.executemany(
            "INSERT INTO challenge_participants (challenge_id, user_key, display_name, status, joined_day, joined_at, "
            "days_done, streak, best_streak, last_day, reached_at) VALUES (?, ?, ?, 'in', ?, ?, ?, ?, ?, ?, ?)",
            parts,
        )
        await db.executemany(
            "INSERT INTO challenge_checkins (challenge_id, user_key, day, at_utc) VALUES (?, ?, ?, ?)", checkins
        )
    return len(checkins)


async def main(members: int) -> None:
    content, knowledge = build_knowledge()
    with tempfile.TemporaryDirectory() as tmp:
        repo = await SqlRepository.open(Path(tmp) / "bench.db")
        clock = Clock(START)
        sink = Sink()
        challenges = Challenges(content, repo, {"bench": sink})
        coach = Coach(content, knowledge, repo, clock, challenges=challenges)
        args = 'start name="30-day hips" days=30 time=07:00 timezone=Europe/Berlin'
        kickoff = await coach.handle(incoming(-1, command="challenge", args=args, organiser=True))
        assert kickoff[-1].channel == "chan", kickoff
        c = (await repo.challenges_in("bench", "guild"))[0]
        started = time.perf_counter()
        rows = await seed_history(repo, c.id, members, 10)
        print(f"seeded {members:,} members and {rows:,} check-ins (days 1-10) in {time.perf_counter() - started:.1f} s")

        # the daily post of day 11 (yesterday's rate over all members), through the tick
        await repo.db.execute("UPDATE challenges SET next_post_day = 11, next_post_utc = ? WHERE id = ?",
                               (ts(DAY_11 - timedelta(hours=2)), c.id))  # fmt: skip
        clock.now = DAY_11 - timedelta(hours=2)
        t0 = time.perf_counter()
        stats = await challenges.tick(clock.now)
        tick_s = time.perf_counter() - t0
        assert stats.sent == 1, stats
        print(f"daily post (day 11, {members:,} members) built and sent by tick: {tick_s * 1e3:.1f} ms")
        print("   " + sink.posts[-1].splitlines()[1])

        clock.now = DAY_11
        # every member presses "Done today" once
        order = list(range(members))
        random.Random(1).shuffle(order)
        press = f"ch:d:{c.id}:11"
        latencies = []
        for m in order:
            t0 = time.perf_counter()
            replies = await coach.handle(incoming(m, button=press))
            latencies.append(time.perf_counter() - t0)
            assert "Day 11 of 30 done" in replies[-1].text, replies
        print(line("check-in (Done today button)", latencies))

        # double presses at once on day 12: each counts once
        clock.now = DAY_11 + timedelta(days=1)
        burst = order[:1000]
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(coach.handle(incoming(m, button=f"ch:d:{c.id}:12")) for m in burst for _ in range(2))
        )
        burst_s = time.perf_counter() - t0
        counted = sum("Day 12 of 30 done" in r[-1].text for r in results)
        print(
            f"{'burst: 1,000 double presses':<34} {len(results) / burst_s:,.0f} presses/s, "
            f"{burst_s:.2f} s, counted {counted:,} (expected 1,000)"
        )
        assert counted == len(burst)

        sample = random.Random(2).sample(range(members), 500)
        board, status = [], []
        for m in sample:
            t0 = time.perf_counter()
            replies = await coach.handle(incoming(m, command="challenge", args="leaderboard"))
            board.append(time.perf_counter() - t0)
            assert replies[0].text.startswith("🏆 30-day hips"), replies
            t0 = time.perf_counter()
            await coach.handle(incoming(m, command="challenge", args="status"))
            status.append(time.perf_counter() - t0)
        print(line("leaderboard (top 10 + own row)", board))
        print(line("status", status))
        print("   " + "\n   ".join(replies[0].text.splitlines()[:4]))

        t0 = time.perf_counter()
        ended = await coach.handle(incoming(-1, command="challenge", args="end", organiser=True))
        print(f"end + summary ({members:,} members): {(time.perf_counter() - t0) * 1e3:.1f} ms")
        print("   " + "\n   ".join(ended[0].text.splitlines()[:3]))
        size = Path(repo.path).stat().st_size + Path(repo.path + "-wal").stat().st_size
        print(f"database with WAL: {size / 1e6:.1f} MB")
        await repo.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().members))
