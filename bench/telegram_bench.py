"""End-to-end throughput and latency of the coach through Telegram, beside a plain echo bot.

Both run the real python-telegram-bot (same builder options: rate limiter settings, 16 concurrent
updates, polling), each in its own process as in production, against the same fake Bot API on
127.0.0.1 (the fake and the simulated users share the benchmark's process), in the same run.
U users each send M messages, one after another (a user waits for the answer before writing
again), all users at once. The two bots alternate for R rounds and the medians are compared, since
a 2-core machine shared by three busy processes is noisy.
Latency is from the moment the message is available in getUpdates to the bot's first reply to it.
Throughput is answers per wall-clock second in the steady part of the run (between the 10th and the
90th percentile of answer times, leaving out the start and the drain when the last users finish
alone). Users pause 50 ms after each answer (think time); with 50 users the bot is still busy all
the time (its process keeps about one core busy), so this is what the bot can serve. The pauses are
NOT subtracted from the run time: they overlap with other users' turns; subtracting them (as an
earlier version did) measured users / mean latency instead of throughput, which inflated fast bots
far more than slow ones (an echo bot really serving ~500 msg/s showed ~1,000).

    python bench/telegram_bench.py [--users 50] [--messages 40] [--rounds 3] [--py-spy DIR]

--py-spy DIR records each bot process during each measured run (`pip install py-spy`; GIL-holding
samples only, collapsed stacks in DIR/<bot>-<round>.txt), for finding where the bot's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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


async def drive(
    fake: FakeTelegram, users: int, messages: int, texts: list[str]
) -> tuple[float, list[float], list[float]]:
    """Closed loop: each user sends, waits for the first reply in their chat, thinks 50 ms, sends again.
    Returns the wall-clock seconds of the run, the latencies, and the moments the answers arrived."""
    latencies: list[float] = []
    answered_at: list[float] = []
    replies = fake.sent = Replies()
    loop = asyncio.get_running_loop()

    async def user(n: int) -> None:
        chat = 50_000 + n
        for i in range(messages):
            answered = replies.waiting[chat] = loop.create_future()
            # at any moment the users ask different questions, as real users would (no cache could help)
            fake.user_message(texts[(i * users + n) % len(texts)], user_id=chat, first_name=f"U{n}")
            started = time.perf_counter()
            await answered
            answered_at.append(now := time.perf_counter())
            latencies.append(now - started)
            await asyncio.sleep(0.05)  # think time; also lets the rest of a multi-message answer arrive first

    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    return time.perf_counter() - started, latencies, answered_at


def steady_rate(answered_at: list[float]) -> float:
    """Answers per second between the 10th and the 90th percentile of answer times: the start (all users
    at once) and the drain (the last few users finishing alone, bot half idle) left out."""
    ordered = sorted(answered_at)
    first, last = len(ordered) // 10, len(ordered) * 9 // 10
    return (last - first) / (ordered[last] - ordered[first])


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, total: int, seconds: float, latencies: list[float], answered_at: list[float]) -> float:
    ordered = sorted(latencies)
    rate = steady_rate(answered_at)
    print(
        f"{name:<10} {rate:8.0f} msg/s   p50 {ordered[len(ordered) // 2] * 1e3:6.1f} ms   "
        f"p99 {ordered[int(len(ordered) * 0.99)] * 1e3:6.1f} ms   (whole run: {total / seconds:.0f} msg/s)"
    )
    return rate


async def measure(
    name: str,
    command: list[str],
    users: int,
    messages: int,
    texts: list[str],
    extra_env: dict | None = None,
    spy: Path | None = None,
) -> tuple[float, float]:
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
                # simulated users type 20 messages in a second or two, far past the per-person flood limit
                "HIPCOACH_FLOOD_RATE": "0",
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
                recorder = start_py_spy(proc.pid, spy) if spy else None
                cpu, bot_cpu = time.process_time(), process_cpu(proc.pid)
                seconds, latencies, answered_at = await drive(fake, users, messages, texts)
                fake_busy = (time.process_time() - cpu) / seconds
                bot_cpu = process_cpu(proc.pid) - bot_cpu
                if recorder is not None:
                    recorder.send_signal(signal.SIGINT)
                    await asyncio.to_thread(recorder.wait, 30)
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 30)
    rate = summary(name, users * messages, seconds, latencies, answered_at)
    cpu_per_message = bot_cpu / (users * messages)
    print(
        f"{'':<10} bot process CPU {cpu_per_message * 1e3:.2f} ms per message "
        f"({bot_cpu / seconds:.0%} of a core); the fake and simulated users kept {fake_busy:.0%} of a core busy"
    )
    return rate, cpu_per_message


def start_py_spy(pid: int, out: Path) -> subprocess.Popen:
    """py-spy sampling the bot process (GIL-holding samples, so idle waiting is left out)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")  # e.g. in a venv not on PATH
    command = [py_spy, "record", "-p", str(pid), "-r", "250", "--gil", "--nonblocking", "-f", "raw", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def main(users: int, messages: int, rounds: int, spy_dir: Path | None = None) -> None:
    texts = questions()
    print(
        f"{users} users x {messages} messages each, closed loop; each bot in its own process, polling a fake "
        f"Bot API on 127.0.0.1 (rate limiter off in all); {rounds} alternating rounds"
    )
    echo_cmd = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
    bots = {
        "echo": ("echo bot", echo_cmd, None),
        "rich echo": ("rich echo", echo_cmd, {"ECHO_RICH": "1"}),
        "coach": ("hip coach", [sys.executable, "-m", "bot"], None),
    }
    rates: dict[str, list[float]] = {name: [] for name in bots}
    cpu: dict[str, list[float]] = {name: [] for name in bots}
    for round_no in range(1, rounds + 1):
        for name, (label, command, env) in bots.items():
            spy = spy_dir / f"{name.replace(' ', '-')}-{round_no}.txt" if spy_dir else None
            rate, per_message = await measure(label, command, users, messages, texts, env, spy)
            rates[name].append(rate)
            cpu[name].append(per_message)
    median = {name: statistics.median(values) for name, values in rates.items()}
    median_cpu = {name: statistics.median(values) * 1e3 for name, values in cpu.items()}
    print(
        f"median throughput: echo bot {median['echo']:.0f} msg/s, rich echo (coach-sized answers with buttons, "
        f"no logic) {median['rich echo']:.0f} msg/s, hip coach {median['coach']:.0f} msg/s"
    )
    print(
        f"median bot CPU per message: echo bot {median_cpu['echo']:.2f} ms, rich echo {median_cpu['rich echo']:.2f} ms,"
        f" hip coach {median_cpu['coach']:.2f} ms"
    )
    print(f"coach / echo throughput: {median['coach'] / median['echo']:.0%} (target >= 80%)")
    print(f"coach / rich echo throughput: {median['coach'] / median['rich echo']:.0%}")
    print(f"echo / coach CPU per message: {median_cpu['echo'] / median_cpu['coach']:.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR", help="profile the bots with py-spy")
    args = parser.parse_args()
    asyncio.run(main(args.users, args.messages, args.rounds, args.py_spy))
