"""Group challenges end to end through the real coach and SQLite, with an injected clock and a recording platform."""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.challenges import Challenges, parse_start
from bot.core.coach import Coach
from bot.core.delivery import BLOCKED, RETRY, SENT, SendResult, Target
from bot.core.messages import MAX_BUTTON_DATA, Incoming, Reply
from bot.scheduling import together
from bot.storage.repository import SqlRepository
from tests.conftest import FakeClock

BOTH_BACKENDS = True  # tests/conftest.py: each test runs on SQLite and on PostgreSQL
BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")
START = 'name="Hip week" days=7 time=07:00 timezone=Europe/Berlin'


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class RecordingSender:
    """A platform that records what it was asked to post (and when); can be told to fail."""

    rate_per_second = math.inf

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[Target, list[Reply], datetime]] = []
        self.script: list[SendResult] = []  # results to return first, then SENT

    async def send(self, target, replies, key=None):
        result = self.script.pop(0) if self.script else SendResult(SENT)
        if result.status == SENT:
            self.sent.append((target, replies, self.clock.now))
        return result

    def posts(self, channel: str | None = None) -> list[tuple[Target, list[Reply], datetime]]:
        return [s for s in self.sent if s[0].channel and (channel is None or s[0].chat_id == channel)]

    def texts(self, channel: str | None = None) -> list[str]:
        return ["\n".join(r.text for r in replies) for _, replies, _ in self.posts(channel)]


class Member:
    """One person in a server channel (or in a private chat when space is "")."""

    def __init__(self, world, name: str, space: str = "s1", channel: str = "c1", organiser: bool = False) -> None:
        self.world, self.name, self.space, self.channel, self.organiser = world, name, space, channel, organiser
        self.last: list[Reply] = []

    def _incoming(self, **kw) -> Incoming:
        private = not self.space
        return Incoming(
            "test",
            self.name,
            self.name if private else self.channel,
            private=private,
            display_name=self.name.title(),
            space=self.space,
            channel="" if private else self.channel,
            organiser=self.organiser,
            **kw,
        )

    async def cmd(self, args: str) -> list[Reply]:
        self.last = await self.world.coach.handle(self._incoming(command="challenge", args=args))
        return self.last

    async def press(self, data: str) -> list[Reply]:
        self.last = await self.world.coach.handle(self._incoming(button=data))
        return self.last

    async def say(self, text: str) -> list[Reply]:
        self.last = await self.world.coach.handle(self._incoming(text=text))
        return self.last

    def text(self) -> str:
        return "\n\n".join(r.text for r in self.last)


class World:
    def __init__(self, knowledge_pair, repo, clock: FakeClock) -> None:
        self.content, self.knowledge = knowledge_pair
        self.clock = clock
        self.repo = repo
        self.sender = RecordingSender(clock)
        self.challenges = Challenges(self.content, repo, {"test": self.sender})
        self.coach = Coach(self.content, self.knowledge, repo, clock, challenges=self.challenges)

    def member(self, name: str, **kw) -> Member:
        return Member(self, name, **kw)

    async def at(self, when: datetime, engine: Challenges | None = None) -> int:
        """Set the clock and run the minute tick; returns how many posts went out."""
        self.clock.now = when
        before = len(self.sender.sent)
        await (engine or self.challenges).tick(when)
        return len(self.sender.sent) - before

    async def run(self, start: datetime, end: datetime, step: timedelta = timedelta(hours=1)) -> None:
        moment = start
        while moment <= end:
            await self.at(moment)
            moment += step

    async def challenge(self, space: str = "s1", channel: str = "c1"):
        found = [c for c in await self.repo.challenges_in("test", space) if c.channel == channel]
        return found[0] if found else None


@pytest.fixture
def world(knowledge_pair, repo, clock):
    return World(knowledge_pair, repo, clock)


def buttons(replies: list[Reply]) -> dict[str, str]:
    return {b.label: b.data for r in replies for row in r.buttons for b in row}


