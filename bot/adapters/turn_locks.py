"""One lock per person, so one person's turns stay in order while different people are served at once.

The app passes the repository's `turn_lock` (a Database.lock: a PostgreSQL advisory lock shared by every
process, an asyncio lock on SQLite), so two processes receiving one person's messages answer them one after
the other. Without it (an adapter built alone, in tests) the locks are this process's own."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager


class TurnLocks:
    """`locks(user_key)` is an async context manager held for the whole turn (the coach's answer and its
    delivery). In-process locks live only while someone holds or waits for them (a weak map)."""

    def __init__(self, shared: Callable[[str], AbstractAsyncContextManager] | None = None) -> None:
        self._shared = shared
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, user_key: str) -> AbstractAsyncContextManager:
        if self._shared is not None:
            return self._shared(user_key)
        lock = self._locks.get(user_key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_key] = lock
        return lock
