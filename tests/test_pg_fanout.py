"""Issue 15, exactly once across processes: several processes ticking the same minute on one database split the
fan-out between them (PostgreSQL: FOR UPDATE SKIP LOCKED batches), every reminder is claimed and sent once, and
a process that dies mid fan-out (kill -9) has its claims taken over by the survivors at once (presence locks),
none lost, none twice. The same runs on SQLite, where one process takes the whole minute and a dead process is
known by its pid. Real PostgreSQL (tests/pg_server.py); each test takes a few seconds."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest

from bot.core.challenges import ChallengePosts
from bot.core.delivery import SENT, Dispatcher, SendResult
from bot.core.ports import Challenge
from bot.core.reminders import ReminderTick
from bot.storage.presence import presence_id
from bot.storage.reminders import ts
from bot.storage.repository import SqlRepository
from tests.conftest import FakeClock

BOTH_BACKENDS = True  # tests/conftest.py: each test runs on SQLite and on PostgreSQL
FIRE = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
PROCESSES = 4
MAX_IN_FLIGHT = 16  # Dispatcher.max_in_flight: the sends a kill -9 can leave done but unrecorded


class Recorder:
    """A platform that counts what arrives, by delivery key (what a platform with an idempotency key, like
    Discord's nonce, dedupes on) and by person; one per process so each process's share can be counted."""

    def __init__(self, sent: Counter, rate: float = math.inf, delay: float = 0.0) -> None:
        self.rate_per_second = rate
        self.sent = sent  # shared by every process: key -> times sent
        self.mine = 0
        self.delay = delay

    async def send(self, target, replies, key=None):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent[key] += 1
        self.mine += 1
        return SendResult(SENT)


async def seed(repo: SqlRepository, count: int, fire: datetime = FIRE) -> None:
    """`count` people with a daily reminder due at `fire` (bulk inserts: seeding is not what is measured)."""
    made = ts(fire - timedelta(days=1))
    keys = [f"test:user{i}" for i in range(count)]
    async with repo.transaction() as db:
        await db.executemany(
            "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
            [(k, k, made, made) for k in keys],
        )
        await db.executemany(
            "INSERT INTO reminders (user_key, platform, chat_id, local_time, days, timezone, status, next_fire_utc, "
            "created_at, updated_at) VALUES (?, 'test', ?, ?, '0123456', 'UTC', 'active', ?, ?, ?)",
            [(k, k, fire.strftime("%H:%M"), ts(fire), made, made) for k in keys],
        )


def count_taken(repo: SqlRepository) -> list[int]:
    """Records how many due rows each of this repository's claim batches took."""
    taken: list[int] = []
    claim = repo.claim_due_reminders

    async def counting(now, limit, plan):
        due, claimed = await claim(now, limit, plan)
        if due:
            taken.append(len(due))
        return due, claimed

    repo.claim_due_reminders = counting
    return taken


async def delivery_log(repo: SqlRepository) -> tuple[Counter, Counter]:
    """(deliveries per reminder, rows per status) as the database has them."""
    rows = await repo.db.fetch("SELECT reminder_id, status FROM deliveries")
    return Counter(r[0] for r in rows), Counter(r[1] for r in rows)


@pytest.mark.parametrize(
    ("count", "rate"),
    [(3000, math.inf), (600, 100.0)],
    ids=["3000-unpaced", "600-paced-100-per-s"],
)
async def test_four_processes_share_one_minute_and_send_each_reminder_once(content, db_url, backend, count, rate):
    """Unpaced, as fast as the database allows; paced, like a platform's rate limit (each process at 100/s)."""
    count = count if backend == "postgresql" else min(count, 1000 if math.isinf(rate) else 300)
    repos = [await SqlRepository.open(db_url) for _ in range(PROCESSES)]
    try:
        await seed(repos[0], count)
        sent: Counter = Counter()
        senders = [Recorder(sent, rate=rate) for _ in repos]
        ticks = [
            ReminderTick(content, repo, Dispatcher({"test": s}, repo, FakeClock(FIRE)))
            for repo, s in zip(repos, senders, strict=True)
        ]
        taken = [count_taken(repo) for repo in repos]
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(t.tick(FIRE) for t in ticks)), timeout=120)
        seconds = time.monotonic() - started

        shares = [s.mine / count for s in senders]
        batches = [len(t) for t in taken]
        print(f"\n{backend}: batches taken per process {batches}, rows taken {sum(map(sum, taken))}")
        print(
            f"\n{backend}: {count} reminders, {PROCESSES} processes, {seconds:.2f} s "
            f"({count / seconds:,.0f}/s); shares {[f'{x:.0%}' for x in shares]}"
        )
        assert len(sent) == count and set(sent.values()) == {1}  # each one sent, none twice
        per_reminder, statuses = await delivery_log(repos[0])
        assert len(per_reminder) == count and set(per_reminder.values()) == {1}
        assert statuses == {"sent": count}
        if backend == "postgresql":
            # Disjoint batches: the due rows all processes took add up to the minute, none read by two of them.
            assert sum(map(sum, taken)) == count
            # SKIP LOCKED batches: every process did a fair part of the minute, not one of them all of it.
            assert all(0.15 <= x <= 0.35 for x in shares), shares
        # The next tick of the same minute finds nothing more to send.
        await asyncio.gather(*(t.tick(FIRE) for t in ticks))
        assert len(sent) == count and set(sent.values()) == {1}
    finally:
        for repo in repos:
            await repo.close()


