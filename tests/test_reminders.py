"""Daily reminders end to end through the real coach, storage and dispatcher, with an injected clock."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.coach import Coach
from bot.core.delivery import BLOCKED, RETRY, SENT, UNAVAILABLE, Dispatcher, SendResult, Target
from bot.core.localtime import fire_instant, next_fire
from bot.core.reminders import Reminders
from bot.storage.repository import SqlRepository
from tests.conftest import Chat, FakeClock

BOTH_BACKENDS = True  # tests/conftest.py: each test runs on SQLite and on PostgreSQL
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


class RecordingSender:
    """A platform that records what it was asked to deliver; can be told to fail."""

    rate_per_second = math.inf

    def __init__(self) -> None:
        self.sent: list[tuple[Target, list]] = []
        self.script: list[SendResult] = []  # results to return first, then SENT

    async def send(self, target, replies, key=None):
        result = self.script.pop(0) if self.script else SendResult(SENT)
        if result.status == SENT:
            self.sent.append((target, replies))
        return result

    def texts(self) -> list[str]:
        return ["\n".join(r.text for r in replies) for _, replies in self.sent]


class World:
    """One coach + scheduler on one SQLite file, a fake clock and a recording platform."""

    def __init__(self, knowledge_pair, repo, clock: FakeClock) -> None:
        content, knowledge = knowledge_pair
        self.clock = clock
        self.repo = repo
        self.sender = RecordingSender()
        self.reminders = Reminders(content, repo, Dispatcher({"test": self.sender}, repo, clock, base_backoff=0))
        self.coach = Coach(content, knowledge, repo, clock, reminders=self.reminders)
        self.chat = Chat(self.coach)

    async def at(self, when: datetime) -> int:
        """Set the clock and run the minute tick; returns how many messages went out."""
        self.clock.now = when
        before = len(self.sender.sent)
        await self.reminders.tick(when)
        return len(self.sender.sent) - before


@pytest.fixture
def world(knowledge_pair, repo, clock):
    return World(knowledge_pair, repo, clock)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- local time to UTC -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected_local"),
    [
        ("Europe/Berlin", date(2026, 3, 29), time(2, 30), "03:00+02:00"),  # spring forward: first valid moment
        ("Europe/Berlin", date(2026, 10, 25), time(2, 30), "02:30+02:00"),  # fall back: the first 02:30
        ("America/New_York", date(2026, 3, 8), time(2, 30), "03:00-04:00"),
        ("America/New_York", date(2026, 11, 1), time(1, 30), "01:30-04:00"),
        ("Pacific/Auckland", date(2026, 9, 27), time(2, 15), "03:00+13:00"),
        ("Pacific/Auckland", date(2026, 4, 5), time(2, 30), "02:30+13:00"),
        ("Asia/Kolkata", date(2026, 3, 29), time(7, 30), "07:30+05:30"),
    ],
)
def test_fire_instant_is_dst_correct(zone, day, at, expected_local):
    tz = ZoneInfo(zone)
    local = fire_instant(day, at, tz).astimezone(tz)
    assert local.date() == day and local.strftime("%H:%M%z")[:-2] + ":" + local.strftime("%z")[-2:] == (expected_local)


def test_0730_berlin_stays_0730_across_both_changes():
    for start, end in ((utc(2026, 3, 26), utc(2026, 4, 2)), (utc(2026, 10, 22), utc(2026, 10, 29))):
        moment, seen = start, []
        while (moment := next_fire(time(7, 30), range(7), BERLIN, moment)) < end:
            seen.append(moment.astimezone(BERLIN))
        assert [m.strftime("%H:%M") for m in seen] == ["07:30"] * 7
        assert len({m.date() for m in seen}) == 7


# -- subscribing ------------------------------------------------------------------------------


async def test_subscribe_in_plain_words_asks_zone_once_and_remembers(world):
    await world.chat.say("remind me every day at 7am")
    assert "time zone" in world.chat.text().lower()
    await world.chat.say("Berlin")
    assert "07:00" in world.chat.text() and "Europe/Berlin" in world.chat.text()
    await world.chat.say("weekdays at 18:15")  # zone remembered: no second question
    assert "18:15" in world.chat.text() and "weekdays" in world.chat.text().lower()
    reminders = await world.repo.reminders_of("test:alice")
    assert [(r.at, r.days) for r in reminders] == [
        (time(7, 0), frozenset(range(7))),
        (time(18, 15), frozenset(range(5))),
    ]


async def test_bad_reminder_requests_get_friendly_replies(world):
    for text in ("remind 25:99", "remind at banana"):
        replies = await world.chat.command("remind", text.split(" ", 1)[1])
        assert replies[0].text and "07:30" in replies[0].text, text
    replies = await world.chat.command("remind", "7:30 Mars/Olympus")
    assert "Mars/Olympus" in replies[0].text or "time zone" in replies[0].text.lower()
    assert await world.repo.reminders_of("test:alice") == []


async def test_reminders_are_capped_per_user(world):
    for hour in range(12):
        await world.chat.command("remind", f"{hour:02d}:00 Europe/Berlin")
    assert len(await world.repo.reminders_of("test:alice")) == 5
    assert "most" in world.chat.text()


# -- the tick ---------------------------------------------------------------------------------


async def _subscribe(world, text="07:30 Europe/Berlin", now=None):
    world.clock.now = now or utc(2026, 3, 27, 12)
    await world.chat.command("remind", text)
    return (await world.repo.reminders_of("test:alice"))[0]


async def test_fires_once_at_local_time_across_spring_forward(world):
    await _subscribe(world)
    for day, offset in ((28, 1), (29, 2), (30, 2)):  # CET, then CEST
        fire = utc(2026, 3, day, 7 - offset, 30)
        assert await world.at(fire - timedelta(minutes=1)) == 0
        assert await world.at(fire) == 1
        assert await world.at(fire + timedelta(minutes=1)) == 0
    text = world.sender.texts()[0]
    assert "Time for your hips" in text and "1. " in text
    labels = [b.label for row in world.sender.sent[0][1][0].buttons for b in row]
    assert {"✅ Done", "⏰ 30 min", "Skip today", "▶ Start routine"} <= set(labels)


async def test_nonexistent_time_fires_once_on_spring_forward_day(world):
    await _subscribe(world, "02:30 Europe/Berlin")
    assert await world.at(utc(2026, 3, 29, 0, 59)) == 0
    assert await world.at(utc(2026, 3, 29, 1, 0)) == 1  # 03:00 CEST, the first valid moment
    assert await world.at(utc(2026, 3, 29, 1, 30)) == 0


async def test_ambiguous_time_fires_once_on_fall_back_day(world):
    world.clock.now = utc(2026, 10, 30, 12)
    await world.chat.command("remind", "01:30 America/New_York")
    sent = 0
    moment = utc(2026, 11, 1, 4, 0)
    while moment < utc(2026, 11, 1, 8, 0):  # both 01:30s (05:30Z and 06:30Z) are in this window
        sent += await world.at(moment)
        moment += timedelta(minutes=1)
    assert sent == 1


async def test_restart_within_grace_sends_once_late(world):
    await _subscribe(world)
    # down from 07:00 to 08:45 local on the 28th (07:30 CET = 06:30Z)
    assert await world.at(utc(2026, 3, 28, 7, 45)) == 1
    assert "late" in world.sender.texts()[-1]
    assert await world.at(utc(2026, 3, 28, 7, 46)) == 0


async def test_restart_beyond_grace_skips_and_keeps_schedule(world):
    await _subscribe(world)
    assert await world.at(utc(2026, 3, 28, 9, 0)) == 0  # 2.5 h late: skipped
    assert (await world.repo.delivery_counts()) == {"missed": 1}
    assert await world.at(utc(2026, 3, 29, 5, 30)) == 1  # the next day is on time


async def test_long_downtime_sends_only_the_latest_due_one(world):
    await _subscribe(world)
    assert await world.at(utc(2026, 4, 2, 6, 0)) == 1  # days later, 30 min after that day's 07:30 CEST
    assert await world.at(utc(2026, 4, 2, 6, 1)) == 0


async def test_two_schedulers_on_one_database_send_once(knowledge_pair, db_url):
    content, knowledge = knowledge_pair
    clock = FakeClock(utc(2026, 3, 27, 12))
    repo_a = await SqlRepository.open(db_url)
    repo_b = await SqlRepository.open(db_url)
    sender = RecordingSender()
    a = Reminders(content, repo_a, Dispatcher({"test": sender}, repo_a, clock))
    b = Reminders(content, repo_b, Dispatcher({"test": sender}, repo_b, clock))
    chat = Chat(Coach(content, knowledge, repo_a, clock, reminders=a))
    for i in range(20):
        chat.user = f"user{i}"
        await chat.command("remind", "07:30 Europe/Berlin")
    fire = utc(2026, 3, 28, 6, 30)
    await asyncio.gather(a.tick(fire), b.tick(fire), a.tick(fire), b.tick(fire))
    assert sorted(t.user_key for t, _ in sender.sent) == sorted(f"test:user{i}" for i in range(20))
    await repo_a.close()
    await repo_b.close()


# -- buttons: done, snooze, skip ------------------------------------------------------------


async def _reminded(world):
    await _subscribe(world)
    await world.at(utc(2026, 3, 28, 6, 30))
    world.chat.last = world.sender.sent[-1][1]


async def test_done_button_checks_in_once(world):
    await _reminded(world)
    replies = await world.chat.press("Done")
    assert "Streak: 1 day" in replies[0].text
    replies = await world.chat.press_data(world.sender.sent[-1][1][0].buttons[0][0].data)
    assert "already" in replies[0].text


async def test_snooze_sends_again_after_30_minutes(world):
    await _reminded(world)
    await world.chat.press("30 min")
    assert "07:30" not in world.chat.text() and "08:00" in world.chat.text()
    assert await world.at(utc(2026, 3, 28, 6, 59)) == 0
    assert await world.at(utc(2026, 3, 28, 7, 0)) == 1
    assert await world.at(utc(2026, 3, 28, 7, 1)) == 0


async def test_a_snooze_names_its_zone_and_shows_in_the_reminder_list(world):
    await _reminded(world)
    await world.chat.press("30 min")
    assert "08:00 (Europe/Berlin time)" in world.chat.text()
    await world.chat.command("reminders")
    assert "snoozed until today 08:00" in world.chat.text()
    assert "next tomorrow 07:30" in world.chat.text()
    await world.at(utc(2026, 3, 28, 7, 0))  # the snoozed nudge went out: nothing pending any more
    await world.chat.command("reminders")
    assert "snoozed" not in world.chat.text()


async def test_skip_today_before_it_fires_sends_nothing_today(world):
    await _subscribe(world, now=utc(2026, 3, 28, 5, 0))
    await world.chat.say("skip today")
    assert await world.at(utc(2026, 3, 28, 6, 30)) == 0
    assert await world.at(utc(2026, 3, 29, 5, 30)) == 1


async def test_someone_elses_reminder_button_is_refused(world):
    await _reminded(world)
    snooze = world.sender.sent[-1][1][0].buttons[0][1].data
    mallory = Chat(world.coach, "mallory")
    replies = await mallory.press_data(snooze)
    assert "expired" in replies[0].text
    assert (await world.repo.reminders_of("test:alice"))[0].snooze_until_utc is None


# -- pause, resume, stop -----------------------------------------------------------------


async def test_pause_for_days_then_resumes_by_itself(world):
    await _subscribe(world)
    world.clock.now = utc(2026, 3, 27, 13)
    await world.chat.say("pause 3 days")
    assert "until" in world.chat.text().lower()
    for day in (28, 29):
        assert await world.at(utc(2026, 3, day, 5, 30)) + await world.at(utc(2026, 3, day, 6, 30)) == 0
    assert await world.at(utc(2026, 3, 30, 5, 30)) == 1  # the 30th is 3 days after the 27th


async def test_pause_and_resume(world):
    await _subscribe(world)
    await world.chat.command("pause")
    assert await world.at(utc(2026, 3, 28, 6, 30)) == 0
    world.clock.now = utc(2026, 3, 28, 12)
    await world.chat.command("resume")
    assert "tomorrow 07:30" in world.chat.text()
    assert await world.at(utc(2026, 3, 29, 5, 30)) == 1


async def test_stop_deletes_reminders_but_keeps_streak(world):
    await _reminded(world)
    await world.chat.press("Done")
    await world.chat.say("stop reminders")
    assert await world.repo.reminders_of("test:alice") == []
    assert await world.repo.checkins_of("test:alice")
    assert await world.at(utc(2026, 3, 29, 5, 30)) == 0


async def test_stop_with_a_number_or_time_that_matches_nothing_deletes_nothing(world):
    await world.chat.command("remind", "07:30 Europe/Berlin")
    await world.chat.command("remind", "18:15 Europe/Berlin")
    assert len(await world.repo.reminders_of("test:alice")) == 2
    for unmatched in ("7", "my 9:45 reminder"):
        (reply,) = await world.chat.command("stop", unmatched)
        assert "Which one should I stop?" in reply.text and "18:15" in reply.text
        assert len(await world.repo.reminders_of("test:alice")) == 2
    (reply,) = await world.chat.command("stop", "my 7:30 one")
    assert "07:30" in reply.text
    (left,) = await world.repo.reminders_of("test:alice")
    assert left.at.hour == 18
    await world.chat.command("stop", "all")
    assert await world.repo.reminders_of("test:alice") == []


# -- failures -------------------------------------------------------------------------------


async def test_blocked_user_gets_reminders_paused_and_is_told(world):
    await _subscribe(world)
    world.sender.script = [SendResult(BLOCKED, error="Forbidden: bot was blocked by the user")]
    assert await world.at(utc(2026, 3, 28, 6, 30)) == 0
    reminder = (await world.repo.reminders_of("test:alice"))[0]
    assert reminder.status == "paused" and reminder.pause_reason == "blocked"
    assert (await world.repo.delivery_counts()) == {"blocked": 1}
    replies = await world.chat.say("hi")
    assert "couldn't reach you" in replies[0].text
    replies = await world.chat.say("hi again")
    assert "couldn't reach you" not in "\n".join(r.text for r in replies)  # told once


async def test_transient_failures_are_retried_and_sent_once(world):
    await _subscribe(world)
    world.sender.script = [SendResult(RETRY, retry_after=0), SendResult(RETRY), SendResult(SENT)]
    assert await world.at(utc(2026, 3, 28, 6, 30)) == 1
    assert (await world.repo.delivery_counts()) == {"sent": 1}


async def test_five_ignored_reminders_then_the_coach_asks(world):
    await _subscribe(world)
    assert await world.at(utc(2026, 3, 28, 6, 30)) == 1
    for n in range(1, 5):  # four more, all ignored (07:30 CEST = 05:30Z)
        assert await world.at(utc(2026, 3, 28, 5, 30) + timedelta(days=n)) == 1
    assert await world.at(utc(2026, 4, 2, 5, 30)) == 1
    question = world.sender.texts()[-1]
    assert "keep" in question.lower() and "stop" in question.lower()
    assert await world.at(utc(2026, 4, 3, 5, 30)) == 0  # no more nagging until answered
    world.chat.last = world.sender.sent[-1][1]
    world.clock.now = utc(2026, 4, 3, 12)
    await world.chat.press("Keep")
    assert await world.at(utc(2026, 4, 4, 5, 30)) == 1


async def test_acknowledged_reminders_do_not_count_as_ignored(world):
    await _subscribe(world)
    for n in range(7):
        fire = utc(2026, 3, 28, 6, 30) if n == 0 else utc(2026, 3, 28, 5, 30) + timedelta(days=n)
        assert await world.at(fire) == 1
        world.chat.last = world.sender.sent[-1][1]
        world.clock.now = fire + timedelta(minutes=15)
        await world.chat.press("Done")
    assert "Time for your hips" in world.sender.texts()[-1]
    assert "7-day streak" in world.chat.text()


async def test_a_claim_left_by_a_crashed_process_is_sent_once_later(world):
    reminder = await _subscribe(world)
    fire = utc(2026, 3, 28, 6, 30)
    # A process claimed today's delivery and died before sending it.
    await world.repo.advance_many([(reminder.id, reminder.next_fire_utc, utc(2026, 3, 29, 5, 30))])
    await world.repo.claim_delivery(reminder, date(2026, 3, 28), "daily", fire, fire, "claimed")
    assert await world.at(fire + timedelta(minutes=1)) == 0  # it may still be sending: leave it
    assert await world.at(fire + timedelta(minutes=6)) == 1  # lease over: sent once, late
    assert await world.at(fire + timedelta(minutes=12)) == 0
    assert (await world.repo.delivery_counts()) == {"sent": 1}


async def test_a_reminder_for_a_platform_that_is_offline_waits_and_is_sent_once_it_is_back(world):
    reminder = await _subscribe(world)
    fire = reminder.next_fire_utc
    world.sender.script = [SendResult(UNAVAILABLE, error="not connected")]  # e.g. still connecting at start
    assert await world.at(fire) == 0
    assert await world.repo.delivery_counts() == {"claimed": 1}  # not failed: left for a later try
    assert await world.at(fire + timedelta(minutes=3)) == 0  # within the lease: nothing twice
    assert await world.at(fire + timedelta(minutes=6)) == 1  # back online: sent, once
    assert await world.repo.delivery_counts() == {"sent": 1}


async def test_change_moves_the_reminder_and_asking_twice_does_not_duplicate(world):
    await _subscribe(world)
    await world.chat.command("remind", "07:30 Europe/Berlin")
    assert len(await world.repo.reminders_of("test:alice")) == 1
    await world.chat.say("change my reminder to 18:00")
    reminders = await world.repo.reminders_of("test:alice")
    assert [r.at for r in reminders] == [time(18, 0)]
    replies = await world.chat.say("my reminders")
    assert "18:00" in replies[0].text and "07:30" not in replies[0].text


async def test_streak_command_shows_the_last_weeks(world):
    await _reminded(world)
    await world.chat.press("Done")
    replies = await world.chat.say("show my streak")
    assert "Streak: 1 day" in replies[0].text and "Mo Tu We" in replies[0].text and "✅" in replies[0].text


# -- regressions found by a second reading ----------------------------------------------------


async def test_a_question_after_which_time_zone_is_answered_not_trapped(world):
    await world.chat.say("remind me every day at 7am")
    replies = await world.chat.say("why are my hips so tight")
    assert replies[0].topic in world.coach.content.topics  # answered, not "I don't know the time zone ..."
    assert "time zone" not in replies[0].text
    assert await world.repo.reminders_of("test:alice") == []


async def test_moving_a_reminder_after_todays_fired_says_tomorrow_and_sends_then(world):
    await _reminded(world)  # 07:30 Berlin sent on the 28th
    world.clock.now = utc(2026, 3, 28, 8, 0)
    await world.chat.say("change my reminder to 18:00")
    assert "tomorrow 18:00" in world.chat.text()
    assert await world.at(utc(2026, 3, 28, 17, 0)) == 0
    assert await world.at(utc(2026, 3, 29, 16, 0)) == 1  # 18:00 CEST


async def test_pausing_for_days_cancels_a_pending_snooze(world):
    await _reminded(world)
    await world.chat.press("30 min")
    world.clock.now = utc(2026, 3, 28, 6, 40)
    await world.chat.command("pause", "3 days")
    assert await world.at(utc(2026, 3, 28, 7, 0)) == 0


async def test_snoozing_a_paused_reminder_says_it_is_paused(world):
    await _reminded(world)
    await world.chat.command("pause")
    replies = await world.chat.press_data(world.sender.sent[-1][1][0].buttons[0][1].data)
    assert "Paused" in replies[0].text and "nudge" not in replies[0].text


async def test_snooze_command_picks_the_reminder_just_received(world):
    await _subscribe(world)
    await world.chat.command("remind", "18:00 Europe/Berlin")
    assert await world.at(utc(2026, 3, 28, 17, 0)) == 1  # the 18:00 one (CET)
    world.clock.now = utc(2026, 3, 28, 17, 5)
    await world.chat.command("snooze")
    reminders = {r.at: r for r in await world.repo.reminders_of("test:alice")}
    assert reminders[time(18, 0)].snooze_until_utc is not None and reminders[time(7, 30)].snooze_until_utc is None