async def started(world, args: str = START, now: datetime | None = None, **kw):
    world.clock.now = now or utc(2026, 11, 25, 9)  # 10:00 in Berlin: 07:00 has passed, day 1 is tomorrow
    org = world.member("olga", organiser=True, **kw)
    replies = await org.cmd(f"start {args}")
    assert replies and replies[-1].channel, org.text()
    return org, await world.challenge(kw.get("space", "s1"), kw.get("channel", "c1"))


# -- parsing ------------------------------------------------------------------------------------


def test_start_arguments_canonical_and_free_text():
    canonical = parse_start(
        'name="30-day hips" days=30 time=07:00 timezone=Europe/Berlin channel=123456 level=beginner start=2026-12-01'
    )
    assert (canonical.name, canonical.days, canonical.at.hour, canonical.timezone, canonical.channel) == (
        "30-day hips",
        30,
        7,
        "Europe/Berlin",
        "123456",
    )
    assert canonical.start == date(2026, 12, 1) and canonical.level == "beginner"
    free = parse_start("30 days 07:00 Berlin 30-day hips")
    assert (free.name, free.days, free.at.hour, free.timezone) == ("30-day hips", 30, 7, "Europe/Berlin")
    words = parse_start("14 days at 6pm in Los Angeles intermediate evening hips")
    assert (words.name, words.days, words.at.hour, words.timezone, words.level) == (
        "evening hips",
        14,
        18,
        "America/Los_Angeles",
        "intermediate",
    )
    assert parse_start("days=7 time=7 timezone=Mars/Olympus").problem == "bad_zone"
    assert parse_start('name="unclosed days=7').name  # never a crash on odd quoting


# -- starting -----------------------------------------------------------------------------------


async def test_only_organisers_start_and_only_in_a_server(world):
    member = world.member("mia")
    await member.cmd(f"start {START}")
    assert "Only organisers" in member.text() and member.last[0].channel is None
    private = world.member("olga", space="", organiser=True)
    await private.cmd(f"start {START}")
    assert "server or group" in private.text()
    assert await world.repo.challenges_in("test", "s1") == []


async def test_kickoff_is_a_channel_post_with_a_join_button(world):
    org, c = await started(world)
    kickoff = org.last[-1]
    assert len(org.last) == 1 and kickoff.channel == "c1" and kickoff.card
    assert kickoff.text.splitlines()[0] == "🏁 New challenge: Hip week"
    assert "07:00 (Europe/Berlin)" in kickoff.text and "Thu 26 Nov" in kickoff.text  # 07:00 passed: tomorrow
    assert "6 of the 7 days" in kickoff.text
    assert buttons([kickoff]) == {"➕ Join": f"ch:j:{c.id}"}
    assert (c.days, c.start_date, c.organiser_key, c.organiser_chat) == (7, date(2026, 11, 26), "test:olga", "olga")
    assert c.next_post_utc == utc(2026, 11, 26, 6)  # 07:00 CET


async def test_kickoff_in_another_channel_also_confirms_to_the_organiser(world):
    world.clock.now = utc(2026, 11, 25, 5)  # 06:00 Berlin: today's 07:00 is still ahead
    org = world.member("olga", organiser=True)
    replies = await org.cmd("start 14 days 07:00 Berlin channel=999 morning hips")
    assert [r.channel for r in replies] == [None, "999"]
    assert "Started morning hips" in replies[0].text and "Wed 25 Nov" in replies[1].text


async def test_one_challenge_per_channel(world):
    org, c = await started(world)
    await org.cmd(START)  # no subcommand: help
    assert "join · leave · done" in org.text()
    await org.cmd(f"start {START}")
    assert "already has a challenge" in org.text()
    other = world.member("olga", channel="c2", organiser=True)
    assert (await other.cmd(f"start {START}"))[-1].channel == "c2"
    await org.cmd("cancel")
    assert (await org.cmd(f"start {START}"))[-1].channel == "c1"


