"""Storage on both backends: migrations, the per-turn read, forgetting; SQLite's own settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.ports import Profile
from bot.storage.migrations import MIGRATIONS
from bot.storage.repository import SqlRepository

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BOTH_BACKENDS = True  # tests/conftest.py: every test using db_url or repo runs on SQLite and PostgreSQL


async def test_migrations_apply_once_and_reopen_cleanly(db_url):
    path = db_url
    repo = await SqlRepository.open(path)
    assert await repo.schema_version() == MIGRATIONS[-1][0]
    await repo.begin_turn("t:1", "One", NOW)
    await repo.close()
    repo = await SqlRepository.open(path)  # second start: nothing re-applied, data kept
    first, _, _ = await repo.begin_turn("t:1", "One", NOW)
    assert first is False
    await repo.close()


async def test_two_processes_starting_together_migrate_once(db_url):
    path = db_url
    repos = await asyncio.gather(*(SqlRepository.open(path) for _ in range(3)))
    assert {await r.schema_version() for r in repos} == {MIGRATIONS[-1][0]}
    for r in repos:
        await r.close()


async def test_sqlite_is_tuned_for_a_bot(tmp_path):
    repo = await SqlRepository.open(tmp_path / "tuned.db")
    assert (await repo.db.fetch("PRAGMA journal_mode"))[0][0] == "wal"
    assert (await repo.db.fetch("PRAGMA foreign_keys"))[0][0] == 1
    assert (await repo.db.fetch("PRAGMA busy_timeout"))[0][0] >= 5000
    await repo.close()


async def test_begin_turn_reports_first_contact_and_loads_profile_and_state(repo):
    first, profile, state = await repo.begin_turn("t:2", "Two", NOW)
    assert first and profile == Profile("t:2") and state is None
    await repo.save_profile(Profile("t:2", "knee", "beginner", None, True), NOW)
    await repo.set_state("t:2", {"flow": "screen", "area": "knee"}, NOW)
    first, profile, state = await repo.begin_turn("t:2", "Two", NOW + timedelta(seconds=5))
    assert not first and profile.goal == "knee" and state == {"flow": "screen", "area": "knee"}
    await repo.set_state("t:2", None, NOW)
    assert (await repo.begin_turn("t:2", "Two", NOW))[2] is None


async def test_forget_removes_rows_in_every_user_table(repo):
    await repo.begin_turn("t:3", "Three", NOW)
    await repo.begin_turn("t:4", "Four", NOW)
    await repo.save_profile(Profile("t:3", "desk"), NOW)
    await repo.set_state("t:3", {"last_topic": "posture"}, NOW)
    counts = await repo.count_rows("t:3")
    assert {k: v for k, v in counts.items() if v} == {"conversation_state": 1, "profiles": 1, "users": 1}
    assert await repo.forget_user("t:3") == 3
    assert sum((await repo.count_rows("t:3")).values()) == 0
    assert (await repo.count_rows("t:4"))["users"] == 1  # nobody else's data


def test_turn_cache_forgets_people_who_went_quiet(monkeypatch):
    from datetime import UTC, datetime

    import bot.storage.turn_cache as turn_cache
    from bot.core.ports import Profile

    clock = [0.0]
    monkeypatch.setattr(turn_cache.time, "monotonic", lambda: clock[0])
    cache = turn_cache.TurnCache(ttl=30.0, max_entries=100)
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(50):
        clock[0] = n  # one new person a second
        cache.put(f"t:{n}", Profile(f"t:{n}"), None, "", seen)
    # only the last 30 seconds' people are kept, not everyone who ever wrote
    assert not cache.has("t:0") and cache.has("t:49")
    assert len(cache._entries) <= 31


async def test_an_update_is_handled_by_the_first_process_that_sees_it_and_old_ids_are_forgotten(db_url):
    import bot.storage.updates as updates

    first, second = await SqlRepository.open(db_url), await SqlRepository.open(db_url)
    try:
        now = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
        seen = await asyncio.gather(*(repo.first_sight("telegram", 41, now) for repo in (first, second, first)))
        assert sorted(seen) == [False, False, True]  # a redelivery racing its original: one of them handles it
        assert await second.first_sight("discord", 41, now)  # ids are per platform
        updates.PRUNE_EVERY, kept = 1, updates.PRUNE_EVERY
        try:
            assert await first.first_sight("telegram", 42, now + updates.RETENTION + timedelta(minutes=1))
        finally:
            updates.PRUNE_EVERY = kept
        assert await second.first_sight("telegram", 41, now)  # forgotten after the retention: not kept forever
    finally:
        await first.close()
        await second.close()


async def test_one_process_remembers_the_updates_it_handled_lately_without_the_database():
    from bot.storage.updates import RecentUpdates

    recent = RecentUpdates(size=3)
    assert [await recent.first_sight(i) for i in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    assert await recent.first_sight(1)  # the oldest was let go: memory stays bounded
