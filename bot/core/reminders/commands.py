"""Daily hip-opening reminders: what users ask for (subscribe, list, pause, resume, stop, snooze, skip,
their time zone). `Reminders` is what the coach calls; the tick that sends what is due (tick.py) and
the check-ins and streaks (checkins.py) live beside it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.content import Content, Routine
from bot.core.delivery import Dispatcher, DispatchStats
from bot.core.localtime import fire_instant, local_date, next_fire, zone
from bot.core.messages import Button, Reply, rows
from bot.core.ports import Reminder, Repository
from bot.core.schedule_text import describe_days, format_time, parse_reminder_request, parse_time, resolve_timezone
from bot.core.text import words

from .checkins import Checkins
from .tick import ReminderTick

MAX_REMINDERS = 5
CHANGE_WORDS = frozenset({"change", "move", "instead", "reschedule", "switch", "update"})


class Reminders:
    def __init__(self, content: Content, repo: Repository, dispatcher: Dispatcher | None = None) -> None:
        self.content = content
        self.repo = repo
        self.dispatcher = dispatcher
        self.ticker = ReminderTick(content, repo, dispatcher)
        self.checkins = Checkins(content, repo)
        self.msg = content.messages

    # -- the tick and what a reminder says (tick.py) -----------------------------------------

    async def tick(self, now: datetime) -> DispatchStats:
        return await self.ticker.tick(now)

    def routine_of_the_day(self, goal: str | None, level: str | None, streak: int, day: date) -> Routine:
        return self.ticker.routine_of_the_day(goal, level, streak, day)

    def reminder_replies(self, reminder: Reminder, routine: Routine, day: date, late: timedelta | None = None):
        return self.ticker.reminder_replies(reminder, routine, day, late)

    def backoff_replies(self, reminder: Reminder) -> list[Reply]:
        return self.ticker.backoff_replies(reminder)

    # -- check-ins and streaks (checkins.py) -------------------------------------------------

    async def done(self, turn) -> list[Reply]:
        return await self.checkins.done(turn)

    async def streak(self, turn) -> list[Reply]:
        return await self.checkins.streak(turn)

    # -- what users do -----------------------------------------------------------------------

    async def subscribe(self, turn, text: str) -> list[Reply]:
        request = parse_reminder_request(text)
        change = bool(CHANGE_WORDS & set(words(text)))
        if request.time is None:
            turn.set_flow("remind", days="".join(map(str, sorted(request.days))), change=change)
            problem = request.problems[0] + "\n" if request.problems else ""
            return [Reply(problem + self.msg["remind_ask_time"], topic="reminders")]
        zone_name = request.timezone or turn.profile.timezone
        if zone_name is None:
            if request.problems:  # a zone was named but not understood
                return self._zone_problem(text, request.problems[0])
            turn.set_flow(
                "remind", time=format_time(request.time), days="".join(map(str, sorted(request.days))), change=change
            )
            return [Reply(self.msg["remind_ask_zone"], topic="reminders")]
        return await self._create(turn, request.time, request.days, zone_name, change)

    def _zone_problem(self, text: str, problem: str) -> list[Reply]:
        _, suggestions = resolve_timezone(text)
        buttons = rows(*(Button(s, f"tz:{s}") for s in suggestions[:3]), per_row=1)
        return [Reply(problem, buttons, topic="reminders")]

    async def continue_flow(self, turn, text: str) -> list[Reply] | None:
        """The user answered 'what time?' or 'which zone?'."""
        state = turn.state
        if "time" not in state:
            request = parse_reminder_request(text)
            if request.time is None:
                return None
            days = request.days if len(request.days) < 7 else frozenset(int(c) for c in state.get("days", "0123456"))
            zone_name = request.timezone or turn.profile.timezone
            if zone_name is None:
                turn.set_flow("remind", time=format_time(request.time), days="".join(map(str, sorted(days))))
                return [Reply(self.msg["remind_ask_zone"], topic="reminders")]
            return await self._create(turn, request.time, days, zone_name)
        zone_name, suggestions = resolve_timezone(text)
        if zone_name is None:
            if not suggestions or len(words(text)) > 3:
                return None  # a question or something else, not a zone: let the coach answer it
            buttons = rows(*(Button(s, f"tz:{s}") for s in suggestions[:3]), per_row=1)
            unknown = self.msg["remind_zone_unknown"].format(zone=text.strip()[:40])
            hint = self.msg["remind_zone_suggest"] if suggestions else self.msg["remind_ask_zone"]
            return [Reply(f"{unknown} {hint}", buttons, topic="reminders")]
        at = time.fromisoformat(state["time"])
        days = frozenset(int(c) for c in state.get("days", "0123456"))
        return await self._create(turn, at, days, zone_name)

    async def _create(self, turn, at: time, days: frozenset[int], zone_name: str, change: bool = False) -> list[Reply]:
        """Add a reminder, or move the existing one when the user said change/move/instead."""
        change = change or bool(turn.state.get("change"))
        turn.set_flow(None)
        existing = await self.repo.reminders_of(turn.incoming.user_key)
        same = [r for r in existing if (r.at, r.days, r.timezone) == (at, frozenset(days), zone_name)]
        if not change and len(existing) >= MAX_REMINDERS and not same:
            return [Reply(self.msg["remind_cap"].format(count=len(existing)), topic="reminders")]
        await self._remember_zone(turn, zone_name)
        tz = zone(zone_name)
        incoming = turn.incoming
        reminder = Reminder(0, incoming.user_key, incoming.platform, incoming.chat_id, at, frozenset(days), zone_name)
        reminder = replace(reminder, next_fire_utc=next_fire(at, days, tz, turn.now))
        if same:
            reminder = same[0]  # asking twice for the same reminder does not make two
        elif change and existing:
            reminder = replace(reminder, id=existing[0].id)
            today = local_date(turn.now, tz)
            if await self.repo.delivery_exists(reminder.id, today, "daily"):
                # today's slot is used (sent or skipped): the moved reminder starts tomorrow, and says so
                after = fire_instant(today, time(23, 59), tz)
                reminder = replace(reminder, next_fire_utc=next_fire(at, days, tz, after))
            await self.repo.save_reminder(reminder, turn.now)
        else:
            await self.repo.add_reminder(reminder, turn.now)
        text = self.msg["remind_set"].format(
            days=describe_days(frozenset(days)),
            time=format_time(at),
            zone=zone_name,
            next=self._when(reminder.next_fire_utc, tz, turn.now),
        )
        return [Reply(text, topic="reminders")]

    async def _remember_zone(self, turn, zone_name: str) -> None:
        if turn.profile.timezone != zone_name:
            turn.profile = replace(turn.profile, timezone=zone_name)
            await self.repo.save_profile(turn.profile, turn.now)

    def _when(self, instant: datetime | None, tz: ZoneInfo, now: datetime) -> str:
        if instant is None:
            return self.msg["remind_when_paused"]
        local = instant.astimezone(tz)
        today = now.astimezone(tz).date()
        if local.date() == today:
            return self.msg["remind_when_today"].format(time=f"{local:%H:%M}")
        if local.date() == today + timedelta(days=1):
            return self.msg["remind_when_tomorrow"].format(time=f"{local:%H:%M}")
        return f"{local:%a %d %b %H:%M}"

    async def list(self, turn) -> list[Reply]:
        reminders = await self.repo.reminders_of(turn.incoming.user_key)
        if not reminders:
            return [Reply(self.msg["remind_none"], topic="reminders")]
        lines = [self.msg["remind_list_head"]]
        for i, r in enumerate(reminders, 1):
            tz = zone(r.timezone)
            state = self._state_text(r, tz, turn.now)
            line = self.msg["remind_list_line"]
            lines.append(
                line.format(number=i, days=describe_days(r.days), time=format_time(r.at), zone=r.timezone, state=state)
            )
        return [Reply("\n".join(lines), topic="reminders")]

    def _state_text(self, r: Reminder, tz: ZoneInfo, now: datetime) -> str:
        if r.status == "paused":
            return self.msg.get(f"remind_state_paused_{r.pause_reason}") or self.msg["remind_state_paused"]
        following = self._when(r.next_fire_utc, tz, now)
        if r.paused_until and r.paused_until > now.astimezone(tz).date():
            return self.msg["remind_state_paused_until"].format(date=f"{r.paused_until:%a %d %b}", next=following)
        if r.snooze_until_utc and r.snooze_until_utc > now:  # the nudge they asked for comes before the next one
            until = self._when(r.snooze_until_utc, tz, now)
            return self.msg["remind_state_snoozed"].format(until=until, next=following)
        return self.msg["remind_state_next"].format(next=following)

    async def pause(self, turn, args: str) -> list[Reply]:
        reminders = await self.repo.reminders_of(turn.incoming.user_key)
        if not reminders:
            return [Reply(self.msg["remind_none"], topic="reminders")]
        until = self._pause_until(args, turn.now, turn.profile.timezone or reminders[0].timezone)
        if until is False:
            return [Reply(self.msg["remind_pause_bad"], topic="reminders")]
        for r in reminders:
            if until is None:
                updated = replace(r, status="paused", pause_reason="user", next_fire_utc=None, snooze_until_utc=None)
            else:
                tz = zone(r.timezone)
                updated = replace(
                    r,
                    status="active",
                    pause_reason=None,
                    paused_until=until,
                    next_fire_utc=next_fire(r.at, r.days, tz, turn.now, until),
                    snooze_until_utc=None,
                )
            await self.repo.save_reminder(updated, turn.now)
        if until is None:
            return [Reply(self.msg["remind_paused"].format(what=self._what(reminders)), topic="reminders")]
        return [Reply(self.msg["remind_paused_until"].format(date=f"{until:%A %d %B}"), topic="reminders")]

    @staticmethod
    def _pause_until(args: str, now: datetime, zone_name: str) -> date | None | bool:
        """None: indefinitely; a date: resume on it; False: not understood."""
        text = args.strip().lower()
        if not text or text in ("reminders", "reminder", "all", "them", "it"):
            return None
        today = local_date(now, zone(zone_name))
        m = re.search(r"(\d{1,3})\s*(day|days|d|week|weeks|w)\b", text)
        if m and 0 < int(m.group(1)) <= 365:
            n = int(m.group(1)) * (7 if m.group(2).startswith("w") else 1)
            return today + timedelta(days=n)
        if re.search(r"\b(a|one) week\b", text):
            return today + timedelta(days=7)
        if "tomorrow" in text:
            return today + timedelta(days=1)
        m = re.search(r"(\d{4}-\d{2}-\d{2})", text)
        if m:
            try:
                until = date.fromisoformat(m.group(1))
            except ValueError:
                return False
            return until if today < until <= today + timedelta(days=366) else False
        return False

    async def resume(self, turn) -> list[Reply]:
        reminders = await self.repo.reminders_of(turn.incoming.user_key)
        if not reminders:
            return [Reply(self.msg["remind_none"], topic="reminders")]
        nexts = []
        for r in reminders:
            tz = zone(r.timezone)
            fire = next_fire(r.at, r.days, tz, turn.now)
            await self.repo.save_reminder(
                replace(r, status="active", pause_reason=None, paused_until=None, ignored=0, next_fire_utc=fire),
                turn.now,
            )
            nexts.append((fire, tz))
        fire, tz = min(nexts, key=lambda pair: pair[0])
        return [Reply(self.msg["remind_resumed"].format(next=self._when(fire, tz, turn.now)), topic="reminders")]

    async def stop(self, turn, args: str) -> list[Reply]:
        reminders = await self.repo.reminders_of(turn.incoming.user_key)
        if not reminders:
            return [Reply(self.msg["remind_none"], topic="reminders")]
        chosen = self._pick(reminders, args)
        if not chosen:  # a number or time that matches none: never fall back to deleting them all
            listing = await self.list(turn)
            return [Reply(self.msg["remind_stop_which"] + "\n\n" + listing[0].text, topic="reminders")]
        await self.repo.delete_reminders(turn.incoming.user_key, [r.id for r in chosen])
        return [Reply(self.msg["remind_stopped"].format(what=self._what(chosen)), topic="reminders")]

    @staticmethod
    def _pick(reminders: list[Reminder], args: str) -> list[Reminder]:
        """Which reminders "stop ..." means: all when nothing is named, those at a named time ("my 7:30
        one"), or by their number in the list ("stop 2"); none when what was named matches nothing."""
        args = args.strip()
        if not args or args.lower() in {"all", "them", "all of them", "everything", "reminders", "all reminders"}:
            return reminders
        at = parse_time(args) if re.search(r"\d[:.h]\d|\d\s*(am|pm)|noon|midnight", args, re.I) else None
        if at is not None:
            return [r for r in reminders if r.at == at]
        # (only short numbers: int() refuses strings of more than 4,300 digits)
        numbers = [int(n) for n in re.findall(r"\d+", args) if len(n) <= 3]
        if numbers:
            return [reminders[n - 1] for n in numbers if 1 <= n <= len(reminders)]
        return reminders  # "stop my reminder", "stop reminding me"

    def _what(self, reminders: list[Reminder]) -> str:
        if len(reminders) == 1:
            return self.msg["remind_what_one"].format(time=format_time(reminders[0].at))
        return self.msg["remind_what_all"].format(count=len(reminders))

    async def snooze(self, turn, reminder_id: int, minutes: int) -> list[Reply]:
        r = await self._own(turn, reminder_id)
        if r is None:
            return [Reply(self.msg["expired_button"])]
        if r.status != "active":  # a snooze on a paused reminder would never fire: say so
            return [Reply(self.msg["remind_paused"].format(what=self._what([r])), topic="reminders")]
        until = (turn.now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
        await self.repo.save_reminder(replace(r, snooze_until_utc=until), turn.now)
        await self.repo.acknowledge(r.user_key, local_date(turn.now, zone(r.timezone)))
        local = until.astimezone(zone(r.timezone))
        text = self.msg["remind_snoozed"].format(time=f"{local:%H:%M}", zone=r.timezone)
        return [Reply(text, topic="reminders")]

    async def skip_today(self, turn, reminder_id: int | None) -> list[Reply]:
        reminders = await self.repo.reminders_of(turn.incoming.user_key)
        targets = [r for r in reminders if reminder_id is None or r.id == reminder_id]
        if not targets:
            return [Reply(self.msg["remind_none"] if reminder_id is None else self.msg["expired_button"])]
        for r in targets:
            tz = zone(r.timezone)
            today = local_date(turn.now, tz)
            # Claiming today's slot as "skipped" means the tick finds it taken and sends nothing.
            await self.repo.claim_delivery(r, today, "daily", turn.now, turn.now, "skipped")
            await self.repo.acknowledge(r.user_key, today)
            if r.snooze_until_utc:
                await self.repo.save_reminder(replace(r, snooze_until_utc=None), turn.now)
        return [Reply(self.msg["remind_skipped"], topic="reminders")]

    def latest_fired(self, reminders: list[Reminder], now: datetime) -> Reminder | None:
        """The reminder whose time came most recently today ("snooze" means the one just received)."""
        fired = []
        for r in reminders:
            tz = zone(r.timezone)
            instant = fire_instant(local_date(now, tz), r.at, tz)
            if instant <= now:
                fired.append((instant, r.id, r))
        return max(fired)[2] if fired else (reminders[0] if reminders else None)

    async def _own(self, turn, reminder_id: int) -> Reminder | None:
        """The reminder behind a button, only if it belongs to the person who pressed it."""
        r = await self.repo.get_reminder(reminder_id)
        return r if r is not None and r.user_key == turn.incoming.user_key else None

    async def set_timezone(self, turn, text: str) -> list[Reply]:
        if not text.strip():
            if turn.profile.timezone:
                return [Reply(self.msg["zone_ask"].format(zone=turn.profile.timezone), topic="reminders")]
            turn.set_flow("zone")
            return [Reply(self.msg["remind_ask_zone"], topic="reminders")]
        zone_name, suggestions = resolve_timezone(text)
        if zone_name is None:
            buttons = rows(*(Button(s, f"tz:{s}") for s in suggestions[:3]), per_row=1)
            return [Reply(self.msg["remind_zone_unknown"].format(zone=text.strip()[:40]), buttons)]
        return await self.apply_zone(turn, zone_name)

    async def apply_zone(self, turn, zone_name: str) -> list[Reply]:
        """Set the user's zone; their reminders keep their local times in the new zone."""
        if turn.state.get("flow") == "remind" and "time" in turn.state:
            return await self._create(
                turn,
                time.fromisoformat(turn.state["time"]),
                frozenset(int(c) for c in turn.state.get("days", "0123456")),
                zone_name,
            )
        turn.set_flow(None)
        await self._remember_zone(turn, zone_name)
        tz = zone(zone_name)
        for r in await self.repo.reminders_of(turn.incoming.user_key):
            fire = r.next_fire_utc and next_fire(r.at, r.days, tz, turn.now, r.paused_until)
            await self.repo.save_reminder(replace(r, timezone=zone_name, next_fire_utc=fire), turn.now)
        local = turn.now.astimezone(tz)
        return [Reply(self.msg["zone_set"].format(zone=zone_name, local=f"{local:%H:%M}"), topic="reminders")]

    async def backoff_answer(self, turn, reminder_id: int, choice: str) -> list[Reply]:
        r = await self._own(turn, reminder_id)
        if r is None:
            return [Reply(self.msg["expired_button"])]
        if choice == "stop":
            await self.repo.delete_reminders(r.user_key, [r.id])
            return [Reply(self.msg["remind_stopped"].format(what=self._what([r])), topic="reminders")]
        if choice == "move":
            await self.repo.delete_reminders(r.user_key, [r.id])
            turn.set_flow("remind", days="".join(map(str, sorted(r.days))))
            return [Reply(self.msg["remind_backoff_move"], topic="reminders")]
        tz = zone(r.timezone)
        fire = next_fire(r.at, r.days, tz, turn.now)
        await self.repo.save_reminder(
            replace(r, status="active", pause_reason=None, ignored=0, next_fire_utc=fire), turn.now
        )
        return [Reply(self.msg["remind_backoff_keep"].format(next=self._when(fire, tz, turn.now)), topic="reminders")]