async def test_start_problems_are_explained(world):
    org = world.member("olga", organiser=True)
    await org.cmd("start days=99 time=07:00 timezone=Europe/Berlin")
    assert "3 to 60 days" in org.text()
    await org.cmd("start days=7 timezone=Europe/Berlin")
    assert "What time" in org.text()
    await org.cmd("start days=7 time=07:00")
    assert "time zone" in org.text()
    await org.cmd("start days=7 time=07:00 timezone=Europe/Berlin start=2020-01-01")
    assert "has passed" in org.text()
    await org.cmd("start days=7 time=07:00 timezone=Europe/Berlin level=expert")
    assert "beginner or intermediate" in org.text()
    assert await world.repo.challenges_in("test", "s1") == []


# -- joining and checking in ------------------------------------------------------------------


async def test_join_done_status_and_late_join(world):
    org, c = await started(world)
    ann, ben = world.member("ann"), world.member("ben")
    await ann.press(f"ch:j:{c.id}")
    assert "You're in Hip week" in ann.text() and "starts Thu 26 Nov" in ann.text()
    await ann.cmd("done")
    assert "starts Thu 26 Nov" in ann.text()  # before day 1: nothing to check in to
    world.clock.now = utc(2026, 11, 26, 8)  # day 1, 09:00 Berlin
    await ann.cmd("done")
    assert "Day 1 of 7 done" in ann.text()
    world.clock.now = utc(2026, 11, 28, 8)  # day 3: ben joins late
    await ben.cmd("join")
    assert "You're in" in ben.text()
    await ben.cmd("done")
    await ben.cmd("status")
    status = ben.last[0]
    assert status.card and status.text.splitlines()[0] == "Hip week · day 3 of 7, daily at 07:00 Europe/Berlin"
    assert "1 day done · streak 1 (best 1) · 100% · rank 2 of 2" in status.text  # late joiners count from joining
    assert "Today: done" in status.text
    await ann.cmd("status")
    assert "1 day done · streak 0 (best 1) · 50%" in ann.text() and "Today: not yet" in ann.text()
    assert buttons(ann.last) == {"✅ Done today": f"ch:d:{c.id}:3"}
    await ann.cmd("leave")
    assert "left Hip week" in ann.text()
    await ann.cmd("leave")
    assert "not in Hip week" in ann.text()
    await ann.press(f"ch:j:{c.id}")
    assert "Welcome back" in ann.text()
    assert (await world.repo.get_participant(c.id, "test:ann")).days_done == 1


async def test_done_joins_you(world):
    _, c = await started(world)
    world.clock.now = utc(2026, 11, 26, 8)
    carl = world.member("carl")
    await carl.press(f"ch:d:{c.id}:1")
    assert "You're now in Hip week too" in carl.text() and "Day 1 of 7 done" in carl.text()
    member = await world.repo.get_participant(c.id, "test:carl")
    assert (member.status, member.days_done, member.streak, member.last_day) == ("in", 1, 1, 1)


async def test_double_click_counts_once(world):
    _, c = await started(world)
    world.clock.now = utc(2026, 11, 26, 8)
    dora = world.member("dora")
    results = await asyncio.gather(*(dora.press(f"ch:d:{c.id}:1") for _ in range(5)))
    texts = [r[0].text for r in results]
    assert sum("Day 1 of 7 done" in t for t in texts) == 1
    assert sum("already checked in" in t for t in texts) == 4
    # and from a second process on the same database at the same moment
    other = await SqlRepository.open(world.repo.url)
    try:
        engine = Challenges(world.content, other)
        coach2 = Coach(world.content, world.knowledge, other, world.clock, challenges=engine)
        world.clock.now = utc(2026, 11, 27, 8)
        incoming = dora._incoming(button=f"ch:d:{c.id}:2")
        both = await asyncio.gather(world.coach.handle(incoming), coach2.handle(incoming))
        assert sum("Day 2 of 7 done" in r[0].text for r in both) == 1
    finally:
        await other.close()
    member = await world.repo.get_participant(c.id, "test:dora")
    assert (member.days_done, member.streak) == (2, 2)
    rows = await world.repo.db.fetch("SELECT COUNT(*) FROM challenge_checkins")
    assert rows[0][0] == 2


