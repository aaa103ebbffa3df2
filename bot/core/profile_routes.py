"""The person's own profile and data as a feature: /start, /help, /about, /goal, /forget, /export, the
onboarding buttons (o:...), the forget confirmation (f:yes / f:no) and the "onboard" and "forget" flows."""

from __future__ import annotations

import json
from typing import Any

from bot.core.content import Content
from bot.core.conversation import AREA_GOAL, Conversations, Turn
from bot.core.flows import Typed
from bot.core.messages import Button, Reply, rows
from bot.core.ports import PeopleStore
from bot.core.router import Call, Routes


def help_reply(msg: dict[str, Any]) -> Reply:
    return Reply(
        msg["help"],
        rows(Button(msg["coach_start_routine_button"], "c:routine"), Button(msg["coach_set_goal_button"], "c:goal")),
        topic="help",
    )


def greeting_name(turn: Turn) -> str:
    return f", {turn.incoming.display_name}" if turn.incoming.display_name else ""


class ProfileRoutes:
    def __init__(self, content: Content, repo: PeopleStore, conversations: Conversations) -> None:
        self.repo = repo
        self.conversations = conversations
        self.msg = content.messages
        self.routes = Routes(
            commands={
                "start": self._start,
                "help": self._help,
                "about": self._about,
                "goal": self._goal,
                "forget": self._forget,
                "export": self._export,
            },
            buttons={"o": self._onboarding_button, "f": self._forget_button},
        )
        self.flows = {"onboard": self._onboarding_text, "forget": self._forget_text}

    async def _start(self, turn: Turn, call: Call) -> list[Reply]:
        greeting = self.msg["greeting"].format(name=greeting_name(turn))
        if not turn.profile.onboarded:
            return self.conversations.goal_question(turn, lead=greeting)
        return [Reply(greeting, topic="greeting")]

    async def _help(self, turn: Turn, call: Call) -> list[Reply]:
        return [help_reply(self.msg)]

    async def _about(self, turn: Turn, call: Call) -> list[Reply]:
        return [Reply(self.msg["about"], topic="about")]

    async def _goal(self, turn: Turn, call: Call) -> list[Reply]:
        goal = call.args.lower().replace(" ", "-")
        if goal in AREA_GOAL.values() or goal in self.msg["goal_names"]:
            return await self.conversations.set_goal(turn, goal)
        return self.conversations.goal_question(turn)

    async def _forget(self, turn: Turn, call: Call) -> list[Reply]:
        return self.conversations.confirm_forget(turn)

    async def _export(self, turn: Turn, call: Call) -> list[Reply]:
        """Everything stored about this person, as a JSON file they can keep."""
        key = turn.incoming.user_key
        data = {
            "user": key,
            "exported_at": turn.now.isoformat(),
            "tables": await self.repo.export_user(key),
        }
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
        count = sum(len(v) for v in data["tables"].values())
        name = f"hipcoach-export-{turn.now:%Y%m%d}.json"
        return [Reply(self.msg["export_done"].format(rows=count), file=(name, body), topic="export")]

    async def _onboarding_button(self, turn: Turn, call: Call) -> list[Reply]:
        what, _, value = call.args.partition(":")
        if what == "g" and value in self.msg["goal_names"]:
            return await self.conversations.set_goal(turn, value)
        if what == "l" and value in self.msg["level_names"]:
            return await self.conversations.set_level(turn, value)
        if what == "start":
            return self.conversations.goal_question(turn)
        if what == "skip":
            return await self.conversations.skip_onboarding(turn)
        if what == "none":
            return [Reply(self.msg["not_now"])]
        return [Reply(self.msg["expired_button"])]

    async def _forget_button(self, turn: Turn, call: Call) -> list[Reply]:
        if call.args in ("yes", "no"):
            return await self.conversations.forget(turn, call.args == "yes")
        return [Reply(self.msg["expired_button"])]

    async def _onboarding_text(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        return await self.conversations.onboarding_text(turn, typed.words)

    async def _forget_text(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        confirmed = self.conversations.forget_text(turn, typed.words)
        return None if confirmed is None else await self.conversations.forget(turn, confirmed)
