"""Group challenges (docs/challenges.md), one module per responsibility:

- parsing.py: reading `/challenge start` (free text, `key=value`, typed options) into a StartRequest;
- rules.py: day numbers, check-in days, streaks, percentages, who finished;
- commands.py: `Challenges`, what the coach calls (commands and buttons);
- views.py: the list, a member's status, the leaderboard;
- posts.py: the daily post, the summary, and the tick that plans them for the shared Dispatcher.
"""

from bot.core.delivery import CLAIM_LEASE, LATE_WINDOW, TICK_BATCH

from .commands import SUBCOMMANDS, Challenges
from .parsing import MAX_NAME, START_OPTIONS, StartRequest, parse_start, start_request, tokens
from .posts import MAX_POST_ATTEMPTS, POST_RETRY, PREFIX, STOPPED_NOTICE, ChallengePosts, PostStats
from .rules import (
    FINISH_SHARE,
    FINISHERS_NAMED,
    LEADERBOARD_SIZE,
    MAX_AHEAD,
    MAX_DAYS,
    MIN_DAYS,
    SUGGESTED_DAYS,
    short_date,
)

__all__ = [
    "CLAIM_LEASE",
    "FINISHERS_NAMED",
    "FINISH_SHARE",
    "LATE_WINDOW",
    "LEADERBOARD_SIZE",
    "MAX_AHEAD",
    "MAX_DAYS",
    "MAX_NAME",
    "MAX_POST_ATTEMPTS",
    "MIN_DAYS",
    "POST_RETRY",
    "PREFIX",
    "START_OPTIONS",
    "STOPPED_NOTICE",
    "SUBCOMMANDS",
    "SUGGESTED_DAYS",
    "TICK_BATCH",
    "ChallengePosts",
    "Challenges",
    "PostStats",
    "StartRequest",
    "parse_start",
    "short_date",
    "start_request",
    "tokens",
]
