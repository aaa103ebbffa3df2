"""The platform port: what every front end (Telegram, Discord, the terminal) offers the app, and the one
place that decides where each reply of a turn goes.

Adding a platform means one adapter module that implements `Platform` (and `Answering` for its chats) plus
its settings; `bot/app.py` registers its sender and runs it with the others through `serve`. A platform that
only one process may receive on (Telegram long polling, the Discord gateway) also implements `Elected`: every
process starts it for sending, and only the process holding its role (bot/roles.py) receives.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.core.delivery import Sender
from bot.core.messages import Reply
from bot.roles import Role


@runtime_checkable
class Platform(Protocol):
    """A front end the app runs: `start` returns once it is serving (raises if it cannot connect, and is
    then retried), `stop` finishes what is in flight. Its `sender` delivers reminders and posts."""

    name: str
    sender: Sender

    @property
    def connected(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class Elected(Protocol):
    """A platform whose receiving side belongs to one elected process. `role` None: every process receives
    (Telegram webhooks behind a load balancer); `start` is then sending and receiving at once."""

    role: Role | None

    @property
    def receiving(self) -> bool: ...

    async def start_sending(self) -> None:
        """REST only: reminders and posts can go out (`connected` becomes true)."""

    async def start_receiving(self) -> None:
        """Updates start arriving (returns once they do; raises if it cannot)."""

    async def stop_receiving(self) -> None:
        """Updates stop arriving here, so the next holder of the role can take over; sending goes on."""


def elected_role(platform: Platform) -> Role | None:
    """The role this platform's receiving side needs, or None when every process receives."""
    return platform.role if isinstance(platform, Elected) else None


class Answering(Protocol):
    """Where the replies to one person's turn can go, in the platform's own terms."""

    async def answer(self, reply: Reply) -> None:
        """To the person, where they asked."""

    async def edit(self, reply: Reply) -> bool:
        """Replace the message the pressed button sits on; False when that is not possible here."""

    async def post(self, channel: str, reply: Reply) -> None:
        """A public post in a channel (a challenge kick-off): its buttons are for everyone there."""


async def deliver(replies: list[Reply], to: Answering) -> list[str]:
    """Every reply of a turn to its place, in order; returns the channels posted in."""
    posted = []
    for reply in replies:
        if reply.channel:
            await to.post(reply.channel, reply)
            posted.append(reply.channel)
        elif reply.edit and await to.edit(reply):
            continue
        else:
            await to.answer(reply)
    return posted
