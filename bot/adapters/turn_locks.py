"""One lock per person, so one person's turns stay in order while different people are served at once."""

from __future__ import annotations

import asyncio
import weakref


class TurnLocks:
    """Locks live only while someone holds or waits for them (a weak map), so quiet people cost nothing."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock
