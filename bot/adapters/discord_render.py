"""Core replies as Discord messages: a card as an embed, long text split below 2,000 characters, buttons that
carry their whole state in the custom_id (`hc:<owner>:<core button data>`)."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field

import discord

from bot.adapters import chunks
from bot.core.messages import Reply

MAX_TEXT = 2000
MAX_TITLE = 256
MAX_EMBED_TEXT = 4096
MAX_CUSTOM_ID = 100
EMBED_COLOUR = 0x2E9E6B
IMAGE_NAME = "hipcoach.png"  # an image reply (a leaderboard) travels as this attachment


def escape(text: str) -> str:
    return discord.utils.escape_markdown(text)


def custom_id(owner: int | None, data: str) -> str:
    return f"hc:{owner or ''}:{data}"[:MAX_CUSTOM_ID]


# -- replies out --------------------------------------------------------------------------------


class Rendered(discord.ui.View):
    """Buttons to show, not a live view: presses reach CoachButton by custom_id, so nothing is kept in memory
    per message (a stored view per message would grow for months) and presses survive restarts."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False


def buttons_view(reply: Reply, owner: int | None) -> Rendered | None:
    if not reply.buttons:
        return None
    view = Rendered()
    for row_index, row in enumerate(reply.buttons[:5]):
        for button in row[:5]:
            style = discord.ButtonStyle.success if button.data.startswith("rd:") else discord.ButtonStyle.secondary
            view.add_item(
                discord.ui.Button(
                    label=button.label[:80], custom_id=custom_id(owner, button.data), style=style, row=row_index
                )
            )
    return view


@dataclass
class Outgoing:
    """One Discord message: text or an embed, and buttons."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    # One nonce per message for all its retries: Discord (enforce_nonce) answers a retry whose first try got
    # through but lost its answer with that message instead of posting it twice.
    nonce: int = field(default_factory=lambda: secrets.randbits(63))

    def kwargs(self) -> dict:
        out = {"content": self.content, "embed": self.embed, "view": self.view}
        if self.files:  # fresh File objects each time: discord.py consumes them when sending
            out["files"] = [discord.File(io.BytesIO(body), filename=name) for name, body in self.files]
        return out


def card_embed(text: str) -> discord.Embed | None:
    title, _, body = text.partition("\n")
    title, body = escape(title.strip()), escape(body.strip())
    if not title or len(title) > MAX_TITLE or len(body) > MAX_EMBED_TEXT:
        return None
    return discord.Embed(title=title, description=body or None, colour=EMBED_COLOUR)


def render(reply: Reply, owner: int | None) -> list[Outgoing]:
    """A core reply as Discord messages: a card as an embed, long text split below 2,000 characters,
    buttons on the last message."""
    view = buttons_view(reply, owner)
    files = [f for f in ((IMAGE_NAME, reply.image) if reply.image else None, reply.file) if f is not None]
    embed = card_embed(reply.text) if reply.card else None
    if embed is not None:
        if reply.image:
            embed.set_image(url=f"attachment://{IMAGE_NAME}")
        return [Outgoing(embed=embed, view=view, files=files)]
    parts = chunks.split_text(reply.text, MAX_TEXT, measure=lambda t: len(escape(t)))
    out = [Outgoing(content=escape(part)) for part in parts]
    out[-1].view = view
    out[-1].files = files
    return out


def sendable(out: Outgoing) -> dict:
    """send_message / followup.send reject None for embed and view; leave them out instead."""
    return {k: v for k, v in out.kwargs().items() if v is not None}
