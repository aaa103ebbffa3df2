"""A plain python-telegram-bot echo bot, built with the same options as our adapter: the baseline the
Telegram benchmark compares the coach with. Reads TELEGRAM_BOT_TOKEN / TELEGRAM_BASE_URL /
TELEGRAM_RATE_LIMIT like `python -m bot`, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.adapters.telegram import limiter  # noqa: E402

# ECHO_RICH=1: answer like the coach does (a ~400-character HTML answer with three inline buttons)
# without any coaching logic, to separate the framework's cost of richer messages from the coach's own.
RICH_TEXT = ("Your hips are a ball-and-socket joint moved by many muscles &amp; they " * 6)[:400]
RICH_KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Tell me more", callback_data="m:posture")],
        [InlineKeyboardButton("How to: Glute bridge", callback_data="x:glute-bridge")],
        [InlineKeyboardButton("How to: Couch stretch", callback_data="x:couch-stretch")],
    ]
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if os.environ.get("ECHO_RICH"):
        await update.effective_message.reply_text(RICH_TEXT, parse_mode="HTML", reply_markup=RICH_KEYBOARD)
    else:
        await update.effective_message.reply_text(update.effective_message.text)


async def main() -> None:
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_BASE_URL"])
        .rate_limiter(limiter(float(os.environ.get("TELEGRAM_RATE_LIMIT", "30"))))
        .concurrent_updates(16)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(timeout=10)
    await stop.wait()
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
