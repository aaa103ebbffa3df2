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

MIGRATIONS.append(
    (
        3,
        "group challenges: challenges, participants with aggregates, check-ins, post log",
        """
        CREATE TABLE challenges (
            id             INTEGER PRIMARY KEY,
            platform       TEXT NOT NULL,
            space          TEXT NOT NULL,
            channel        TEXT NOT NULL,
            name           TEXT NOT NULL,
            days           INTEGER NOT NULL,
            local_time     TEXT NOT NULL,
            timezone       TEXT NOT NULL,
            level          TEXT NOT NULL,
            start_date     TEXT NOT NULL,
            status         TEXT NOT NULL DEFAULT 'active',
            organiser_key  TEXT,
            organiser_chat TEXT,
            next_post_day  INTEGER NOT NULL DEFAULT 1,
            next_post_utc  TEXT,
            final_day      INTEGER,
            created_at     TEXT NOT NULL,
            updated_at     TEXT NOT NULL
        );
        CREATE UNIQUE INDEX challenges_one_active ON challenges (platform, channel) WHERE status = 'active';
        CREATE INDEX challenges_next_post ON challenges (next_post_utc);
        CREATE INDEX challenges_space ON challenges (platform, space);
        CREATE INDEX challenges_organiser ON challenges (organiser_key);
        CREATE TABLE challenge_participants (
            challenge_id  INTEGER NOT NULL REFERENCES challenges(id) ON DELETE CASCADE,
            user_key      TEXT NOT NULL REFERENCES users(user_key) ON DELETE CASCADE,
            display_name  TEXT NOT NULL DEFAULT '',
            status        TEXT NOT NULL DEFAULT 'in',
            joined_day    INTEGER NOT NULL,
            joined_at     TEXT NOT NULL,
            days_done     INTEGER NOT NULL DEFAULT 0,
            streak        INTEGER NOT NULL DEFAULT 0,
            best_streak   INTEGER NOT NULL DEFAULT 0,
            last_day      INTEGER,
            reached_at    TEXT NOT NULL,
            PRIMARY KEY (challenge_id, user_key)
        );
        CREATE INDEX challenge_participants_rank
            ON challenge_participants (challenge_id, status, days_done DESC, reached_at, user_key);
        CREATE INDEX challenge_participants_user ON challenge_participants (user_key);
        CREATE TABLE challenge_checkins (
            challenge_id INTEGER NOT NULL REFERENCES challenges(id) ON DELETE CASCADE,
            user_key     TEXT NOT NULL REFERENCES users(user_key) ON DELETE CASCADE,
            day          INTEGER NOT NULL,
            at_utc       TEXT NOT NULL,
            PRIMARY KEY (challenge_id, user_key, day)
        );
        CREATE INDEX challenge_checkins_day ON challenge_checkins (challenge_id, day);
        CREATE INDEX challenge_checkins_user ON challenge_checkins (user_key);
        CREATE TABLE challenge_posts (
            id            INTEGER PRIMARY KEY,
            challenge_id  INTEGER NOT NULL REFERENCES challenges(id) ON DELETE CASCADE,
            day           INTEGER NOT NULL,
            kind          TEXT NOT NULL,
            scheduled_utc TEXT NOT NULL,
            status        TEXT NOT NULL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            claimed_at    TEXT NOT NULL,
            claim_token   TEXT,
            finished_at   TEXT,
            error         TEXT,
            UNIQUE (challenge_id, day, kind)
        );
        CREATE INDEX challenge_posts_status ON challenge_posts (status, claimed_at);
        CREATE INDEX challenge_posts_token ON challenge_posts (claim_token)
        """,
    )
)

MIGRATIONS.append(
    (
        4,
        "shared send rate per platform: one row of booked send slots and a 429 pause (bot/storage/rate_limits.py)",
        """
        CREATE TABLE rate_limits (
            platform     TEXT NOT NULL,
            scope        TEXT NOT NULL,
            next_at      DOUBLE PRECISION NOT NULL DEFAULT 0,
            paused_until DOUBLE PRECISION NOT NULL DEFAULT 0,
            PRIMARY KEY (platform, scope)
        )
        """,
    )
)
# rate_limits keeps epoch seconds on the database's clock (not ISO text like the other tables): it is arithmetic
# done many times a second inside one UPDATE, and every process must read the same clock.

MIGRATIONS.append(
    (
        5,
        "updates already handled, so a redelivered Telegram update is answered once (bot/storage/updates.py)",
        """
        CREATE TABLE handled_updates (
            platform    TEXT NOT NULL,
            update_id   BIGINT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (platform, update_id)
        );
        CREATE INDEX handled_updates_received ON handled_updates (received_at)
        """,
    )
)

# Tables holding rows about one user, keyed by user_key; /forget and /export walk this list. Challenges a user
# organised are not theirs alone: /forget keeps them running and clears organiser_key (see forget_user).
USER_TABLES = [
    "challenge_checkins",
    "challenge_participants",
    "deliveries",
    "reminders",
    "checkins",
    "conversation_state",
    "profiles",
    "users",
]
