"""The reminder tick: what is due, what each reminder says, and what an outcome means for it.

The database is the source of truth: every reminder carries its next fire instant in UTC
(`next_fire_utc`, indexed). A tick aligned to the wall-clock minute selects the due rows, claims a
(reminder, local date) row in the delivery log before sending (so nothing is sent twice, even by two
processes on one database) and hands the jobs to the shared Dispatcher, as jobs of the
ReminderDeliveries kind. A reminder missed while the process was down is sent once on the next tick if
it is less than LATE_WINDOW late, skipped otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.core.content import Content, Routine
from bot.core.delivery import (
    CLAIM_BATCH,
    CLAIM_LEASE,
    LATE_WINDOW,
    TICK_BATCH,
    Dispatcher,
    DispatchStats,
    Job,
    Target,
)
from bot.core.localtime import local_date, next_fire, zone
from bot.core.messages import Button, Reply, rows
from bot.core.ports import DuePlan, Reminder, Repository
from bot.core.streaks import summarize

log = logging.getLogger(__name__)

BACKOFF_AFTER = 5  # ignored reminders in a row before we ask instead of nagging
STREAK_LOOKBACK_DAYS = 60  # enough history to know the current streak, which picks the routine's length
GOAL_ROTATION = ("general", "desk", "lower-back", "knee", "athlete")
UNREACHABLE_NOTICE = "reminders_paused_unreachable"


def day_code(day: date) -> str:
    return day.strftime("%Y%m%d")


class ReminderDeliveries:
    """The job kind of a personal reminder: outcomes go to the delivery log; unreachable pauses the
    person's reminders (kept, not deleted) and leaves a notice for when they next write."""

    retry = None  # the dispatcher's policy: short waits within the delivery
    metered = True  # hipcoach_reminders_total

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def key(self, job: Job) -> str:
        return f"r{job.delivery_id}"

    async def finished(self, job: Job, status: str, attempts: int, late_seconds: int, error, now) -> None:
        await self.repo.finish_delivery(job.delivery_id, status, attempts, late_seconds, error, now)

    async def later(self, job: Job, attempts: int, retry_at: datetime, error, now) -> None:
        pass  # the claim stays: past CLAIM_LEASE a tick takes it over (_recovered_jobs) and sends it once

    async def unreachable(self, job: Job, now: datetime) -> list[Job]:
        await self.repo.pause_all(job.target.user_key, "blocked", now)
        await self.repo.set_notice(job.target.user_key, UNREACHABLE_NOTICE)
        return []


