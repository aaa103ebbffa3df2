"""`python -m bot webhook set|delete|info`: the Telegram webhook, registered once for every process."""

from __future__ import annotations

import contextlib
import re

from bot.config import Settings

# -- Telegram webhook, registered once for every process (docs/scale-out.md) ------------------------------

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token


class WebhookError(Exception):
    """A webhook command that could not run; one line for the operator, never the token."""


def _webhook_settings_problem(action: str, settings: Settings) -> str | None:
    if not settings.telegram_token:
        return "TELEGRAM_BOT_TOKEN is not set (.env or the environment)"
    if action != "set":
        return None
    if not settings.telegram_webhook_url.startswith("https://"):
        return "TELEGRAM_WEBHOOK_URL must be the public https:// address your load balancer serves"
    if not WEBHOOK_SECRET.fullmatch(settings.telegram_webhook_secret):
        return (
            "TELEGRAM_WEBHOOK_SECRET must be set to 1-256 letters, digits, _ or - (the same in every process; "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return None


async def webhook(action: str, settings: Settings) -> str:
    """`set` registers TELEGRAM_WEBHOOK_URL with TELEGRAM_WEBHOOK_SECRET, `delete` removes it, `info` shows what
    Telegram has. What it prints never contains the token or the secret."""
    wrong = _webhook_settings_problem(action, settings)
    if wrong:
        raise WebhookError(wrong)
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    from bot.adapters.telegram import UPDATES  # exactly what the adapter handles

    hidden = [s for s in (settings.telegram_token, settings.telegram_webhook_secret) if s]

    def safe(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return " ".join(text.split())

    bot = Bot(settings.telegram_token, settings.telegram_base_url, settings.telegram_base_file_url)
    try:
        await bot.initialize()  # getMe: proves the token before anything changes
        if action == "set":
            await bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=UPDATES,
            )
        elif action == "delete":
            await bot.delete_webhook()
        info = await bot.get_webhook_info()
    except InvalidToken:
        raise WebhookError("Telegram rejected TELEGRAM_BOT_TOKEN (ask @BotFather with /token)") from None
    except TelegramError as exc:
        raise WebhookError(f"Telegram said: {safe(str(exc))}") from None
    finally:
        with contextlib.suppress(TelegramError):
            await bot.shutdown()
    lines = [f"bot: @{bot.username}"] if bot.username else []
    if action == "set":
        lines.insert(0, "Webhook set: Telegram posts updates there with TELEGRAM_WEBHOOK_SECRET (not shown).")
    elif action == "delete":
        lines.insert(0, "Webhook deleted: Telegram keeps updates for one process to fetch by long polling.")
    lines.append(f"url: {info.url or '(none: long polling)'}")
    lines.append(f"pending updates: {info.pending_update_count}")
    if info.allowed_updates:
        lines.append(f"allowed updates: {', '.join(info.allowed_updates)}")
    if info.last_error_message:
        when = info.last_error_date.isoformat() if info.last_error_date else "?"
        lines.append(f"last error: {when} {safe(info.last_error_message)}")
    return "\n".join(lines)
