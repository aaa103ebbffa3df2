"""Group challenges: a server (or group) does a short hip routine every day for N days, together.

Platform-neutral: adapters hand in `Incoming(command="challenge", args=..., options=...)` or a pressed
"ch:" button with `space` (server / group), `channel` and `organiser` set. `Challenges` is what the coach
calls: the commands and buttons here; the rules (rules.py), reading `start` (parsing.py) and the posts
with their tick (posts.py) live beside it. Posts go out through the shared Dispatcher (delivery.py).

Rules (docs/challenges.md):
- An organiser (the platform says so: Incoming.organiser) starts one; one active (scheduled or running)
  challenge per channel. 3 to 60 days; post time and time zone required (the organiser's saved zone is
  used when none is given); level beginner (default) or intermediate; day 1 is today if the post time
  is still ahead, else tomorrow, unless a start date is given.
- Day n is the local date start + n - 1 in the challenge's time zone. A check-in counts once per member
  per day; until 01:00 local the previous day can still be caught up (if it is not done and today is
  not done either), as for personal streaks. Checking in joins you.
- "Finished" means checked in on at least 80% of the days the challenge ran (24 of 30, 12 of 14, 6 of 7).
- Leaderboard: most days done first; a tie goes to whoever reached that number first (the time of the
  check-in that brought them to it), then by member key so the order is total.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.content import Content, Routine
from bot.core.delivery import Dispatcher, Sender
from bot.core.localtime import fire_instant, zone
from bot.core.messages import Button, Reply, rows
from bot.core.ports import Challenge, Participant, PostPlan, Repository, system_clock
from bot.core.schedule_text import format_time, resolve_timezone

from . import rules
from .parsing import StartRequest, has_start_options, parse_start, start_request, wanted_id
from .posts import PREFIX, ChallengePosts, PostStats
from .rules import (
    FINISH_SHARE,
    MAX_AHEAD,
    MAX_DAYS,
    MIN_DAYS,
    SUGGESTED_DAYS,
    finish_days,
    plural,
    short_date,
)
from .views import ChallengeViews

log = logging.getLogger(__name__)

SUBCOMMANDS = ("start", "join", "leave", "done", "leaderboard", "status", "list", "end", "cancel")
_IMAGE_WORDS = {"image", "png", "picture", "image=true"}


class Challenges:
    def __init__(
        self,
        content: Content,
        repo: Repository,
        delivery: dict[str, Sender] | Dispatcher | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """`delivery`: the app's Dispatcher (shared with reminders), or just the senders (a dispatcher of
        its own is made for them)."""
        self.content = content
        self.repo = repo
        if not isinstance(delivery, Dispatcher):
            delivery = Dispatcher(delivery if delivery is not None else {}, repo, system_clock, sleep=sleep)
        self.dispatcher = delivery
        self.senders = delivery.senders
        self.posts = ChallengePosts(content, repo, delivery)
        self.views = ChallengeViews(content, repo)
        self.msg = content.messages

    # -- the posts and the rules, as the coach, the app and the tests know them ----------------

    async def tick(self, now: datetime) -> PostStats:
        return await self.posts.tick(now)

    def plan(self, c: Challenge, now: datetime) -> PostPlan:
        return self.posts.plan(c, now)

    def post_at(self, c: Challenge, day: int) -> datetime:
        return self.posts.post_at(c, day)

    def routine_for_day(self, c: Challenge, day: int) -> Routine:
        return self.posts.routine_for_day(c, day)

    async def daily_post(self, c: Challenge, day: int, late: timedelta | None = None) -> list[Reply]:
        return await self.posts.daily_post(c, day, late)

    async def summary(self, c: Challenge) -> list[Reply]:
        return await self.posts.summary(c)

    day_number = staticmethod(rules.day_number)
    finish_days = staticmethod(rules.finish_days)

    def checkin_day(self, c: Challenge, now: datetime, last_day: int | None) -> int:
        return rules.checkin_day(c, now, last_day)

    def current_streak(self, c: Challenge, p: Participant, now: datetime) -> int:
        return rules.current_streak(c, p, now)

    def percent(self, c: Challenge, p: Participant, now: datetime) -> int:
        return rules.percent(c, p, now)

    async def list(self, turn) -> list[Reply]:
        return await self.views.list(turn)

    async def status(self, turn, c: Challenge) -> list[Reply]:
        return await self.views.status(turn, c)

    async def leaderboard(self, turn, c: Challenge, image: bool = False) -> list[Reply]:
        return await self.views.leaderboard(turn, c, image)

    # -- commands ----------------------------------------------------------------------------

    async def command(self, turn, args: str, options: Mapping[str, object] | None = None) -> list[Reply]:
        """`/challenge <sub> ...`; `options` are the typed options a platform's command form filled in
        (Discord's `days: int`, a channel id); free text stays in `args`, as typed in chat."""
        sub, _, rest = (args or "").strip().partition(" ")
        sub = sub.lower().lstrip("/")
        rest = rest.strip()
        options = options or {}
        if sub == "start":
            return await self.start(turn, rest, options)
        if sub == "list":
            return await self.list(turn)
        if sub in SUBCOMMANDS:
            # "leaderboard image" (or the typed image option) adds the board as a PNG
            words_in = set(rest.lower().split())
            wants_image = sub == "leaderboard" and (bool(_IMAGE_WORDS & words_in) or options.get("image") is True)
            if sub == "leaderboard":
                rest = " ".join(w for w in rest.split() if w.lower() not in _IMAGE_WORDS)
            c, problem = await self._find(turn, rest, running=sub not in ("leaderboard", "status"))
            if c is None:
                return problem
            if sub == "join":
                return await self.join(turn, c)
            if sub == "leave":
                return await self.leave(turn, c)
            if sub == "done":
                return await self.done(turn, c)
            if sub == "leaderboard":
                return await self.leaderboard(turn, c, image=wants_image)
            if sub == "status":
                return await self.status(turn, c)
            return await self.stop(turn, c, summary=sub == "end")
        return [self.help()]

    def help(self) -> Reply:
        return Reply(
            self.msg["challenge_help"].format(min=MIN_DAYS, max=MAX_DAYS, share=int(FINISH_SHARE * 100)),
            topic="challenge",
        )

    async def start(self, turn, args: str, options: Mapping[str, object] | None = None) -> list[Reply]:
        incoming = turn.incoming
        if not incoming.space:
            return [Reply(self.msg["challenge_private"], topic="challenge")]
        if not incoming.organiser:
            return [Reply(self.msg["challenge_not_organiser"], topic="challenge")]
        typed = has_start_options(options)
        if not args and not typed:
            return [self.help()]
        request = start_request(options) if typed else parse_start(args)
        zone_name = request.timezone or turn.profile.timezone
        zone_text = str(options.get("timezone") or "") if typed else args
        problem = self._start_problem(request, zone_name, zone_text)
        if problem is not None:
            return [Reply(problem, topic="challenge")]
        days = request.days or 30
        channel = request.channel or incoming.channel
        if not channel:
            return [Reply(self.msg["challenge_private"], topic="challenge")]
        if channel != incoming.channel and incoming.space == incoming.channel:
            # A space that is itself the only channel (a Telegram group): any other id is another group,
            # where this organiser has no say. (Discord's channel option only offers this server's channels.)
            return [Reply(self.msg["challenge_bad_channel"], topic="challenge")]
        tz = zone(zone_name)
        today = turn.now.astimezone(tz).date()
        start = request.start or (today + timedelta(days=1) if request.start_word == "tomorrow" else today)
        if start < today:
            return [Reply(self.msg["challenge_past_date"].format(today=today.isoformat()), topic="challenge")]
        if start > today + MAX_AHEAD:
            return [Reply(self.msg["challenge_far_date"].format(days=MAX_AHEAD.days), topic="challenge")]
        if start == today and fire_instant(today, request.at, tz) <= turn.now:
            start = today + timedelta(days=1)  # today's post time has passed: day 1 is tomorrow
        name = request.name or self.msg["challenge_default_name"].format(days=days)
        challenge = Challenge(
            id=0,
            platform=incoming.platform,
            space=incoming.space,
            channel=channel,
            name=name,
            days=days,
            at=request.at,
            timezone=zone_name,
            level=request.level,
            start_date=start,
            organiser_key=incoming.user_key,
            organiser_chat=incoming.chat_id if incoming.private else incoming.user_id,
            next_post_day=1,
            next_post_utc=fire_instant(start, request.at, tz),
        )
        added = await self.repo.add_challenge(challenge, turn.now)
        if added is None:
            return [Reply(self.msg["challenge_channel_busy"], topic="challenge")]
        log.info("event=challenge_started challenge=%d platform=%s days=%d", added.id, added.platform, days)
        kickoff = Reply(
            self.msg["challenge_kickoff"].format(
                name=name,
                days=days,
                time=format_time(added.at),
                zone=zone_name,
                start=short_date(start),
                level=added.level,
                need=finish_days(added, days),
                share=int(FINISH_SHARE * 100),
            ),
            rows(Button(self.msg["challenge_join_button"], f"{PREFIX}:j:{added.id}")),
            card=True,
            channel=channel,
            topic="challenge",
        )
        if channel == incoming.channel:
            return [kickoff]
        confirm = self.msg["challenge_started_elsewhere"].format(name=name, start=short_date(start))
        return [Reply(confirm, topic="challenge"), kickoff]

    def _start_problem(self, request: StartRequest, zone_name: str | None, args: str) -> str | None:
        example = self.msg["challenge_start_example"]
        if request.problem == "bad_zone" or (zone_name is None and request.problem is None and request.at):
            _, suggestions = resolve_timezone(args)
            zones = " or ".join(suggestions[:3])
            hint = self.msg["challenge_zone_did_you_mean"].format(zones=zones) if suggestions else ""
            return self.msg["challenge_need_zone"] + hint + "\n" + example
        if request.problem:
            return self.msg[f"challenge_{request.problem}"] + "\n" + example
        if request.days is not None and not MIN_DAYS <= request.days <= MAX_DAYS:
            return self.msg["challenge_bad_days"].format(
                min=MIN_DAYS, max=MAX_DAYS, suggested=", ".join(map(str, SUGGESTED_DAYS))
            )
        if request.at is None:
            return self.msg["challenge_need_time"] + "\n" + example
        return None

    async def join(self, turn, c: Challenge) -> list[Reply]:
        if c.status != "active":
            return [Reply(self.msg["challenge_over"].format(name=c.name), topic="challenge")]
        today = self.day_number(c, turn.now)
        if today > c.days:
            return [Reply(self.msg["challenge_over"].format(name=c.name), topic="challenge")]
        outcome = await self.repo.join_challenge(
            c.id, turn.incoming.user_key, self._display_name(turn), max(1, today), turn.now
        )
        text = self.msg[f"challenge_{outcome}"].format(name=c.name)
        if outcome != "already" and today < 1:
            text += " " + self.msg["challenge_starts_on"].format(
                start=short_date(c.start_date), time=format_time(c.at), zone=c.timezone
            )
        return [Reply(text, topic="challenge")]

    async def leave(self, turn, c: Challenge) -> list[Reply]:
        if await self.repo.leave_challenge(c.id, turn.incoming.user_key, turn.now):
            return [Reply(self.msg["challenge_left"].format(name=c.name), topic="challenge")]
        return [Reply(self.msg["challenge_not_in"].format(name=c.name), self.views.join_button(c), topic="challenge")]

    async def done(self, turn, c: Challenge) -> list[Reply]:
        if c.status != "active":
            return [Reply(self.msg["challenge_over"].format(name=c.name), topic="challenge")]
        user_key = turn.incoming.user_key
        member = await self.repo.get_participant(c.id, user_key)
        today = self.day_number(c, turn.now)
        day = self.checkin_day(c, turn.now, member.last_day if member else None)
        if day < 1:
            text = self.msg["challenge_not_started"].format(name=c.name, start=short_date(c.start_date))
            return [Reply(text, topic="challenge")]
        if day > c.days:
            return [Reply(self.msg["challenge_over"].format(name=c.name), topic="challenge")]
        counted, joined, member = await self.repo.challenge_check_in(
            c.id, user_key, self._display_name(turn), day, max(1, min(today, c.days)), turn.now
        )
        if not counted:
            return [Reply(self.msg["challenge_done_again"].format(day=day, days=c.days), topic="challenge")]
        lines = []
        if joined:
            lines.append(self.msg["challenge_auto_joined"].format(name=c.name))
        key = "challenge_done_yesterday" if day < today else "challenge_done"
        lines.append(
            self.msg[key].format(
                day=day,
                days=c.days,
                name=c.name,
                done=member.days_done,
                streak=member.streak,
                s=plural(member.days_done),
            )
        )
        if day == c.days:
            lines.append(self.msg["challenge_done_last"])
        return [Reply("\n".join(lines), topic="challenge")]

    async def stop(self, turn, c: Challenge, summary: bool) -> list[Reply]:
        """`end` (summary posted now) or `cancel` (no summary), for organisers or whoever started it."""
        incoming = turn.incoming
        if not (incoming.organiser or (c.organiser_key and c.organiser_key == incoming.user_key)):
            return [Reply(self.msg["challenge_not_organiser_end"], topic="challenge")]
        today = self.day_number(c, turn.now)
        if summary and today < 1:
            summary = False  # nothing happened yet: ending it is cancelling it
        final_day = max(1, min(today, c.days))
        status = "ended" if summary else "cancelled"
        if not await self.repo.change_challenge(c.id, "active", status, final_day if summary else None, turn.now):
            return [Reply(self.msg["challenge_over"].format(name=c.name), topic="challenge")]
        log.info("event=challenge_%s challenge=%d", status, c.id)
        if summary:
            ended = replace(c, status="ended", final_day=final_day)
            post = replace((await self.summary(ended))[0], channel=c.channel)
            confirm = Reply(self.msg["challenge_ended"].format(name=c.name), topic="challenge")
        else:
            post = Reply(self.msg["challenge_cancel_post"].format(name=c.name), channel=c.channel, topic="challenge")
            confirm = Reply(self.msg["challenge_cancelled"].format(name=c.name), topic="challenge")
        return [post] if c.channel == incoming.channel else [confirm, post]

    # -- buttons -----------------------------------------------------------------------------

    async def button(self, turn, rest: str) -> list[Reply]:
        """'j:<id>' join, 'd:<id>:<day>' done, 'b:<id>' leaderboard; anything forged or foreign is expired."""
        parts = rest.split(":")
        expired = [Reply(self.msg["expired_button"])]
        if len(parts) not in (2, 3) or not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts[1:]):
            return expired
        c = await self.repo.get_challenge(int(parts[1]))
        if c is None or not await self._visible(turn, c):
            return expired
        kind = parts[0]
        if kind == "j" and len(parts) == 2:
            return await self.join(turn, c)
        if kind == "b" and len(parts) == 2:
            return await self.leaderboard(turn, c)
        if kind == "d" and len(parts) == 3:
            day = int(parts[2])
            if not 1 <= day <= c.days or day > self.day_number(c, turn.now):
                return expired  # no post of that day exists (yet): forged
            return await self.done(turn, c)
        return expired

    # -- finding the challenge a command is about ---------------------------------------------

    async def _visible(self, turn, c: Challenge) -> bool:
        """Only a challenge of this space; in a private chat, only one the person is in."""
        incoming = turn.incoming
        if c.platform != incoming.platform:
            return False
        if incoming.space:
            return c.space == incoming.space
        member = await self.repo.get_participant(c.id, incoming.user_key)
        return member is not None and member.status == "in"

    async def _find(self, turn, rest: str, running: bool) -> tuple[Challenge | None, list[Reply]]:
        incoming = turn.incoming
        none = [Reply(self.msg["challenge_none_here"], topic="challenge")]
        wanted = wanted_id(rest)
        if wanted is not None:
            c = await self.repo.get_challenge(wanted) if wanted is not False else None
            if c is None or not await self._visible(turn, c):
                return None, none
            return c, []
        if incoming.space:
            found = await self.repo.challenges_in(incoming.platform, incoming.space)
        else:
            found = await self.repo.challenges_joined(incoming.platform, incoming.user_key)
        active = [c for c in found if c.status == "active"]
        here = [c for c in active if c.channel == incoming.channel]
        if here:
            return here[0], []
        if len(active) == 1:
            return active[0], []
        if len(active) > 1:
            names = ", ".join(f"#{c.id} {c.name}" for c in active[:5])
            return None, [Reply(self.msg["challenge_several"].format(names=names), topic="challenge")]
        past = [c for c in found if c.status != "cancelled"]
        recent = [c for c in past if c.channel == incoming.channel] or past
        if recent and not running:
            return recent[0], []
        if recent and recent[0].channel == incoming.channel:
            return None, [Reply(self.msg["challenge_over"].format(name=recent[0].name), topic="challenge")]
        return None, none

    def _display_name(self, turn) -> str:
        name = " ".join(turn.incoming.display_name.split())[:40]
        return name or self.msg["challenge_member_name"].format(tail=turn.incoming.user_id[-4:])
