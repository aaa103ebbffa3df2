"""Group challenges as routes: the "challenge" command and the ch:... buttons go to `Challenges`, which reads
its own subcommands and any typed options (`turn.incoming.options`)."""

from __future__ import annotations

from bot.core.challenges import PREFIX, Challenges
from bot.core.router import Routes


def challenge_routes(challenges: Challenges) -> Routes:
    return Routes(
        commands={"challenge": lambda turn, call: challenges.command(turn, call.args)},
        buttons={PREFIX: lambda turn, call: challenges.button(turn, call.args)},
    )
