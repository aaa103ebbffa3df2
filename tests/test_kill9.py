"""Issue 7: `kill -9` of `python -m bot` in the middle of a 1,000-reminder fan-out, then a restart: every reminder
arrives, and only a message the dead process had sent but not yet recorded can arrive twice (the Bot API has no
idempotency key). Counted at the fake Bot API; the whole test takes a few seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.ports import Reminder
from bot.storage.sqlite import SQLiteRepository
from tests.fakes.telegram_api import FakeTelegram

CHATS = list(range(100_001, 101_001))
MAX_IN_FLIGHT = 16  # the dispatcher's bound on sends in flight at once (Dispatcher.max_in_flight)


async def seed(path: Path, fire: datetime) -> None:
    repo = await SQLiteRepository.open(path)
    try:
        before = fire - timedelta(days=1)
        at = fire.time().replace(second=0, microsecond=0)
        for chat in CHATS:
            key = f"telegram:{chat}"
            await repo.begin_turn(key, "", before)
            await repo.add_reminder(
                Reminder(0, key, "telegram", str(chat), at, frozenset(range(7)), "UTC", next_fire_utc=fire), before
            )
    finally:
        await repo.close()


async def start_bot(fake: FakeTelegram, db: Path, cwd: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_BASE_FILE_URL=fake.base_file_url,
        TELEGRAM_RATE_LIMIT="0",  # unpaced, as against an own Bot API server: 1,000 in seconds
        HIPCOACH_DB=str(db),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def reminders_per_chat(fake: FakeTelegram) -> Counter:
    return Counter(m["chat_id"] for m in fake.sent if "Time for your hips" in m["plain_text"])


def claimed_chats(db: Path) -> set[int]:
    """Chats whose delivery is still only claimed (not recorded as sent) in the database the dead process left."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.chat_id FROM deliveries d JOIN reminders r ON r.id = d.reminder_id WHERE d.status = 'claimed'"
        ).fetchall()
    return {int(chat) for (chat,) in rows}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_kill_9_mid_fan_out_then_restart_delivers_each_reminder_once(tmp_path):
    # Due this minute by the real clock (the subprocess has no fake clock); the catch-up tick at start sends them.
    fire = datetime.now(UTC).replace(second=0, microsecond=0)
    db = tmp_path / "k.db"
    await seed(db, fire)
    async with FakeTelegram() as fake:
        first = await start_bot(fake, db, tmp_path)
        try:
            await fake.wait_for(lambda: len(fake.sent) >= 300, timeout=30, what="a few hundred reminders")
        finally:
            first.send_signal(signal.SIGKILL)
            await asyncio.wait_for(first.communicate(), 10)
        assert first.returncode == -signal.SIGKILL
        await asyncio.sleep(0.3)  # requests that reached the fake before the kill finish there
        at_kill = reminders_per_chat(fake)
        left_claimed = claimed_chats(db)
        assert 300 <= len(at_kill) < len(CHATS), len(at_kill)
        assert all(n == 1 for n in at_kill.values())
        # Sent by the fake but not yet recorded as sent when the process died: the only possible duplicates.
        ambiguous = set(at_kill) & left_claimed
        assert len(ambiguous) <= MAX_IN_FLIGHT

        second = await start_bot(fake, db, tmp_path)
        try:
            # Claims of the dead process are taken over at once (its pid is gone), not after the 5-minute lease.
            await fake.wait_for(
                lambda: len(reminders_per_chat(fake)) == len(CHATS), timeout=30, what="all 1,000 reminders"
            )
            await asyncio.sleep(0.5)  # anything sent twice would show up now
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 0, err.decode()[-2000:]

    counts = reminders_per_chat(fake)
    assert set(counts) == set(CHATS)  # none lost
    twice = {chat for chat, n in counts.items() if n > 1}
    assert all(n <= 2 for n in counts.values())
    assert twice == ambiguous  # exactly the ones the dead process sent but had not recorded
    print(
        f"\nkill -9 after {len(at_kill)} of {len(CHATS)} sent; {len(left_claimed)} claims left; "
        f"sent twice: {len(twice)}"
    )
    with sqlite3.connect(db) as conn:
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())
    assert statuses == {"sent": len(CHATS)}


def test_claims_name_their_process_and_only_a_gone_one_is_taken_over_early():
    from bot.storage.claims import new_token, owner_gone

    mine = new_token()
    host, pid, _, rest = mine.rsplit("/", 3)
    assert not owner_gone(mine)  # this process, alive
    assert owner_gone(f"{host}/{pid}/earlier/{rest}")  # an earlier process that had our pid
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    assert owner_gone(f"{host}/{int(ended.stdout)}/x/{rest}")  # a process that has exited
    assert not owner_gone(f"{host}/1/x/{rest}")  # pid 1 always runs
    assert not owner_gone(f"another-host/{int(ended.stdout)}/x/{rest}")  # unknowable: the lease decides
    assert not owner_gone(None) and not owner_gone("0123456789abcdef")  # tokens from before this change
