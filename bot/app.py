"""Composition root: builds the coach from content, storage and clock, and runs the chosen front end."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.adapters.platform import Platform, elected_role
from bot.adapters.texts import AdapterTexts
from bot.config import TOKEN_PATTERNS, Settings, apply_library_switches
from bot.core.challenges import Challenges
from bot.core.coach import Coach
from bot.core.commands import Catalogue, load_commands
from bot.core.content import Content, load_content
from bot.core.delivery import Dispatcher, Sender
from bot.core.knowledge import Knowledge, load_elsewhere, load_synonyms
from bot.core.ports import Clock, system_clock
from bot.core.reminders import Reminders
from bot.core.semantic import load_embedder
from bot.core.throttle import Throttle
from bot.memory import HeapTrimmer
from bot.observability import HealthServer, Metrics
from bot.roles import Election, election_for, hold_role, unless_stopped
from bot.scheduling import MinuteTicker, together
from bot.storage.rate_limits import SqlRateLimits
from bot.storage.repository import SqlRepository
from bot.storage.updates import RecentUpdates

log = logging.getLogger(__name__)


def content_dir() -> Path:
    """The knowledge base folder: HIPCOACH_CONTENT (read by Settings), else this checkout's content/."""
    return Settings.lenient().content_dir


def build_knowledge(directory: Path | None = None, semantic: bool = True) -> tuple[Content, Knowledge]:
    """Content and its indexes; `semantic=False` leaves out the embedding model (for comparisons)."""
    directory = directory or content_dir()
    content = load_content(directory)
    embedder = load_embedder() if semantic else None
    return content, Knowledge(content, load_synonyms(directory), embedder, load_elsewhere(directory))


@dataclass
class App:
    coach: Coach
    repo: SqlRepository
    reminders: Reminders
    senders: dict[str, Sender]
    ticker: MinuteTicker
    challenges: Challenges
    metrics: Metrics
    trimmer: HeapTrimmer
    commands: Catalogue
    texts: AdapterTexts

    def start_scheduler(self) -> None:
        self.ticker.start()

    async def close(self) -> None:
        await self.ticker.stop()
        await self.repo.close()


async def build_app(db_path: str | None = None, clock: Clock = system_clock, settings: Settings | None = None) -> App:
    """Content, storage, clock and senders in; one coach and one scheduler out. Nothing global."""
    settings = settings or Settings.from_env()
    content, knowledge = build_knowledge(settings.content_dir)
    commands = load_commands(settings.content_dir)
    repo = await SqlRepository.open(db_path or settings.db_path)
    metrics = Metrics()
    senders: dict[str, Sender] = {}  # adapters register themselves before the scheduler starts
    dispatcher = Dispatcher(senders, repo, clock, on_outcome=metrics.delivery)  # one pipeline for all we send
    reminders = Reminders(content, repo, dispatcher)
    challenges = Challenges(content, repo, dispatcher)
    throttle = Throttle(settings.flood_burst, settings.flood_rate) if settings.flood_rate > 0 else None
    if throttle is not None:
        metrics.throttled = throttle.refused
    coach = Coach(
        content,
        knowledge,
        repo,
        clock,
        reminders=reminders,
        challenges=challenges,
        throttle=throttle,
        on_turn=metrics.turn,
    )
    fan_out = together(reminders.tick, challenges.tick)
    trimmer = HeapTrimmer(on_trim=metrics.heap_trimmed)

    async def minute(now: datetime) -> None:
        await fan_out(now)
        await trimmer.tick(now)  # after the fan-out: the minute's freed memory goes back to the OS

    ticker = MinuteTicker(minute, clock)
    texts = AdapterTexts.from_messages(content.messages)
    return App(coach, repo, reminders, senders, ticker, challenges, metrics, trimmer, commands, texts)


