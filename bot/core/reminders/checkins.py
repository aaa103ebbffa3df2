"""Personal streaks: "done" (a check-in, with a freeze for a missed day now and then) and the streak
calendar. The tick picks a routine's length from the same streak.
"""

from __future__ import annotations

from bot.core.content import Content
from bot.core.localtime import local_date, zone
from bot.core.messages import Reply
from bot.core.ports import ReminderStore
from bot.core.streaks import FREEZE_EVERY, MAX_FREEZES, calendar, check_in, summarize


class Checkins:
    def __init__(self, content: Content, repo: ReminderStore) -> None:
        self.repo = repo
        self.msg = content.messages

    async def done(self, turn) -> list[Reply]:
        zone_name = turn.profile.timezone or "UTC"
        tz = zone(zone_name)
        local_now = turn.now.astimezone(tz)
        rows_ = await self.repo.checkins_of(turn.incoming.user_key)
        result = check_in(rows_, local_now)
        if not result.already:
            new_rows = [(d, "freeze") for d in result.freeze_days] + [(result.day, "done")]
            if not await self.repo.add_checkins(turn.incoming.user_key, new_rows, turn.now):
                result = check_in(await self.repo.checkins_of(turn.incoming.user_key), local_now)
        await self.repo.acknowledge(turn.incoming.user_key, result.day)
        s = result.summary
        day = "today" if result.day == local_now.date() else "yesterday"
        key = "done_again" if result.already else "done_first"
        lines = [self.msg[key].format(day=day, current=s.current, best=s.best, plural="" if s.current == 1 else "s")]
        if result.freeze_days:
            lines.append(self.msg["done_freeze"])
        if result.milestone:
            lines.append(self.msg["milestone"].format(days=result.milestone))
        return [Reply("\n".join(lines), topic="streak")]

    async def streak(self, turn) -> list[Reply]:
        tz = zone(turn.profile.timezone or "UTC")
        today = local_date(turn.now, tz)
        history = await self.repo.checkins_of(turn.incoming.user_key)
        if not history:
            return [Reply(self.msg["streak_empty"], topic="streak")]
        s = summarize(history, today)
        head = self.msg["streak_head"].format(
            current=s.current, best=s.best, freezes=s.freezes, plural="" if s.current == 1 else "s"
        )
        note = self.msg["streak_freezes"].format(every=FREEZE_EVERY, most=MAX_FREEZES)
        return [Reply(f"{head}\n{calendar(history, today)}\n{note}", topic="streak", card=True)]
