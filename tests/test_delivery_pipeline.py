"""One delivery pipeline: challenge posts and reminders share the Dispatcher (its pacing and its retry
policy), and `/challenge start` can arrive as typed options instead of text."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, date, datetime, time

from bot.core.challenges import POST_RETRY, Challenges, start_request
from bot.core.challenges.routes import challenge_routes
from bot.core.coach import Coach
from bot.core.conversation import Turn
from bot.core.delivery import BLOCKED, RETRY, SENT, Dispatcher, Job, RetryPolicy, SendResult, Target
from bot.core.messages import Incoming, Reply
from bot.core.ports import Profile
from bot.core.router import Call

BOTH_BACKENDS = True  # tests/conftest.py: each test runs on SQLite and on PostgreSQL


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def organiser_turn(now: datetime, args: str, **options) -> Turn:
    incoming = Incoming(
        "test",
        "olga",
        "c1",
        command="challenge",
        args=args,
        private=False,
        display_name="Olga",
        space="s1",
        channel="c1",
        organiser=True,
        options=options,
    )
    return Turn(incoming, now, False, Profile("test:olga"))


class Recorder:
    rate_per_second = math.inf

    def __init__(self, script: list[SendResult] | None = None) -> None:
        self.sent: list[tuple[Target, list[Reply], str | None]] = []
        self.script = script or []

    async def send(self, target, replies, key=None):
        result = self.script.pop(0) if self.script else SendResult(SENT)
        if result.status == SENT:
            self.sent.append((target, replies, key))
        return result


def test_typed_options_make_the_same_request_as_text():
    typed = start_request(
        {"name": "Hip week", "days": 7, "time": "07:00", "timezone": "Europe/Berlin", "channel": "c9", "level": None}
    )
    assert (typed.name, typed.days, typed.at, typed.timezone, typed.channel, typed.level) == (
        "Hip week",
        7,
        time(7, 0),
        "Europe/Berlin",
        "c9",
        "beginner",
    )
    assert start_request({"days": 7, "time": "7:00", "timezone": "Mars/Olympus"}).problem == "bad_zone"
    assert start_request({"days": 7, "time": "07:00", "start": "2026-12-01"}).start == date(2026, 12, 1)


async def test_start_with_typed_options_does_not_read_the_text(content, repo):
    challenges = Challenges(content, repo, {"test": Recorder()})
    now = utc(2026, 11, 25, 9)
    options = {"name": "days=3 time=01:00", "days": 14, "time": "07:00", "timezone": "Europe/Berlin", "start": None}
    replies = await challenges.command(organiser_turn(now, "start", **options), "start", options)
    assert replies[-1].channel == "c1"
    (c,) = await repo.challenges_in("test", "s1")
    # the name is taken as given, not read as key=value text
    assert (c.name, c.days, c.at, c.timezone, c.start_date) == (
        "days=3 time=01:00",
        14,
        time(7, 0),
        "Europe/Berlin",
        date(2026, 11, 26),
    )
    board = await challenges.command(organiser_turn(now, "leaderboard", image=True), "leaderboard", {"image": True})
    assert board  # the typed image option is understood (an empty board has no picture to draw)
    # through the coach's route the options the message carries reach the command
    typed = {"days": 5, "time": "08:00", "timezone": "Europe/Paris", "channel": "c2"}
    route = challenge_routes(challenges).commands["challenge"]
    await route(organiser_turn(now, "start", **typed), Call("start", typed))
    started = {c.channel: c for c in await repo.challenges_in("test", "s1")}
    assert (started["c2"].days, started["c2"].timezone) == (5, "Europe/Paris")


async def test_posts_and_the_organiser_notice_go_through_the_shared_dispatcher(knowledge_pair, repo, clock):
    content, knowledge = knowledge_pair
    sender = Recorder([SendResult(BLOCKED, error="unknown channel"), SendResult(RETRY), SendResult(SENT)])
    outcomes: list[tuple[str, str]] = []
    dispatcher = Dispatcher(
        {"test": sender}, repo, clock, base_backoff=0, on_outcome=lambda p, s, _: outcomes.append((p, s))
    )
    challenges = Challenges(content, repo, dispatcher)
    coach = Coach(content, knowledge, repo, clock, challenges=challenges)
    turn = organiser_turn(clock.now, 'start name="Hip week" days=7 time=07:00 timezone=Europe/Berlin')
    await coach.handle(turn.incoming)
    stats = await challenges.tick(utc(2026, 11, 26, 6))
    # the post was blocked; the notice to the organiser was retried by the dispatcher's policy, then sent
    assert stats.blocked == 1 and stats.retries == 1 and stats.sent == 1
    target, replies, key = sender.sent[-1]
    assert target == Target("test", "olga", "test:olga") and "couldn't post Hip week" in replies[0].text
    assert key is not None and key.startswith("cs")
    assert outcomes == []  # the delivery metrics (hipcoach_reminders_total) keep counting reminders only


class Timed(Recorder):
    rate_per_second = 40.0

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def send(self, target, replies, key=None):
        self.times.append(asyncio.get_running_loop().time())
        return SendResult(SENT)


async def test_two_features_sending_at_once_share_one_rate(repo, clock):
    platform = Timed()
    dispatcher = Dispatcher({"p": platform}, repo, clock)
    at = utc(2026, 11, 25, 7)
    first = [Job(i, Target("p", str(i), f"p:{i}"), [Reply("hi")], at, LoggedNowhere()) for i in range(20)]
    second = [Job(i, Target("p", str(i), f"p:{i}"), [Reply("hi")], at, LoggedNowhere()) for i in range(100, 120)]
    await asyncio.gather(dispatcher.deliver(first), dispatcher.deliver(second))
    times = sorted(platform.times)
    # 40 messages at 40/s together take ~1 s (each feature alone would take ~0.5 s at the full rate)
    assert len(times) == 40 and times[-1] - times[0] >= 0.9


class LoggedNowhere:
    retry = None
    metered = False

    def key(self, job):
        return f"t{job.delivery_id}"

    async def finished(self, job, status, attempts, late_seconds, error, now):
        pass

    async def later(self, job, attempts, retry_at, error, now):
        pass

    async def unreachable(self, job, now):
        return []


def test_the_retry_policy_waits_here_or_hands_back():
    quick = RetryPolicy(max_attempts=6, first_wait=1.0)
    assert [quick.wait(n, None) for n in (1, 2, 3)] == [1.0, 2.0, 4.0] and quick.wait(1, 30.0) == 30.0
    assert quick.exhausted(6) and not quick.exhausted(5)
    assert POST_RETRY.wait(1, None) == 60.0 > POST_RETRY.wait_here  # a channel post: tried on a later tick
