"""People: users, their profiles and conversation state, and what /forget and /export need (portable SQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.core.ports import Profile
from bot.storage.database import Database, as_dict
from bot.storage.migrations import USER_TABLES


class PeopleSQL:
    """The people store; mixed into Repository, which provides the database and the turn cache."""

    db: Database
    _turns: Any

    # -- users and profiles -------------------------------------------------------------------

    async def begin_turn(
        self, user_key: str, display_name: str, now: datetime
    ) -> tuple[bool, Profile, dict[str, Any] | None]:
        """Everything a message needs: user, profile and conversation state.

        Served from the turn cache when fresh (no database round trip, which under load costs more than
        the whole coaching logic); else ONE read. Writes happen only for a new user, a changed name,
        or to refresh last_seen_at at most once a minute.
        """
        cached = self._turns.get(user_key, now, display_name)
        if cached is not None:
            return False, cached.profile, cached.state
        rows = await self.db.fetch(
            "SELECT u.last_seen_at, u.display_name, p.goal, p.level, p.timezone, p.onboarded, p.pending_notice, "
            "s.state FROM (SELECT ? AS k) q LEFT JOIN users u ON u.user_key = q.k "
            "LEFT JOIN profiles p ON p.user_key = q.k LEFT JOIN conversation_state s ON s.user_key = q.k",
            (user_key,),
        )
        row = rows[0]  # the LEFT JOIN from a one-row subquery always yields one row
        first = False
        seen = now
        if row["last_seen_at"] is None:
            rows = await self.db.fetch(
                "INSERT INTO users (user_key, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user_key) DO NOTHING RETURNING user_key",
                (user_key, display_name[:128], now.isoformat(), now.isoformat()),
            )
            first = bool(rows)  # False if another process created them just now
        elif datetime.fromisoformat(row["last_seen_at"]) < now - timedelta(minutes=1) or (
            row["display_name"] != display_name[:128]
        ):
            await self.db.execute(
                "UPDATE users SET last_seen_at = ?, display_name = ? WHERE user_key = ?",
                (now.isoformat(), display_name[:128], user_key),
            )
        else:
            seen = datetime.fromisoformat(row["last_seen_at"])
        profile = Profile(
            user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"] or 0), row["pending_notice"]
        )
        state = json.loads(row["state"]) if row["state"] else None
        self._turns.put(user_key, profile, state, display_name[:128], seen)
        return first, profile, state

    async def get_profile(self, user_key: str) -> Profile:
        rows = await self.db.fetch(
            "SELECT goal, level, timezone, onboarded, pending_notice FROM profiles WHERE user_key = ?", (user_key,)
        )
        row = rows[0] if rows else None
        if row is None:
            return Profile(user_key=user_key)
        return Profile(
            user_key, row["goal"], row["level"], row["timezone"], bool(row["onboarded"]), row["pending_notice"]
        )

    async def save_profile(self, profile: Profile, now: datetime) -> None:
        self._turns.drop(profile.user_key)
        await self.db.execute(
            "INSERT INTO profiles (user_key, goal, level, timezone, onboarded, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_key) DO UPDATE SET goal = excluded.goal, "
            "level = excluded.level, timezone = excluded.timezone, onboarded = excluded.onboarded, "
            "updated_at = excluded.updated_at",
            (profile.user_key, profile.goal, profile.level, profile.timezone, int(profile.onboarded), now.isoformat()),
        )

    # -- conversation state ------------------------------------------------------------------

    async def get_state(self, user_key: str) -> dict[str, Any] | None:
        rows = await self.db.fetch("SELECT state FROM conversation_state WHERE user_key = ?", (user_key,))
        row = rows[0] if rows else None
        return json.loads(row["state"]) if row else None

    async def set_state(self, user_key: str, state: dict[str, Any] | None, now: datetime, durable: bool = True) -> None:
        self._turns.update(user_key, state=state)
        if not durable and self._turns.has(user_key):
            return  # kept in memory for this process; a restart forgets only "tell me more" context
        if state is None:
            await self.db.execute("DELETE FROM conversation_state WHERE user_key = ?", (user_key,))
        else:
            await self.db.execute(
                "INSERT INTO conversation_state (user_key, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (user_key, json.dumps(state, separators=(",", ":")), now.isoformat()),
            )

    # -- privacy -----------------------------------------------------------------------------

    async def count_rows(self, user_key: str) -> dict[str, int]:
        counts = {}
        for table in USER_TABLES:
            rows = await self.db.fetch(f"SELECT COUNT(*) FROM {table} WHERE user_key = ?", (user_key,))
            counts[table] = rows[0][0]
        rows = await self.db.fetch("SELECT COUNT(*) FROM challenges WHERE organiser_key = ?", (user_key,))
        counts["challenges_organised"] = rows[0][0]
        return counts

    async def export_user(self, user_key: str) -> dict[str, list[dict]]:
        """Every row about the user, per table, as plain values (the user's /export)."""
        out: dict[str, list[dict]] = {}
        for table in reversed(USER_TABLES):  # users first, then what hangs off them
            rows = await self.db.fetch(f"SELECT * FROM {table} WHERE user_key = ?", (user_key,))
            out[table] = [as_dict(row) for row in rows]
        rows = await self.db.fetch(
            "SELECT id, platform, name, days, start_date, status FROM challenges WHERE organiser_key = ?", (user_key,)
        )
        out["challenges_organised"] = [as_dict(row) for row in rows]
        return out

    async def forget_user(self, user_key: str) -> int:
        self._turns.drop(user_key)
        deleted = 0
        async with self.db.transaction() as db:
            for table in USER_TABLES:
                changed = await db.execute(f"DELETE FROM {table} WHERE user_key = ?", (user_key,))
                deleted += changed
            deleted += await self.forget_organiser(db, user_key)
        return deleted
