"""Group challenges as routes: the "challenge" command (with any typed options a platform's form filled in)
and the ch:... buttons go to `Challenges`, which reads its own subcommands."""

from __future__ import annotations

from bot.core.challenges.commands import PREFIX, Challenges
from bot.core.router import Routes


def challenge_routes(challenges: Challenges) -> Routes:
    return Routes(
        commands={"challenge": lambda turn, call: challenges.command(turn, call.args, call.options)},
        buttons={PREFIX: lambda turn, call: challenges.button(turn, call.args)},
    )
