"""What challenge members read about a challenge: the list, one member's status, the leaderboard
(text, and as a picture on request). Read-only: nothing here changes a challenge.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.content import Content
from bot.core.messages import Button, Reply, rows
from bot.core.picture import leaderboard_png
from bot.core.ports import Challenge, ChallengeStore, Participant
from bot.core.schedule_text import format_time

from .posts import PREFIX
from .rules import LEADERBOARD_SIZE, current_streak, day_number, finish_days, percent, plural, short_date


class ChallengeViews:
    def __init__(self, content: Content, repo: ChallengeStore) -> None:
        self.repo = repo
        self.msg = content.messages

    def join_button(self, c: Challenge) -> tuple[tuple[Button, ...], ...]:
        return rows(Button(self.msg["challenge_join_button"], f"{PREFIX}:j:{c.id}"))

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
            lines.append(f"• #{c.id} {c.name}: {self.state_line(c, turn.now)}")
        return [Reply("\n".join(lines), topic="challenge", card=True)]

    def state_line(self, c: Challenge, now: datetime) -> str:
        if c.status == "active":
            today = day_number(c, now)
            when = f"{format_time(c.at)} {c.timezone}"
            if today < 1:
                return self.msg["challenge_state_scheduled"].format(start=short_date(c.start_date), time=when)
            return self.msg["challenge_state_running"].format(day=min(today, c.days), days=c.days, time=when)
        return self.msg[f"challenge_state_{c.status}"]

    async def status(self, turn, c: Challenge) -> list[Reply]:
        member = await self.repo.get_participant(c.id, turn.incoming.user_key)
        head = f"{c.name} · {self.state_line(c, turn.now)}"
        if member is None or member.status != "in":
            text = head + "\n" + self.msg["challenge_not_in"].format(name=c.name)
            buttons = self.join_button(c) if c.status == "active" else ()
            return [Reply(text, buttons, topic="challenge", card=True)]
        rank = await self.repo.participant_rank(member)
        members = await self.repo.member_count(c.id)
        today = day_number(c, turn.now)
        lines = [
            head,
            self.msg["challenge_status_line"].format(
                done=member.days_done,
                s=plural(member.days_done),
                streak=current_streak(c, member, turn.now),
                best=member.best_streak,
                percent=percent(c, member, turn.now),
                rank=f"{rank:,}",
                members=f"{members:,}",
            ),
        ]
        if c.status == "active" and 1 <= today <= c.days:
            lines.append(self.msg["challenge_today_done" if member.last_day == today else "challenge_today_open"])
        need = finish_days(c, c.final_day or c.days)
        lines.append(self.msg["challenge_finish_rule"].format(need=need, days=c.final_day or c.days))
        buttons = ()
        if c.status == "active" and 1 <= today <= c.days and member.last_day != today:
            buttons = rows(Button(self.msg["challenge_done_button"], f"{PREFIX}:d:{c.id}:{today}"))
        return [Reply("\n".join(lines), buttons, topic="challenge", card=True)]

    async def leaderboard(self, turn, c: Challenge, image: bool = False) -> list[Reply]:
        top = await self.repo.leaderboard(c.id, LEADERBOARD_SIZE)
        members = await self.repo.member_count(c.id)
        head = self.msg["challenge_board_head"].format(
            name=c.name, state=self.state_line(c, turn.now), members=f"{members:,}", s=plural(members)
        )
        if not top:
            return [Reply(head + "\n" + self.msg["challenge_board_empty"], self.join_button(c), card=True)]
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
        lines = []
        for rank, p in ranked:
            share = percent(c, p, now)
            right = self.msg["challenge_board_picture_row"].format(
                done=p.days_done, s=plural(p.days_done), streak=current_streak(c, p, now), percent=share
            )
            lines.append((f"{rank:,}. {p.display_name}", right, share / 100))
        return leaderboard_png(head, lines)

    def _board_row(self, c: Challenge, rank: int, p: Participant, now: datetime, you: bool) -> str:
        name = p.display_name + (self.msg["challenge_board_you"] if you else "")
        return self.msg["challenge_board_row"].format(
            rank=f"{rank:,}",
            name=name,
            done=p.days_done,
            s=plural(p.days_done),
            streak=current_streak(c, p, now),
            percent=percent(c, p, now),
        )
