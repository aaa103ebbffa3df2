"""Recognising what a free-text message is for, before topic retrieval.

Small talk, routine and reminder wishes, "tell me more" and exercise lookups are recognised from
the analysed words; everything else goes to topic retrieval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.analyzer import Analysis

GREETING = frozenset("hi hello hey heya hiya yo sup howdy morning evening afternoon greetings gday hallo hola".split())
GREETING_TAGALONG = frozenset("whats what up good how are doing going".split())
THANKS = frozenset("thanks thank thx ty tysm cheers appreciate appreciated legend grateful".split())
GOODBYE = frozenset("bye goodbye cya later goodnight night ciao".split())
HELP_PHRASES = (
    "what can you do",
    "what can i ask",
    "how does this work",
    "how do you work",
    "what do you do",
    "help me use",
    "what are your commands",
    "show commands",
    "commands",
    "menu",
)
ABOUT_PHRASES = (
    "who made you",
    "who built you",
    "who created you",
    "who are you",
    "what are you",
    "medical advice",
    "are you a doctor",
    "are you a real",
    "are you human",
    "are you a bot",
    "are you an ai",
    "are you ai",
    "your sources",
    "where do your answers",
    "is this legit",
)
REMIND_WORDS = frozenset("remind reminder reminders notify notification notifications nudge alarm ping".split())
ROUTINE_WORDS = frozenset(
    "routine routines workout workouts session sessions program programme plan sequence circuit".split()
)
MORE_PHRASES = (
    "tell me more",
    "more please",
    "more info",
    "go on",
    "explain more",
    "more detail",
    "elaborate",
    "more about that",
    "more on that",
    "go deeper",
    "details",
)
FILLER = frozenset(
    "a the me you u my so much very really for that it this all again bye again mate coach "
    "bot guys buddy man dude there everyone team lot lots ok okay its is was good".split()
)

# Body parts the coach does not cover, and the ones near enough to the hips that it does.
OTHER_BODY_PARTS = frozenset(
    "tooth teeth toothache head headache migraine neck shoulder shoulders elbow elbows "
    "wrist wrists hand hands finger fingers thumb stomach tummy belly ear ears eye eyes "
    "throat chest jaw nose skin hair heart lungs".split()
)
HIP_REGION = frozenset(
    "hip hips glute glutes butt buttock pelvis pelvic groin thigh thighs knee knees back "
    "leg legs hamstring hamstrings quad quads adductor adductors flexor flexors psoas "
    "lumbar spine sacrum tailbone it band".split()
)

GOAL_WORDS = {
    "desk": {"sit", "desk", "office", "computer", "chair", "sitting", "sedentary", "wfh", "job", "work"},
    "lower-back": {"back", "lumbar", "lowerback"},
    "knee": {"knee", "knees"},
    "athlete": {
        "athlete",
        "athletic",
        "run",
        "runner",
        "running",
        "sport",
        "sports",
        "squat",
        "training",
        "soccer",
        "football",
        "rugby",
        "basketball",
        "lift",
        "lifting",
        "gym",
        "game",
        "games",
        "player",
        "match",
        "race",
        "cycling",
        "cyclist",
        "hockey",
        "tennis",
        "climbing",
    },
}
INTERMEDIATE_WORDS = frozenset(
    "intermediate advanced experienced harder challenging tough regularly pro expert".split()
)
SHORT_WORDS = frozenset("quick short brief fast mini".split())
LONG_WORDS = frozenset("long longer extended full thorough".split())


@dataclass(frozen=True)
class RoutineWish:
    goal: str | None
    level: str | None
    minutes: int | None


def _phrase_in(text: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {text} "
    return any(f" {p} " in padded for p in phrases)


def small_talk(raw_words: list[str]) -> str | None:
    """greeting / thanks / goodbye / help / about, only when the message is mostly that."""
    if not raw_words:
        return None
    text = " ".join(raw_words)
    rest = [w for w in raw_words if w not in FILLER]
    if _phrase_in(text, ABOUT_PHRASES):
        return "about"
    if _phrase_in(text, HELP_PHRASES) or raw_words in (["help"], ["help", "me"], ["?"]):
        return "help"
    for kind, vocab in (("thanks", THANKS), ("goodbye", GOODBYE), ("greeting", GREETING)):
        if not any(w in vocab for w in rest):
            continue
        # "yo whats up", "good morning": fillers that only ride along with a greeting word
        extra = GREETING_TAGALONG if kind == "greeting" else frozenset()
        others = [w for w in rest if w not in vocab and w not in extra]
        if len(others) <= 1 and len(raw_words) <= 6:
            return kind
    return None


def about_other_body_part(raw_words: list[str]) -> bool:
    """'my tooth hurts' or 'stiff shoulder': a body part we don't coach and nothing hip-related."""
    vocab = set(raw_words)
    if "heart" in vocab and _follows(raw_words, "heart", "attack"):
        # "nearly gave me a heart attack", "my friend had a heart attack": the heart is not what they ask about
        # (one happening now was sent to urgent care by safety before this)
        vocab.discard("heart")
    return bool(vocab & OTHER_BODY_PARTS) and not vocab & HIP_REGION