class ReminderTick:
    def __init__(self, content: Content, repo: Repository, dispatcher: Dispatcher | None = None) -> None:
        self.content = content
        self.repo = repo
        self.dispatcher = dispatcher
        self.kind = ReminderDeliveries(repo)
        self.msg = content.messages

    # -- what a reminder says ----------------------------------------------------------------

    def routine_of_the_day(self, goal: str | None, level: str | None, streak: int, day: date) -> Routine:
        """Rotate through the user's goal; a little longer (then harder) each week they keep going."""
        goal = goal or "general"
        if goal == "general":
            goal = GOAL_ROTATION[day.toordinal() % len(GOAL_ROTATION)]
        elif day.toordinal() % 3 == 2:
            goal = "general"  # some variety on one day in three
        minutes = (5, 10, 15)[min(2, streak // 7)]
        if (level or "beginner") == "beginner" and streak >= 28:
            level = "intermediate"
        return self.content.routine_for(goal, level, minutes)

    def reminder_replies(
        self, reminder: Reminder, routine: Routine, day: date, late: timedelta | None = None
    ) -> list[Reply]:
        lines = [self.msg["remind_message"].format(title=routine.title, minutes=routine.minutes)]
        if late and late >= timedelta(minutes=5):
            lines.append(self.msg["remind_late"].format(minutes=int(late.total_seconds() // 60)))
        for i, step in enumerate(routine.steps, 1):
            lines.append(f"{i}. {self.content.exercises[step.exercise].name}: {step.dose}")
        rid, code = reminder.id, day_code(day)
        buttons = (
            (
                Button(self.msg["remind_button_done"], f"rd:{rid}:{code}"),
                Button(self.msg["remind_button_snooze_30"], f"rz:{rid}:30"),
                Button(self.msg["remind_button_snooze_60"], f"rz:{rid}:60"),
            ),
            (
                Button(self.msg["remind_button_skip"], f"rk:{rid}:{code}"),
                Button(self.msg["remind_button_start"], f"r:{routine.id}:0"),
            ),
        )
        return [Reply("\n".join(lines), buttons, topic="reminders", card=True)]

    def backoff_replies(self, reminder: Reminder) -> list[Reply]:
        rid = reminder.id
        buttons = rows(
            Button(self.msg["remind_button_keep"], f"rb:{rid}:keep"),
            Button(self.msg["remind_button_move"], f"rb:{rid}:move"),
            Button(self.msg["remind_button_stop"], f"rb:{rid}:stop"),
        )
        return [Reply(self.msg["remind_backoff"], buttons, topic="reminders")]

    # -- the tick ----------------------------------------------------------------------------

    async def tick(self, now: datetime) -> DispatchStats:
        """Send everything due at `now`. Safe to run in several processes at once.

        Work is done in batches (one transaction takes the due rows, claims them and moves them on; one query
        for the profiles and streaks), so a thousand reminders due in the same minute cost a few dozen database
        round trips, not thousands. Where processes share the database (PostgreSQL) each batch is small
        (CLAIM_BATCH) and sent before the next is taken, so they split the minute between them; claims left by
        a process that died are taken over between batches.
        """
        batch = CLAIM_BATCH if getattr(self.repo, "shared", False) else TICK_BATCH
        stats, taken = DispatchStats(), 0
        while True:
            jobs = await self._recovered_jobs(now)
            took, taken = 0, taken + len(jobs)
            if taken < TICK_BATCH:
                plan = _Plan(self, now)
                due, claimed = await self.repo.claim_due_reminders(now, min(batch, TICK_BATCH - taken), plan)
                took, taken = len(due), taken + len(due)
                jobs += await self._snooze_jobs(plan, claimed, now)
                jobs += await self._daily_jobs(plan, claimed, now)
            if jobs and self.dispatcher is not None:
                stats.add(await self.dispatcher.deliver(jobs))
            if (not jobs and not took) or taken >= TICK_BATCH:
                return stats  # nothing more due (or this tick's share done: the rest goes on the next minute)

    async def _recovered_jobs(self, now: datetime) -> list[Job]:
        """Deliveries claimed by a process that died before sending them: send them once now."""
        jobs = []
        for d in await self.repo.stale_claims(now - CLAIM_LEASE, now - LATE_WINDOW):
            r = await self.repo.get_reminder(d.reminder_id)
            if r is None or not await self.repo.reclaim(d, now):
                continue
            if r.pause_reason == "backoff":
                replies = self.backoff_replies(r)
            else:
                replies = (await self._replies_for([(r, d.local_date, now - d.scheduled_utc)]))[0]
            jobs.append(Job(d.id, Target(r.platform, r.chat_id, r.user_key), replies, d.scheduled_utc, self.kind))
            log.info("event=delivery_recovered delivery=%d", d.id)
        return jobs

    def _latest_due(self, r: Reminder, now: datetime) -> tuple[datetime, datetime | None]:
        """(the occurrence to act on, the one after it). After downtime older occurrences are just missed."""
        tz = zone(r.timezone)
        scheduled = r.next_fire_utc
        following = next_fire(r.at, r.days, tz, scheduled, r.paused_until)
        for _ in range(400):
            if following is None or following > now:
                break
            scheduled, following = following, next_fire(r.at, r.days, tz, following, r.paused_until)
        return scheduled, following

    async def _daily_jobs(self, plan: _Plan, claimed: dict[tuple[int, str], int], now: datetime) -> list[Job]:
        jobs, wanted = [], []
        for r, scheduled, _, day, late in plan.daily:
            delivery_id = claimed.get((r.id, "daily"))
            if delivery_id is None or late > LATE_WINDOW:
                if late > LATE_WINDOW:
                    log.info("event=reminder_missed reminder=%d late_s=%d", r.id, late.total_seconds())
                continue
            target = Target(r.platform, r.chat_id, r.user_key)
            if r.ignored >= BACKOFF_AFTER:
                paused = replace(r, status="paused", pause_reason="backoff", next_fire_utc=None)
                await self.repo.save_reminder(paused, now)
                jobs.append(Job(delivery_id, target, self.backoff_replies(r), scheduled, self.kind))
            else:
                wanted.append((delivery_id, target, scheduled, (r, day, late)))
        replies = await self._replies_for([w[3] for w in wanted])
        jobs += [Job(d, t, rs, at, self.kind) for (d, t, at, _), rs in zip(wanted, replies, strict=True)]
        return jobs

    async def _snooze_jobs(self, plan: _Plan, claimed: dict[tuple[int, str], int], now: datetime) -> list[Job]:
        wanted = []
        for r, day, kind, at, _ in plan.snoozes:
            if (r.id, kind) in claimed:
                wanted.append(
                    (claimed[(r.id, kind)], Target(r.platform, r.chat_id, r.user_key), at, (r, day, now - at))
                )
        replies = await self._replies_for([w[3] for w in wanted])
        return [Job(d, t, rs, at, self.kind) for (d, t, at, _), rs in zip(wanted, replies, strict=True)]

    async def _replies_for(self, items: list[tuple[Reminder, date, timedelta]]) -> list[list[Reply]]:
        """Reminder messages for many reminders with one query for profiles and one for streaks."""
        if not items:
            return []
        keys = [r.user_key for r, _, _ in items]
        earliest = min(day for _, day, _ in items) - timedelta(days=STREAK_LOOKBACK_DAYS)
        profiles = await self.repo.profiles_of(keys)
        history = await self.repo.checkins_since(keys, earliest)
        out = []
        for r, day, late in items:
            profile = profiles.get(r.user_key)
            streak = summarize(history.get(r.user_key, []), day).current
            goal, level = (profile.goal, profile.level) if profile else (None, None)
            out.append(self.reminder_replies(r, self.routine_of_the_day(goal, level, streak, day), day, late))
        return out


class _Plan:
    """What to do with the due reminders a tick took (called inside the claim transaction, no I/O): the claims,
    the next fires, the snoozes to clear; keeps the details the jobs are built from afterwards."""

    def __init__(self, tick: ReminderTick, now: datetime) -> None:
        self.tick = tick
        self.now = now
        self.daily: list[tuple[Reminder, datetime, datetime | None, date, timedelta]] = []
        self.snoozes: list[tuple[Reminder, date, str, datetime, str]] = []

    def __call__(self, due: list[Reminder]) -> DuePlan:
        now = self.now
        self.snoozes = []
        for r in due:
            if r.snooze_until_utc and r.snooze_until_utc <= now:
                tz = zone(r.timezone)
                kind = f"snooze-{r.snooze_until_utc.astimezone(tz):%H%M}"
                self.snoozes.append((r, local_date(r.snooze_until_utc, tz), kind, r.snooze_until_utc, "claimed"))
        self.daily = []
        for r in due:
            if r.next_fire_utc and r.next_fire_utc <= now:
                scheduled, following = self.tick._latest_due(r, now)
                late = now - scheduled
                self.daily.append((r, scheduled, following, local_date(scheduled, zone(r.timezone)), late))
        # The claim decides who sends (a snooze is claimed before it is cleared, a day before it moves on: in
        # one transaction, so a crash cannot lose either); moving on is compare-and-set.
        daily = [
            (r, day, "daily", at, "missed" if late > LATE_WINDOW else "claimed") for r, at, _, day, late in self.daily
        ]
        moves = [(r.id, r.next_fire_utc, following) for r, _, following, _, _ in self.daily]
        clears = [(r.id, r.snooze_until_utc) for r, *_ in self.snoozes]
        return self.snoozes + daily, moves, clears
