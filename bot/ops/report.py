"""What the operator commands print: one problem per line, with what to do next."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

NEXT = " -> "  # separates a problem from its next step, on the same line


def problem(what: str, next_step: str) -> str:
    """One problem line: where and what is wrong, then what to do about it."""
    return f"{what}{NEXT}{next_step}"


FIX_SETTING = "fix that line in .env (or the environment); .env.example describes every setting"
FIX_URL = "write a full URL like the example in .env.example, or delete the line to use the default"


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def newer_schema(current: int, latest: int) -> str:
    return problem(
        f"database: schema version {current} is newer than this code knows ({latest}); upgrade Hip Coach",
        "run the newer version that wrote it (git pull, or the newer image), or restore the backup "
        "made before that upgrade",
    )


def failing_migration(version: int, description: str, error: str) -> str:
    return problem(
        f"database: migration {version} ({description}) would fail: {error}",
        "keep running the previous version, back the database up (python -m bot backup FILE) "
        "and report this line as an issue",
    )


def schema_note(current: int, latest: int, how: str) -> str:
    if current < latest:
        return f"database: schema {current} -> {latest} at next start or `python -m bot migrate` ({how})"
    return f"database: schema {current}, up to date"


def unknown_zones(zones: list[tuple[str, str]]) -> list[str]:
    problems = []
    for table, zone in zones:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(
                problem(
                    f"database: {table} uses the unknown time zone '{zone}'",
                    "update the time zone data (pip install -U tzdata in the bot's environment, or the "
                    "image) and run check again",
                )
            )
    return problems
