"""The command catalogue: every command the coach answers, with its menu line and its typed slash commands.

Read from content/commands.yaml. Adapters generate their platform's commands from it (Telegram's "/" menu,
Discord's /hip and /challenge application commands), so a command is declared once, not once per platform.
Platform-neutral: "menu" is a list of commands with a line each, "slash" a grouped command with typed options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.content import DEFAULT_CONTENT_DIR, ContentError, safe_load

FILE = "commands.yaml"
OPTION_TYPES = ("text", "integer", "boolean", "channel")
AUTOCOMPLETE = ("exercise", "timezone")  # what Coach.choices can complete


@dataclass(frozen=True)
class Option:
    """One typed option of a slash command."""

    name: str  # as the platform shows it (a public contract)
    key: str  # as the core reads it in Incoming.options
    description: str
    type: str  # text | integer | boolean | channel
    required: bool = True
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, str | int], ...] = ()
    autocomplete: str | None = None
    text: bool = False  # also part of the free-text args, as if typed in a chat


@dataclass(frozen=True)
class Slash:
    """`/<group> <name>`: runs `command` with the fixed `args`, the text options after them."""

    command: str
    group: str
    name: str
    description: str
    args: str = ""
    options: tuple[Option, ...] = ()

    def text_args(self, values: Mapping[str, object]) -> str:
        """The free text a chat would have typed: fixed args, then the text options given, space-separated."""
        words = [self.args, *(str(values.get(o.name) or "") for o in self.options if o.text)]
        return " ".join(w.strip() for w in words if w and w.strip())

    def typed(self, values: Mapping[str, object]) -> dict[str, object]:
        """Incoming.options: every option under the core's key, None when not given (an empty text too)."""
        out = {}
        for option in self.options:
            value = values.get(option.name)
            out[option.key] = None if value == "" else value
        return out


@dataclass(frozen=True)
class Command:
    name: str
    menu: str | None = None  # None: answered in a chat, but in no menu (aliases such as /resume)
    slash: tuple[Slash, ...] = ()


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    guild_only: bool = False  # only in servers / groups, never in a private chat


@dataclass(frozen=True)
class Catalogue:
    commands: tuple[Command, ...]
    groups: Mapping[str, Group]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.commands)

    def menu(self) -> list[tuple[str, str]]:
        """(command, line) for a "/" menu, in catalogue order."""
        return [(c.name, c.menu) for c in self.commands if c.menu]

    def slash(self, group: str) -> list[Slash]:
        return [s for c in self.commands for s in c.slash if s.group == group]


def load_commands(root: str | Path | None = None) -> Catalogue:
    """The catalogue in `root` (default: this checkout's content/); every problem found is raised at once."""
    path = Path(root or DEFAULT_CONTENT_DIR) / FILE
    try:
        data = safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError([f"{FILE}: -: cannot be read ({type(exc).__name__}: {exc})"]) from None
    problems: list[str] = []
    catalogue = _catalogue(data, problems)
    if problems:
        raise ContentError([f"{FILE}: {p}" for p in problems])
    return catalogue


def _catalogue(data: Any, problems: list[str]) -> Catalogue:
    if not isinstance(data, dict):
        problems.append("-: expected 'groups' and 'commands'")
        return Catalogue((), {})
    groups = {}
    for name, item in (data.get("groups") or {}).items():
        if not isinstance(item, dict) or not isinstance(item.get("description"), str):
            problems.append(f"group {name}: needs a description")
            continue
        groups[name] = Group(name, item["description"], bool(item.get("guild_only", False)))
    commands: list[Command] = []
    seen_slash: set[tuple[str, str]] = set()
    for i, item in enumerate(data.get("commands") or []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.isascii() or not name.islower() or " " in name:
            problems.append(f"command #{i + 1}: needs a lower-case 'name'")
            continue
        if name in {c.name for c in commands}:
            problems.append(f"{name}: listed twice")
        slashes = tuple(_slash(name, s, groups, problems) for s in item.get("slash") or [])
        for s in slashes:
            if (s.group, s.name) in seen_slash:
                problems.append(f"{name}: /{s.group} {s.name} is declared twice")
            seen_slash.add((s.group, s.name))
        commands.append(Command(name, item.get("menu") or None, slashes))
    if not commands:
        problems.append("-: no commands")
    return Catalogue(tuple(commands), groups)


def _slash(command: str, item: dict, groups: Mapping[str, Group], problems: list[str]) -> Slash:
    where = f"{command}: /{item.get('group')} {item.get('name')}"
    if item.get("group") not in groups:
        problems.append(f"{where}: group must be one of {', '.join(groups)}")
    if not isinstance(item.get("description"), str):
        problems.append(f"{where}: needs a description")
    options = tuple(_option(where, o, problems) for o in item.get("options") or [])
    return Slash(
        command,
        str(item.get("group")),
        str(item.get("name")),
        str(item.get("description") or ""),
        str(item.get("args") or ""),
        options,
    )


def _option(where: str, item: dict, problems: list[str]) -> Option:
    name = str(item.get("name"))
    if item.get("type") not in OPTION_TYPES:
        problems.append(f"{where} {name}: type must be one of {', '.join(OPTION_TYPES)}")
    if item.get("autocomplete") not in (None, *AUTOCOMPLETE):
        problems.append(f"{where} {name}: autocomplete must be one of {', '.join(AUTOCOMPLETE)}")
    if not isinstance(item.get("description"), str):
        problems.append(f"{where} {name}: needs a description")
    return Option(
        name=name,
        key=str(item.get("key") or name),
        description=str(item.get("description") or ""),
        type=str(item.get("type")),
        required=bool(item.get("required", True)),
        min_length=item.get("min_length"),
        max_length=item.get("max_length"),
        choices=tuple((str(label), value) for label, value in (item.get("choices") or {}).items()),
        autocomplete=item.get("autocomplete"),
        text=bool(item.get("text", False)),
    )
