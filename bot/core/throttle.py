"""Flood protection: one person sending too much too fast is slowed down, everyone else is unaffected.

A token bucket per person: a burst of BURST messages, then RATE per second. The first message over
the limit gets one friendly notice; the rest are dropped without a reply (and without touching the
database), so a flood costs almost nothing. Messages the refill lets through meanwhile are answered; a
second notice comes only after a pause long enough to refill the whole burst.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

BURST = 8  # messages in a row before throttling starts
RATE = 1.0  # messages per second sustained
IDLE_FORGET = 120.0  # seconds after which a quiet person's bucket is dropped


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class Throttle:
    def __init__(self, burst: int = BURST, rate: float = RATE, now: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.rate, self.now = burst, rate, now
        self._buckets: dict[str, _Bucket] = {}
        self._calls = 0
        self.refused: dict[str, int] = defaultdict(int)  # per platform, for metrics

    def check(self, user_key: str) -> str:
        """ "ok" to go ahead, "notice" for the first message over the limit, "drop" for the rest."""
        now = self.now()
        self._calls += 1
        if self._calls % 1024 == 0:
            self._forget_idle(now)
        bucket = self._buckets.get(user_key)
        if bucket is None:
            self._buckets[user_key] = _Bucket(self.burst - 1, now)
            return "ok"
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # quiet long enough to refill completely: a new flood gets a new notice
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return "ok"
        self.refused[user_key.partition(":")[0]] += 1
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "notice"

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if now - b.updated > IDLE_FORGET]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
