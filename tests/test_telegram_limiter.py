"""Telegram's overall flood limit shared by answers and reminder fan-outs: answers go first, broadcasts use
the slots left, the overall and group rates hold, and a 429 pauses everything. The limiter on its own (real
asyncio time, small rates, each test about a second), then the app's wiring against the fake Bot API."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from telegram.error import RetryAfter

from bot.adapters.telegram_limiter import BULK, BULK_PATIENCE, AnswersFirstLimiter, GroupWindows, Slots
from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.test_faults import reminders_per_chat, seed_due
from tests.test_telegram_e2e import Running

FIRE = datetime(2026, 3, 28, 7, 30, tzinfo=UTC)


class Recorder:
    """Stands in for the Bot API call the limiter wraps: records when each message went out."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.sent: list[tuple[str, float]] = []

    def call(self, name: str):
        async def send() -> dict:
            self.sent.append((name, time.monotonic() - self.started))
            return {"ok": True}

        return send


async def send(limiter: AnswersFirstLimiter, recorder: Recorder, name: str, chat_id: int, bulk: bool = False):
    return await limiter.process_request(
        recorder.call(name), (), {}, "sendMessage", {"chat_id": chat_id}, BULK if bulk else None
    )


async def test_an_answer_overtakes_a_queued_fan_out_and_the_overall_rate_holds():
    limiter, recorder = AnswersFirstLimiter(overall_max_rate=20), Recorder()
    fan_out = [asyncio.create_task(send(limiter, recorder, f"r{i}", 1000 + i, bulk=True)) for i in range(40)]
    await asyncio.sleep(0.3)  # the burst allowance is used up, the rest of the fan-out waits for slots
    asked = time.monotonic() - recorder.started
    await send(limiter, recorder, "answer", 1)
    answered = dict(recorder.sent)["answer"]
    assert answered - asked < 0.1  # the next slot, not the end of the queue (~1 s away)
    await asyncio.gather(*fan_out)
    times = sorted(t for _, t in recorder.sent)
    # after the first second's burst, never more than the rate: any 20 consecutive sends span >= ~1 s
    steady = times[20:]
    assert all(b - a >= 0.9 for a, b in zip(steady, steady[19:], strict=False))
    assert len(recorder.sent) == 41


async def test_a_broadcast_goes_after_its_patience_even_while_answers_keep_coming():
    slots = Slots(rate=10)
    slots.tokens = 0.0
    order: list[str] = []

    async def one(name: str, bulk: bool) -> None:
        await slots.take(bulk)
        order.append(name)

    reminder = asyncio.create_task(one("reminder", True))
    answers = []
    started = time.monotonic()
    while time.monotonic() - started < BULK_PATIENCE + 0.8:  # more answers than the 10/s rate
        answers.append(asyncio.create_task(one(f"a{len(answers)}", False)))
        await asyncio.sleep(0.05)
    await reminder
    position = order.index("reminder")
    assert 15 <= position <= 30  # gave way for ~BULK_PATIENCE (20 slots at 10/s), then went regardless
    for task in answers:
        task.cancel()


async def test_a_group_gets_at_most_its_per_minute_share_and_other_chats_are_not_held_up():
    groups = GroupWindows(per_minute=3, period=0.5)
    taken: list[tuple[int, float]] = []
    started = time.monotonic()

    async def post(chat: int) -> None:
        await groups.take(chat)
        taken.append((chat, time.monotonic() - started))

    await asyncio.gather(*(post(-100) for _ in range(5)), post(-200))
    group_times = sorted(t for chat, t in taken if chat == -100)
    assert group_times[2] < 0.1 and group_times[3] >= 0.45  # the 4th waits for the window
    assert [t for chat, t in taken if chat == -200][0] < 0.1


async def test_a_429_pauses_every_request_then_retries():
    limiter, recorder = AnswersFirstLimiter(overall_max_rate=0, group_max_rate=0, max_retries=2), Recorder()
    refusals = [RetryAfter(1)]

    async def flaky() -> dict:
        if refusals:
            raise refusals.pop()
        recorder.sent.append(("first", time.monotonic() - recorder.started))
        return {"ok": True}

    first = asyncio.create_task(limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None))
    await asyncio.sleep(0.05)
    await send(limiter, recorder, "second", 2)  # arrives during the pause: waits it out too
    await first
    assert all(t >= 1.0 for _, t in recorder.sent) and len(recorder.sent) == 2


async def test_more_429s_than_the_retries_reach_the_caller():
    limiter = AnswersFirstLimiter(overall_max_rate=0, max_retries=1)

    async def always_429() -> dict:
        raise RetryAfter(0)

    with pytest.raises(RetryAfter):
        await limiter.process_request(always_429, (), {}, "sendMessage", {"chat_id": 1}, None)


# -- through the app, against the fake Bot API -----------------------------------------------------------------


async def test_people_are_answered_promptly_during_a_fan_out_that_fills_the_rate(tmp_path):
    rate, reminders, people, asks = 40, 240, 20, 4
    latencies: list[float] = []
    async with FakeTelegram() as fake:
        async with Running(fake, tmp_path / "l.db", FakeClock(FIRE), TELEGRAM_RATE_LIMIT=str(rate)) as bot:
            chats = list(range(500_001, 500_001 + reminders))
            await seed_due(bot.app.repo, "telegram", chats)
            fan_out = asyncio.create_task(bot.app.reminders.tick(FIRE))
            await fake.wait_for(lambda: len(reminders_per_chat(fake)) >= rate, 10, what="the fan-out to queue up")

            async def person(chat: int) -> None:
                # asks every 0.6 s: twenty people together want ~33 of the 40 messages a second
                for k in range(asks):
                    asked = time.monotonic()
                    fake.user_message("why do my hips feel tight", user_id=chat, first_name="P")
                    await fake.wait_for(lambda k=k: sum(m["chat_id"] == chat for m in fake.sent) > k, 10, what="answer")
                    latencies.append(time.monotonic() - asked)
                    await asyncio.sleep(max(0.0, 0.6 - (time.monotonic() - asked)))

            await asyncio.gather(*(person(600_001 + i) for i in range(people)))
            assert not fan_out.done()  # the questions really came during the fan-out
            await asyncio.wait_for(fan_out, 30)
            await fake.wait_for(lambda: len(reminders_per_chat(fake)) == reminders, 10, what="the whole fan-out")
    # first come first served behind the queued reminders, the waits would grow to seconds
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    assert reminders_per_chat(fake) == {chat: 1 for chat in chats}
