"""Operator commands: `python -m bot check` (configuration, content, database), `backup FILE`, `migrate` and
`webhook set|delete|info`, on SQLite (a file) or PostgreSQL (HIPCOACH_DB=postgresql://...).

On SQLite, check and backup touch no network; on PostgreSQL they talk to the database server only. No
command prints a token or the database password (a URL is shown as user:***@host).

Check reports every problem it finds, each on one line saying where and
what is wrong and, after " -> ", what to do next; it never prints a token's value.
"""

from bot.ops.checks import backup, check, check_database, check_database_url, check_settings
from bot.ops.postgres import (
    BackupError,
    DatabaseUnavailable,
    backup_postgres,
    database_label,
    find_pg_dump,
    migrate,
    open_errors,
    pg_dump_command,
    redact_url,
    unavailable,
)
from bot.ops.webhook import WebhookError, webhook

__all__ = [
    "BackupError",
    "DatabaseUnavailable",
    "WebhookError",
    "backup",
    "backup_postgres",
    "check",
    "check_database",
    "check_database_url",
    "check_settings",
    "database_label",
    "find_pg_dump",
    "migrate",
    "open_errors",
    "pg_dump_command",
    "redact_url",
    "unavailable",
    "webhook",
]
