"""Answers during a reminder fan-out under Telegram's real overall limit.

The app's own wiring (serve loop, dispatcher, rate limiter, python-telegram-bot) against the fake Bot API on
127.0.0.1 with TELEGRAM_RATE_LIMIT=30: R reminders fall due at once (a fan-out of R/30 seconds at best) while
P people keep chatting (each asks, waits for the answer, thinks 1-3 s, asks again). Prints answer latency
p50 / p99 / max while the fan-out runs, how long the fan-out took, and whether every reminder arrived once.

    python bench/fanout_answers_bench.py [--reminders 1500] [--people 40] [--rate 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

from bench.soak_bench import Arrivals, latency_summary  # noqa: E402
from bench.telegram_bench import questions  # noqa: E402
from tests.conftest import FakeClock  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.test_faults import reminders_per_chat, seed_due  # noqa: E402
from tests.test_telegram_e2e import Running  # noqa: E402

FIRE = datetime(2026, 3, 28, 7, 30, tzinfo=UTC)
REMINDER_CHATS = 700_000
PEOPLE_CHATS = 900_000


async def main(reminders: int, people: int, rate: float) -> None:
    texts = questions()
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram() as fake:
            fake.sent = arrivals = Arrivals(lambda record: record["chat_id"])
            env = {"TELEGRAM_RATE_LIMIT": str(rate), "HIPCOACH_LOG_LEVEL": "WARNING"}
            async with Running(fake, Path(tmp) / "b.db", FakeClock(FIRE), **env) as bot:
                chats = list(range(REMINDER_CHATS, REMINDER_CHATS + reminders))
                await seed_due(bot.app.repo, "telegram", chats)
                started = time.monotonic()
                fan_out = asyncio.create_task(bot.app.reminders.tick(FIRE))
                finished = asyncio.Event()
                fan_out.add_done_callback(lambda _: finished.set())

                async def person(chat: int) -> None:
                    rng = random.Random(chat)
                    loop = asyncio.get_running_loop()
                    while not finished.is_set():
                        answered = arrivals.waiting[chat] = loop.create_future()
                        asked = time.monotonic()
                        fake.user_message(rng.choice(texts), user_id=chat, first_name="P")
                        await asyncio.wait_for(answered, 60)
                        if not finished.is_set():
                            latencies.append(time.monotonic() - asked)
                        await asyncio.sleep(rng.uniform(1.0, 3.0))

                await asyncio.gather(*(person(PEOPLE_CHATS + i) for i in range(people)))
                seconds = time.monotonic() - started
                await fake.wait_for(lambda: len(reminders_per_chat(fake)) == reminders, 60, what="the fan-out")
                counts = reminders_per_chat(fake)
    print(f"Fan-out of {reminders} reminders at TELEGRAM_RATE_LIMIT={rate:g} with {people} people chatting")
    print(f"fan-out took {seconds:.1f} s ({reminders / rate:.1f} s is the limit's best with no answers at all)")
    print(f"answers during the fan-out: {len(latencies)}, {latency_summary(latencies)}")
    print(f"reminders delivered: {len(counts)} of {reminders}, twice: {sum(n > 1 for n in counts.values())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1500)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--rate", type=float, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.reminders, args.people, args.rate))