async def test_grace_hour_catches_up_yesterday_but_not_later(world):
    _, c = await started(world)
    eve, fin = world.member("eve"), world.member("fin")
    world.clock.now = utc(2026, 11, 26, 8)
    await eve.cmd("done")  # day 1
    world.clock.now = utc(2026, 11, 27, 23, 30)  # 00:30 Berlin on day 3; day 2 was missed
    await eve.cmd("done")
    assert "Counted for yesterday (day 2 of 7)" in eve.text() and "streak 2" in eve.text()
    world.clock.now = utc(2026, 11, 27, 23, 40)
    await eve.cmd("done")  # yesterday is done now: this one is today's
    assert "Day 3 of 7 done" in eve.text() and "streak 3" in eve.text()
    world.clock.now = utc(2026, 11, 30, 0, 30)  # 01:30 Berlin on day 5: the grace hour is over
    await fin.cmd("done")
    assert "Day 5 of 7 done" in fin.text()
    days = await world.repo.db.fetch(
        "SELECT user_key, day FROM challenge_checkins WHERE challenge_id = ? ORDER BY user_key, day", (c.id,)
    )
    assert [tuple(d) for d in days] == [("test:eve", 1), ("test:eve", 2), ("test:eve", 3), ("test:fin", 5)]


async def test_leaderboard_order_ties_and_own_row(world):
    _, c = await started(world)
    people = [world.member(f"p{i:02d}") for i in range(12)]
    world.clock.now = utc(2026, 11, 26, 8)
    for p in people:
        await p.cmd("join")
    # day 1: p05 first, then p03; day 2: p03 first, then p05 -> both 2 days, p05 reached 2 later
    for minute, p in enumerate((people[5], people[3], people[7])):
        world.clock.now = utc(2026, 11, 26, 8, minute)
        await p.cmd("done")
    for minute, p in enumerate((people[3], people[5])):
        world.clock.now = utc(2026, 11, 27, 8, minute)
        await p.cmd("done")
    world.clock.now = utc(2026, 11, 27, 9)
    for p in people[8:]:
        await p.cmd("done")  # one day each, all later than p07's
    last = people[6]  # zero days (reached when joining, like the other zeros) and the last key: 12th
    await last.cmd("leaderboard")
    board = last.last[0]
    lines = board.text.splitlines()
    assert board.card and lines[0] == "🏆 Hip week · day 2 of 7, daily at 07:00 Europe/Berlin · 12 members"
    assert lines[1] == "1. P03 · 2 days · streak 2 · 100%"
    assert lines[2] == "2. P05 · 2 days · streak 2 · 100%"
    assert lines[3] == "3. P07 · 1 day · streak 1 · 100%"  # yesterday done, today still open
    assert lines[4] == "4. P08 · 1 day · streak 1 · 50%"  # same count, reached later; P08 before P09 (same time)
    assert [line.split(" · ")[0] for line in lines[5:11]] == [
        "5. P09",
        "6. P10",
        "7. P11",
        "8. P00",
        "9. P01",
        "10. P02",
    ]
    assert lines[11:13] == ["…", "12. P06 (you) · 0 days · streak 0 · 0%"]
    await people[3].press(f"ch:b:{c.id}")
    assert "1. P03 (you)" in people[3].text() and "…" not in people[3].text()


async def test_list_in_a_space_and_in_private(world):
    org, c = await started(world)
    other = world.member("olga", channel="c2", organiser=True)
    await other.cmd("start 30 days 18:00 Los Angeles evening hips")
    await org.cmd("list")
    text = org.text()
    assert text.startswith("Challenges here:") and "Hip week: starts Thu 26 Nov" in text and "evening hips" in text
    gus = world.member("gus", space="")
    await gus.cmd("list")
    assert "No challenges" in gus.text()
    await world.member("gus").cmd("join")  # in c1
    await gus.cmd("list")
    assert "Hip week" in gus.text() and "evening hips" not in gus.text()
    world.clock.now = utc(2026, 11, 26, 8)
    await gus.cmd("done")  # a private chat: the one challenge they are in
    assert "Day 1 of 7 done" in gus.text()


