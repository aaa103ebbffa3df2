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

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.adapters.telegram import limiter  # noqa: E402


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
