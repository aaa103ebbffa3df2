"""Exercise cards and guided routines: how a routine is chosen, shown step by step, and advanced.

Button data carries the whole position ("r:<routine>:<step>"), so a Next pressed after a restart
(or on an old message) still works without any stored state.
"""

from __future__ import annotations

from bot.core.content import Content, Exercise, Routine
from bot.core.messages import Button, Reply, rows

CATEGORY_NAMES = {
    "dynamic": "dynamic mobility",
    "static": "static stretch",
    "smr": "foam rolling / release",
    "strength": "strength",
    "yoga-pilates": "yoga / Pilates",
}


def exercise_card(ex: Exercise, content: Content, full: bool = False) -> Reply:
    """How to do it, short enough for a phone; 'Tell me more' (or full=True) adds what to feel and avoid."""
    lines = [f"{ex.name} ({CATEGORY_NAMES[ex.category]}, {ex.level})"]
    lines += [f"{i}. {cue}" for i, cue in enumerate(ex.cues, 1)]
    lines += [f"Dose: {ex.dose}", f"Skip or modify if: {ex.skip_if}"]  # safety stays on the short card
    buttons = [] if full else [Button(content.messages["more_button"], f"xf:{ex.id}")]
    if full:
        lines = [ex.name, f"Feel it: {ex.feel}", f"Avoid: {ex.avoid}", f"Works: {', '.join(ex.muscles)}"]
    if ex.easier and ex.easier in content.exercises:
        easier = content.messages["coach_easier_button"].format(name=content.exercises[ex.easier].name)
        buttons.append(Button(easier, f"x:{ex.easier}"))
    return Reply("\n".join(lines), rows(*buttons, per_row=1), topic=ex.id, card=True)


def routine_overview(routine: Routine, content: Content, level_names: dict[str, str]) -> str:
    lines = [
        f"{routine.title} · {routine.minutes} min · {level_names.get(routine.level, routine.level)}",
        routine.intro,
    ]
    for i, step in enumerate(routine.steps, 1):
        lines.append(f"{i}. {content.exercises[step.exercise].name}: {step.dose}")
    items = equipment(routine, content)
    if items:
        lines.append(content.messages["routine_equipment"].format(items=" and ".join(items)))
    return "\n".join(lines)


def equipment(routine: Routine, content: Content) -> list[str]:
    """What to have ready before step 1: a roller for release work, a band for banded moves."""
    needed: list[str] = []
    for step in routine.steps:
        ex = content.exercises[step.exercise]
        names = " ".join((ex.name, *ex.aliases, *ex.cues)).lower()
        if ex.category == "smr" and "a foam roller or massage ball" not in needed:
            needed.append("a foam roller or massage ball")
        if " band" in f" {names}" and "a resistance band" not in needed:
            needed.append("a resistance band")
    return needed


def routine_step(routine: Routine, index: int, content: Content, edit: bool) -> Reply:
    """Step `index` (0-based) with Next / Skip / Stop, or the closing message when index is past the end."""
    total = len(routine.steps)
    step = routine.steps[index]
    ex = content.exercises[step.exercise]
    text = "\n".join(
        [
            f"Step {index + 1} of {total}: {ex.name} · {step.dose}",
            *(f"• {cue}" for cue in ex.cues[:3]),
            f"Feel it: {ex.feel}",
        ]
    )
    nxt = index + 1
    msg = content.messages
    buttons = (
        Button(msg["coach_next_button" if nxt < total else "coach_finish_button"], f"r:{routine.id}:{nxt}"),
        Button(msg["coach_skip_button"], f"r:{routine.id}:{nxt}:s"),
        Button(msg["coach_stop_button"], f"rq:{routine.id}"),
    )
    return Reply(text, rows(*buttons), edit=edit, topic=routine.id, card=True)


def parse_routine_button(data: str, content: Content) -> tuple[Routine, int] | None:
    """'r:<id>:<n>[:s]' -> (routine, step index); None when forged or stale. Skip (':s') moves on like Next."""
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != "r" or not (parts[2].isascii() and parts[2].isdigit()):
        return None
    routine = content.routines.get(parts[1])
    index = int(parts[2])
    if routine is None or index > len(routine.steps):
        return None
    return routine, index