class RedactSecrets(logging.Filter):
    """Tokens never reach a log line: library loggers print request URLs, which carry the token."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub("<redacted>", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the key=value pairs of our `event=... key=value` messages become fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        out = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name}
        pairs = dict(_PAIR.findall(message))
        if pairs and message.startswith("event="):
            out.update({k: v.strip('"').strip("'") for k, v in pairs.items()})
        else:
            out["message"] = message
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


_PAIR = re.compile(r"(\w+)=(\"[^\"]*\"|'[^']*'|\S+)")


def configure_logging(settings: Settings) -> None:
    """Logs go to stderr so stdout stays clean for the chat and the JSONL CLI; one line per event,
    key=value text (default) or JSON (HIPCOACH_LOG_FORMAT=json). An unknown level falls back to WARNING
    (`python -m bot check` reports it) rather than stopping the bot."""
    level = settings.log_level if settings.log_level in logging.getLevelNamesMapping() else "WARNING"
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    handler.addFilter(RedactSecrets(settings.secrets))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request is noise


def make_adapters(app: App, settings: Settings) -> list[Platform]:
    """One platform per token that is set. Imported lazily: the terminal needs neither library."""
    apply_library_switches()
    platforms: list[Platform] = []
    # Several processes on PostgreSQL share each platform's rate through the database; SQLite: one process, own.
    rate_store = SqlRateLimits(app.repo.db) if app.repo.shared else None
    if settings.telegram_token:
        from bot.adapters.telegram import TelegramAdapter, WebhookConfig

        webhook = None
        if settings.telegram_webhook_url:
            host, _, port = settings.telegram_webhook_listen.rpartition(":")
            # Alone (SQLite) the process registers the webhook at start, as it always did. Several processes
            # (PostgreSQL) share one secret and never register: `python -m bot webhook set` does, once.
            alone = not app.repo.shared
            if not alone and not settings.telegram_webhook_secret:
                raise ValueError(
                    "TELEGRAM_WEBHOOK_SECRET must be set when several processes share a PostgreSQL database in "
                    "webhook mode (every process checks the one secret); then run `python -m bot webhook set`"
                )
            webhook = WebhookConfig(
                settings.telegram_webhook_url,
                host or "0.0.0.0",
                int(port or 8443),
                settings.telegram_webhook_secret,
                register=alone,
            )
        # Several processes: the database says who saw an update first; one process: its memory is enough.
        first_sight = (
            functools.partial(app.repo.first_sight, "telegram") if app.repo.shared else RecentUpdates().first_sight
        )
        platforms.append(
            TelegramAdapter(
                app.coach,
                settings.telegram_token,
                settings.telegram_base_url,
                settings.telegram_base_file_url,
                webhook,
                rate_limit=settings.telegram_rate_limit,
                commands=app.commands,
                texts=app.texts,
                rate_store=rate_store,
                turn_lock=app.repo.turn_lock,
                first_sight=first_sight,
            )
        )
    if settings.discord_token:
        from bot.adapters.discord import DiscordAdapter

        platforms.append(
            DiscordAdapter(
                app.coach,
                settings.discord_token,
                guild_id=settings.discord_guild_id,
                api_base=settings.discord_api_base_url,
                gateway=settings.discord_gateway_url,
                rate_limit=settings.discord_rate_limit,
                commands=app.commands,
                texts=app.texts,
                rate_store=rate_store,
                turn_lock=app.repo.turn_lock,
            )
        )
    return platforms


def make_terminal(app: App, on_quit: Callable[[], None]) -> Platform:
    """The terminal chat, when no platform has a token: one local person, reminders shown in the chat."""
    from bot.adapters.terminal import TerminalPlatform

    return TerminalPlatform(app.coach, on_quit, app.texts)


async def _start_with_retry(
    platform: Platform,
    stop: asyncio.Event,
    first_delay: float = 1.0,
    max_delay: float = 60.0,
    start: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """A platform that cannot connect is retried with backoff; the others keep working meanwhile."""
    delay = first_delay
    start = start or platform.start
    while not stop.is_set():
        try:
            await unless_stopped(start(), stop)
            return
        except Exception as exc:
            log.warning(
                "event=platform_start_failed platform=%s error=%s retry_in_s=%.0f",
                platform.name,
                type(exc).__name__,
                delay,
            )
            try:
                await platform.stop()
            except Exception:
                pass
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                delay = min(max_delay, delay * 2)


CONNECT_GRACE_SECONDS = 15.0
STOP_GRACE_SECONDS = 5.0  # for starts in progress to give up when we stop


async def _run_platform(platform: Platform, election: Election, stop: asyncio.Event) -> None:
    """Every process sends; receiving is either everyone's (no role) or the elected process's (bot/roles.py).
    On SQLite this process holds every role, so it starts both halves at once, as it always did."""
    role = elected_role(platform)
    if role is None:
        await _start_with_retry(platform, stop)
        return
    await _start_with_retry(platform, stop, start=platform.start_sending)
    if not stop.is_set():
        await hold_role(role, election, platform.start_receiving, platform.stop_receiving, stop)


async def _until_connected(platforms: list[Platform], stop: asyncio.Event, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not stop.is_set() and not all(p.connected for p in platforms):
        if asyncio.get_running_loop().time() >= deadline:
            return
        await asyncio.sleep(0.05)


async def serve(
    app: App,
    platforms: list[Platform],
    stop: asyncio.Event,
    http: tuple[str, int] | None = None,
    election: Election | None = None,
) -> None:
    """Run every platform, the scheduler and one database in this loop until `stop` is set; with `http`
    (host, port), also /healthz and /metrics. On PostgreSQL, receiving roles are elected among the processes
    (`election`, by default advisory locks on the app's database)."""
    election = election or election_for(app.repo.backend, app.repo.url)
    for platform in platforms:
        app.senders[platform.name] = platform.sender
    health = None
    if http is not None:
        health = HealthServer(
            app.metrics, app.repo.ping, lambda: {p.name: p.connected for p in platforms}, host=http[0], port=http[1]
        )
        await health.start()
    starting = [asyncio.create_task(_run_platform(p, election, stop)) for p in platforms]
    # Give the platforms a moment to connect before the first (catch-up) tick, so reminders due while we
    # were down go out now rather than being deferred because their platform was still connecting.
    await _until_connected(platforms, stop, CONNECT_GRACE_SECONDS)
    app.start_scheduler()
    await stop.wait()
    # Roles are handed over first (receiving stops, the lock is released), so a standby takes over while we
    # finish; a start still in progress is given up.
    if starting:
        _, pending = await asyncio.wait(starting, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
    await app.ticker.stop()  # finish a fan-out in flight before the platforms go away
    for platform in platforms:
        try:
            await platform.stop()
        except Exception as exc:
            log.warning("event=platform_stop_failed error=%s", type(exc).__name__)
    if health is not None:
        await health.stop()
    await election.close()
