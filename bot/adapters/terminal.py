"""Terminal chat: the whole coach with no tokens. Buttons are shown as numbered choices."""

from __future__ import annotations

import asyncio
import getpass
import logging
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.adapters.texts import AdapterTexts
from bot.core.coach import Coach
from bot.core.delivery import SENT, SendResult, Target
from bot.core.messages import Button, Incoming, Reply

log = logging.getLogger(__name__)
PLATFORM = "terminal"
QUIT = {"/quit", "/exit", "quit", "exit"}
PROMPT = "you> "
_COMMAND = re.compile(r"/(?P<name>\S+)(?P<args>.*)", re.DOTALL)


def user_files_dir() -> Path:
    """Where files for the person go (an /export is health data): their own data folder, not the checkout."""
    base = os.environ.get("XDG_DATA_HOME") or os.environ.get("LOCALAPPDATA")
    return (Path(base) if base else Path.home() / ".local" / "share") / "hipcoach"


def save_file(name: str, body: bytes, directory: Path | None = None) -> Path:
    """An attached file is written to the user's data folder, readable by them only, never over another."""
    directory = directory or user_files_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / Path(name).name  # only the file name: a reply never picks the folder
    stem, suffix, n = path.stem, path.suffix, 1
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            n += 1
            path = directory / f"{stem}-{n}{suffix}"
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    return path


def render(
    replies: list[Reply], directory: Path | None = None, texts: AdapterTexts | None = None
) -> tuple[str, list[Button]]:
    """Reply texts, with every button numbered across the whole batch."""
    texts = texts or AdapterTexts.default()
    out: list[str] = []
    choices: list[Button] = []
    for reply in replies:
        out.append(reply.text)
        if reply.file is not None:
            out.append(texts.terminal_file_saved.format(path=save_file(*reply.file, directory)))
        if reply.image is not None:
            out.append(texts.terminal_picture_saved.format(path=save_file("hipcoach.png", reply.image, directory)))
        for row in reply.buttons:
            for button in row:
                choices.append(button)
                out.append(f"  [{len(choices)}] {button.label}")
        out.append("")
    return "\n".join(out), choices


def incoming(user_id: str, name: str, **what) -> Incoming:
    """The one terminal -> core translation: one local person, never throttled."""
    return Incoming(PLATFORM, user_id, user_id, display_name=name, local=True, **what)


def to_incoming(line: str, choices: list[Button], user_id: str, name: str) -> Incoming:
    """A typed line: a number picks a shown button, '/cmd args' is a command, anything else is text."""
    text = line.strip()
    # (a length cap first: int() refuses strings of more than 4,300 digits)
    if text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= len(choices):
        return incoming(user_id, name, button=choices[int(text) - 1].data)
    typed = _COMMAND.fullmatch(text)  # the name ends at any whitespace; "/" or "/ word" is text
    if typed is not None:
        return incoming(user_id, name, command=typed["name"], args=typed["args"].strip())
    return incoming(user_id, name, text=text)


class TerminalSession:
    """The one person at this terminal, and the sender that delivers their reminders into the chat."""

    rate_per_second = math.inf  # a terminal has no rate limit

    def __init__(self, stdout: TextIO, user_id: str, texts: AdapterTexts | None = None) -> None:
        self.stdout = stdout
        self.user_id = user_id
        self.texts = texts or AdapterTexts.default()
        self.choices: list[Button] = []

    def show(self, replies: list[Reply]) -> None:
        text, self.choices = render(replies, texts=self.texts)  # only the latest buttons can be pressed
        self.stdout.write("\n" + text + "\n")

    async def send(self, target: Target, replies: list[Reply], key: str | None = None) -> SendResult:
        self.stdout.write("\n" + self.texts.terminal_reminder)
        self.show(replies)
        self.stdout.write(PROMPT)
        self.stdout.flush()
        return SendResult(SENT)


async def run_terminal(
    coach: Coach,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    user_id: str | None = None,
    read_line: Callable[[], str] | None = None,
    session: TerminalSession | None = None,
) -> None:
    """The chat until /quit or the end of input."""
    user_id = user_id or local_user()
    session = session or TerminalSession(stdout, user_id)
    texts = session.texts
    loop = asyncio.get_running_loop()
    read_line = read_line or stdin.readline
    stdout.write(texts.terminal_welcome + "\n")
    session.show(await coach.handle(incoming(user_id, user_id, command="start")))
    while True:
        stdout.write(PROMPT)
        stdout.flush()
        line = await loop.run_in_executor(None, read_line)
        if not line or line.strip().lower() in QUIT:  # EOF or quit
            stdout.write("\n" + texts.terminal_bye + "\n")
            return
        session.show(await coach.handle(to_incoming(line, session.choices, user_id, user_id)))


class TerminalPlatform:
    """The terminal chat as a platform the app serves like the others; the chat ending ends the app."""

    name = PLATFORM

    def __init__(
        self,
        coach: Coach,
        on_quit: Callable[[], None],
        texts: AdapterTexts | None = None,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        user_id: str | None = None,
    ) -> None:
        self.coach, self.on_quit, self.stdin, self.stdout = coach, on_quit, stdin, stdout
        self.sender = TerminalSession(stdout, user_id or local_user(), texts)  # reminders arrive in this chat
        self._chat: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self._chat is not None and not self._chat.done()

    async def start(self) -> None:
        self._chat = asyncio.create_task(self._run(), name="terminal-chat")

    async def _run(self) -> None:
        try:
            await run_terminal(self.coach, self.stdin, self.stdout, self.sender.user_id, session=self.sender)
        except Exception:
            log.exception("event=terminal_chat_failed")
        finally:
            self.on_quit()

    async def stop(self) -> None:
        if self._chat is not None and not self._chat.done():
            self._chat.cancel()
            await asyncio.gather(self._chat, return_exceptions=True)


def local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "me"
