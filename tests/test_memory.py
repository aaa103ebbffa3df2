"""Memory the bot has freed goes back to the operating system once a minute (glibc's malloc_trim), so a bot
left running for months does not keep the high-water mark of its heap fragments. See bot/memory.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build_app
from bot.memory import HeapTrimmer

ROOT = Path(__file__).resolve().parents[1]
glibc = pytest.mark.skipif(not HeapTrimmer().available, reason="malloc_trim is glibc's")


FRAGMENTED = """
import asyncio, sys
from pathlib import Path
from bot.memory import HeapTrimmer

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

# Freed 24 KB buffers between small long-lived ones: free() cannot shrink such a heap, the pages stay.
buffers, pinned = [], []
for i in range(2_000):
    buffers.append(bytes(24_000) + bytes([i % 256]))
    pinned.append(bytes(600) + bytes([i % 256]))
del buffers
before = rss_mb()
asyncio.run(HeapTrimmer().tick(None))
print(before, rss_mb(), len(pinned))
"""


@glibc
def test_fragmented_free_heap_memory_is_returned_by_the_minute_tick():
    # A fresh interpreter, so the heap holds just this pattern and not the rest of the test run's.
    done = subprocess.run([sys.executable, "-c", FRAGMENTED], capture_output=True, text=True, cwd=ROOT, timeout=60)
    before, after, live = done.stdout.split()
    assert float(before) - float(after) >= 20, done.stdout  # of ~48 MB freed, most pages go back to the kernel
    assert live == "2000"  # the live ones are untouched


@glibc
async def test_the_apps_minute_tick_trims_after_the_fan_out(tmp_path, clock):
    app = await build_app(str(tmp_path / "m.db"), clock=clock)
    try:
        assert app.trimmer.last_seconds == 0.0
        await app.ticker.run_once()
        assert 0 < app.trimmer.last_seconds < 1.0
        metrics = app.metrics.render({})
        assert "hipcoach_heap_trim_seconds_count 1" in metrics  # an operator can see what the trims cost
        resident = next(line for line in metrics.splitlines() if line.startswith("process_resident_memory_bytes"))
        assert int(resident.split()[1]) > 10 * 2**20
    finally:
        await app.close()


async def test_without_malloc_trim_the_tick_does_nothing():
    trimmer = HeapTrimmer()
    trimmer.trim = None  # as on macOS or musl
    await trimmer.tick(None)
    assert not trimmer.available and trimmer.last_seconds == 0.0
