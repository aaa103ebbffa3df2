"""Multi-turn conversations: onboarding, symptom screening and forget-me confirmation.

A user's conversation state is a small JSON dict in storage (so it survives restarts):
  {"flow": "onboard" | "screen" | "routine" | "forget", ...flow fields, "last_topic": id}
Buttons carry their own context too, so an old button still does the right thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.core.content import GOALS, LEVELS_OF_SKILL, Content
from bot.core.messages import Button, Incoming, Reply, rows
from bot.core.ports import PeopleStore, Profile
from bot.core.safety import SEE_PROFESSIONAL, Triage

CONTEXT_KEYS = ("last_topic", "offered", "said")  # kept when a flow starts or ends
AREA_GOAL = {"knee": "knee", "lower-back": "lower-back", "hip": "general"}
AREA_TOPIC = {"knee": "knee-pain", "lower-back": "lower-back-pain", "hip": "hip-pain"}
# Screening asks one thing at a time: f(eel) -> i(njury) -> w(orse) -> a routine offer.
SCREEN_NEXT = {"f": "i", "i": "w", "w": None}
SCREEN_STAGES = {"f": "feel", "i": "injury", "w": "worse"}
STAGE_KEYS = {name: key for key, name in SCREEN_STAGES.items()}  # stored stage name -> button letter
SCREEN_QUESTIONS = {"i": "screen_injury", "w": "screen_worse"}
# Screening answers that mean "see a professional", mapped to the safety rule whose reason we quote.
SCREEN_RED_FLAGS = {
    ("f", "sharp"): "sharp-pain",
    ("f", "nerve"): "numbness-tingling",
    ("i", "yes"): "after-injury",
    ("w", "yes"): "worsening",
}
DULL_WORDS = frozenset("dull achy ache aching tight stiff sore tender heavy tired".split())
YES_WORDS = frozenset("yes yeah yep yup y sure ok okay correct".split())
NO_WORDS = frozenset("no nope nah n never cancel".split())
UNSURE_WORDS = frozenset("sure know maybe unsure idk dunno mean".split())  # "not sure", "don't know"


@dataclass
class Turn:
    """Everything one handle() call knows about the person it is answering."""

    incoming: Incoming
    now: datetime
    first_contact: bool
    profile: Profile
    state: dict[str, Any] = field(default_factory=dict)
    state_changed: bool = False  # a flow changed: must survive a restart
    soft_changed: bool = False  # only the last topic changed: nice to keep, cheap to lose
    said: list[str] | None = None  # what this turn's answer was about (["safety", rule id], ...)
    erased: bool = False  # /forget ran: nothing about this person may be written back

    def set_flow(self, flow: str | None, **fields: Any) -> None:
        kept = {k: self.state[k] for k in CONTEXT_KEYS if k in self.state}
        self.state = {**kept, **({"flow": flow, **fields} if flow else {})}
        self.state_changed = True

    def remember_context(self, offered: list[list[str]], said: list[str] | None) -> None:
        """The buttons just offered and what the answer was about, to read "2", "yes" or "why?" next."""
        if self.erased:
            return
        for key, value in (("offered", offered), ("said", said)):
            if self.state.get(key) != value:
                if value:
                    self.state[key] = value
                else:
                    self.state.pop(key, None)
                self.soft_changed = True

    def remember_topic(self, topic_id: str) -> None:
        if self.state.get("last_topic") != topic_id:
            self.state["last_topic"] = topic_id
            self.soft_changed = True


class Conversations:
    def __init__(self, content: Content, repo: PeopleStore) -> None:
        self.content = content
        self.repo = repo
        self.msg = content.messages

    # -- onboarding ----------------------------------------------------------------------------

    def goal_question(self, turn: Turn, lead: str | None = None) -> list[Reply]:
        turn.set_flow("onboard", stage="goal")
        names = self.msg["goal_names"]
        buttons = [Button(names[g], f"o:g:{g}") for g in GOALS] + [Button(self.msg["coach_skip_button"], "o:skip")]
        text = self.msg["onboarding_goal"] if lead is None else f"{lead}\n\n{self.msg['onboarding_goal']}"
        return [Reply(text, rows(*buttons, per_row=2), topic="greeting" if lead else None)]

    def ask_again(self, turn: Turn) -> list[Reply]:
        """The question still waiting for an answer (after an expired choice), or nothing."""
        flow, stage, area = turn.state.get("flow"), turn.state.get("stage"), turn.state.get("area")
        if flow == "onboard":
            return self.goal_question(turn) if stage != "level" else [self.level_question(turn)]
        if flow == "screen" and area in AREA_GOAL:
            if stage == "feel":
                return [self.start_screening(turn, area)]
            short = STAGE_KEYS.get(stage)
            if short in SCREEN_QUESTIONS:
                return [self.yes_no_question(turn, area, short)]
        if flow == "forget":
            return self.confirm_forget(turn)
        return []

    def level_question(self, turn: Turn) -> Reply:
        turn.set_flow("onboard", stage="level")
        names = self.msg["level_names"]
        return Reply(self.msg["onboarding_level"], rows(*(Button(names[lv], f"o:l:{lv}") for lv in LEVELS_OF_SKILL)))

    def onboarding_offer(self) -> Reply:
        buttons = rows(
            Button(self.msg["coach_set_goal_button"], "o:start"), Button(self.msg["coach_not_now_button"], "o:skip")
        )
        return Reply(self.msg["onboarding_offer"], buttons)

    async def set_goal(self, turn: Turn, goal: str) -> list[Reply]:
        turn.profile = replace(turn.profile, goal=goal)
        await self.repo.save_profile(turn.profile, turn.now)
        return [self.level_question(turn)]

    async def set_level(self, turn: Turn, level: str) -> list[Reply]:
        turn.profile = replace(turn.profile, level=level, onboarded=True)
        await self.repo.save_profile(turn.profile, turn.now)
        turn.set_flow(None)
        goal = self.msg["goal_names"].get(turn.profile.goal or "general", "general")
        text = self.msg["onboarding_done"].format(goal=goal, level=self.msg["level_names"][level])
        return [Reply(text)]

    async def skip_onboarding(self, turn: Turn) -> list[Reply]:
        turn.profile = replace(turn.profile, onboarded=True)
        await self.repo.save_profile(turn.profile, turn.now)
        turn.set_flow(None)
        return [Reply(self.msg["onboarding_skipped"])]

    async def onboarding_text(self, turn: Turn, words: list[str]) -> list[Reply] | None:
        """Typed answers to the onboarding questions ("desk", "beginner", "skip")."""
        stage = turn.state.get("stage")
        if len(words) > 3 or set(words) & self.content.safety.negation.symptom_words:
            return None  # a real message ("my knee hurts"), not an answer to the question
        if words in (["skip"], ["later"], ["not", "now"]):
            return await self.skip_onboarding(turn)
        if stage == "goal":
            for goal in GOALS:
                # whole words only: "kneeling stretch tips" is a question, not the knee goal
                if goal in words or set(goal.split("-")) <= set(words) or (goal == "lower-back" and "back" in words):
                    return await self.set_goal(turn, goal)
        if stage == "level":
            if {"beginner", "new", "never", "rarely"} & set(words):
                return await self.set_level(turn, "beginner")
            if {"intermediate", "regularly", "often", "advanced", "experienced"} & set(words):
                return await self.set_level(turn, "intermediate")
        return None

    # -- symptom screening -------------------------------------------------------------------

    def start_screening(self, turn: Turn, area: str) -> Reply:
        turn.set_flow("screen", area=area, stage="feel")
        options = self.msg["screen_feel_options"]
        return Reply(
            self.msg["screen_feel"], rows(*(Button(label, f"s:{area}:f:{key}") for key, label in options.items()))
        )

    def screening_answer(self, turn: Turn, area: str, stage: str, answer: str) -> list[Reply]:
        """One question at a time: what it feels like, then an injury, then getting worse; any red flag ends it."""
        if area not in AREA_GOAL or stage not in SCREEN_NEXT:
            return [Reply(self.msg["expired_button"])]
        if (stage, answer) in SCREEN_RED_FLAGS:
            turn.set_flow(None)
            rule = self.content.safety.rule(SCREEN_RED_FLAGS[stage, answer])
            text = self.content.safety.wording(Triage(rule.level, rule))  # same wording as free-text triage
            return [Reply(text, topic="see-a-professional", safety=SEE_PROFESSIONAL)]
        following = SCREEN_NEXT[stage]
        if following is not None:
            return [self.yes_no_question(turn, area, following)]
        turn.set_flow(None)
        routine = self.content.routine_for(AREA_GOAL[area], turn.profile.level, 5)
        start = self.msg["coach_start_this_routine_button"].format(title=routine.title, minutes=routine.minutes)
        buttons = rows(
            Button(start, f"r:{routine.id}:0"),
            Button(self.msg["coach_not_now_button"], "o:none"),
            per_row=1,
        )
        return [Reply(self.msg["screen_clear"], buttons, topic=AREA_TOPIC[area])]

    def yes_no_question(self, turn: Turn, area: str, stage: str) -> Reply:
        turn.set_flow("screen", area=area, stage=SCREEN_STAGES[stage])
        question = self.msg[SCREEN_QUESTIONS[stage]]
        yes, no = self.msg["coach_yes_button"], self.msg["coach_no_button"]
        return Reply(question, rows(Button(yes, f"s:{area}:{stage}:yes"), Button(no, f"s:{area}:{stage}:no")))

    def screening_text(self, turn: Turn, words: list[str]) -> list[Reply] | None:
        area, stage = turn.state.get("area"), turn.state.get("stage")
        vocab = set(words)
        if stage == "feel" and vocab & DULL_WORDS:
            return self.screening_answer(turn, area, "f", "dull")
        short = STAGE_KEYS.get(stage)
        if short in SCREEN_QUESTIONS and len(words) <= 4:
            if vocab & UNSURE_WORDS and not (words == ["sure"] or vocab & NO_WORDS):
                return [self.yes_no_question(turn, area, short)]
            if vocab & NO_WORDS or words[:2] == ["not", "really"]:
                return self.screening_answer(turn, area, short, "no")
            if vocab & YES_WORDS:
                return self.screening_answer(turn, area, short, "yes")
        return None

    # -- forget me ---------------------------------------------------------------------------

    def confirm_forget(self, turn: Turn) -> list[Reply]:
        turn.set_flow("forget")
        return [
            Reply(
                self.msg["forget_confirm"],
                rows(
                    Button(self.msg["coach_forget_yes_button"], "f:yes"),
                    Button(self.msg["coach_forget_no_button"], "f:no"),
                ),
            )
        ]

    async def forget(self, turn: Turn, confirmed: bool) -> list[Reply]:
        if not confirmed:
            turn.set_flow(None)
            return [Reply(self.msg["forget_cancelled"])]
        await self.repo.forget_user(turn.incoming.user_key)
        turn.state, turn.state_changed, turn.soft_changed = {}, False, False  # nothing may be written back
        turn.erased = True
        return [Reply(self.msg["forget_done"])]

    def forget_text(self, turn: Turn, words: list[str]) -> bool | None:
        """Only a plain yes deletes; a plain no keeps; anything else ends the question (nothing deleted)."""
        if words and words[0] in ("yes", "yeah", "yep", "y") and len(words) <= 4 and not set(words) & NO_WORDS:
            return True
        if words and words[0] in NO_WORDS | {"keep", "stop", "dont", "not"} and len(words) <= 4:
            return False
        turn.set_flow(None)
        return None
