"""Guided routines as a feature: /routine, the step buttons (r:<id>:<n>[:s], rq:<id>), and what a person
types while a routine is open ('next', 'stop', 'this one hurts my knee')."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core import intents
from bot.core.content import Content, Routine
from bot.core.conversation import Turn
from bot.core.flows import Typed
from bot.core.knowledge import Knowledge
from bot.core.messages import Button, Reply, rows
from bot.core.reminders import Reminders
from bot.core.router import Call, Routes
from bot.core.routines import parse_routine_button, routine_overview, routine_step
from bot.core.text import words

HURTS = frozenset({"pain", "severe-pain"})  # findings that, mid-routine, mean "this exercise hurts"
NEXT_WORDS = frozenset({"next", "skip", "done", "finished", "ok", "okay"})
STOP_WORDS = frozenset({"stop", "quit", "end", "cancel", "exit"})


class GuidedRoutines:
    def __init__(self, content: Content, knowledge: Knowledge, reminders: Reminders) -> None:
        self.content = content
        self.knowledge = knowledge
        self.reminders = reminders  # finishing a routine checks in for the day
        self.msg = content.messages
        self.routes = Routes(
            commands={"routine": self._command}, buttons={"r": self._step_button, "rq": self._stop_button}
        )
        self.flows = {"routine": self._typed}

    async def start(self, turn: Turn, wish: intents.RoutineWish) -> list[Reply]:
        routine = self.content.routine_for(
            wish.goal or turn.profile.goal, wish.level or turn.profile.level, wish.minutes
        )
        return await self.start_routine(turn, routine)

    async def start_routine(self, turn: Turn, routine: Routine) -> list[Reply]:
        text = routine_overview(routine, self.content, self.msg["level_names"])
        overview = Reply(text, topic=routine.id, card=True)
        return [overview, *await self._at(turn, routine, 0, edit=False)]

    async def _at(self, turn: Turn, routine: Routine, index: int, edit: bool) -> list[Reply]:
        if index >= len(routine.steps):
            turn.set_flow(None)
            return [Reply(self.msg["routine_done"], edit=edit, topic=routine.id), *await self.reminders.done(turn)]
        turn.set_flow("routine", routine=routine.id, step=index)
        return [routine_step(routine, index, self.content, edit=edit)]

    def _pain(self, turn: Turn) -> list[Reply] | None:
        """'this one hurts my knee' mid-routine: stop that exercise, offer the easier one or Skip, keep the routine."""
        routine = self.content.routines.get(turn.state.get("routine", ""))
        step = int(turn.state.get("step", 0))
        if routine is None or step >= len(routine.steps):
            return None
        ex = self.content.exercises[routine.steps[step].exercise]
        easier = self.content.exercises.get(ex.easier or "")
        buttons = []
        if easier:
            buttons.append(Button(self.msg["coach_easier_button"].format(name=easier.name)[:40], f"x:{easier.id}"))
        buttons += [
            Button(self.msg["coach_skip_button"], f"r:{routine.id}:{step + 1}:s"),
            Button(self.msg["coach_stop_button"], f"rq:{routine.id}"),
        ]
        text = self.msg["routine_pain" if easier else "routine_pain_no_easier"].format(name=ex.name)
        return [Reply(text, rows(*buttons, per_row=1), topic=routine.id)]

    # -- routes ------------------------------------------------------------------------------

    async def _command(self, turn: Turn, call: Call) -> list[Reply]:
        """/routine [goal] [level] [minutes]: typed minutes (a platform's option) win over minutes in the text."""
        args = call.args
        wish = intents.routine_wish(["routine", *words(args)], self.knowledge.analyse(args))
        typed = call.options.get("minutes")
        bare = re.search(r"(?<![\w.])(\d{1,3})(?![\w.])", args)
        if isinstance(typed, int) and not isinstance(typed, bool) and typed > 0:
            wish = replace(wish, minutes=intents.snap_minutes(typed))
        elif wish is not None and wish.minutes is None and bare:
            wish = replace(wish, minutes=intents.snap_minutes(int(bare.group(1))))
        return await self.start(turn, wish)

    async def _step_button(self, turn: Turn, call: Call) -> list[Reply]:
        parsed = parse_routine_button(f"r:{call.args}", self.content)
        if parsed is None:
            return [Reply(self.msg["expired_button"])]
        routine, index = parsed
        if index == 0:
            return await self.start_routine(turn, routine)
        return await self._at(turn, routine, index, edit=True)

    async def _stop_button(self, turn: Turn, call: Call) -> list[Reply]:
        if call.args not in self.content.routines:
            return [Reply(self.msg["expired_button"])]
        turn.set_flow(None)
        return [Reply(self.msg["routine_stopped"], edit=True)]

    async def _typed(self, turn: Turn, typed: Typed) -> list[Reply] | None:
        if HURTS & typed.findings.present.keys():
            pain = self._pain(turn)  # no red flag (that answered before any flow): this exercise, not the routine
            if pain is not None:
                return pain
        if len(typed.words) > 3:
            return None
        routine = self.content.routines.get(turn.state.get("routine", ""))
        vocab = set(typed.words)
        if routine and vocab & NEXT_WORDS:
            return await self._at(turn, routine, int(turn.state.get("step", 0)) + 1, edit=False)
        if routine and vocab & STOP_WORDS:
            turn.set_flow(None)
            return [Reply(self.msg["routine_stopped"])]
        return None
