"""Short replies answered against what the coach just said: '2', 'that one', 'yes', 'no', 'why?', 'more', and
'not numb, just tight' after a red-flag answer. `followups` reads them; this answers them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.core import intents
from bot.core.content import Content
from bot.core.conversation import Conversations, Turn
from bot.core.findings import Findings
from bot.core.flows import Typed
from bot.core.followups import Followup, pick, read_followup
from bot.core.messages import Button, Reply, rows
from bot.core.routines import exercise_card
from bot.core.topic_answers import TopicAnswers, follow_up

# After a red-flag answer, "not numb, just tight": the coaching answer for where it is tight.
CORRECTED_TOPIC = {"knee": "knee-pain", "back": "lower-back-pain", "hip-site": "tight-hip-flexors"}
MILD_WORDS = frozenset("tight tightness stiff stiffness achy ache aching sore tired heavy dull".split())

Press = Callable[[Turn, str], Awaitable[list[Reply]]]  # presses a button by its data, as a tap would


class ShortReplies:
    def __init__(self, content: Content, conversations: Conversations, answers: TopicAnswers, press: Press) -> None:
        self.content = content
        self.conversations = conversations
        self.answers = answers
        self.press = press
        self.msg = content.messages
        self.symptoms = frozenset(s.id for s in content.safety.reader.specs if s.kind == "symptom")

    async def answer(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        """The reply read in context, or None when it means nothing special against the last answer."""
        raw = typed.words
        said = turn.state.get("said") or [None, None]
        if said[0] == "safety" and corrects_to_mild(typed.findings, raw, self.symptoms):
            return self._corrected(turn, typed.findings)
        if said[0] == "exercise" and intents.wants_more(raw) and said[1] in self.content.exercises:
            return [exercise_card(self.content.exercises[said[1]], self.content, full=True)]
        followup = read_followup(raw, typed.text)
        if followup is None:
            return None
        offered = turn.state.get("offered") or []
        data = pick(offered, followup)
        if data is not None:
            return await self.press(turn, data)
        if followup.kind == "why":
            return self._why(turn, said)
        if followup.kind == "yes":
            return [Reply(self.msg["context_yes"], rows(Button(self.msg["coach_start_routine_button"], "c:routine")))]
        if followup.kind == "no":
            return [Reply(self.msg["context_no"])]
        return self._stale_choice(turn, followup, offered)

    def said_in(self, turn: Turn, replies: list[Reply]) -> list[str] | None:
        """What this turn's answer was about: a safety rule, an exercise card or a topic."""
        if turn.said:
            return turn.said
        for reply in reversed(replies):
            if reply.topic in self.content.exercises and reply.card:
                return ["exercise", reply.topic]
            if reply.topic in self.content.topics:
                return ["topic", reply.topic]
        return None

    def _stale_choice(self, turn: Turn, followup: Followup, offered: list[list[str]]) -> list[Reply]:
        """A number or 'that one' with nothing (or no such thing) on offer: say so, and ask again."""
        if offered:
            # One per row reads best, but Discord shows at most 5 rows: wider rows when more are on offer.
            buttons = rows(*(Button(label, data) for label, data in offered), per_row=-(-len(offered) // 5))
            key = "choice_which" if followup.kind == "that" else "choice_out_of_range"
            return [Reply(self.msg[key].format(count=len(offered)), buttons)]
        again = self.conversations.ask_again(turn)
        if again:
            return [follow_up(Reply(self.msg["choice_expired_again"]), again[0]), *again[1:]]
        return [Reply(self.msg["choice_expired"])]

    def _why(self, turn: Turn, said: list) -> list[Reply] | None:
        kind, what = said
        if kind == "safety":
            rule = self.content.safety.rule(what)
            if rule is not None:
                turn.said = said
                return [Reply(self.msg["why_safety"].format(reason=rule.reason), topic="see-a-professional")]
        if kind == "topic" and what in self.content.topics:
            return self.answers.more(turn, what)
        if kind == "exercise" and what in self.content.exercises:
            return [exercise_card(self.content.exercises[what], self.content, full=True)]
        return None

    def _corrected(self, turn: Turn, findings: Findings) -> list[Reply]:
        """'not numb, just tight' after a numbness answer: no red flag after all, so the coaching answer."""
        sites = findings.present.keys() | findings.set_aside
        topic = next((t for site, t in CORRECTED_TOPIC.items() if site in sites), "tight-hip-flexors")
        answer = self.answers.answer(turn, self.content.topics[topic])
        return [replace(answer[0], text=f"{self.msg['context_mild']}\n\n{answer[0].text}"), *answer[1:]]


def corrects_to_mild(findings: Findings, raw: list[str], symptoms: frozenset[str]) -> bool:
    """A symptom taken back and a mild feeling put in its place ("not numb, just tight", "no, only stiff")."""
    taken_back = bool(findings.set_aside & symptoms)
    return taken_back and bool(set(raw) & MILD_WORDS) and len(raw) <= 12
