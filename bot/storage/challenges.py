"""Group challenges: members, check-ins and the post log (portable SQL: SQLite and PostgreSQL alike).

- One active challenge per channel: a partial UNIQUE index, so two organisers starting at once get one.
- A check-in is one INSERT guarded by the (challenge, member, day) primary key, and the member's
  aggregates (days done, streak, last day, when the count was reached) change in the same transaction:
  the leaderboard reads a handful of rows from an index, never the check-in history.
- Posts are claimed in the post log (UNIQUE challenge, day, kind) in the same transaction that moves
  the challenge's next_post_utc on, so a post is sent at most once, even by two processes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from bot.core.ports import Challenge, ChallengeNumbers, ChallengePost, Participant, PostPlan
from bot.storage.database import Database
from bot.storage.reminders import parse_ts, ts

_CHALLENGE_COLUMNS = (
    "id, platform, space, channel, name, days, local_time, timezone, level, start_date, status, organiser_key, "
    "organiser_chat, next_post_day, next_post_utc, final_day"
)
_PARTICIPANT_COLUMNS = (
    "challenge_id, user_key, display_name, status, joined_day, days_done, streak, best_streak, last_day, reached_at"
)
_RANK_ORDER = "days_done DESC, reached_at, user_key"


def _challenge(row: Any) -> Challenge:
    return Challenge(
        id=row[0],
        platform=row[1],
        space=row[2],
        channel=row[3],
        name=row[4],
        days=row[5],
        at=time.fromisoformat(row[6]),
        timezone=row[7],
        level=row[8],
        start_date=date.fromisoformat(row[9]),
        status=row[10],
        organiser_key=row[11],
        organiser_chat=row[12],
        next_post_day=row[13],
        next_post_utc=parse_ts(row[14]),
        final_day=row[15],
    )


def _participant(row: Any) -> Participant:
    return Participant(
        challenge_id=row[0],
        user_key=row[1],
        display_name=row[2],
        status=row[3],
        joined_day=row[4],
        days_done=row[5],
        streak=row[6],
        best_streak=row[7],
        last_day=row[8],
        reached_at=parse_ts(row[9]),
    )


class ChallengeSQL:
    """Mixed into Repository, which provides the database (self.db) and presence (claim tokens)."""

    db: Database
    presence: Any

    # -- challenges -------------------------------------------------------------------------

    async def add_challenge(self, c: Challenge, now: datetime) -> Challenge | None:
        rows = await self.db.fetch(
            "INSERT INTO challenges (platform, space, channel, name, days, local_time, timezone, level, start_date, "
            "status, organiser_key, organiser_chat, next_post_day, next_post_utc, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, channel) WHERE status = 'active' DO NOTHING RETURNING id",
            (
                c.platform,
                c.space,
                c.channel,
                c.name,
                c.days,
                c.at.strftime("%H:%M"),
                c.timezone,
                c.level,
                c.start_date.isoformat(),
                c.organiser_key,
                c.organiser_chat,
                c.next_post_day,
                ts(c.next_post_utc),
                ts(now),
                ts(now),
            ),
        )
        if not rows:
            return None
        return await self.get_challenge(rows[0][0])

    async def get_challenge(self, challenge_id: int) -> Challenge | None:
        rows = await self.db.fetch(f"SELECT {_CHALLENGE_COLUMNS} FROM challenges WHERE id = ?", (challenge_id,))
        return _challenge(rows[0]) if rows else None

    async def challenges_in(self, platform: str, space: str, limit: int = 20) -> list[Challenge]:
        """The space's challenges, running ones first, then the most recent."""
        rows = await self.db.fetch(
            f"SELECT {_CHALLENGE_COLUMNS} FROM challenges WHERE platform = ? AND space = ? "
            "ORDER BY CASE WHEN status = 'active' THEN 0 ELSE 1 END, id DESC LIMIT ?",
            (platform, space, limit),
        )
        return [_challenge(row) for row in rows]

    async def challenges_joined(self, platform: str, user_key: str) -> list[Challenge]:
        cols = ", ".join(f"c.{col.strip()}" for col in _CHALLENGE_COLUMNS.split(","))
        rows = await self.db.fetch(
            f"SELECT {cols} FROM challenge_participants p JOIN challenges c ON c.id = p.challenge_id "
            "WHERE p.user_key = ? AND p.status = 'in' AND c.platform = ? "
            "ORDER BY CASE WHEN c.status = 'active' THEN 0 ELSE 1 END, c.id DESC LIMIT 20",
            (user_key, platform),
        )
        return [_challenge(row) for row in rows]

    async def change_challenge(
        self, challenge_id: int, expected: str, status: str, final_day: int | None, now: datetime
    ) -> bool:
        """Compare-and-set the status (an ended or stopped challenge has no next post)."""
        changed = await self.db.execute(
            "UPDATE challenges SET status = ?, final_day = COALESCE(?, final_day), "
            "next_post_utc = CASE WHEN ? = 'active' THEN next_post_utc ELSE NULL END, updated_at = ? "
            "WHERE id = ? AND status = ?",
            (status, final_day, status, ts(now), challenge_id, expected),
        )
        return changed == 1

    @staticmethod
    async def forget_organiser(db: Database, user_key: str) -> int:
        """The challenge keeps running for everyone else; who organised it is forgotten."""
        return await db.execute(
            "UPDATE challenges SET organiser_key = NULL, organiser_chat = NULL WHERE organiser_key = ?", (user_key,)
        )

    # -- members ----------------------------------------------------------------------------

    async def join_challenge(
        self, challenge_id: int, user_key: str, display_name: str, joined_day: int, now: datetime
    ) -> str:
        """'joined', 'rejoined' (had left; their days are kept) or 'already'."""
        async with self.db.transaction() as db:
            rows = await db.fetch(
                "SELECT status FROM challenge_participants WHERE challenge_id = ? AND user_key = ?",
                (challenge_id, user_key),
            )
            if rows and rows[0][0] == "in":
                return "already"
            if rows:
                await db.execute(
                    "UPDATE challenge_participants SET status = 'in', display_name = ? "
                    "WHERE challenge_id = ? AND user_key = ?",
                    (display_name, challenge_id, user_key),
                )
                return "rejoined"
            await db.execute(
                "INSERT INTO challenge_participants (challenge_id, user_key, display_name, status, joined_day, "
                "joined_at, reached_at) VALUES (?, ?, ?, 'in', ?, ?, ?) ON CONFLICT DO NOTHING",
                (challenge_id, user_key, display_name, joined_day, ts(now), ts(now)),
            )
            return "joined"

    async def leave_challenge(self, challenge_id: int, user_key: str, now: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE challenge_participants SET status = 'left' WHERE challenge_id = ? AND user_key = ? "
            "AND status = 'in'",
            (challenge_id, user_key),
        )
        return changed == 1

    async def get_participant(self, challenge_id: int, user_key: str) -> Participant | None:
        rows = await self.db.fetch(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM challenge_participants WHERE challenge_id = ? AND user_key = ?",
            (challenge_id, user_key),
        )
        return _participant(rows[0]) if rows else None

    async def challenge_check_in(
        self, challenge_id: int, user_key: str, display_name: str, day: int, joined_day: int, now: datetime
    ) -> tuple[bool, bool, Participant]:
        """(counted, joined just now, the member afterwards) in one transaction.

        The check-in row's primary key makes a double click (or two processes) count once; only the
        insert that won updates the aggregates, so they always match the rows.
        """
        stamp = ts(now)
        async with self.db.transaction() as db:
            changed = await db.execute(
                "INSERT INTO challenge_participants (challenge_id, user_key, display_name, status, joined_day, "
                "joined_at, reached_at) VALUES (?, ?, ?, 'in', ?, ?, ?) ON CONFLICT DO NOTHING",
                (challenge_id, user_key, display_name, joined_day, stamp, stamp),
            )
            joined = changed == 1
            changed = await db.execute(
                "INSERT INTO challenge_checkins (challenge_id, user_key, day, at_utc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (challenge_id, user_key, day, stamp),
            )
            counted = changed == 1
            if counted:
                await db.execute(
                    "UPDATE challenge_participants SET status = 'in', display_name = ?, days_done = days_done + 1, "
                    "streak = CASE WHEN last_day IS NULL OR ? > last_day + 1 THEN 1 "
                    "WHEN ? = last_day + 1 THEN streak + 1 ELSE streak END, "
                    "last_day = CASE WHEN last_day IS NULL OR ? > last_day THEN ? ELSE last_day END, "
                    "reached_at = ? WHERE challenge_id = ? AND user_key = ?",
                    (display_name, day, day, day, day, stamp, challenge_id, user_key),
                )
                await db.execute(
                    "UPDATE challenge_participants SET best_streak = streak "
                    "WHERE challenge_id = ? AND user_key = ? AND streak > best_streak",
                    (challenge_id, user_key),
                )
            rows = await db.fetch(
                f"SELECT {_PARTICIPANT_COLUMNS} FROM challenge_participants WHERE challenge_id = ? AND user_key = ?",
                (challenge_id, user_key),
            )
        return counted, joined, _participant(rows[0])

    # -- the leaderboard and numbers --------------------------------------------------------

    async def leaderboard(self, challenge_id: int, limit: int) -> list[Participant]:
        """Most days first; a tie goes to whoever reached that count first (then by key, so order is total)."""
        rows = await self.db.fetch(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM challenge_participants WHERE challenge_id = ? AND status = 'in' "
            f"ORDER BY {_RANK_ORDER} LIMIT ?",
            (challenge_id, limit),
        )
        return [_participant(row) for row in rows]

    async def participant_rank(self, p: Participant) -> int:
        reached = ts(p.reached_at)
        rows = await self.db.fetch(
            "SELECT COUNT(*) FROM challenge_participants WHERE challenge_id = ? AND status = 'in' AND "
            "(days_done > ? OR (days_done = ? AND (reached_at < ? OR (reached_at = ? AND user_key < ?))))",
            (p.challenge_id, p.days_done, p.days_done, reached, reached, p.user_key),
        )
        return rows[0][0] + 1

    async def member_count(self, challenge_id: int) -> int:
        rows = await self.db.fetch(
            "SELECT COUNT(*) FROM challenge_participants WHERE challenge_id = ? AND status = 'in'", (challenge_id,)
        )
        return rows[0][0]

    async def challenge_numbers(self, challenge_id: int, day: int, finish_days: int) -> ChallengeNumbers:
        rows = await self.db.fetch(
            "SELECT COUNT(*), "
            "COALESCE(SUM(CASE WHEN joined_day <= ? THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN days_done >= ? THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(days_done), 0), "
            "COALESCE(SUM(CASE WHEN joined_day <= ? THEN ? - joined_day + 1 ELSE 0 END), 0) "
            "FROM challenge_participants WHERE challenge_id = ? AND status = 'in'",
            (day, finish_days, day, day, challenge_id),
        )
        participants, eligible, perfect, days_done, possible = rows[0]
        done = await self.db.fetch(
            "SELECT COUNT(*) FROM challenge_checkins k JOIN challenge_participants p "
            "ON p.challenge_id = k.challenge_id AND p.user_key = k.user_key "
            "WHERE k.challenge_id = ? AND k.day = ? AND p.status = 'in'",
            (challenge_id, day),
        )
        best = await self.db.fetch(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM challenge_participants WHERE challenge_id = ? AND status = 'in' "
            "AND best_streak > 0 ORDER BY best_streak DESC, reached_at, user_key LIMIT 1",
            (challenge_id,),
        )
        return ChallengeNumbers(
            participants, eligible, done[0][0], perfect, days_done, possible, _participant(best[0]) if best else None
        )

    async def finishers(self, challenge_id: int, min_days: int, limit: int) -> list[Participant]:
        rows = await self.db.fetch(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM challenge_participants WHERE challenge_id = ? AND status = 'in' "
            f"AND days_done >= ? ORDER BY {_RANK_ORDER} LIMIT ?",
            (challenge_id, min_days, limit),
        )
        return [_participant(row) for row in rows]

    # -- posts ------------------------------------------------------------------------------

    async def due_challenges(self, now: datetime, limit: int) -> list[Challenge]:
        return await _select_due(self.db, now, limit, lock="")

    async def claim_due_challenge_posts(
        self, now: datetime, limit: int, plan: Callable[[Challenge], PostPlan]
    ) -> tuple[list[PostPlan], dict[int, int]]:
        """Take up to `limit` due challenges, plan and claim their posts in one transaction: (the plans,
        {challenge id: post id} for the posts this call owns). On PostgreSQL the due rows are selected FOR UPDATE
        SKIP LOCKED, so processes ticking together take disjoint challenges; the post log's unique key and the
        compare-and-set on next_post_day stay the guards."""
        if not await self.presence.ensure():
            return [], {}  # without our presence lock others would take our claims over at once: wait a tick
        token = self.presence.token()
        async with self.db.transaction() as db:
            plans = [plan(c) for c in await _select_due(db, now, limit, lock=self.db.dialect.skip_locked)]
            claimed = await _claim_posts(db, plans, now, token) if plans else {}
        return plans, claimed

    async def claim_challenge_posts(self, plans: list[PostPlan], now: datetime) -> dict[int, int]:
        """Claim each plan's post and move its schedule on, all in one transaction.

        The schedule moves only if it is still what we read (compare-and-set on next_post_day), and the
        post is ours only if our insert made it: {challenge id: post id} for the posts this call owns.
        """
        if not plans:
            return {}
        async with self.db.transaction() as db:
            return await _claim_posts(db, plans, now, self.presence.token())

    async def finish_challenge_post(
        self, post_id: int, status: str, error: str | None, now: datetime, retry_at: datetime | None = None
    ) -> None:
        """Record an attempt's outcome; a RETRY keeps the time of its next attempt in claimed_at."""
        await self.db.execute(
            "UPDATE challenge_posts SET status = ?, attempts = attempts + 1, error = ?, finished_at = ?, "
            "claimed_at = COALESCE(?, claimed_at) WHERE id = ?",
            (status, (error or "")[:300] or None, ts(now), ts(retry_at), post_id),
        )

    async def resendable_posts(self, now: datetime, stale_before: datetime) -> list[ChallengePost]:
        """Posts to try again: RETRY outcomes whose backoff is over (their claimed_at is the time of the next
        attempt), and claims never finished: older than the lease, or their process is gone (a crash, a kill -9:
        taken over at once on restart)."""
        rows = await self.db.fetch(
            "SELECT id, challenge_id, day, kind, scheduled_utc, status, attempts, claimed_at, claim_token "
            "FROM challenge_posts WHERE status = 'retry' AND claimed_at <= ? "
            "UNION ALL SELECT id, challenge_id, day, kind, scheduled_utc, status, attempts, claimed_at, claim_token "
            "FROM challenge_posts WHERE status = 'claimed' ORDER BY id LIMIT 500",
            (ts(now),),
        )
        before = ts(stale_before)
        young = {r[8] for r in rows if r[5] == "claimed" and r[7] >= before}
        gone = await self.presence.gone(self.db, young) if young else set()
        return [
            ChallengePost(r[0], r[1], r[2], r[3], parse_ts(r[4]), r[5], r[6], parse_ts(r[7]))
            for r in rows
            if r[5] == "retry" or r[7] < before or r[8] in gone
        ]

    async def reclaim_post(self, post: ChallengePost, now: datetime) -> bool:
        """Take a post over for another attempt; compare-and-set so only one process does. A claim that was
        never finished (its process died) counts as an attempt. The new token names this process."""
        changed = await self.db.execute(
            "UPDATE challenge_posts SET status = 'claimed', claimed_at = ?, claim_token = ?, "
            "attempts = attempts + CASE WHEN status = 'claimed' THEN 1 ELSE 0 END "
            "WHERE id = ? AND status = ? AND attempts = ? AND claimed_at = ?",
            (ts(now), self.presence.token(), post.id, post.status, post.attempts, ts(post.claimed_at)),
        )
        return changed == 1

    async def give_up_post(self, post: ChallengePost, status: str, now: datetime) -> None:
        await self.db.execute(
            "UPDATE challenge_posts SET status = ?, finished_at = ? WHERE id = ? AND status = ? AND claimed_at = ?",
            (status, ts(now), post.id, post.status, ts(post.claimed_at)),
        )

    async def post_counts(self, challenge_id: int) -> dict[tuple[int, str], str]:
        rows = await self.db.fetch(
            "SELECT day, kind, status FROM challenge_posts WHERE challenge_id = ?", (challenge_id,)
        )
        return {(day, kind): status for day, kind, status in rows}