# -- ending ---------------------------------------------------------------------------------------


async def test_end_posts_a_summary_cancel_does_not(world):
    org, c = await started(world)
    hal, ida = world.member("hal"), world.member("ida")
    for day in (26, 27, 28):
        world.clock.now = utc(2026, 11, day, 8)
        await hal.cmd("done")
    await ida.cmd("done")
    await ida.cmd("end")
    assert "Only an organiser" in ida.text()
    starter = world.member("olga")  # the member who started it may end it, organiser flag or not
    await starter.cmd("end")
    summary = starter.last[0]
    assert summary.channel == "c1" and summary.card
    assert summary.text.splitlines()[0] == "🏁 Hip week ended early, after 3 of 7 days."
    assert "Finished (1, checked in on at least 3 of 3 days):" in summary.text and "Hal (3/3)" in summary.text
    assert "Ida" not in summary.text.split("Finished")[1].split("\n")[1]
    assert (await world.challenge()).status == "ended"
    assert await world.at(utc(2026, 11, 29, 6)) == 0  # no more posts
    await hal.cmd("done")
    assert "is over" in hal.text()

    org2, c2 = await started(world, channel="c2")
    await org2.cmd("cancel")
    assert [r.channel for r in org2.last] == [None, "c2"] or [r.channel for r in org2.last] == ["c2"]
    assert all("Finished" not in r.text and "summary" not in r.text.lower() for r in org2.last if r.channel)
    assert "cancelled" in org2.text()
    assert (await world.challenge(channel="c2")).status == "cancelled"
    assert await world.at(utc(2026, 11, 30, 6)) == 0


# -- isolation ----------------------------------------------------------------------------------


async def test_spaces_never_see_or_touch_each_other(world):
    _, a = await started(world)  # server s1
    intruder = world.member("ivan", space="s2", channel="x1", organiser=True)
    for sub in ("join", "done", "leave", "status", "leaderboard", "end", "cancel", f"status id={a.id}", f"end {a.id}"):
        await intruder.cmd(sub)
        assert "no challenge running here" in intruder.text(), sub
    await intruder.cmd("list")
    assert "No challenges here" in intruder.text()
    world.clock.now = utc(2026, 11, 26, 8)
    for data in (f"ch:j:{a.id}", f"ch:d:{a.id}:1", f"ch:b:{a.id}", f"ch:d:{a.id}:99", "ch:d:x:1", "ch:j:99999"):
        await intruder.press(data)
        assert intruder.text() == world.content.messages["expired_button"], data
    other_platform = Incoming(
        "other", "ivan", "c1", button=f"ch:d:{a.id}:1", private=False, space="s1", channel="c1", organiser=True
    )
    assert (await world.coach.handle(other_platform))[0].text == world.content.messages["expired_button"]
    stranger = world.member("sam", space="")  # a private chat sees only challenges you are in
    await stranger.press(f"ch:b:{a.id}")
    assert stranger.text() == world.content.messages["expired_button"]
    assert await world.repo.get_participant(a.id, "test:ivan") is None
    assert (await world.repo.get_challenge(a.id)).status == "active"
    # a future day's button cannot exist yet: forged
    ok = world.member("kim")
    await ok.press(f"ch:d:{a.id}:3")
    assert ok.text() == world.content.messages["expired_button"]


# -- posts from the tick ------------------------------------------------------------------------


