"""Send slots shared by every process on one PostgreSQL: the same `take(bulk)` / `pause(seconds)` as the
in-process Slots (bot/adapters/telegram_limiter.py), with the schedule kept in the database
(bot/storage/rate_limits.py).

Each process queues its own waiters, answers first, and one pump books small leases of slots for them: for the
answers waiting, without limit; for bulk, only while the shared schedule reaches at most HORIZON ahead, so an
answer in any process waits behind at most HORIZON of everybody's fan-out. A booked slot goes to the oldest
waiting answer, else to the oldest bulk message. If the database cannot be reached, the process paces itself at
the whole rate for that slot (as before scale-out) and says so in the log, rather than hold the answers up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from bot.storage.rate_limits import NO_HORIZON, Lease, RateStore

log = logging.getLogger(__name__)

HORIZON = 0.15  # seconds of booked slots ahead beyond which bulk waits; answers wait at most about this long
MAX_LEASE = 4  # slots per booking: fewer round trips, and at most this many slots go unused when waiters leave
# Bulk gives way to answers, but not forever: when no bulk message has had a slot for this long, the next one
# goes regardless. Counted from the last bulk slot, not from when a message queued: a deep fan-out queue (every
# message "old") must not push the answers behind it.
PATIENCE = 2.0
STORE_TIMEOUT = 2.0  # a booking that takes longer (a stalled database) gives way to this process's own pace


class SharedSlots:
    def __init__(self, store: RateStore, platform: str, rate: float, scope: str = "bot") -> None:
        self.store, self.platform, self.scope = store, platform, scope
        self.rate = rate
        self.answers: deque[asyncio.Future] = deque()
        self.bulk: deque[tuple[float, asyncio.Future]] = deque()
        self.paused_until = 0.0  # monotonic; this process's own view of a 429 pause
        self.booked = 0  # slots booked through the store
        self.unshared = 0  # slots paced locally because the store failed
        self.late = 0  # booked slots let go because this process woke too late for them
        self._arrived = asyncio.Event()
        self._pump: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._fallback_next = 0.0
        self._store_down = False  # logged once per outage, not once per message
        self._last_bulk = time.monotonic()

    async def take(self, bulk: bool) -> None:
        future = asyncio.get_running_loop().create_future()
        if bulk:
            self.bulk.append((time.monotonic(), future))
        else:
            self.answers.append(future)
            self._arrived.set()  # a pump waiting for the schedule to drain books for the answer at once
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run())
        await future

    def pause(self, seconds: float) -> None:
        """A 429: this process waits at once, and every other one from its next booking on."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        task = asyncio.create_task(self._share_pause(seconds))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _share_pause(self, seconds: float) -> None:
        try:
            await self.store.pause(self.platform, self.scope, seconds)
        except Exception as exc:  # the local pause still holds
            log.warning("event=rate_pause_not_shared platform=%s error=%s", self.platform, type(exc).__name__)

    def _drop_gone(self) -> None:
        while self.bulk and self.bulk[0][1].done():  # cancelled while waiting
            self.bulk.popleft()
        while self.answers and self.answers[0].done():
            self.answers.popleft()

    def _next(self) -> asyncio.Future | None:
        """The waiter that gets a booked slot: the oldest answer, unless a bulk message ran out of patience."""
        self._drop_gone()
        if self.bulk:
            waited = time.monotonic() - max(self._last_bulk, self.bulk[0][0])
            if not self.answers or waited > PATIENCE:
                self._last_bulk = time.monotonic()
                return self.bulk.popleft()[1]
        return self.answers.popleft() if self.answers else None

    async def _run(self) -> None:
        while True:
            self._drop_gone()
            if not self.answers and not self.bulk:
                return
            if (paused := self.paused_until - time.monotonic()) > 0:
                await asyncio.sleep(paused)
                continue
            answering = bool(self.answers)
            waiting = len(self.answers) if answering else len(self.bulk)
            count = min(waiting, MAX_LEASE)
            self._arrived.clear()
            try:
                booking = await asyncio.wait_for(
                    self.store.book(self.platform, self.scope, self.rate, count, NO_HORIZON if answering else HORIZON),
                    STORE_TIMEOUT,
                )
                if isinstance(booking, Lease):
                    self.booked += booking.count
                if self._store_down:
                    self._store_down = False
                    log.warning("event=rate_store_back platform=%s", self.platform)
            except Exception as exc:
                if not self._store_down:
                    self._store_down = True
                    log.warning("event=rate_store_failed platform=%s error=%s", self.platform, type(exc).__name__)
                booking = self._local_slot()
                self.unshared += 1
            if isinstance(booking, Lease):
                await self._hand_out(booking)
            else:
                # The schedule is full for bulk: wait until it drains to the horizon, or until an answer arrives.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), booking.retry_in)

    async def _hand_out(self, lease: Lease) -> None:
        start = time.monotonic() + lease.first_in
        for i in range(lease.count):
            wait = start + i * lease.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                wait = start + i * lease.interval - time.monotonic()
            if -wait > lease.interval / 2:
                # A stalled loop (a long GC, a busy CPU) woke us well after this slot: used now, it would land
                # on another process's slot. Let it go; a later slot of the lease, or a new booking, is on time.
                self.late += 1
                continue
            if self.paused_until > time.monotonic():
                return  # a 429 came in meanwhile: the rest of the lease goes unused
            waiter = self._next()
            if waiter is None:
                return  # everyone left: the rest of the lease goes unused (the rate is only undershot)
            waiter.set_result(None)

    def _local_slot(self) -> Lease:
        """Without the database: one slot at this process's own pace."""
        now = time.monotonic()
        slot = max(self._fallback_next, now)
        self._fallback_next = slot + 1.0 / self.rate
        return Lease(first_in=slot - now, interval=1.0 / self.rate, count=1)