def _follows(raw_words: list[str], first: str, second: str) -> bool:
    return any(a == first and b.startswith(second) for a, b in zip(raw_words, raw_words[1:], strict=False))


def wants_reminder(raw_words: list[str]) -> bool:
    return any(w in REMIND_WORDS for w in raw_words)


SCHEDULE_WORDS = frozenset(
    "every daily weekdays weekends weekday morning mornings evening evenings night nightly "
    "mondays tuesdays wednesdays thursdays fridays saturdays sundays".split()
)


def mentions_schedule(raw_words: list[str]) -> bool:
    """'every day at 7am', 'weekdays at 18:15': a reminder wish even without the word 'remind'."""
    return bool(set(raw_words) & SCHEDULE_WORDS) and "at" in raw_words


DONE_PHRASES = (
    "done",
    "did it",
    "i did it",
    "finished",
    "completed",
    "all done",
    "done for today",
    "check in",
    "checked in",
    "did my routine",
    "did my stretches",
    "done today",
    "did today",
)


def reminder_action(raw_words: list[str]) -> str | None:
    """Managing reminders and streaks in plain words ("pause 3 days", "my reminders", "done", "streak"): the
    name of the command that does it."""
    if not raw_words:
        return None
    text = " ".join(raw_words)
    first = raw_words[0]
    mentions = any(w in REMIND_WORDS for w in raw_words)
    if len(raw_words) <= 5 and _phrase_in(text, DONE_PHRASES) and not mentions:
        return "done"
    if len(raw_words) <= 4 and {"streak", "streaks", "progress", "stats"} & set(raw_words):
        return "streak"
    if first == "snooze":
        return "snooze"
    if _phrase_in(text, ("skip today", "skip it today", "not today")) and len(raw_words) <= 5:
        return "skip"
    if first in ("pause", "unpause", "resume") or (mentions and first in ("stop", "cancel", "delete", "remove")):
        return {"unpause": "resume"}.get(first, first if first in ("pause", "resume") else "stop")
    if _phrase_in(text, ("unsubscribe", "stop reminding me", "no more reminders")):
        return "stop"
    if (
        mentions
        and len(raw_words) <= 4
        and (first in ("my", "show", "list", "reminders", "see") or raw_words[-1] in ("reminders", "reminder"))
    ):
        return "reminders"
    if first in ("timezone", "tz") or _phrase_in(text, ("time zone", "my timezone")) and len(raw_words) <= 6:
        return "timezone"
    return None


def wants_more(raw_words: list[str]) -> bool:
    return raw_words == ["more"] or (len(raw_words) <= 5 and _phrase_in(" ".join(raw_words), MORE_PHRASES))


def routine_wish(raw_words: list[str], analysis: Analysis) -> RoutineWish | None:
    """A request for a routine, with any goal, level and length it mentions."""
    if not any(w in ROUTINE_WORDS for w in raw_words):
        return None
    vocab = set(raw_words) | set(analysis.surface) | set(analysis.terms)
    goal = next((g for g, words in GOAL_WORDS.items() if vocab & words), None)
    level = "intermediate" if vocab & INTERMEDIATE_WORDS else None
    minutes = minutes_in(raw_words)
    if minutes is None and vocab & SHORT_WORDS:
        minutes = 5
    elif minutes is None and vocab & LONG_WORDS:
        minutes = 15
    return RoutineWish(goal, level, minutes)


_NUMBER_WORDS = {"five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30}
_MINUTE_WORDS = {"min", "mins", "minute", "minutes", "m"}
_NUMBER = re.compile(r"(\d{1,3})(min|mins|minute|minutes|m)?")


def minutes_in(text_words: list[str]) -> int | None:
    """A routine length mentioned in the text ("5 min", "ten minutes", "15mins"), snapped to 5/10/15."""
    for i, word in enumerate(text_words):
        following = text_words[i + 1] if i + 1 < len(text_words) else ""
        value = _NUMBER_WORDS.get(word)
        if value is None:
            m = _NUMBER.fullmatch(word)
            # A bare number only counts as minutes when "min" follows ("sit 9 hours" is not a length).
            if not m or (m.group(2) is None and following not in _MINUTE_WORDS):
                continue
            value = int(m.group(1))
        elif following and following not in _MINUTE_WORDS:
            continue
        if value > 0:
            return snap_minutes(value)
    return None


def snap_minutes(value: int) -> int:
    """Routines come in 5, 10 and 15 minutes: the nearest of those."""
    return 5 if value <= 7 else 10 if value <= 12 else 15
