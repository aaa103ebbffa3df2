"""The delivery port for reminders and challenge posts through Telegram: one attempt per delivery, the Bot
API's answer mapped to an outcome. The dispatcher retries; answers to people have their own retries."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.adapters.telegram_limiter import retry_after_seconds
from bot.core.delivery import BLOCKED, FAILED, RETRY, SENT, UNAVAILABLE, SendResult, Target
from bot.core.messages import Reply

if TYPE_CHECKING:
    from bot.adapters.telegram import TelegramAdapter

# Deliveries (reminders, posts) whose first messages went out before a later one failed: the dispatcher's
# retry sends only the rest, as the Bot API has no idempotency key to make a repeat harmless.
PARTLY_SENT_REMEMBERED = 10_000


class TelegramSender:
    """The delivery port for reminders and posts: one attempt, the Bot API's answer mapped to sent / blocked /
    retry / failed. The dispatcher retries; a 429 also pauses every other request (the rate limiter)."""

    def __init__(self, adapter: TelegramAdapter, rate_limit: float = 30.0) -> None:
        self.adapter = adapter
        # Broadcasts may use the whole overall limit: the rate limiter lets answers to people go first and
        # gives broadcasts the slots left. TELEGRAM_RATE_LIMIT=0 (own Bot API server, no limits): unpaced.
        self.rate_per_second = math.inf if rate_limit <= 0 else rate_limit
        self._partly_sent: OrderedDict[str, int] = OrderedDict()  # delivery key -> messages already sent

    async def send(self, target: Target, replies: list[Reply], key: str | None = None) -> SendResult:
        # The Bot API has no idempotency key, so a send whose answer was lost may repeat; `key` only lets a
        # retry skip the messages of a multi-message delivery that already went out.
        if not self.adapter.connected:
            return SendResult(UNAVAILABLE, error="not connected")
        done = self._partly_sent.pop(key, 0) if key else 0
        sent = 0
        try:
            for reply in replies:
                for call in self.adapter.sends(int(target.chat_id), reply, bulk=True):
                    if sent >= done:
                        await call()
                    sent += 1
        except Forbidden as exc:
            return SendResult(BLOCKED, error=str(exc))
        except RetryAfter as exc:
            return self._partly(
                key, sent, SendResult(RETRY, retry_after=retry_after_seconds(exc), error="rate limited")
            )
        except (TimedOut, NetworkError) as exc:
            return self._partly(key, sent, SendResult(RETRY, error=type(exc).__name__))
        except BadRequest as exc:
            blocked = "chat not found" in str(exc).lower() or "user is deactivated" in str(exc).lower()
            return SendResult(BLOCKED if blocked else FAILED, error=str(exc))
        except TelegramError as exc:
            return self._partly(key, sent, SendResult(RETRY, error=type(exc).__name__))
        return SendResult(SENT)

    def _partly(self, key: str | None, sent: int, result: SendResult) -> SendResult:
        if key and sent:
            self._partly_sent[key] = sent
            while len(self._partly_sent) > PARTLY_SENT_REMEMBERED:
                self._partly_sent.popitem(last=False)
        return result
