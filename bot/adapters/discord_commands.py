"""Discord's slash commands: the `/hip` and `/challenge` groups, and how to tell whether Discord already has
them. Their names are a public contract (other tools rely on them); each command only hands its options
to the adapter as a core command with text arguments."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.adapters.discord import DiscordAdapter


def hip_commands(adapter: DiscordAdapter) -> app_commands.Group:
    """The `/hip` group. Names are a public contract: other tools rely on them."""
    hip = app_commands.Group(name="hip", description="Hip Coach: hip mobility answers, routines and reminders")
    run = adapter.on_command

    @hip.command(name="ask", description="Ask a hip question")
    @app_commands.describe(question="For example: why are my hips tight after sitting?")
    async def ask(interaction: discord.Interaction, question: app_commands.Range[str, 1, 1000]) -> None:
        await run(interaction, "ask", question)

    @hip.command(name="routine", description="A guided hip routine, step by step")
    @app_commands.describe(minutes="How long: 5, 10 or 15 minutes")
    @app_commands.choices(minutes=[app_commands.Choice(name=f"{m} minutes", value=m) for m in (5, 10, 15)])
    async def routine(interaction: discord.Interaction, minutes: int | None = None) -> None:
        await run(interaction, "routine", f"{minutes} min" if minutes else "")

    @hip.command(name="exercise", description="How to do an exercise")
    @app_commands.describe(name="Start typing: pigeon, bridge, 90/90...")
    async def exercise(interaction: discord.Interaction, name: app_commands.Range[str, 1, 100]) -> None:
        await run(interaction, "exercise", name)

    @exercise.autocomplete("name")
    async def exercise_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in adapter.coach.choices("exercise", current)]

    @hip.command(name="remind", description="A daily hip-opening reminder at your local time")
    @app_commands.describe(time="For example 07:30 or 7pm", timezone="Your time zone, e.g. Europe/Berlin")
    async def remind(
        interaction: discord.Interaction, time: app_commands.Range[str, 1, 100], timezone: str | None = None
    ) -> None:
        await run(interaction, "remind", f"{time} {timezone or ''}".strip())

    @remind.autocomplete("timezone")
    async def zones(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in adapter.coach.choices("timezone", current)]

    @hip.command(name="reminders", description="See your reminders")
    async def reminders(interaction: discord.Interaction) -> None:
        await run(interaction, "reminders")

    @hip.command(name="pause", description="Pause your reminders")
    @app_commands.describe(duration="For example: 3 days, a week, until Monday (empty: until you resume)")
    async def pause(interaction: discord.Interaction, duration: app_commands.Range[str, 0, 100] = "") -> None:
        await run(interaction, "pause", duration)

    @hip.command(name="stop", description="Stop your reminders")
    async def stop(interaction: discord.Interaction) -> None:
        await run(interaction, "stop")

    @hip.command(name="done", description="Check in for today")
    async def done(interaction: discord.Interaction) -> None:
        await run(interaction, "done")

    @hip.command(name="streak", description="Your streak and the last weeks")
    async def streak(interaction: discord.Interaction) -> None:
        await run(interaction, "streak")

    @hip.command(name="goal", description="Set your goal and level")
    async def goal(interaction: discord.Interaction) -> None:
        await run(interaction, "goal")

    @hip.command(name="forget", description="Delete everything I store about you")
    async def forget(interaction: discord.Interaction) -> None:
        await run(interaction, "forget")

    @hip.command(name="export", description="A copy of everything I store about you, as a JSON file")
    async def export(interaction: discord.Interaction) -> None:
        await run(interaction, "export")

    @hip.command(name="about", description="Sources, and why this is not medical advice")
    async def about(interaction: discord.Interaction) -> None:
        await run(interaction, "about")

    return hip


def challenge_args(**options: object) -> str:
    """Slash-command options as the core's canonical `key=value` text (names quoted)."""
    parts = []
    for key, value in options.items():
        if value is None or value == "":
            continue
        text = str(value).replace('"', "'")
        parts.append(f'{key}="{text}"' if " " in text or key == "name" else f"{key}={text}")
    return " ".join(parts)


def challenge_commands(adapter: DiscordAdapter) -> app_commands.Group:
    """The `/challenge` group, for servers only. Names are a public contract: other tools rely on them."""
    group = app_commands.Group(
        name="challenge", description="Hip challenges this server does together", guild_only=True
    )
    run = adapter.on_command

    @group.command(name="start", description="Start a hip challenge (Manage Server or the Challenge Organiser role)")
    @app_commands.describe(
        name="What to call it, e.g. 30-day hips",
        days="How many days",
        time="Daily post time, e.g. 07:00",
        timezone="Time zone of the post time, e.g. Europe/Berlin",
        channel="Where the daily posts go (default: here)",
        level="Routine level (default: beginner)",
        start_date="First day, YYYY-MM-DD (default: the next post time)",
    )
    @app_commands.choices(
        days=[app_commands.Choice(name=f"{d} days", value=d) for d in (7, 14, 30)],
        level=[app_commands.Choice(name=n, value=n) for n in ("beginner", "intermediate")],
    )
    async def start(
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 60],
        days: int,
        time: app_commands.Range[str, 1, 20],
        timezone: str,
        channel: discord.TextChannel | None = None,
        level: str | None = None,
        start_date: app_commands.Range[str, 0, 20] | None = None,
    ) -> None:
        channel_id = channel.id if channel else interaction.channel_id
        args = challenge_args(
            name=name, days=days, time=time, timezone=timezone, channel=channel_id, level=level, start=start_date
        )
        await run(interaction, "challenge", f"start {args}")

    @start.autocomplete("timezone")
    async def zones(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in adapter.coach.choices("timezone", current)]

    def simple(sub: str, description: str) -> None:
        async def callback(interaction: discord.Interaction) -> None:
            await run(interaction, "challenge", sub)

        group.command(name=sub, description=description)(callback)

    simple("join", "Join the challenge running in this channel")
    simple("leave", "Leave the challenge in this channel")
    simple("done", "Check in for today's challenge day")

    @group.command(name="leaderboard", description="Who is on track: days done, streaks, completion")
    @app_commands.describe(image="Also as a picture (PNG)")
    async def leaderboard(interaction: discord.Interaction, image: bool = False) -> None:
        await run(interaction, "challenge", "leaderboard image" if image else "leaderboard")

    simple("status", "Your own progress in this channel's challenge")
    simple("list", "Challenges in this server")
    simple("end", "End the challenge early and post the summary (organisers)")
    simple("cancel", "Cancel the challenge without a summary (organisers)")
    return group


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
