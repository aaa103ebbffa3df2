"""Telegram webhook receiver for several processes behind one HTTP load balancer (docs/scale-out.md).

Why not PTB's own webhook server: it answers 200 as soon as an update is queued, before it is handled. Telegram
delivers one chat's updates in sequence (it sends the next only after the previous got its answer; different
chats go concurrently), so with one process PTB's queue keeps them in order, but behind a load balancer update 2
could reach process B and be answered while process A has not even started on update 1. This server handles the
update (the coach's answer is sent) before it answers the POST, so Telegram's per-chat sequence becomes ours
across processes; the per-person turn lock (an advisory lock on PostgreSQL) covers the rest: one person in two
chats at once, or a redelivery racing its original. The coach answers in milliseconds, far inside Telegram's
webhook timeout; should handling fail, the POST is still answered 200 (the error handler logged it), so a
broken update is not redelivered forever.

Every process checks the one configured secret (X-Telegram-Bot-Api-Secret-Token); the webhook is registered
once, by the `python -m bot webhook set` command (bot/ops/webhook.py), never by every process at start.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram"
MAX_BODY = 1024 * 1024  # updates are small; a bigger body is not from Telegram


class WebhookServer:
    """POST /telegram: check the secret, handle the update, then answer 200."""

    def __init__(self, application: Application, secret: str, host: str, port: int) -> None:
        self.application = application
        self.secret = secret
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(PATH, self._on_post)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("event=webhook_listening host=%s port=%d", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()  # stops accepting, lets requests in flight finish

    async def _on_post(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(json.loads(await request.read()), self.application.bot)
        except Exception as exc:  # not an update: say so, never a traceback
            log.info("event=webhook_bad_update error=%s", type(exc).__name__)
            return web.Response(status=400, text="not an update")
        app = self.application
        # Through PTB's update processor, so the concurrency limit (different people at once) still applies;
        # handler errors go to the application's error handler and never reach here.
        await app.update_processor.process_update(update, app.process_update(update))
        return web.json_response({"ok": True})
