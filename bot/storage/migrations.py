"""Versioned schema migrations. Append new ones; never edit one that has shipped.

SQL stays portable (PostgreSQL will follow): TEXT timestamps in UTC ISO-8601, ON CONFLICT upserts.
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "users, profiles and conversation state",
        """
        CREATE TABLE users (
            user_key      TEXT PRIMARY KEY,
            display_name  TEXT NOT NULL DEFAULT '',
            created_at    TEXT NOT NULL,
            last_seen_at  TEXT NOT NULL
        );
        CREATE TABLE profiles (
            user_key   TEXT PRIMARY KEY REFERENCES users(user_key) ON DELETE CASCADE,
            goal       TEXT,
            level      TEXT,
            timezone   TEXT,
            onboarded  INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE conversation_state (
            user_key   TEXT PRIMARY KEY REFERENCES users(user_key) ON DELETE CASCADE,
            state      TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    ),
]

MIGRATIONS.append(
    (
        2,
        "reminders, delivery log, check-ins, pending notices",
        """
        CREATE TABLE reminders (
            id               INTEGER PRIMARY KEY,
            user_key         TEXT NOT NULL REFERENCES users(user_key) ON DELETE CASCADE,
            platform         TEXT NOT NULL,
            chat_id          TEXT NOT NULL,
            local_time       TEXT NOT NULL,
            days             TEXT NOT NULL,
            timezone         TEXT NOT NULL,
            status           TEXT NOT NULL DEFAULT 'active',
            paused_until     TEXT,
            pause_reason     TEXT,
            next_fire_utc    TEXT,
            snooze_until_utc TEXT,
            ignored          INTEGER NOT NULL DEFAULT 0,
            created_at       TEXT NOT NULL,
            updated_at       TEXT NOT NULL
        );
        CREATE INDEX reminders_next_fire ON reminders (next_fire_utc);
        CREATE INDEX reminders_snooze ON reminders (snooze_until_utc);
        CREATE INDEX reminders_user ON reminders (user_key);
        CREATE TABLE deliveries (
            id            INTEGER PRIMARY KEY,
            reminder_id   INTEGER NOT NULL REFERENCES reminders(id) ON DELETE CASCADE,
            user_key      TEXT NOT NULL REFERENCES users(user_key) ON DELETE CASCADE,
            local_date    TEXT NOT NULL,
            kind          TEXT NOT NULL,
            scheduled_utc TEXT NOT NULL,
            status        TEXT NOT NULL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            late_seconds  INTEGER,
            error         TEXT,
            acknowledged  INTEGER NOT NULL DEFAULT 0,
            claimed_at    TEXT NOT NULL,
            claim_token   TEXT,
            finished_at   TEXT,
            UNIQUE (reminder_id, local_date, kind)
        );
        CREATE INDEX deliveries_status ON deliveries (status, claimed_at);
        CREATE INDEX deliveries_token ON deliveries (claim_token);
        CREATE INDEX deliveries_user ON deliveries (user_key);
        CREATE TABLE checkins (
            user_key   TEXT NOT NULL REFERENCES users(user_key) ON DELETE CASCADE,
            local_date TEXT NOT NULL,
            kind       TEXT NOT NULL,
            at_utc     TEXT NOT NULL,
            PRIMARY KEY (user_key, local_date)
        );
        ALTER TABLE profiles ADD COLUMN pending_notice TEXT
        """,
    )
)

# Tables holding rows about one user, keyed by user_key; /forget and /export walk this list.
USER_TABLES = ["deliveries", "reminders", "checkins", "conversation_state", "profiles", "users"]
