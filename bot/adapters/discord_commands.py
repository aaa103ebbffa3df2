"""Discord's application commands (`/hip ...`, `/challenge ...`) generated from the core's command catalogue,
and how to tell whether Discord already has them. Their names and options are a public contract (other tools
rely on them; tests/test_discord_commands.py holds them to what Discord has stored): each command only hands
its typed options to the adapter."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping

import discord
from discord import app_commands

from bot.core.commands import Catalogue, Option, Slash

# (interaction, the slash command, its option values by Discord name) -> answered
Run = Callable[[discord.Interaction, Slash, Mapping[str, object]], Awaitable[None]]
# (kind, typed so far) -> suggestions: Coach.choices
Suggest = Callable[[str, str], list[str]]

_TYPES = {"integer": int, "boolean": bool, "channel": discord.TextChannel}


def command_groups(catalogue: Catalogue, run: Run, suggest: Suggest) -> list[app_commands.Group]:
    """One Discord group per catalogue group, a subcommand per slash entry, in catalogue order."""
    groups = []
    for group in catalogue.groups.values():
        tree_group = app_commands.Group(name=group.name, description=group.description, guild_only=group.guild_only)
        for slash in catalogue.slash(group.name):
            _add(tree_group, slash, run, suggest)
        groups.append(tree_group)
    return groups


def _add(group: app_commands.Group, slash: Slash, run: Run, suggest: Suggest) -> None:
    async def callback(interaction: discord.Interaction, **values: object) -> None:
        await run(interaction, slash, values)

    # discord.py reads a command's options from its callback's signature: give it one per catalogue option.
    callback.__signature__ = inspect.Signature(
        [
            inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction),
            *(_parameter(o) for o in slash.options),
        ]
    )
    callback.__name__ = callback.__qualname__ = f"{group.name}_{slash.name}"
    described = {o.name: o.description for o in slash.options}
    if described:
        callback = app_commands.describe(**described)(callback)
    choices = {
        o.name: [app_commands.Choice(name=label, value=value) for label, value in o.choices]
        for o in slash.options
        if o.choices
    }
    if choices:
        callback = app_commands.choices(**choices)(callback)
    command = group.command(name=slash.name, description=slash.description)(callback)
    for option in slash.options:
        if option.autocomplete:
            command.autocomplete(option.name)(_completer(option.autocomplete, suggest))


def _parameter(option: Option) -> inspect.Parameter:
    if option.type == "text" and (option.min_length is not None or option.max_length is not None):
        annotation = app_commands.Range[str, option.min_length, option.max_length]
    else:
        annotation = _TYPES.get(option.type, str)
    default = inspect.Parameter.empty if option.required else None
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _completer(kind: str, suggest: Suggest):
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=s[:100], value=s[:100]) for s in suggest(kind, current)]

    return complete


def command_signature(payloads: list[dict]) -> str:
    """What defines the commands as Discord stores them, order-independent, ignoring ids and defaults."""
    keep = ("name", "description", "type", "required", "autocomplete", "choices", "options", "min_length")

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in sorted(value.items()) if k in keep and v not in (None, False, [])}
        if isinstance(value, list):
            return sorted((clean(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return value

    return hashlib.sha256(json.dumps(clean(payloads), sort_keys=True).encode()).hexdigest()
