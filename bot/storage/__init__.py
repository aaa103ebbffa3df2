"""Storage backends. SQLite (aiosqlite) is the default."""