CHILD = """
import asyncio, sys
from datetime import datetime
from bot.app import build_knowledge
from bot.core.delivery import SENT, Dispatcher, SendResult
from bot.core.reminders import ReminderTick
from bot.storage.repository import SqlRepository

url, fire, path = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]

class FileSender:
    rate_per_second = 200.0
    def __init__(self, out):
        self.out = out
    async def send(self, target, replies, key=None):
        await asyncio.sleep(0.005)
        self.out.write(f"{key}\\n")  # sent: what the platform got, whatever happens to this process next
        self.out.flush()
        return SendResult(SENT)

async def main():
    content, _ = build_knowledge()
    repo = await SqlRepository.open(url)
    with open(path, "a") as out:
        await ReminderTick(content, repo, Dispatcher({"test": FileSender(out)}, repo, lambda: fire)).tick(fire)
    await repo.close()

asyncio.run(main())
"""


async def wait_for(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_process_killed_mid_fan_out_has_its_claims_taken_over_at_once(content, db_url, backend, tmp_path):
    """One process is killed with -9 while it sends its batch; three survivors ticking the same minute take its
    claims over without waiting for the 5-minute lease (the clock does not move): every reminder arrives, once
    per delivery key; only the sends in flight at the kill can have gone out twice."""
    count = 1000
    survivors = [await SqlRepository.open(db_url) for _ in range(PROCESSES - 1)]
    child = None
    try:
        await seed(survivors[0], count)
        out = tmp_path / "child-sent.txt"
        out.touch()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            db_url,
            FIRE.isoformat(),
            str(out),
            cwd=Path(__file__).resolve().parent.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

        def child_sent() -> list[str]:
            return out.read_text().split()

        await wait_for(lambda: len(child_sent()) >= 40 or child.returncode is not None, 60, "the child to send")
        assert child.returncode is None, (await child.stderr.read()).decode()[-2000:]

        sent: Counter = Counter()
        senders = [Recorder(sent, rate=300.0) for _ in survivors]
        ticks = [
            ReminderTick(content, repo, Dispatcher({"test": s}, repo, FakeClock(FIRE)))
            for repo, s in zip(survivors, senders, strict=True)
        ]
        fan_out = asyncio.gather(*(t.tick(FIRE) for t in ticks))
        await asyncio.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        killed_at = time.monotonic()
        by_child = Counter(child_sent())

        # Nobody else holds the dead process's claims... until the survivors take them over.
        async def dead_claims() -> int:
            rows = await survivors[0].db.fetch("SELECT claim_token FROM deliveries WHERE status = 'claimed'")
            mine = {repo.presence.run for repo in survivors}
            return sum(1 for (token,) in rows if token.rsplit("/", 3)[2] not in mine)

        left_by_child = await dead_claims()

        async def until_taken_over() -> float:
            while await dead_claims():
                await asyncio.sleep(0.01)
            return time.monotonic() - killed_at

        watch = asyncio.create_task(until_taken_over())
        await asyncio.wait_for(fan_out, timeout=60)
        finished_in = time.monotonic() - killed_at
        if backend == "sqlite":
            # SQLite: the child took the whole minute in one batch; a tick after the kill (a restart) takes it over.
            await asyncio.gather(*(t.tick(FIRE) for t in ticks))
            finished_in = time.monotonic() - killed_at
        assert await dead_claims() == 0
        taken_over_in = await asyncio.wait_for(watch, timeout=5)

        both = Counter(by_child) + sent
        twice = [k for k, n in both.items() if n > 1]
        print(
            f"\n{backend}: child sent {sum(by_child.values())} before kill -9 and left {left_by_child} claims; "
            f"survivors sent {sum(sent.values())} ({[s.mine for s in senders]}), its claims taken over "
            f"{taken_over_in * 1000:.0f} ms after the kill, all sent after {finished_in:.2f} s; "
            f"sent twice (in flight at the kill) {len(twice)}"
        )
        assert left_by_child > 0  # the kill really left claims behind
        assert len(both) == count  # none lost: every delivery key arrived (a nonce platform shows each once)
        assert len(twice) <= MAX_IN_FLIGHT and all(by_child[k] == 1 and sent[k] == 1 for k in twice)
        per_reminder, statuses = await delivery_log(survivors[0])
        assert len(per_reminder) == count and set(per_reminder.values()) == {1}
        assert statuses == {"sent": count}
    finally:
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
        for repo in survivors:
            await repo.close()


async def test_a_closed_process_is_seen_gone_and_a_live_one_is_not(db_url, backend):
    """Presence: a claim of a live process is left alone within the lease; once that process has gone (its
    connection closed, like a crash) the claim is taken over at once, by exactly one of the others."""
    a, b, c = [await SqlRepository.open(db_url) for _ in range(3)]
    try:
        await seed(a, 1)
        reminder = (await a.due_reminders(FIRE, 10))[0]
        claimed = await a.claim_many([(reminder, FIRE.date(), "daily", FIRE, "claimed")], FIRE)
        assert len(claimed) == 1
        assert await b.stale_claims(FIRE - timedelta(minutes=5), FIRE - timedelta(hours=2)) == []
        if backend == "sqlite":
            return  # one process: the pid check (tests/test_kill9.py) decides, and this pid is alive
        assert presence_id(a.presence.run) is not None
        await a.presence.close()  # the session ends: PostgreSQL drops its locks, as after a kill -9
        await asyncio.sleep(0.05)
        stale_b = await b.stale_claims(FIRE - timedelta(minutes=5), FIRE - timedelta(hours=2))
        stale_c = await c.stale_claims(FIRE - timedelta(minutes=5), FIRE - timedelta(hours=2))
        assert [d.id for d in stale_b] == [d.id for d in stale_c] == list(claimed.values())
        won = await asyncio.gather(b.reclaim(stale_b[0], FIRE), c.reclaim(stale_c[0], FIRE))
        assert sorted(won) == [False, True]
        # The new holder is alive: nobody takes it over again.
        assert await a.stale_claims(FIRE - timedelta(minutes=5), FIRE - timedelta(hours=2)) == []
        # A process whose presence connection dropped takes its lock again before it claims anything more.
        assert await a.presence.ensure()
        assert presence_id(a.presence.run) in await b.presence.live_runs(b.db)
    finally:
        for repo in (a, b, c):
            await repo.close()


async def test_what_another_process_wrote_is_read_fresh(db_url, backend):
    """The turn cache may serve a person's profile only where one process writes it (SQLite); on PostgreSQL a
    notice left by another process (a reminder that found them unreachable) is seen on their next message."""
    a, b = await SqlRepository.open(db_url), await SqlRepository.open(db_url)
    try:
        now = FIRE
        await a.begin_turn("test:ann", "Ann", now)
        await b.set_notice("test:ann", "reminders_paused_unreachable")
        _, profile, _ = await a.begin_turn("test:ann", "Ann", now + timedelta(seconds=1))
        # A light "tell me more" context saved by one process is what the next process serving them reads.
        await a.set_state("test:ann", {"topic": "knee"}, now, durable=False)
        _, _, state = await b.begin_turn("test:ann", "Ann", now + timedelta(seconds=2))
        if backend == "postgresql":
            assert profile.notice == "reminders_paused_unreachable"
            assert state == {"topic": "knee"}
        else:
            assert profile.notice is None  # one process per SQLite file: the cache is right for its writers
    finally:
        await a.close()
        await b.close()


async def test_four_processes_post_each_challenge_day_once(content, db_url, backend):
    repos = [await SqlRepository.open(db_url) for _ in range(PROCESSES)]
    try:
        made = FIRE - timedelta(days=1)
        for i in range(60):
            c = Challenge(
                0,
                "test",
                "space",
                f"channel{i}",
                f"Challenge {i}",
                14,
                clock_time(6, 30),
                "UTC",
                "beginner",
                date(2026, 3, 28),
                next_post_utc=FIRE,
            )
            assert await repos[0].add_challenge(c, made) is not None
        sent: Counter = Counter()
        posts = [ChallengePosts(content, r, Dispatcher({"test": Recorder(sent)}, r, FakeClock(FIRE))) for r in repos]
        await asyncio.gather(*(p.tick(FIRE) for p in posts), *(p.tick(FIRE) for p in posts))
        assert len(sent) == 60 and set(sent.values()) == {1}
        rows = await repos[0].db.fetch("SELECT challenge_id, day, status FROM challenge_posts")
        assert len(rows) == 60 and {(day, status) for _, day, status in rows} == {(1, "sent")}
    finally:
        for repo in repos:
            await repo.close()
