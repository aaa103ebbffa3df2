"""Reminders and streaks as routes: each command and button maps straight onto a public method of
`Reminders` (remind, reminders, pause, resume, stop, done, snooze, skip, streak/progress, timezone; buttons
rd, rz, rk, rb, tz), and the "remind" and "zone" flows read the answer to "what time?" / "which zone?"."""

from __future__ import annotations

import re
from typing import Any

from bot.core.conversation import Turn
from bot.core.flows import Typed
from bot.core.messages import Reply
from bot.core.ports import ReminderStore
from bot.core.reminders import Reminders
from bot.core.router import Call, Routes
from bot.core.schedule_text import resolve_timezone

REMINDER_ID = re.compile(r"\d{1,12}")


class ReminderRoutes:
    def __init__(self, reminders: Reminders, repo: ReminderStore, msg: dict[str, Any]) -> None:
        self.reminders = reminders
        self.repo = repo
        self.msg = msg
        r = reminders
        self.routes = Routes(
            commands={
                "remind": lambda turn, call: r.subscribe(turn, call.args),
                "reminders": lambda turn, call: r.list(turn),
                "pause": lambda turn, call: r.pause(turn, call.args),
                "resume": lambda turn, call: r.resume(turn),
                "stop": lambda turn, call: r.stop(turn, call.args),
                "done": lambda turn, call: r.done(turn),
                "snooze": self._snooze,
                "skip": lambda turn, call: r.skip_today(turn, None),
                "streak": lambda turn, call: r.streak(turn),
                "progress": lambda turn, call: r.streak(turn),
                "timezone": lambda turn, call: r.set_timezone(turn, call.args),
            },
            buttons={
                "rd": self._done_button,
                "rz": self._snooze_button,
                "rk": self._skip_button,
                "rb": self._backoff_button,
                "tz": self._zone_button,
            },
        )
        self.flows = {"remind": self._remind_text, "zone": self._zone_text}

    async def _snooze(self, turn: Turn, call: Call) -> list[Reply]:
        """Snooze the reminder that fired last: 30 minutes, or an hour when they say so."""
        latest = self.reminders.latest_fired(await self.repo.reminders_of(turn.incoming.user_key), turn.now)
        if latest is None:
            return [Reply(self.msg["remind_none"], topic="reminders")]
        args = call.args
        minutes = 60 if "1" in args.split() or "hour" in args or "60" in args else 30
        return await self.reminders.snooze(turn, latest.id, minutes)

    # Buttons under a reminder carry its id: "<id>" or "<id>:<choice>"; a forged id is an expired button.

    async def _done_button(self, turn: Turn, call: Call) -> list[Reply]:
        if self._reminder_id(call) is None:
            return self._expired()
        return await self.reminders.done(turn)

    async def _snooze_button(self, turn: Turn, call: Call) -> list[Reply]:
        reminder_id, arg = self._reminder_id(call), call.args.partition(":")[2]
        if reminder_id is None or arg not in ("30", "60"):
            return self._expired()
        return await self.reminders.snooze(turn, reminder_id, int(arg))

    async def _skip_button(self, turn: Turn, call: Call) -> list[Reply]:
        reminder_id = self._reminder_id(call)
        if reminder_id is None:
            return self._expired()
        return await self.reminders.skip_today(turn, reminder_id)

    async def _backoff_button(self, turn: Turn, call: Call) -> list[Reply]:
        """Their answer to 'keep, move or stop?' after reminders went unanswered."""
        reminder_id, arg = self._reminder_id(call), call.args.partition(":")[2]
        if reminder_id is None or arg not in ("keep", "move", "stop"):
            return self._expired()
        return await self.reminders.backoff_answer(turn, reminder_id, arg)

    async def _zone_button(self, turn: Turn, call: Call) -> list[Reply]:
        zone_name, _ = resolve_timezone(call.args) if call.args else (None, None)
        return await self.reminders.apply_zone(turn, zone_name) if zone_name else self._expired()

    @staticmethod
    def _reminder_id(call: Call) -> int | None:
        rid = call.args.partition(":")[0]
        return int(rid) if REMINDER_ID.fullmatch(rid) else None

    def _expired(self) -> list[Reply]:
        return [Reply(self.msg["expired_button"])]

    async def _remind_text(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        replies = await self.reminders.continue_flow(turn, typed.text)
        if replies is None:
            turn.set_flow(None)  # not an answer to "what time?"/"which zone?": understand it normally
        return replies

    async def _zone_text(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        zone_name, _ = resolve_timezone(typed.text)
        return await self.reminders.apply_zone(turn, zone_name) if zone_name else None