async def test_two_zones_across_dst_full_lifecycle(world):
    """Berlin (DST ends 25 Oct) and Los Angeles (1 Nov): posts stay at local 07:00 / 18:00, day by day,
    with yesterday's rate, halfway and last-day lines, then the summary naming who finished."""
    world.clock.now = utc(2026, 10, 21, 12)
    berlin = world.member("olga", organiser=True)
    await berlin.cmd("start days=7 time=07:00 timezone=Europe/Berlin start=2026-10-22 name=Autumn")
    la = world.member("lou", space="s2", channel="la", organiser=True)
    await la.cmd("start 7 days 18:00 Los Angeles intermediate West hips start=2026-10-28")
    b, w = await world.challenge(), await world.challenge("s2", "la")
    assert (w.start_date, w.level, w.name) == (date(2026, 10, 28), "intermediate", "West hips")
    team = {name: world.member(name) for name in ("amy", "bo", "cy")}
    west = world.member("wes", space="s2", channel="la")
    for m in (*team.values(), west):
        await m.cmd("join")

    moment = utc(2026, 10, 21, 13)
    while moment <= utc(2026, 11, 5, 12):
        await world.at(moment)
        local_b = moment.astimezone(BERLIN)
        day_b = (local_b.date() - b.start_date).days + 1
        if local_b.hour == 9 and 1 <= day_b <= 7:
            await team["amy"].cmd("done")  # every day
            if day_b != 3:
                await team["bo"].cmd("done")  # 6 of 7: still finishes
            if day_b <= 2:
                await team["cy"].cmd("done")
        local_w = moment.astimezone(LA)
        if local_w.hour == 19 and w.start_date <= local_w.date() < w.start_date + timedelta(days=7):
            await west.cmd("done")
        moment += timedelta(hours=1)

    posts_b = world.sender.posts("c1")
    assert [t.astimezone(BERLIN).strftime("%d %H:%M") for _, _, t in posts_b] == [f"{d} 07:00" for d in range(22, 30)]
    assert [t.hour for _, _, t in posts_b] == [5, 5, 5, 6, 6, 6, 6, 6]  # CEST, then CET
    texts = world.sender.texts("c1")
    assert texts[0].splitlines()[0] == "🏁 Autumn · Day 1 of 7" and "Yesterday" not in texts[0]
    assert "Yesterday 3 of 3 checked in (100%)." in texts[1]
    assert "Yesterday 1 of 3 checked in (33%)." in texts[3]  # day 3: only amy
    assert "Halfway there! 1 of you have checked in on all 3 days so far." in texts[3]
    assert "Last day!" in texts[6]
    assert "Today: " in texts[0] and "(5 min)" in texts[0] and "(15 min)" in texts[6]
    target, replies, _ = posts_b[0]
    assert target == Target("test", "c1", "test:olga", channel=True) and replies[0].channel == "c1"
    assert buttons(replies) == {
        "✅ Done today": f"ch:d:{b.id}:1",
        "➕ Join": f"ch:j:{b.id}",
        "🏆 Leaderboard": f"ch:b:{b.id}",
    }
    assert all(len(d.encode()) <= MAX_BUTTON_DATA for d in buttons(replies).values())
    final = texts[7]
    assert final.splitlines()[0] == "🎉 Autumn is complete: 7 days!"
    assert "Finished (2, checked in on at least 6 of 7 days):" in final
    assert "Amy (7/7), Bo (6/7)" in final and "Cy" not in final.split("Longest")[0].split("Finished")[1]
    assert "Longest streak: Amy, 7 days in a row." in final
    assert (await world.challenge()).status == "finished"

    posts_w = world.sender.posts("la")
    assert [t.astimezone(LA).strftime("%m-%d %H:%M") for _, _, t in posts_w] == [
        f"{d} 18:00" for d in ("10-28", "10-29", "10-30", "10-31", "11-01", "11-02", "11-03", "11-04")
    ]
    assert [t.hour for _, _, t in posts_w] == [1, 1, 1, 1, 2, 2, 2, 2]  # PDT, then PST
    assert "Wes (7/7)" in world.sender.texts("la")[-1]
    assert len(world.sender.sent) == 16
    assert await world.at(utc(2026, 11, 12, 6)) == 0  # over: nothing more, ever


