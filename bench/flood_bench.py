"""Flood protection: what one person sending 50 messages/s does to everyone else's answers.

`python -m bot` runs as its own process against the fake Bot API on 127.0.0.1. Twenty ordinary people
ask questions one after another (with a short pause) for the whole run; in the middle phase one more
person floods 50 messages/s. Prints the ordinary people's latency p50/p99 before, during and after
the flood, how many flood messages were answered, and how many "slow down" notices the flooder got.

    python bench/flood_bench.py [--seconds 10] [--people 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

from bench.soak_bench import Arrivals  # noqa: E402
from bench.telegram_bench import questions  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

FLOODER = 66_666
NOTICE = "a lot of messages at once"


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "no answers"
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{len(ordered):5d} answers  p50 {p50 * 1e3:6.1f} ms  p99 {p99 * 1e3:6.1f} ms"


async def main(seconds: float, people: int) -> None:
    texts = questions()
    async with FakeTelegram() as fake:
        fake.sent = arrivals = Arrivals(lambda r: r["chat_id"])
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_BASE_URL": fake.base_url,
                "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
                "TELEGRAM_RATE_LIMIT": "0",
                "HIPCOACH_DB": str(Path(tmp) / "flood.db"),
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL
            )
            await fake.wait_for(lambda: fake.commands is not None, timeout=30, what="the bot")
            loop = asyncio.get_running_loop()
            began = time.monotonic()
            phase_end = {"before": began + seconds, "during": began + 2 * seconds, "after": began + 3 * seconds}
            latencies: dict[str, list[float]] = {phase: [] for phase in phase_end}
            unanswered: list[int] = []

            def phase_now() -> str:
                now = time.monotonic()
                return next((p for p, end in phase_end.items() if now < end), "after")

            async def person(chat: int) -> None:
                rng = random.Random(chat)
                while time.monotonic() < phase_end["after"]:
                    answered = arrivals.waiting[chat] = loop.create_future()
                    phase = phase_now()
                    started = time.perf_counter()
                    fake.user_message(rng.choice(texts), user_id=chat, first_name=f"P{chat}")
                    try:
                        await asyncio.wait_for(answered, 10)
                        latencies[phase].append(time.perf_counter() - started)
                    except TimeoutError:
                        unanswered.append(chat)
                    await asyncio.sleep(rng.uniform(1.0, 2.0))  # people type under the 1 message/s limit

            async def flood() -> int:
                await asyncio.sleep(max(0.0, phase_end["before"] - time.monotonic()))
                sent = 0
                while time.monotonic() < phase_end["during"]:
                    fake.user_message(texts[sent % len(texts)], user_id=FLOODER, first_name="Flood")
                    sent += 1
                    await asyncio.sleep(1 / 50)
                return sent

            results = await asyncio.gather(flood(), *(person(50_000 + n) for n in range(people)))
            await asyncio.sleep(1)
            flooded = results[0]
            to_flooder = [m for m in fake.sent if m["chat_id"] == FLOODER]
            notices = sum(1 for m in to_flooder if NOTICE in (m.get("plain_text") or ""))
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)

    print(f"{people} people asking for {3 * seconds:g} s; one person flooding 50 msg/s in the middle {seconds:g} s")
    for phase, values in latencies.items():
        print(f"  others, {phase:<6} the flood: {percentiles(values)}")
    print(f"  flooder: {flooded} messages sent, {len(to_flooder) - notices} answered, {notices} notice(s)")
    print(f"  others' questions left unanswered: {len(unanswered)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--people", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.people))
