"""What the adapters say themselves, from content/messages/adapters.yaml (passed in by bot/app.py)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.core.content import load_content


@dataclass(frozen=True)
class AdapterTexts:
    not_yours: str
    button_expired: str
    something_went_wrong: str
    too_fast: str
    posted: str  # {channel}
    terminal_welcome: str
    terminal_bye: str
    terminal_reminder: str
    terminal_file_saved: str  # {path}
    terminal_picture_saved: str  # {path}

    @classmethod
    def from_messages(cls, messages: Mapping[str, Any]) -> AdapterTexts:
        def name(field: str) -> str:
            return field if field.startswith("terminal_") else f"adapter_{field}"

        return cls(**{f.name: messages[name(f.name)] for f in fields(cls)})

    @classmethod
    @functools.cache
    def default(cls) -> AdapterTexts:
        """This checkout's texts, for an adapter built without the app (tests, tools)."""
        return cls.from_messages(load_content().messages)
