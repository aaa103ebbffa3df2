"""Conversation flows as a table: the open question a person is answering (`state["flow"]`) -> the step that
reads their next message. Each feature declares its own flows beside its commands and buttons (the spirit of
python-telegram-bot's ConversationHandler states), so the coach never grows a branch per flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.conversation import Turn
    from bot.core.findings import Findings
    from bot.core.messages import Reply


@dataclass(frozen=True)
class Typed:
    """A free-text message as the coach reads it: the text, its words, and what safety triage found in it."""

    text: str
    words: list[str]
    findings: Findings


# None: not an answer to the open question, so the message is understood the normal way.
FlowStep = Callable[["Turn", Typed], Awaitable["list[Reply] | None"]]


def flow_table(*tables: Mapping[str, FlowStep]) -> dict[str, FlowStep]:
    """All features' flows in one table; a flow claimed twice is a programming error found at start."""
    merged: dict[str, FlowStep] = {}
    for table in tables:
        for name, step in table.items():
            if name in merged:
                raise ValueError(f"flow {name!r} is continued twice")
            merged[name] = step
    return merged