async def test_posts_never_go_twice(world):
    _, c = await started(world)
    due = utc(2026, 11, 26, 6)
    assert await world.at(due) == 1
    assert await world.at(due) == 0
    assert await world.at(due + timedelta(minutes=1)) == 0
    # two processes, two engines, one database, the same minute
    other = await SqlRepository.open(world.repo.url)
    try:
        second = Challenges(world.content, other, {"test": world.sender})
        world.clock.now = utc(2026, 11, 27, 6)
        results = await asyncio.gather(world.challenges.tick(world.clock.now), second.tick(world.clock.now))
        assert sum(r.sent for r in results) == 1
    finally:
        await other.close()
    assert len(world.sender.posts()) == 2


async def test_missed_post_caught_up_within_two_hours_skipped_after(world):
    _, c = await started(world)
    assert await world.at(utc(2026, 11, 26, 7, 30)) == 1  # 90 min late: still posted, and says so
    assert "Posted 90 min late" in world.sender.texts()[-1]
    assert await world.at(utc(2026, 11, 27, 9, 0)) == 0  # 3 h late: day 2 is skipped
    assert await world.at(utc(2026, 11, 28, 6)) == 1  # day 3 as usual
    assert world.sender.texts()[-1].startswith("🏁 Hip week · Day 3 of 7")
    log = await world.repo.post_counts(c.id)
    assert log == {(1, "daily"): "sent", (2, "daily"): "missed", (3, "daily"): "sent"}


async def test_days_of_downtime_post_only_today(world):
    _, c = await started(world)
    assert await world.at(utc(2026, 11, 29, 6, 30)) == 1  # down for days 1-3: day 4 goes out, the rest missed
    assert world.sender.texts()[-1].startswith("🏁 Hip week · Day 4 of 7")
    log = await world.repo.post_counts(c.id)
    assert [log[(d, "daily")] for d in (1, 2, 3, 4)] == ["missed", "missed", "missed", "sent"]


async def test_the_summary_is_posted_even_late(world):
    _, c = await started(world)
    assert await world.at(utc(2026, 12, 5, 12)) == 1
    assert "complete" in world.sender.texts()[-1]
    assert (await world.challenge()).status == "finished"


async def test_blocked_channel_stops_the_challenge_and_tells_the_organiser(world):
    org, c = await started(world)
    world.sender.script = [SendResult(BLOCKED, error="unknown channel")]
    assert await world.at(utc(2026, 11, 26, 6)) == 1  # the one message that went: the organiser's DM
    target, replies, _ = world.sender.sent[-1]
    assert target == Target("test", "olga", "test:olga") and not target.channel
    assert "couldn't post Hip week" in replies[0].text
    assert (await world.challenge()).status == "stopped"
    assert await world.at(utc(2026, 11, 27, 6)) == 0
    await org.say("hi")
    assert "I had to stop a challenge you started" in org.text()
    await org.say("hi")
    assert "I had to stop" not in org.text()  # told once
    await org.cmd(f"start {START}")  # the channel is free again
    assert org.last[-1].channel == "c1"


async def test_retry_is_retried_on_a_later_tick_and_never_forever(world):
    _, c = await started(world)
    world.sender.script = [SendResult(RETRY, error="rate limited")]
    assert await world.at(utc(2026, 11, 26, 6)) == 0
    assert await world.at(utc(2026, 11, 26, 6, 0, 30)) == 0  # backoff: not yet
    assert await world.at(utc(2026, 11, 26, 6, 1)) == 1
    assert await world.at(utc(2026, 11, 26, 6, 2)) == 0
    assert (await world.repo.post_counts(c.id))[(1, "daily")] == "sent"
    # a platform that keeps failing: given up within the late window, the next day is unaffected
    world.sender.script = [SendResult(RETRY)] * 50
    moment = utc(2026, 11, 27, 6)
    while moment < utc(2026, 11, 27, 9):
        await world.at(moment)
        moment += timedelta(minutes=1)
    assert (await world.repo.post_counts(c.id))[(2, "daily")] == "failed"
    assert 5 <= 50 - len(world.sender.script) <= 8
    world.sender.script = []
    assert await world.at(utc(2026, 11, 28, 6)) == 1
    assert (await world.challenge()).status == "active"


