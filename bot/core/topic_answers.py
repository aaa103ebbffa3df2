"""Answering a topic: the answer with its 'Tell me more' and how-to buttons, 'did you mean', the honest
fallback, and the symptom screening a pain question leads into (buttons t:, m:, s: and the "screen" flow)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.core.analyzer import Analysis
from bot.core.content import Content, Routine, Topic
from bot.core.conversation import Conversations, Turn
from bot.core.flows import Typed
from bot.core.messages import Button, Reply, rows
from bot.core.router import Call, Routes

PAIN_TERMS = frozenset({"pain", "tight"})


class TopicAnswers:
    def __init__(
        self,
        content: Content,
        conversations: Conversations,
        start_routine: Callable[[Turn, Routine], Awaitable[list[Reply]]],
    ) -> None:
        self.content = content
        self.conversations = conversations
        self.msg = content.messages
        self.start_routine = start_routine  # the fallback's suggestions include routines
        self.routes = Routes(buttons={"t": self._suggestion, "m": self._more_button, "s": self._screening_button})
        self.flows = {"screen": self._screening_text}

    def answer(
        self, turn: Turn, topic: Topic, analysis: Analysis | None = None, others: list[str] | None = None
    ) -> list[Reply]:
        turn.remember_topic(topic.id)
        buttons = [Button(self.msg["more_button"], f"m:{topic.id}")] if topic.more else []
        if others:  # not sure this is the question: the next likeliest topics instead of exercises
            buttons += [Button(self.content.topics[o].title[:40], f"t:{o}") for o in others]
        for ex_id in () if others else topic.exercises[:2]:
            name = self.content.exercises[ex_id].name
            buttons.append(Button(self.msg["how_to_button"].format(name=name)[:40], f"x:{ex_id}"))
        answer = Reply(topic.answer, rows(*buttons, per_row=1), topic=topic.id)
        if topic.symptom and analysis is not None and PAIN_TERMS & set(analysis.terms):
            # the screening question is the next step: ask it in the same message, with its buttons only
            return [follow_up(replace(answer, buttons=()), self.conversations.start_screening(turn, topic.symptom))]
        return [answer]

    def more(self, turn: Turn, topic_id: str) -> list[Reply]:
        topic = self.content.topics[topic_id]
        turn.remember_topic(topic_id)
        return [Reply(topic.more or self.msg["more_none"], topic=topic_id)]

    def did_you_mean(self, topic_ids: list[str]) -> Reply:
        topic_ids = list(dict.fromkeys(topic_ids))  # a choice of one is no choice: callers pass two or more
        buttons = [Button(self.content.topics[t].title[:40], f"t:{t}") for t in topic_ids[:3]]
        return Reply(self.msg["did_you_mean"], rows(*buttons, per_row=1))

    def fallback(self, off_topic: bool) -> Reply:
        suggestions = self.msg["fallback_suggestions"]
        lead = self.msg["off_topic" if off_topic else "fallback"]
        # the suggestions are buttons (numbered choices in the terminal), not also a list in the text
        return Reply(lead, rows(*(Button(s["label"], f"t:{s['id']}") for s in suggestions), per_row=1))

    # -- routes ------------------------------------------------------------------------------

    async def _suggestion(self, turn: Turn, call: Call) -> list[Reply]:
        """t:<id>: a suggested topic, or a suggested routine (the fallback offers both)."""
        if call.args in self.content.topics:
            return self.answer(turn, self.content.topics[call.args])
        if call.args in self.content.routines:
            return await self.start_routine(turn, self.content.routines[call.args])
        return [Reply(self.msg["expired_button"])]

    async def _more_button(self, turn: Turn, call: Call) -> list[Reply]:
        if call.args in self.content.topics:
            return self.more(turn, call.args)
        return [Reply(self.msg["expired_button"])]

    async def _screening_button(self, turn: Turn, call: Call) -> list[Reply]:
        """s:<area>:<stage>:<answer>"""
        parts = call.args.split(":")
        if len(parts) == 3:
            return self.conversations.screening_answer(turn, *parts)
        return [Reply(self.msg["expired_button"])]

    async def _screening_text(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        return self.conversations.screening_text(turn, typed.words)


def follow_up(first: Reply, then: Reply) -> Reply:
    """One message: the first reply's text and buttons, then the follow-up's question and buttons."""
    return replace(first, text=f"{first.text}\n\n{then.text}", buttons=first.buttons + then.buttons)
