"""Routing tables: each feature declares the commands and button prefixes it answers, and the coach only looks
them up. Adding a command means one catalogue entry and one handler here, never another branch in the coach."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.conversation import Turn
    from bot.core.messages import Reply


@dataclass(frozen=True)
class Call:
    """What a handler is asked: the free text after a command (or the rest of a button's data after its
    prefix) and the typed options a platform gave (Discord's `days: int`, a channel id)."""

    args: str = ""
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


Handler = Callable[["Turn", Call], Awaitable["list[Reply]"]]


@dataclass(frozen=True)
class Routes:
    """One feature's table: command name -> handler, button prefix (the data before the first ':') -> handler."""

    commands: Mapping[str, Handler] = field(default_factory=dict)
    buttons: Mapping[str, Handler] = field(default_factory=dict)


class Router:
    """All features' routes in one place; a name claimed twice is a programming error found at start."""

    def __init__(self, *tables: Routes) -> None:
        self.commands: dict[str, Handler] = {}
        self.buttons: dict[str, Handler] = {}
        for table in tables:
            self.add(table)

    def add(self, table: Routes) -> None:
        for kind, mine, theirs in (("command", self.commands, table.commands), ("button", self.buttons, table.buttons)):
            for name, handler in theirs.items():
                if name in mine:
                    raise ValueError(f"{kind} {name!r} is routed twice")
                mine[name] = handler

    def command(self, name: str) -> Handler | None:
        return self.commands.get(name)

    def button(self, data: str) -> tuple[Handler, Call] | None:
        prefix, _, rest = data.partition(":")
        handler = self.buttons.get(prefix)
        return (handler, Call(rest)) if handler else None
