"""Shared fixtures: the real content, the real coach, on a throwaway database per test.

The database is a SQLite file, unless a test module sets `BOTH_BACKENDS = True`: then each of its tests that
uses the repository runs twice, on SQLite and on a real PostgreSQL server (tests/pg_server.py) with a fresh
database per test. That is the storage contract suite (docs/scale-out.md)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from bot.app import build_knowledge
from bot.core.coach import Coach
from bot.core.messages import Incoming, Reply
from bot.storage.repository import SqlRepository
from tests import pg_server

# Fake platform servers live on 127.0.0.1: never send their traffic through a proxy.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]


@pytest.fixture(scope="session")
def knowledge_pair():
    return build_knowledge()


@pytest.fixture(scope="session")
def content(knowledge_pair):
    return knowledge_pair[0]


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_BACKENDS", False):
        metafunc.parametrize("backend", ["sqlite", "postgresql"])


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole run (about half a second to start); skipped with the reason when
    this machine cannot run one."""
    reason = pg_server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = pg_server.start()
    yield server
    server.stop()


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def db_url(request, tmp_path, backend):
    if backend == "sqlite":
        return str(tmp_path / "test.db")
    return request.getfixturevalue("postgres").database()


@pytest.fixture
async def repo(db_url):
    repo = await SqlRepository.open(db_url)
    yield repo
    await repo.close()


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def coach(knowledge_pair, repo, clock):
    content, knowledge = knowledge_pair
    return Coach(content, knowledge, repo, clock)


class Chat:
    """One user talking to the coach, errbot-style: real core, messages in, replies out."""

    def __init__(self, coach: Coach, user: str = "alice", platform: str = "test") -> None:
        self.coach = coach
        self.user = user
        self.platform = platform
        self.last: list[Reply] = []

    async def say(self, text: str) -> list[Reply]:
        self.last = await self.coach.handle(
            Incoming(self.platform, self.user, self.user, text=text, display_name=self.user.title())
        )
        return self.last

    async def command(self, command: str, args: str = "") -> list[Reply]:
        self.last = await self.coach.handle(
            Incoming(self.platform, self.user, self.user, command=command, args=args, display_name=self.user.title())
        )
        return self.last

    async def press(self, label_part: str) -> list[Reply]:
        """Press the first button on the last replies whose label contains label_part."""
        for reply in self.last:
            for row in reply.buttons:
                for button in row:
                    if label_part.lower() in button.label.lower():
                        return await self.press_data(button.data)
        raise AssertionError(
            f"no button like {label_part!r} in {[b.label for r in self.last for row in r.buttons for b in row]}"
        )

    async def press_data(self, data: str) -> list[Reply]:
        self.last = await self.coach.handle(
            Incoming(self.platform, self.user, self.user, button=data, display_name=self.user.title())
        )
        return self.last

    def text(self) -> str:
        return "\n\n".join(r.text for r in self.last)

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]


@pytest.fixture
def chat(coach):
    return Chat(coach)