async def test_a_claim_left_by_a_dead_process_is_sent_once(world):
    _, c = await started(world)
    now = utc(2026, 11, 26, 6)
    plan = world.challenges.plan(c, now)
    claimed = await world.repo.claim_challenge_posts([plan], now)  # claimed, then the process died
    assert claimed and await world.at(now + timedelta(minutes=1)) == 0  # a live claim is left alone
    assert await world.at(now + timedelta(minutes=6)) == 1
    assert await world.at(now + timedelta(minutes=20)) == 0
    assert (await world.repo.post_counts(c.id))[(1, "daily")] == "sent"


async def test_a_claim_whose_process_is_gone_is_taken_over_at_once_not_after_the_lease(world):
    _, c = await started(world)
    now = utc(2026, 11, 26, 6)
    plan = world.challenges.plan(c, now)
    assert await world.repo.claim_challenge_posts([plan], now)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}/{int(ended.stdout)}/run/abcd"  # the claim of a process killed with -9
    await world.repo.db.execute("UPDATE challenge_posts SET claim_token = ?", (dead,))
    assert await world.at(now + timedelta(minutes=1)) == 1  # a restart sends it now, not 5 minutes later
    assert await world.at(now + timedelta(minutes=7)) == 0  # and only once: the new claim names this process
    assert (await world.repo.post_counts(c.id))[(1, "daily")] == "sent"


async def test_a_restart_continues_from_the_database(world):
    _, c = await started(world)
    assert await world.at(utc(2026, 11, 26, 6)) == 1
    repo = await SqlRepository.open(world.repo.url)  # the new process: its own connection and engine
    try:
        restarted = Challenges(world.content, repo, {"test": world.sender})
        assert await world.at(utc(2026, 11, 26, 6, 1), restarted) == 0
        assert await world.at(utc(2026, 11, 27, 6), restarted) == 1
        assert world.sender.texts()[-1].startswith("🏁 Hip week · Day 2 of 7")
    finally:
        await repo.close()


async def test_no_sender_yet_means_retry_not_loss(world):
    _, c = await started(world)
    engine = Challenges(world.content, world.repo, {})  # adapters not registered yet
    assert (await engine.tick(utc(2026, 11, 26, 6))).retry == 1
    assert await world.at(utc(2026, 11, 26, 6, 1)) == 1


async def test_the_app_ticks_reminders_and_challenges_together():
    seen = []

    async def reminders(now):
        seen.append("reminders")

    async def broken(now):
        raise RuntimeError("boom")

    async def challenges(now):
        seen.append("challenges")

    await together(reminders, broken, challenges)(utc(2026, 1, 1))
    assert sorted(seen) == ["challenges", "reminders"]


# -- privacy ----------------------------------------------------------------------------------


async def test_forget_drops_member_data_and_keeps_organised_challenges(world):
    org, c = await started(world)
    world.clock.now = utc(2026, 11, 26, 8)
    jo = world.member("jo")
    await jo.cmd("done")
    await org.cmd("done")
    counts = await world.repo.count_rows("test:jo")
    assert counts["challenge_participants"] == 1 and counts["challenge_checkins"] == 1
    await world.repo.forget_user("test:jo")
    assert sum((await world.repo.count_rows("test:jo")).values()) == 0
    assert (await world.repo.count_rows("test:olga"))["challenges_organised"] == 1
    await world.repo.forget_user("test:olga")
    assert sum((await world.repo.count_rows("test:olga")).values()) == 0
    kept = await world.challenge()
    assert kept.status == "active" and kept.organiser_key is None and kept.organiser_chat is None
    assert await world.at(utc(2026, 11, 27, 6)) == 1  # still running for everyone else
    assert world.sender.posts()[-1][0].user_key == ""
