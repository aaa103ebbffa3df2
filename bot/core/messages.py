"""Platform-neutral message types: what adapters hand the coach and what it hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

# Button data travels through Telegram callback_data (max 64 bytes) and Discord custom_id
# (max 100 chars), so the core keeps it short and ASCII.
MAX_BUTTON_DATA = 64


@dataclass(frozen=True)
class Button:
    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > MAX_BUTTON_DATA:
            raise ValueError(f"button data longer than {MAX_BUTTON_DATA} bytes: {self.data!r}")


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text, ran a command, or pressed a button."""

    platform: str
    user_id: str
    chat_id: str
    text: str = ""
    command: str | None = None
    args: str = ""
    button: str | None = None
    private: bool = True
    display_name: str = ""
    # Group context (challenges): the server / group this happened in ("" in a private chat), the channel
    # it happened in, and whether the platform says this person may organise there (Discord Manage Server
    # or the server's organiser role; Telegram group admin).
    space: str = ""
    channel: str = ""
    organiser: bool = False
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Typed command options as the platform gave them (Discord's `days: int`, a channel id, `minutes: int`),
    # so they are not flattened into text and parsed again; chat commands keep their free text in `args`.
    options: Mapping[str, object] = field(default_factory=dict)
    # A local chat (the terminal, the command line) has one person, who cannot flood anyone else.
    local: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        # JSON from a platform may carry lone surrogates ("\ud800"), which SQLite (UTF-8) rejects: make every
        # string that can be stored valid text once here (names, command arguments such as a challenge name,
        # ids). The message text is only read, never stored, and the coach copes with it as it is.
        for name in ("user_id", "chat_id", "command", "args", "button", "display_name", "space", "channel"):
            value = getattr(self, name)
            if isinstance(value, str) and not value.isascii():
                object.__setattr__(self, name, value.encode("utf-8", "replace").decode("utf-8"))

    @property
    def user_key(self) -> str:
        """Stable id of the person across the whole app: platform plus platform user id."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Reply:
    """One message back. Buttons are rows of buttons; adapters render them natively."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    image: bytes | None = None
    # A file to attach: (file name, content), e.g. the user's data export as JSON.
    file: tuple[str, bytes] | None = None
    # Replace the message the pressed button sits on (guided routines advance in place).
    edit: bool = False
    # A self-contained card whose first line is its heading (routine of the day, streak, exercise);
    # adapters with rich layouts show it as one (a Discord embed), others as plain text.
    card: bool = False
    # Post publicly in this channel (a challenge kick-off) instead of answering the person; its buttons
    # are for everyone there.
    channel: str | None = None
    # Metadata for tests, logs and the JSONL CLI; adapters ignore it.
    topic: str | None = None
    safety: str = "none"


def rows(*buttons: Button, per_row: int = 3) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out in rows of at most per_row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
