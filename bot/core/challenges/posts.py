"""What a challenge posts in its channel (the daily post, the final summary) and the tick that plans them.

Posts come from the database: each is claimed in a post log (UNIQUE challenge/day/kind) in the same
transaction that moves next_post_utc on, then handed to the shared Dispatcher as a job of the
ChallengePosts kind, which records outcomes in the post log. A RETRY is tried again on a later tick
(from the post log, with backoff); a daily post more than LATE_WINDOW late is skipped, the summary is
always posted, once. A channel that is gone (BLOCKED) stops the challenge and tells its organiser.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.core.content import Content, Routine
from bot.core.delivery import (
    CLAIM_LEASE,
    LATE_WINDOW,
    RETRY,
    TICK_BATCH,
    Dispatcher,
    DispatchStats,
    Job,
    RetryPolicy,
    Target,
)
from bot.core.localtime import fire_instant, zone
from bot.core.messages import Button, Reply, rows
from bot.core.ports import Challenge, PostPlan, Repository
from bot.core.reminders import GOAL_ROTATION

from .rules import FINISHERS_NAMED, finish_days, plural

log = logging.getLogger(__name__)

PREFIX = "ch"  # button data: ch:j:<id> join, ch:d:<id>:<day> done, ch:b:<id> leaderboard
STOPPED_NOTICE = "challenge_stopped"
MAX_POST_ATTEMPTS = 8
# Posts are retried on later ticks (the post log keeps the attempt count): 1, 2, 4 ... minutes, then given up.
POST_RETRY = RetryPolicy(max_attempts=MAX_POST_ATTEMPTS, first_wait=60.0, wait_here=0.0)

PostStats = DispatchStats  # what one tick did: sent, retry (left for a later tick), failed, blocked, missed


class ChallengePosts:
    """The daily post, the summary, and the tick; also the job kind of a channel post."""

    retry = POST_RETRY
    metered = False  # the delivery metrics count personal reminders (hipcoach_reminders_total)

    def __init__(self, content: Content, repo: Repository, dispatcher: Dispatcher) -> None:
        self.content = content
        self.repo = repo
        self.dispatcher = dispatcher
        self.msg = content.messages
        self.notices = OrganiserNotices()

    # -- what posts say ------------------------------------------------------------------------

    def routine_for_day(self, c: Challenge, day: int) -> Routine:
        """Short first (5 min in the first third), longer later (10, then 15 min); the goal rotates daily."""
        share = (day - 1) / c.days
        minutes = 5 if share < 1 / 3 else 10 if share < 2 / 3 else 15
        goal = GOAL_ROTATION[(day - 1) % len(GOAL_ROTATION)]
        return self.content.routine_for(goal, c.level, minutes)

    async def daily_post(self, c: Challenge, day: int, late: timedelta | None = None) -> list[Reply]:
        routine = self.routine_for_day(c, day)
        lines = [self.msg["challenge_day_head"].format(name=c.name, day=day, days=c.days)]
        if day == 1:
            lines.append(self.msg["challenge_day_first"])
        elif day == c.days:
            lines.append(self.msg["challenge_day_last"])
        numbers = await self.repo.challenge_numbers(c.id, day - 1, day - 1)
        if day > 1 and numbers.eligible:
            rate = round(100 * min(numbers.done_on_day, numbers.eligible) / numbers.eligible)
            lines.append(
                self.msg["challenge_yesterday"].format(
                    done=f"{numbers.done_on_day:,}", of=f"{numbers.eligible:,}", rate=rate
                )
            )
        if day == c.days // 2 + 1 and day > 1:
            lines.append(self.msg["challenge_halfway"].format(perfect=f"{numbers.perfect:,}", done=day - 1))
        if late and late >= timedelta(minutes=5):
            lines.append(self.msg["challenge_late"].format(minutes=int(late.total_seconds() // 60)))
        lines.append(self.msg["challenge_today"].format(title=routine.title, minutes=routine.minutes))
        for i, step in enumerate(routine.steps, 1):
            lines.append(f"{i}. {self.content.exercises[step.exercise].name}: {step.dose}")
        lines.append(self.msg["challenge_day_foot"])
        buttons = rows(
            Button(self.msg["challenge_done_button"], f"{PREFIX}:d:{c.id}:{day}"),
            Button(self.msg["challenge_join_button"], f"{PREFIX}:j:{c.id}"),
            Button(self.msg["challenge_board_button"], f"{PREFIX}:b:{c.id}"),
        )
        return [Reply("\n".join(lines), buttons, card=True, channel=c.channel, topic="challenge")]

    async def summary(self, c: Challenge) -> list[Reply]:
        ran = c.final_day or c.days
        need = finish_days(c, ran)
        numbers = await self.repo.challenge_numbers(c.id, ran, need)
        head_key = "challenge_final_head" if c.status == "finished" else "challenge_final_ended"
        lines = [self.msg[head_key].format(name=c.name, ran=ran, days=c.days)]
        if numbers.participants == 0:
            lines.append(self.msg["challenge_final_nobody"])
            return [Reply("\n".join(lines), card=True, channel=c.channel, topic="challenge")]
        rate = round(100 * numbers.days_done / numbers.possible) if numbers.possible else 0
        lines.append(
            self.msg["challenge_final_numbers"].format(
                members=f"{numbers.participants:,}",
                s=plural(numbers.participants),
                checkins=f"{numbers.days_done:,}",
                rate=min(rate, 100),
            )
        )
        finishers = await self.repo.finishers(c.id, need, FINISHERS_NAMED)
        if finishers:
            names = ", ".join(f"{p.display_name} ({p.days_done}/{ran})" for p in finishers)
            more = numbers.perfect - len(finishers)
            if more > 0:
                names += " " + self.msg["challenge_final_more"].format(more=f"{more:,}")
            lines.append(self.msg["challenge_final_finishers"].format(count=f"{numbers.perfect:,}", need=need, ran=ran))
            lines.append(names)
        else:
            lines.append(self.msg["challenge_final_none"].format(need=need, ran=ran))
        if numbers.best is not None:
            lines.append(
                self.msg["challenge_final_streak"].format(name=numbers.best.display_name, days=numbers.best.best_streak)
            )
        lines.append(self.msg["challenge_final_thanks"])
        return [Reply("\n".join(lines), card=True, channel=c.channel, topic="challenge")]

    async def post_replies(self, c: Challenge, day: int, kind: str, late: timedelta) -> list[Reply]:
        if kind == "final":
            return await self.summary(replace(c, status="finished", final_day=c.days))
        return await self.daily_post(c, day, late)

    # -- the tick ------------------------------------------------------------------------------

    def post_at(self, c: Challenge, day: int) -> datetime:
        """The UTC instant of day `day`'s post (day days + 1 is the summary), DST-correct."""
        return fire_instant(c.start_date + timedelta(days=day - 1), c.at, zone(c.timezone))

    def plan(self, c: Challenge, now: datetime) -> PostPlan:
        """The latest post due at `now`; posts before it that were never sent (downtime) are missed."""
        day, at = c.next_post_day, c.next_post_utc or self.post_at(c, c.next_post_day)
        missed = []
        while day <= c.days:
            following = self.post_at(c, day + 1)
            if following > now:
                break
            missed.append((day, at))
            day, at = day + 1, following
        if day > c.days:
            return PostPlan(c, tuple(missed), c.days + 1, "final", at, "claimed", c.days + 1, None, "finished")
        status = "missed" if now - at > LATE_WINDOW else "claimed"
        return PostPlan(c, tuple(missed), day, "daily", at, status, day + 1, self.post_at(c, day + 1), "active")

    async def tick(self, now: datetime) -> PostStats:
        """Post everything due at `now`. Safe to run in several processes at once (see the module doc)."""
        jobs, missed = await self._resend_jobs(now)
        # Taken, planned and claimed in one transaction (disjoint challenges per process on PostgreSQL).
        plans, claimed = await self.repo.claim_due_challenge_posts(now, TICK_BATCH, lambda c: self.plan(c, now))
        for plan in plans:
            missed += len(plan.missed) + (plan.status == "missed")
            post_id = claimed.get(plan.challenge.id)
            if post_id is None:
                if plan.status == "missed":
                    log.info("event=challenge_post_missed challenge=%d day=%d", plan.challenge.id, plan.day)
                continue
            replies = await self.post_replies(plan.challenge, plan.day, plan.kind, now - plan.scheduled)
            jobs.append(self._job(post_id, plan.challenge, plan.day, plan.kind, plan.scheduled, 0, replies))
        stats = await self.dispatcher.deliver(jobs, now) if jobs else PostStats()
        stats.missed += missed
        return stats

    def _job(
        self, post_id: int, c: Challenge, day: int, kind: str, scheduled: datetime, attempts: int, replies: list[Reply]
    ) -> Job:
        target = Target(c.platform, c.channel, c.organiser_key or "", channel=True)
        deadline = scheduled + LATE_WINDOW if kind == "daily" else None  # the summary is always posted
        return Job(post_id, target, replies, scheduled, self, attempts, deadline, (c, day, kind))

    async def _resend_jobs(self, now: datetime) -> tuple[list[Job], int]:
        """RETRY outcomes whose backoff is over, and claims a dead process never finished; (jobs, given up)."""
        jobs, given_up = [], 0
        for post in await self.repo.resendable_posts(now, now - CLAIM_LEASE):
            c = await self.repo.get_challenge(post.challenge_id)
            too_late = post.kind == "daily" and now - post.scheduled_utc > LATE_WINDOW
            wrong_state = c is None or (post.kind == "daily" and c.status != "active")
            if too_late or wrong_state or POST_RETRY.exhausted(post.attempts):
                await self.repo.give_up_post(post, "failed", now)
                given_up += 1
                continue
            if not await self.repo.reclaim_post(post, now):
                continue
            replies = await self.post_replies(c, post.day, post.kind, now - post.scheduled_utc)
            attempts = post.attempts + (post.status == "claimed")
            jobs.append(self._job(post.id, c, post.day, post.kind, post.scheduled_utc, attempts, replies))
            log.info("event=challenge_post_retry post=%d attempts=%d", post.id, attempts)
        return jobs, given_up

    # -- the job kind: what an outcome means for a channel post ---------------------------------

    def key(self, job: Job) -> str:
        return f"c{job.delivery_id}"

    async def finished(self, job: Job, status: str, attempts: int, late_seconds: int, error, now) -> None:
        await self.repo.finish_challenge_post(job.delivery_id, status, error, now)
        c, day, kind = job.about
        log.info("event=challenge_post challenge=%d day=%d kind=%s status=%s error=%s", c.id, day, kind, status, error)

    async def later(self, job: Job, attempts: int, retry_at: datetime, error, now) -> None:
        await self.repo.finish_challenge_post(job.delivery_id, RETRY, error, now, retry_at)
        c, day, kind = job.about
        log.info("event=challenge_post challenge=%d day=%d kind=%s status=retry error=%s", c.id, day, kind, error)

    async def unreachable(self, job: Job, now: datetime) -> list[Job]:
        """The channel is gone or we may not post there: stop the challenge and tell whoever started it."""
        c = job.about[0]
        stopped = await self.repo.change_challenge(c.id, "active", "stopped", None, now)
        if not stopped and c.status == "active":
            return []  # another process already stopped it (and told them)
        log.warning("event=challenge_stopped challenge=%d reason=channel_unreachable", c.id)
        if not c.organiser_key:
            return []
        await self.repo.set_notice(c.organiser_key, STOPPED_NOTICE)
        if not c.organiser_chat:
            return []
        text = self.msg["challenge_stopped_dm"].format(name=c.name)
        target = Target(c.platform, c.organiser_chat, c.organiser_key)
        return [Job(c.id, target, [Reply(text, topic="challenge")], now, self.notices)]


class OrganiserNotices:
    """The kind of a one-off notice to an organiser: retried like any message, with no log of its own
    (the stored notice tells them when they next write anyway)."""

    retry = None
    metered = False

    def key(self, job: Job) -> str:
        return f"cs{job.delivery_id}"

    async def finished(self, job: Job, status: str, attempts: int, late_seconds: int, error, now) -> None:
        if status != "sent":
            log.warning("event=challenge_organiser_unreachable challenge=%d error=%s", job.delivery_id, error)

    async def later(self, job: Job, attempts: int, retry_at: datetime, error, now) -> None:
        log.warning("event=challenge_organiser_unreachable challenge=%d error=%s", job.delivery_id, error)

    async def unreachable(self, job: Job, now: datetime) -> list[Job]:
        return []
