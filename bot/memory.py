"""Handing freed heap memory back to the operating system, once a minute.

A long-running bot frees almost everything it allocates (HTTP bodies, JSON, database rows), yet glibc's
malloc keeps freed chunks inside its heaps, and their pages stay resident. Measured in the soak
(docs/benchmarks.md): Python's own allocations flat, glibc's in-use memory flat after the caches filled,
but the free space inside the heaps +0.85 MB a minute, and with it the process's RSS. malloc_trim(0)
returns every whole free page, anywhere in the heaps, to the kernel; the RSS then follows what is in use.

Only glibc has malloc_trim; elsewhere (macOS, musl, Windows) this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


class HeapTrimmer:
    """A minute tick: malloc_trim(0) in a worker thread (ctypes drops the GIL, the event loop runs on)."""

    def __init__(
        self, trim: Callable[[int], int] | None = None, on_trim: Callable[[float], None] | None = None
    ) -> None:
        self.trim = trim if trim is not None else _malloc_trim()
        self.on_trim = on_trim  # metrics: seconds each trim took
        self.last_seconds = 0.0

    @property
    def available(self) -> bool:
        return self.trim is not None

    async def tick(self, now: datetime) -> None:
        if self.trim is None:
            return
        started = time.perf_counter()
        await asyncio.to_thread(self.trim, 0)
        self.last_seconds = time.perf_counter() - started
        if self.on_trim is not None:
            self.on_trim(self.last_seconds)
        log.debug("event=heap_trimmed seconds=%.4f", self.last_seconds)
