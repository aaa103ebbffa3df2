"""Sending an answer through a flaky platform: transient failures are retried with backoff, rate limits are
waited out, so a hiccup delays an answer instead of losing it.

A request that timed out or lost its connection may still have reached the platform. Discord messages carry
one nonce for all their retries (enforce_nonce), so Discord posts them once; the Bot API has no idempotency
key, so there a rare duplicate is the price of never losing an answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds between attempts after a 5xx, a timeout or a dropped connection
# How long one call keeps waiting out rate limits (after the library's own retries gave up); each wait
# honours the platform's retry_after, so a storm never becomes a busy loop.
RATE_LIMITED_FOR_AT_MOST = 120.0


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    platform: str,
    transient: Callable[[BaseException], bool],
    rate_limited: Callable[[BaseException], float | None] = lambda exc: None,
) -> T:
    """`rate_limited(exc)` gives the seconds to wait for a 429 (None: not one); `transient(exc)` says whether
    another try is worth it. Anything else is raised at once."""
    backoff = iter(BACKOFF)
    give_up_at = time.monotonic() + RATE_LIMITED_FOR_AT_MOST
    while True:
        try:
            return await call()
        except Exception as exc:
            wait = rate_limited(exc)
            if wait is not None:
                if time.monotonic() + wait > give_up_at:
                    raise
                log.warning("event=rate_limited platform=%s retry_in_s=%.1f", platform, wait)
                await asyncio.sleep(wait)
                continue
            delay = next(backoff, None)
            if delay is None or not transient(exc):
                raise
            log.warning("event=send_retry platform=%s error=%s retry_in_s=%.1f", platform, type(exc).__name__, delay)
            await asyncio.sleep(delay)
