"""End-to-end throughput and latency of the coach through Telegram, beside a plain echo bot.

Both run the real python-telegram-bot (same builder options: rate limiter settings, 16 concurrent
updates, polling), each in its own process as in production, against the same fake Bot API on
127.0.0.1 (the fake and the simulated users share the benchmark's process), in the same run.
U users each send M messages, one after another (a user waits for the answer before writing
again), all users at once. The two bots alternate for R rounds and the medians are compared, since
a 2-core machine shared by three busy processes is noisy.
Latency is from the moment the message is available in getUpdates to the bot's first reply to it.

    python bench/telegram_bench.py [--users 50] [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

from tests.eval.run import load_eval  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402


def questions() -> list[str]:
    """Everyday questions from the evaluation set (no red flags, no symptoms that start a screening)."""
    return [
        c["text"]
        for c in load_eval()
        if c["safety"] == "none" and c.get("topic") not in (None, "knee-pain", "hip-pain", "lower-back-pain")
    ][:200]


class Replies(list):
    """fake.sent that wakes the waiting user when the bot answers in their chat (no busy polling)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future] = {}

    def append(self, record: dict) -> None:
        super().append(record)
        future = self.waiting.pop(record["chat_id"], None)
        if future is not None and not future.done():
            future.set_result(None)


async def drive(fake: FakeTelegram, users: int, messages: int, texts: list[str]) -> tuple[float, list[float]]:
    """Closed loop: each user sends, waits for the first reply in their chat, sends again."""
    latencies: list[float] = []
    replies = fake.sent = Replies()
    loop = asyncio.get_running_loop()

    async def user(n: int) -> None:
        chat = 50_000 + n
        for i in range(messages):
            answered = replies.waiting[chat] = loop.create_future()
            fake.user_message(texts[(n * messages + i) % len(texts)], user_id=chat, first_name=f"U{n}")
            started = time.perf_counter()
            await answered
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)  # let the rest of a multi-message answer arrive before the next question

    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    return time.perf_counter() - started - 0.05 * messages, latencies


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, total: int, seconds: float, latencies: list[float]) -> float:
    ordered = sorted(latencies)
    rate = total / seconds
    print(
        f"{name:<10} {rate:8.0f} msg/s   p50 {ordered[len(ordered) // 2] * 1e3:6.1f} ms   "
        f"p99 {ordered[int(len(ordered) * 0.99)] * 1e3:6.1f} ms"
    )
    return rate


async def measure(
    name: str, command: list[str], users: int, messages: int, texts: list[str], extra_env: dict | None = None
) -> float:
    """Start the bot as its own process against a fresh fake, drive the load, stop it with SIGTERM."""
    async with FakeTelegram() as fake:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_BASE_URL": fake.base_url,
                "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
                "HIPCOACH_DB": str(Path(tmp) / "bench.db"),
                "TELEGRAM_RATE_LIMIT": "0",
                "NO_PROXY": "127.0.0.1,localhost",
                **(extra_env or {}),
            }
            proc = await asyncio.create_subprocess_exec(
                *command,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                await fake.wait_calls("getUpdates", 1, timeout=30)
                await drive(fake, 2, 3, texts)  # warm-up: imports, first connections, database pages
                cpu, bot_cpu = time.process_time(), process_cpu(proc.pid)
                seconds, latencies = await drive(fake, users, messages, texts)
                fake_busy = (time.process_time() - cpu) / seconds
                bot_cpu = process_cpu(proc.pid) - bot_cpu
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 30)
    rate = summary(name, users * messages, seconds, latencies)
    print(
        f"{'':<10} bot process CPU {bot_cpu / (users * messages) * 1e3:.2f} ms per message "
        f"({bot_cpu / seconds:.0%} of a core); the fake and simulated users kept {fake_busy:.0%} of a core busy"
    )
    return rate


async def main(users: int, messages: int, rounds: int) -> None:
    texts = questions()
    print(
        f"{users} users x {messages} messages each, closed loop; each bot in its own process, polling a fake "
        f"Bot API on 127.0.0.1 (rate limiter off in all); {rounds} alternating rounds"
    )
    echo_cmd = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
    rates: dict[str, list[float]] = {"echo": [], "rich echo": [], "coach": []}
    for _ in range(rounds):
        rates["echo"].append(await measure("echo bot", echo_cmd, users, messages, texts))
        rates["rich echo"].append(
            await measure("rich echo", echo_cmd, users, messages, texts, extra_env={"ECHO_RICH": "1"})
        )
        rates["coach"].append(await measure("hip coach", [sys.executable, "-m", "bot"], users, messages, texts))
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"median throughput: echo bot {median['echo']:.0f} msg/s, rich echo (coach-sized answers with buttons, "
        f"no logic) {median['rich echo']:.0f} msg/s, hip coach {median['coach']:.0f} msg/s"
    )
    print(f"coach / echo throughput: {median['coach'] / median['echo']:.0%} (target >= 80%)")
    print(f"coach / rich echo throughput: {median['coach'] / median['rich echo']:.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.messages, args.rounds))
