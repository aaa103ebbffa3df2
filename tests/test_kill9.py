"""Issue 7: `kill -9` of `python -m bot` in the middle of a 1,000-reminder fan-out, then a restart: every reminder
arrives once. On Discord exactly once: each delivery sends a nonce of its own with enforce_nonce, so the resend of
a message the dead process had sent but not yet recorded is answered with the message Discord already has. The Bot
API has no idempotency key: there only those few in-flight messages can arrive twice. Counted at the fakes; each
test takes a few seconds."""

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
from bot.storage.repository import SqlRepository
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram
from tests.test_discord_e2e import text_of
from tests.test_faults import REMINDER, reminders_per_chat

CHATS = list(range(100_001, 101_001))
MAX_IN_FLIGHT = 16  # the dispatcher's bound on sends in flight at once (Dispatcher.max_in_flight)


async def seed(db: str | Path, fire: datetime, people: list[tuple[str, int]]) -> None:
    """One daily reminder per (platform, chat), due at `fire`, through the repository API (which also migrates)."""
    repo = await SqlRepository.open(db)
    try:
        before = fire - timedelta(days=1)
        at = fire.time().replace(second=0, microsecond=0)
        for platform, chat in people:
            key = f"{platform}:{chat}"
            await repo.begin_turn(key, "", before)
            await repo.add_reminder(
                Reminder(0, key, platform, str(chat), at, frozenset(range(7)), "UTC", next_fire_utc=fire), before
            )
    finally:
        await repo.close()


class Platform:
    """A fake platform started and stopped with the test, where reminders are counted."""

    platform = ""

    async def __aenter__(self):
        await self.fake.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.fake.__aexit__(*exc)


class Telegram(Platform):
    """The fake Bot API."""

    platform = "telegram"

    def __init__(self) -> None:
        self.fake = FakeTelegram()

    def env(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.fake.token,
            "TELEGRAM_BASE_URL": self.fake.base_url,
            "TELEGRAM_BASE_FILE_URL": self.fake.base_file_url,
            "TELEGRAM_RATE_LIMIT": "0",  # unpaced, as against an own Bot API server: 1,000 in seconds
        }

    async def connected(self) -> None:
        await self.fake.wait_for(lambda: self.fake.commands is not None, timeout=30, what="Telegram")

    def reminders_per_chat(self) -> Counter:
        return reminders_per_chat(self.fake)


class Discord(Platform):
    """The fake Discord (gateway + REST): one DM per reminder."""

    platform = "discord"

    def __init__(self) -> None:
        self.fake = FakeDiscord()
        for user_id in CHATS:
            self.fake.add_user(user_id, f"member{user_id}")

    def env(self) -> dict[str, str]:
        return {
            "DISCORD_BOT_TOKEN": self.fake.token,
            "DISCORD_API_BASE_URL": self.fake.api_base,
            "DISCORD_GATEWAY_URL": self.fake.gateway_url,
            "DISCORD_RATE_LIMIT": "0",  # unpaced against the fake: 1,000 in seconds
        }

    async def connected(self) -> None:
        await self.fake.wait_for(lambda: self.fake.is_ready, timeout=30, what="Discord")

    def reminders_per_chat(self) -> Counter:
        return Counter(m["dm_user_id"] for m in self.fake.messages if m["dm_user_id"] and REMINDER in text_of(m))


async def start_bot(platform: Telegram | Discord, db: Path, cwd: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    env.update(platform.env(), HIPCOACH_DB=str(db))
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


def claimed_chats(db: Path) -> set[int]:
    """Chats whose delivery is still only claimed (not recorded as sent) in the database the dead process left."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.chat_id FROM deliveries d JOIN reminders r ON r.id = d.reminder_id WHERE d.status = 'claimed'"
        ).fetchall()
    return {int(chat) for (chat,) in rows}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("platform_type", [Telegram, Discord])
async def test_kill_9_mid_fan_out_then_restart_delivers_each_reminder_once(tmp_path, platform_type):
    # Due this minute by the real clock (the subprocess has no fake clock); the catch-up tick at start sends them.
    fire = datetime.now(UTC).replace(second=0, microsecond=0)
    db = tmp_path / "k.db"
    await seed(db, fire, [(platform_type.platform, chat) for chat in CHATS])
    async with platform_type() as platform:
        fake = platform.fake
        first = await start_bot(platform, db, tmp_path)
        try:
            await platform.connected()
            await fake.wait_for(
                lambda: len(platform.reminders_per_chat()) >= 300, timeout=30, what="a few hundred reminders"
            )
        finally:
            first.send_signal(signal.SIGKILL)
            await asyncio.wait_for(first.communicate(), 10)
        assert first.returncode == -signal.SIGKILL
        await asyncio.sleep(0.3)  # requests that reached the fake before the kill finish there
        at_kill = platform.reminders_per_chat()
        left_claimed = claimed_chats(db)
        assert 300 <= len(at_kill) < len(CHATS), len(at_kill)
        assert all(n == 1 for n in at_kill.values())
        # Sent by the fake but not yet recorded as sent when the process died: the only possible duplicates.
        ambiguous = set(at_kill) & left_claimed
        assert len(ambiguous) <= MAX_IN_FLIGHT

        second = await start_bot(platform, db, tmp_path)
        try:
            # Claims of the dead process are taken over at once (its pid is gone), not after the 5-minute lease.
            await fake.wait_for(
                lambda: len(platform.reminders_per_chat()) == len(CHATS), timeout=30, what="all 1,000 reminders"
            )
            await asyncio.sleep(0.5)  # anything sent twice would show up now
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 0, err.decode()[-2000:]

    counts = platform.reminders_per_chat()
    assert set(counts) == set(CHATS)  # none lost
    twice = {chat for chat, n in counts.items() if n > 1}
    if platform.platform == "discord":
        assert not twice  # exactly once: the resends of the ambiguous ones were answered by their nonce
        assert fake.nonce_replays == len(ambiguous)
    else:
        assert all(n <= 2 for n in counts.values())
        assert twice == ambiguous  # exactly the ones the dead process sent but had not recorded
    print(
        f"\n{platform.platform}: kill -9 after {len(at_kill)} of {len(CHATS)} sent; {len(left_claimed)} claims "
        f"left, {len(ambiguous)} of them already delivered; sent twice: {len(twice)}"
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
