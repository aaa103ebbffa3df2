"""Exercise lookup as a feature: /exercise <name>, and the card buttons x:<id> (short) and xf:<id> (full)."""

from __future__ import annotations

from bot.core.content import Content
from bot.core.conversation import Turn
from bot.core.knowledge import Knowledge
from bot.core.messages import Button, Reply, rows
from bot.core.router import Call, Routes
from bot.core.routines import exercise_card


class ExerciseLookup:
    def __init__(self, content: Content, knowledge: Knowledge) -> None:
        self.content = content
        self.knowledge = knowledge
        self.msg = content.messages
        self.routes = Routes(commands={"exercise": self._command}, buttons={"x": self._card, "xf": self._full_card})
        self.flows: dict = {}

    def lookup(self, query: str) -> list[Reply]:
        if not query:
            names = sorted(self.content.exercises.values(), key=lambda e: (e.level, e.name))[:6]
            return [
                Reply(self.msg["exercise_which"], rows(*(Button(e.name[:40], f"x:{e.id}") for e in names), per_row=2))
            ]
        found = self.knowledge.exercises.find(query)
        if found:
            return [exercise_card(self.content.exercises[found[0]], self.content)]
        close = self.knowledge.exercises.suggestions(query) or list(self.content.exercises)[:3]
        text = self.msg["exercise_not_found"].format(query=query[:60])
        return [Reply(text, rows(*(Button(self.content.exercises[e].name[:40], f"x:{e}") for e in close), per_row=1))]

    async def _command(self, turn: Turn, call: Call) -> list[Reply]:
        return self.lookup(call.args)

    async def _card(self, turn: Turn, call: Call) -> list[Reply]:
        return self._shown(call.args, full=False)

    async def _full_card(self, turn: Turn, call: Call) -> list[Reply]:
        return self._shown(call.args, full=True)

    def _shown(self, exercise_id: str, full: bool) -> list[Reply]:
        if exercise_id not in self.content.exercises:
            return [Reply(self.msg["expired_button"])]
        return [exercise_card(self.content.exercises[exercise_id], self.content, full=full)]
