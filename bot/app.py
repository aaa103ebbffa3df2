"""Composition root: builds the coach from content, storage and clock, and runs the chosen front end."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.core.coach import Coach
from bot.core.content import DEFAULT_CONTENT_DIR, Content, load_content
from bot.core.delivery import Dispatcher, Sender
from bot.core.knowledge import Knowledge, load_synonyms
from bot.core.ports import Clock, system_clock
from bot.core.reminders import Reminders
from bot.scheduling import MinuteTicker
from bot.storage.sqlite import SQLiteRepository

log = logging.getLogger(__name__)
DEFAULT_DB = "hipcoach.db"


def content_dir() -> Path:
    return Path(os.environ.get("HIPCOACH_CONTENT") or DEFAULT_CONTENT_DIR)


def build_knowledge(directory: Path | None = None) -> tuple[Content, Knowledge]:
    directory = directory or content_dir()
    content = load_content(directory)
    return content, Knowledge(content, load_synonyms(directory))


@dataclass
class App:
    coach: Coach
    repo: SQLiteRepository
    reminders: Reminders
    senders: dict[str, Sender]
    ticker: MinuteTicker

    def start_scheduler(self) -> None:
        self.ticker.start()

    async def close(self) -> None:
        await self.ticker.stop()
        await self.repo.close()


async def build_app(db_path: str | None = None, clock: Clock = system_clock) -> App:
    """Content, storage, clock and senders in; one coach and one scheduler out. Nothing global."""
    content, knowledge = build_knowledge()
    repo = await SQLiteRepository.open(db_path or os.environ.get("HIPCOACH_DB") or DEFAULT_DB)
    senders: dict[str, Sender] = {}  # adapters register themselves before the scheduler starts
    reminders = Reminders(content, repo, Dispatcher(senders, repo, clock))
    coach = Coach(content, knowledge, repo, clock, reminders=reminders)
    return App(coach, repo, reminders, senders, MinuteTicker(reminders.tick, clock))


def configure_logging() -> None:
    # Logs go to stderr so stdout stays clean for the chat and the JSONL CLI.
    logging.basicConfig(
        level=os.environ.get("HIPCOACH_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
