"""Group challenges: a server (or group) does a short hip routine every day for N days, together.

Platform-neutral: adapters hand in `Incoming(command="challenge", args=...)` or a pressed "ch:" button
with `space` (server / group), `channel` and `organiser` set, and send what `tick` produces through the
same Sender port reminders use (a channel target).

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
- Posts (daily, and the final summary the day after the last day) come from the database through tick():
  claimed in a post log (UNIQUE challenge/day/kind) in the same transaction that moves next_post_utc on.
  A daily post more than LATE_WINDOW late is skipped; the summary is always posted, once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.core.content import LEVELS_OF_SKILL, Content, Routine
from bot.core.delivery import BLOCKED, FAILED, RETRY, SENT, UNAVAILABLE, Sender, SendResult, Target
from bot.core.localtime import fire_instant, zone
from bot.core.messages import Button, Reply, rows
from bot.core.picture import leaderboard_png
from bot.core.ports import Challenge, Participant, PostPlan, Repository
from bot.core.reminders import GOAL_ROTATION
from bot.core.schedule_text import format_time, parse_time, resolve_timezone
from bot.core.streaks import checkin_day

log = logging.getLogger(__name__)

PREFIX = "ch"  # button data: ch:j:<id> join, ch:d:<id>:<day> done, ch:b:<id> leaderboard
SUBCOMMANDS = ("start", "join", "leave", "done", "leaderboard", "status", "list", "end", "cancel")
MIN_DAYS, MAX_DAYS = 3, 60
SUGGESTED_DAYS = (7, 14, 30)
FINISH_SHARE = 0.8
MAX_AHEAD = timedelta(days=90)  # latest start date
MAX_NAME = 60
LEADERBOARD_SIZE = 10
FINISHERS_NAMED = 40  # a summary names this many finishers, then "and N more"
LATE_WINDOW = timedelta(hours=2)
CLAIM_LEASE = timedelta(minutes=5)
MAX_POST_ATTEMPTS = 8  # retried on later ticks with backoff (1, 2, 4 ... minutes); then given up
TICK_BATCH = 1000
MAX_IN_FLIGHT = 8
STOPPED_NOTICE = "challenge_stopped"

_TOKEN = re.compile(r'(?P<key>[A-Za-z_]+)=(?:"(?P<qv>[^"]*)"?|(?P<v>\S*))|"(?P<q>[^"]*)"?|(?P<w>\S+)')
_KEYS = {
    "name": "name",
    "days": "days",
    "time": "time",
    "at": "time",
    "timezone": "timezone",
    "zone": "timezone",
    "tz": "timezone",
    "channel": "channel",
    "level": "level",
    "start": "start",
    "start_date": "start",
    "date": "start",
    "id": "id",
}
_DAYS = re.compile(r"^(\d{1,3})(?:d|days?)?$", re.I)
_DAYS_WORD = re.compile(r"^(?:d|days?)$", re.I)
_CLOCK = re.compile(r"^(?:[01]?\d|2[0-3])(?::|h|\.)[0-5]\d$|^(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*(?:am|pm)$", re.I)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHANNEL = re.compile(r"^(?:<#)?(\d{1,24})>?$")
_CHANNEL_ID = re.compile(r"^[A-Za-z0-9_:@.-]{1,64}$")
_ID = re.compile(r"^#?(\d{1,12})$")
_FILLER = frozenset("at for in on from starting start called named every each daily a the of with zone time".split())
_LEVEL_WORDS = {"beginner": "beginner", "beginners": "beginner", "intermediate": "intermediate"}


@dataclass(frozen=True)
class StartRequest:
    name: str | None = None
    days: int | None = None
    at: time | None = None
    timezone: str | None = None
    channel: str | None = None
    level: str = "beginner"
    start: date | None = None
    start_word: str | None = None  # "today" / "tomorrow"
    problem: str | None = None


@dataclass
class PostStats:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    blocked: int = 0
    missed: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Job:
    post_id: int
    challenge: Challenge
    day: int
    kind: str
    scheduled: datetime
    attempts: int
    replies: list[Reply]


def tokens(text: str) -> list[tuple[str | None, str]]:
    """('key', value) for key=value (quotes allowed), (None, word) otherwise; quoted words stay whole."""
    out: list[tuple[str | None, str]] = []
    for m in _TOKEN.finditer(text):
        if m["key"] is not None:
            key = _KEYS.get(m["key"].lower())
            value = m["qv"] if m["qv"] is not None else (m["v"] or "")
            if key:
                out.append((key, value.strip()))
            else:
                out.extend((None, w) for w in m[0].split())
        elif m["q"] is not None:
            out.append(("quoted", m["q"].strip()))
        else:
            out.append((None, m["w"]))
    return out


def parse_start(args: str) -> StartRequest:
    """Canonical `key=value` (Discord) or free text (`30 days 07:00 Berlin 30-day hips`), or a mix."""
    fields: dict[str, Any] = {}
    words: list[str] = []
    quoted: list[str] = []
    for key, value in tokens(args[:500]):
        if key is None:
            words.append(value)
        elif key == "quoted":
            quoted.append(value)
        else:
            fields[key] = value
    used = [False] * len(words)
    low = [w.lower().strip(",;") for w in words]

    def take(i: int) -> None:
        used[i] = True
        if i > 0 and not used[i - 1] and low[i - 1] in _FILLER:
            used[i - 1] = True

    for i, w in enumerate(low):
        if used[i]:
            continue
        if "days" not in fields:
            m = _DAYS.match(w)
            if m and (w != m[1] or (i + 1 < len(low) and _DAYS_WORD.match(low[i + 1]))):
                fields["days"] = m[1]
                take(i)
                if w == m[1]:
                    used[i + 1] = True
                continue
        if "time" not in fields and _CLOCK.match(w):
            fields["time"] = w
            take(i)
            continue
        if "time" not in fields and i + 1 < len(low) and low[i + 1] in ("am", "pm") and w.isdigit():
            fields["time"] = w + low[i + 1]
            take(i)
            used[i + 1] = True
            continue
        if "start" not in fields and (_ISO_DATE.match(w) or w in ("today", "tomorrow")):
            fields["start"] = w
            take(i)
            continue
        if w in _LEVEL_WORDS and "level" not in fields:
            fields["level"] = w
            take(i)
            continue
        if "channel" not in fields and w.startswith("<#") and _CHANNEL.match(w):
            fields["channel"] = w
            take(i)
    if "timezone" not in fields:
        # The leftmost zone, longest spelling first ("new york" before "york"); its words leave the name.
        for i in range(len(words)):
            found = False
            for n in (3, 2, 1):
                span = range(i, i + n)
                if i + n > len(words) or any(used[j] for j in span):
                    continue
                candidate = " ".join(words[j] for j in span)
                if not re.search(r"[A-Za-z]", candidate):
                    continue
                name, _ = resolve_timezone(candidate)
                if name:
                    fields["timezone"] = name
                    for j in span:
                        take(j)
                    found = True
                    break
            if found:
                break
    rest = " ".join(w for w, u in zip(words, used, strict=True) if not u).strip(" ,;:-")
    if "name" not in fields:
        fields["name"] = " ".join(quoted) or rest
    return _validate(fields)


def _validate(fields: dict[str, Any]) -> StartRequest:
    problem = None
    days = None
    if fields.get("days"):
        m = re.fullmatch(r"(\d{1,3})", str(fields["days"]).strip())
        days = int(m[1]) if m else -1
    at = None
    if fields.get("time"):
        at = parse_time(str(fields["time"]))
        if at is None:
            problem = "bad_time"
    zone_name = None
    if fields.get("timezone"):
        zone_name, _ = resolve_timezone(str(fields["timezone"]))
        if zone_name is None:
            problem = problem or "bad_zone"
    channel = None
    if fields.get("channel"):
        m = _CHANNEL.match(fields["channel"])
        channel = m[1] if m else (fields["channel"] if _CHANNEL_ID.match(fields["channel"]) else None)
        if channel is None:
            problem = problem or "bad_channel"
    level = str(fields.get("level") or "beginner").lower()
    level = _LEVEL_WORDS.get(level, level)
    if level not in LEVELS_OF_SKILL:
        problem = problem or "bad_level"
    start, start_word = None, None
    raw_start = str(fields.get("start") or "").lower()
    if raw_start in ("today", "tomorrow"):
        start_word = raw_start
    elif raw_start:
        try:
            start = date.fromisoformat(raw_start)
        except ValueError:
            problem = problem or "bad_date"
    name = " ".join("".join(ch for ch in str(fields.get("name") or "") if ch.isprintable()).split())[:MAX_NAME]
    return StartRequest(name or None, days, at, zone_name, channel, level, start, start_word, problem)


def short_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


class Challenges:
    def __init__(
        self,
        content: Content,
        repo: Repository,
        senders: dict[str, Sender] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.content = content
        self.repo = repo
        self.senders = senders if senders is not None else {}
        self.sleep = sleep
        self.msg = content.messages

    # -- commands ----------------------------------------------------------------------------

    async def command(self, turn, args: str) -> list[Reply]:
        sub, _, rest = (args or "").strip().partition(" ")
        sub = sub.lower().lstrip("/")
        rest = rest.strip()
        if sub == "start":
            return await self.start(turn, rest)
        if sub == "list":
            return await self.list(turn)
        if sub in SUBCOMMANDS:
            # "leaderboard image" (Discord: the image option) adds the board as a PNG
            words_in = rest.lower().split()
            wants_image = sub == "leaderboard" and bool({"image", "png", "picture", "image=true"} & set(words_in))
            if wants_image:
                rest = " ".join(w for w in rest.split() if w.lower() not in {"image", "png", "picture", "image=true"})
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

    async def start(self, turn, args: str) -> list[Reply]:
        incoming = turn.incoming
        if not incoming.space:
            return [Reply(self.msg["challenge_private"], topic="challenge")]
        if not incoming.organiser:
            return [Reply(self.msg["challenge_not_organiser"], topic="challenge")]
        if not args:
            return [self.help()]
        request = parse_start(args)
        zone_name = request.timezone or turn.profile.timezone
        problem = self._start_problem(request, zone_name, args)
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
        name = request.name or f"{days}-day hip challenge"
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
                need=self.finish_days(added, days),
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
            hint = f" Did you mean {' or '.join(suggestions[:3])}?" if suggestions else ""
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

    async def list(self, turn) -> list[Reply]:
        incoming = turn.incoming
        if incoming.space:
            found = await self.repo.challenges_in(incoming.platform, incoming.space)
        else:
            found = await self.repo.challenges_joined(incoming.platform, incoming.user_key)
        if not found:
            return [Reply(self.msg["challenge_list_none"], topic="challenge")]
        lines = [self.msg["challenge_list_head"]]
        for c in found[:10]:
            lines.append(f"• #{c.id} {c.name}: {self._state_line(c, turn.now)}")
        return [Reply("\n".join(lines), topic="challenge", card=True)]

    def _state_line(self, c: Challenge, now: datetime) -> str:
        if c.status == "active":
            today = self.day_number(c, now)
            when = f"{format_time(c.at)} {c.timezone}"
            if today < 1:
                return self.msg["challenge_state_scheduled"].format(start=short_date(c.start_date), time=when)
            return self.msg["challenge_state_running"].format(day=min(today, c.days), days=c.days, time=when)
        return self.msg[f"challenge_state_{c.status}"]

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
        return [Reply(self.msg["challenge_not_in"].format(name=c.name), self._join_button(c), topic="challenge")]

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
                day=day, days=c.days, name=c.name, done=member.days_done, streak=member.streak, s=_s(member.days_done)
            )
        )
        if day == c.days:
            lines.append(self.msg["challenge_done_last"])
        return [Reply("\n".join(lines), topic="challenge")]

    async def status(self, turn, c: Challenge) -> list[Reply]:
        member = await self.repo.get_participant(c.id, turn.incoming.user_key)
        head = f"{c.name} · {self._state_line(c, turn.now)}"
        if member is None or member.status != "in":
            text = head + "\n" + self.msg["challenge_not_in"].format(name=c.name)
            buttons = self._join_button(c) if c.status == "active" else ()
            return [Reply(text, buttons, topic="challenge", card=True)]
        rank = await self.repo.participant_rank(member)
        members = await self.repo.member_count(c.id)
        today = self.day_number(c, turn.now)
        lines = [
            head,
            self.msg["challenge_status_line"].format(
                done=member.days_done,
                s=_s(member.days_done),
                streak=self.current_streak(c, member, turn.now),
                best=member.best_streak,
                percent=self.percent(c, member, turn.now),
                rank=f"{rank:,}",
                members=f"{members:,}",
            ),
        ]
        if c.status == "active" and 1 <= today <= c.days:
            lines.append(self.msg["challenge_today_done" if member.last_day == today else "challenge_today_open"])
        need = self.finish_days(c, c.final_day or c.days)
        lines.append(self.msg["challenge_finish_rule"].format(need=need, days=c.final_day or c.days))
        buttons = ()
        if c.status == "active" and 1 <= today <= c.days and member.last_day != today:
            buttons = rows(Button(self.msg["challenge_done_button"], f"{PREFIX}:d:{c.id}:{today}"))
        return [Reply("\n".join(lines), buttons, topic="challenge", card=True)]

    async def leaderboard(self, turn, c: Challenge, image: bool = False) -> list[Reply]:
        top = await self.repo.leaderboard(c.id, LEADERBOARD_SIZE)
        members = await self.repo.member_count(c.id)
        head = self.msg["challenge_board_head"].format(
            name=c.name, state=self._state_line(c, turn.now), members=f"{members:,}", s=_s(members)
        )
        if not top:
            return [Reply(head + "\n" + self.msg["challenge_board_empty"], self._join_button(c), card=True)]
        lines = [head]
        asker = turn.incoming.user_key
        ranked = list(enumerate(top, 1))
        for rank, p in ranked:
            lines.append(self._board_row(c, rank, p, turn.now, you=p.user_key == asker))
        if all(p.user_key != asker for p in top):
            me = await self.repo.get_participant(c.id, asker)
            if me is not None and me.status == "in":
                ranked.append((await self.repo.participant_rank(me), me))
                lines.append("…")
                lines.append(self._board_row(c, ranked[-1][0], me, turn.now, you=True))
        lines.append(self.msg["challenge_board_foot"])
        png = self._board_png(c, head, ranked, turn.now) if image else None
        return [Reply("\n".join(lines), topic="challenge", card=True, image=png)]

    def _board_png(self, c: Challenge, head: str, ranked: list[tuple[int, Participant]], now: datetime) -> bytes:
        rows = []
        for rank, p in ranked:
            percent = self.percent(c, p, now)
            right = f"{p.days_done} day{_s(p.days_done)}  streak {self.current_streak(c, p, now)}  {percent}%"
            rows.append((f"{rank:,}. {p.display_name}", right, percent / 100))
        return leaderboard_png(head, rows)

    def _board_row(self, c: Challenge, rank: int, p: Participant, now: datetime, you: bool) -> str:
        name = p.display_name + (" (you)" if you else "")
        return self.msg["challenge_board_row"].format(
            rank=f"{rank:,}",
            name=name,
            done=p.days_done,
            s=_s(p.days_done),
            streak=self.current_streak(c, p, now),
            percent=self.percent(c, p, now),
        )

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
        wanted = next((v for k, v in tokens(rest) if k == "id" or (k is None and _ID.match(v))), None)
        if wanted is not None:
            m = _ID.match(wanted)
            c = await self.repo.get_challenge(int(m[1])) if m else None
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

    # -- days, streaks, percentages -----------------------------------------------------------

    @staticmethod
    def day_number(c: Challenge, now: datetime) -> int:
        """Today's challenge day in its time zone (< 1 before it starts, > days after the last day)."""
        return (now.astimezone(zone(c.timezone)).date() - c.start_date).days + 1

    def checkin_day(self, c: Challenge, now: datetime, last_day: int | None) -> int:
        """The day a check-in at `now` counts for: today, or yesterday during the grace hour if it is open."""
        local = now.astimezone(zone(c.timezone))
        done = {c.start_date + timedelta(days=last_day - 1)} if last_day else set()
        day = (checkin_day(local, done) - c.start_date).days + 1
        today = (local.date() - c.start_date).days + 1
        return today if day < 1 <= today else day  # 00:30 on day 1: there is no day 0 to catch up

    @staticmethod
    def finish_days(c: Challenge, ran: int) -> int:
        return max(1, math.ceil(FINISH_SHARE * ran - 1e-9))

    def _elapsed(self, c: Challenge, p: Participant, now: datetime) -> tuple[int, int]:
        """(the reference day for streaks, days counted for the percentage)."""
        if c.status != "active":
            ran = c.final_day or c.days
            return ran + 1, max(1, ran - p.joined_day + 1)
        today = self.day_number(c, now)
        if today > c.days:
            return c.days + 1, max(1, c.days - p.joined_day + 1)
        counted = today if p.last_day == today else today - 1
        return today, max(0, counted - p.joined_day + 1)

    def current_streak(self, c: Challenge, p: Participant, now: datetime) -> int:
        reference, _ = self._elapsed(c, p, now)
        return p.streak if p.last_day is not None and p.last_day >= reference - 1 else 0

    def percent(self, c: Challenge, p: Participant, now: datetime) -> int:
        """Days done out of the days the member could have done so far (from the day they joined;
        today counts once it is done)."""
        _, possible = self._elapsed(c, p, now)
        return 0 if possible <= 0 else min(100, round(100 * p.days_done / possible))

    def _display_name(self, turn) -> str:
        name = " ".join(turn.incoming.display_name.split())[:40]
        return name or f"Member {turn.incoming.user_id[-4:]}"

    def _join_button(self, c: Challenge) -> tuple[tuple[Button, ...], ...]:
        return rows(Button(self.msg["challenge_join_button"], f"{PREFIX}:j:{c.id}"))

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
        need = self.finish_days(c, ran)
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
                s=_s(numbers.participants),
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

    async def _post_replies(self, c: Challenge, day: int, kind: str, late: timedelta) -> list[Reply]:
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
        stats = PostStats()
        jobs = await self._resend_jobs(now, stats)
        plans = [self.plan(c, now) for c in await self.repo.due_challenges(now, TICK_BATCH)]
        claimed = await self.repo.claim_challenge_posts(plans, now)
        for plan in plans:
            stats.missed += len(plan.missed) + (plan.status == "missed")
            post_id = claimed.get(plan.challenge.id)
            if post_id is None:
                if plan.status == "missed":
                    log.info("event=challenge_post_missed challenge=%d day=%d", plan.challenge.id, plan.day)
                continue
            replies = await self._post_replies(plan.challenge, plan.day, plan.kind, now - plan.scheduled)
            jobs.append(_Job(post_id, plan.challenge, plan.day, plan.kind, plan.scheduled, 0, replies))
        if jobs:
            await self._send(jobs, now, stats)
        return stats

    async def _resend_jobs(self, now: datetime, stats: PostStats) -> list[_Job]:
        """RETRY outcomes whose backoff is over, and claims a dead process never finished."""
        jobs = []
        for post in await self.repo.resendable_posts(now, now - CLAIM_LEASE):
            c = await self.repo.get_challenge(post.challenge_id)
            too_late = post.kind == "daily" and now - post.scheduled_utc > LATE_WINDOW
            wrong_state = c is None or (post.kind == "daily" and c.status != "active")
            if too_late or wrong_state or post.attempts >= MAX_POST_ATTEMPTS:
                await self.repo.give_up_post(post, "failed", now)
                stats.failed += 1
                continue
            if not await self.repo.reclaim_post(post, now):
                continue
            replies = await self._post_replies(c, post.day, post.kind, now - post.scheduled_utc)
            attempts = post.attempts + (post.status == "claimed")
            jobs.append(_Job(post.id, c, post.day, post.kind, post.scheduled_utc, attempts, replies))
            log.info("event=challenge_post_retry post=%d attempts=%d", post.id, attempts)
        return jobs

    async def _send(self, jobs: list[_Job], now: datetime, stats: PostStats) -> None:
        by_platform: dict[str, list[_Job]] = {}
        for job in jobs:
            by_platform.setdefault(job.challenge.platform, []).append(job)
        await asyncio.gather(*(self._send_platform(p, js, now, stats) for p, js in by_platform.items()))

    async def _send_platform(self, platform: str, jobs: list[_Job], now: datetime, stats: PostStats) -> None:
        """Paced at the platform's rate, a few in flight at once."""
        sender = self.senders.get(platform)
        rate = getattr(sender, "rate_per_second", math.inf) if sender else math.inf
        interval = 0.0 if math.isinf(rate) else 1.0 / rate
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(index: int, job: _Job) -> None:
            if interval:
                await self.sleep(index * interval)
            async with gate:
                await self._send_one(sender, job, now, stats)

        await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs)))

    async def _send_one(self, sender: Sender | None, job: _Job, now: datetime, stats: PostStats) -> None:
        c = job.challenge
        target = Target(c.platform, c.channel, c.organiser_key or "", channel=True)
        if sender is None:
            result = SendResult(RETRY, error=f"no sender for platform {c.platform}")
        else:
            try:
                result = await sender.send(target, job.replies, key=f"c{job.post_id}")
            except Exception as exc:  # a sender bug or network error is transient, not a crash
                result = SendResult(RETRY, error=type(exc).__name__)
        # a platform that is offline is tried again later like any transient failure
        status, retry_at = (RETRY if result.status == UNAVAILABLE else result.status), None
        if status == RETRY:
            attempts = job.attempts + 1
            backoff = timedelta(minutes=2 ** (attempts - 1))
            if result.retry_after:
                backoff = max(backoff, timedelta(seconds=result.retry_after))
            retry_at = now + backoff
            window_over = job.kind == "daily" and retry_at - job.scheduled > LATE_WINDOW
            if attempts >= MAX_POST_ATTEMPTS or window_over:
                status, retry_at = FAILED, None
        elif status not in (SENT, BLOCKED, FAILED):
            status = FAILED
        await self.repo.finish_challenge_post(job.post_id, status, result.error, now, retry_at)
        stats.outcomes[job.post_id] = status
        if status == SENT:
            stats.sent += 1
        elif status == RETRY:
            stats.retry += 1
        elif status == BLOCKED:
            stats.blocked += 1
            await self._unreachable(c, sender, now)
        else:
            stats.failed += 1
        log.info(
            "event=challenge_post challenge=%d day=%d kind=%s status=%s error=%s",
            c.id,
            job.day,
            job.kind,
            status,
            result.error,
        )

    async def _unreachable(self, c: Challenge, sender: Sender | None, now: datetime) -> None:
        """The channel is gone or we may not post there: stop the challenge and tell whoever started it."""
        stopped = await self.repo.change_challenge(c.id, "active", "stopped", None, now)
        if not stopped and c.status == "active":
            return  # another process already stopped it (and told them)
        log.warning("event=challenge_stopped challenge=%d reason=channel_unreachable", c.id)
        if not c.organiser_key:
            return
        await self.repo.set_notice(c.organiser_key, STOPPED_NOTICE)
        if sender is None or not c.organiser_chat:
            return
        text = self.msg["challenge_stopped_dm"].format(name=c.name)
        try:
            await sender.send(Target(c.platform, c.organiser_chat, c.organiser_key), [Reply(text, topic="challenge")])
        except Exception as exc:
            log.warning("event=challenge_organiser_unreachable challenge=%d error=%s", c.id, type(exc).__name__)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
