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

# Tables holding rows about one user, keyed by user_key; /forget and /export walk this list.
USER_TABLES = ["conversation_state", "profiles", "users"]
