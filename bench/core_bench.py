"""Benchmark of the coaching core, in-process, on the answer-quality evaluation set.

Prints start-up time (content load + index build, embedding model included), messages/second and
p50/p99 latency per free-text message: once for understanding alone (safety findings + word retrieval
+ meaning lookup, no storage) and once through
`coach.handle` on a real SQLite file (what a user waits for).

    python bench/core_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_knowledge  # noqa: E402
from bot.core.coach import Coach  # noqa: E402
from bot.core.messages import Incoming  # noqa: E402
from bot.storage.repository import SqlRepository  # noqa: E402
from tests.eval.run import load_eval  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def report(name: str, latencies: list[float]) -> None:
    total = sum(latencies)
    print(
        f"{name:<28} {len(latencies) / total:>10,.0f} msg/s   p50 {percentile(latencies, 0.5) * 1e3:6.3f} ms"
        f"   p99 {percentile(latencies, 0.99) * 1e3:6.3f} ms   max {max(latencies) * 1e3:6.2f} ms"
    )


async def main(rounds: int) -> None:
    texts = [case["text"] for case in load_eval()]
    startups = []
    for _ in range(5):
        started = time.perf_counter()
        content, knowledge = build_knowledge()
        startups.append(time.perf_counter() - started)
    print(
        f"start-up (content load + index build): median {statistics.median(startups) * 1e3:.0f} ms "
        f"over 5 runs ({len(content.topics)} topics, {len(content.exercises)} exercises, "
        f"{len(content.routines)} routines)"
    )
    print(f"{len(texts)} evaluation messages x {rounds} rounds")

    understanding = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            content.safety.assess(text)
            analysis = knowledge.analyse(text)
            knowledge.topics.search(analysis.terms)
            knowledge.exercises.find(text)
            if knowledge.semantic is not None:  # worst case: the coach asks it only when words are unsure
                knowledge.semantic.nearest(text)
            understanding.append(time.perf_counter() - started)
    report("understanding only", understanding)

    with tempfile.TemporaryDirectory() as tmp:
        repo = await SqlRepository.open(Path(tmp) / "bench.db")
        coach = Coach(content, knowledge, repo)
        handled = []
        for _ in range(rounds):
            for i, text in enumerate(texts):
                user = f"u{i}"  # round 1: new users; later rounds: returning users mid-conversation
                started = time.perf_counter()
                await coach.handle(Incoming("bench", user, user, text=text))
                handled.append(time.perf_counter() - started)
        await repo.close()
    report("coach.handle (SQLite)", handled)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