async def _select_due(db: Database, now: datetime, limit: int, lock: str) -> list[Challenge]:
    rows = await db.fetch(
        f"SELECT {_CHALLENGE_COLUMNS} FROM challenges WHERE next_post_utc <= ? AND status = 'active' "
        f"ORDER BY next_post_utc LIMIT ?{lock}",
        (ts(now), limit),
    )
    return [_challenge(row) for row in rows]


async def _claim_posts(db: Database, plans: list[PostPlan], now: datetime, token: str) -> dict[int, int]:
    """Within the caller's transaction: move each plan's schedule on (compare-and-set on next_post_day) and claim
    its post; {challenge id: post id} for the posts our insert made."""
    stamp = ts(now)
    for plan in plans:
        c = plan.challenge
        changed = await db.execute(
            "UPDATE challenges SET next_post_day = ?, next_post_utc = ?, status = ?, "
            "final_day = CASE WHEN ? = 'active' THEN final_day ELSE ? END, updated_at = ? "
            "WHERE id = ? AND next_post_day = ? AND status = 'active'",
            (plan.next_day, ts(plan.next_utc), plan.new_status, plan.new_status, c.days, stamp, c.id, c.next_post_day),
        )
        if changed != 1:
            continue  # another process moved it on first: that process posts
        await db.executemany(
            "INSERT INTO challenge_posts (challenge_id, day, kind, scheduled_utc, status, claimed_at) "
            "VALUES (?, ?, 'daily', ?, 'missed', ?) ON CONFLICT (challenge_id, day, kind) DO NOTHING",
            [(c.id, day, ts(at), stamp) for day, at in plan.missed],
        )
        await db.execute(
            "INSERT INTO challenge_posts (challenge_id, day, kind, scheduled_utc, status, claimed_at, "
            "claim_token) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (challenge_id, day, kind) DO NOTHING",
            (c.id, plan.day, plan.kind, ts(plan.scheduled), plan.status, stamp, token),
        )
    rows = await db.fetch(
        "SELECT id, challenge_id FROM challenge_posts WHERE claim_token = ? AND status = 'claimed'", (token,)
    )
    return {challenge_id: post_id for post_id, challenge_id in rows}
