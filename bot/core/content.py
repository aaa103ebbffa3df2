"""Load and validate content/ (topics, exercises, routines, safety rules, messages).

Content is data a non-programmer edits, so every problem is reported with its file and entry id,
all at once, instead of a traceback on the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.findings import KINDS, FindingReader, FindingSpec
from bot.core.patterns import Pattern, PatternError, compile_pattern
from bot.core.safety import LEVELS, NONE, Condition, Rule, SafetyTriage
from bot.core.text import Negation

# libyaml's loader when PyYAML has it (every wheel does): the same safe subset, several times faster at start-up.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: Any) -> Any:
    return yaml.load(stream, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python


DEFAULT_CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"
GOALS = ("general", "desk", "lower-back", "knee", "athlete")
LEVELS_OF_SKILL = ("beginner", "intermediate")
ROUTINE_MINUTES = (5, 10, 15)
CATEGORIES = ("dynamic", "static", "smr", "strength", "yoga-pilates")
SYMPTOM_AREAS = ("knee", "lower-back", "hip")
MAX_ANSWER = 480
MAX_MORE = 900


class ContentError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("content problems:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    section: str
    answer: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    more: str = ""
    exercises: tuple[str, ...] = ()
    symptom: str | None = None
    faq: str | None = None


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    aliases: tuple[str, ...]
    category: str
    muscles: tuple[str, ...]
    level: str
    cues: tuple[str, ...]
    dose: str
    feel: str
    avoid: str
    skip_if: str
    easier: str | None = None


@dataclass(frozen=True)
class RoutineStep:
    exercise: str
    seconds: int
    dose: str


@dataclass(frozen=True)
class Routine:
    id: str
    goal: str
    level: str
    minutes: int
    title: str
    intro: str
    steps: tuple[RoutineStep, ...]


@dataclass(frozen=True)
class Content:
    topics: dict[str, Topic]
    exercises: dict[str, Exercise]
    routines: dict[str, Routine]
    safety: SafetyTriage
    messages: dict[str, Any]

    def routine_for(self, goal: str | None, level: str | None, minutes: int | None) -> Routine:
        key = f"{goal or 'general'}-{level or 'beginner'}-{minutes or 10}"
        return self.routines.get(key) or self.routines["general-beginner-10"]


class _Checker:
    """Collects problems as 'file: entry: message' so all of them are reported together."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []

    def fail(self, file: Path | str, entry: str, message: str) -> None:
        rel = Path(file).relative_to(self.root) if Path(file).is_absolute() else file
        self.problems.append(f"{rel}: {entry}: {message}")

    def load_yaml(self, path: Path) -> Any:
        try:
            with path.open(encoding="utf-8") as fh:
                return safe_load(fh)
        except FileNotFoundError:
            self.fail(path, "-", "file is missing")
        except yaml.YAMLError as exc:
            self.fail(path, "-", f"not valid YAML: {exc}")
        return None

    def entries(self, path: Path, data: Any) -> list[dict[str, Any]]:
        if data is None:
            return []
        if not isinstance(data, list):
            self.fail(path, "-", "expected a list of entries")
            return []
        good = []
        for i, item in enumerate(data):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
                self.fail(path, f"entry #{i + 1}", "every entry needs an 'id'")
            else:
                good.append(item)
        return good

    def text(self, path: Path, item: dict, key: str, max_len: int | None = None, required: bool = True) -> str:
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, item["id"], f"missing field '{key}'")
            return ""
        if not isinstance(value, str | int | float):
            self.fail(path, item["id"], f"'{key}' must be text")
            return ""
        value = " ".join(str(value).split())
        if max_len and len(value) > max_len:
            self.fail(path, item["id"], f"'{key}' is {len(value)} characters; keep it under {max_len}")
        return value

    def str_list(self, path: Path, item: dict, key: str, required: bool = True) -> tuple[str, ...]:
        value = item.get(key)
        if value is None:
            if required:
                self.fail(path, item["id"], f"missing field '{key}'")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.fail(path, item["id"], f"'{key}' must be a list of texts")
            return ()
        return tuple(" ".join(str(v).split()) for v in value)

    def choice(self, path: Path, item: dict, key: str, allowed: tuple) -> str:
        value = item.get(key)
        if value not in allowed:
            self.fail(path, item["id"], f"'{key}' is {value!r}; expected one of {', '.join(map(str, allowed))}")
        return value


def load_content(root: str | Path | None = None) -> Content:
    root = Path(root or DEFAULT_CONTENT_DIR).resolve()  # HIPCOACH_CONTENT is read by Settings, which passes it in
    check = _Checker(root)
    seen_ids: dict[str, str] = {}

    def claim_id(path: Path, entry_id: str) -> bool:
        if entry_id in seen_ids:
            check.fail(path, entry_id, f"id already used in {seen_ids[entry_id]}")
            return False
        seen_ids[entry_id] = str(path.relative_to(root))
        return True

    exercises = _load_exercises(root / "exercises.yaml", check, claim_id)
    topics = _load_topics(root, check, claim_id, exercises)
    routines = _load_routines(root / "routines.yaml", check, claim_id, exercises)
    safety = _load_safety(root / "safety.yaml", check)
    messages = _load_messages(root, check)
    if check.problems:
        raise ContentError(check.problems)
    return Content(topics, exercises, routines, safety, messages)  # type: ignore[arg-type]


def _load_messages(root: Path, check: _Checker) -> dict[str, Any]:
    """User-facing texts: `messages.yaml` plus one file per area in `messages/` (adapters, challenges...),
    so each feature keeps its words together; a name defined twice is an error."""
    messages: dict[str, Any] = {}
    for path in [root / "messages.yaml", *sorted((root / "messages").glob("*.yaml"))]:
        data = check.load_yaml(path) or {}
        if not isinstance(data, dict):
            check.fail(path, "-", "expected a mapping of message names to texts")
            continue
        for name, text in data.items():
            if name in messages:
                check.fail(path, name, "message name defined twice")
            messages[name] = text
    return messages


def _load_exercises(path: Path, check: _Checker, claim_id) -> dict[str, Exercise]:
    out: dict[str, Exercise] = {}
    alias_owner: dict[str, str] = {}
    for item in check.entries(path, check.load_yaml(path)):
        if not claim_id(path, item["id"]):
            continue
        ex = Exercise(
            id=item["id"],
            name=check.text(path, item, "name", 60),
            aliases=check.str_list(path, item, "aliases", required=False),
            category=check.choice(path, item, "category", CATEGORIES),
            muscles=check.str_list(path, item, "muscles"),
            level=check.choice(path, item, "level", LEVELS_OF_SKILL),
            cues=check.str_list(path, item, "cues"),
            dose=check.text(path, item, "dose", 120),
            feel=check.text(path, item, "feel", 200),
            avoid=check.text(path, item, "avoid", 200),
            skip_if=check.text(path, item, "skip_if", 200),
            easier=item.get("easier"),
        )
        if not 2 <= len(ex.cues) <= 6:
            check.fail(path, ex.id, "'cues' needs 2 to 6 steps")
        for alias in (ex.name.lower(), *(a.lower() for a in ex.aliases)):
            if alias_owner.setdefault(alias, ex.id) != ex.id:
                check.fail(path, ex.id, f"alias {alias!r} also belongs to {alias_owner[alias]}")
        out[ex.id] = ex
    for ex in out.values():
        if ex.easier and ex.easier not in out:
            check.fail(path, ex.id, f"'easier' names unknown exercise {ex.easier!r}")
    return out


def _load_topics(root: Path, check: _Checker, claim_id, exercises: dict[str, Exercise]) -> dict[str, Topic]:
    out: dict[str, Topic] = {}
    files = sorted((root / "topics").glob("*.yaml"))
    if not files:
        check.fail(root / "topics", "-", "no topic files (*.yaml) found")
    for path in files:
        for item in check.entries(path, check.load_yaml(path)):
            if not claim_id(path, item["id"]):
                continue
            topic = Topic(
                id=item["id"],
                title=check.text(path, item, "title", 80),
                section=check.text(path, item, "section"),
                answer=check.text(path, item, "answer", MAX_ANSWER),
                examples=check.str_list(path, item, "examples"),
                keywords=tuple(k.lower() for k in check.str_list(path, item, "keywords", required=False)),
                more=check.text(path, item, "more", MAX_MORE, required=False),
                exercises=check.str_list(path, item, "exercises", required=False),
                symptom=item.get("symptom"),
                faq=item.get("faq"),
            )
            if len(topic.examples) < 3:
                check.fail(path, topic.id, "'examples' needs at least 3 ways a user would ask")
            for ex_id in topic.exercises:
                if ex_id not in exercises:
                    check.fail(path, topic.id, f"'exercises' names unknown exercise {ex_id!r}")
            if topic.symptom is not None and topic.symptom not in SYMPTOM_AREAS:
                check.fail(path, topic.id, f"'symptom' is {topic.symptom!r}; expected one of {SYMPTOM_AREAS}")
            out[topic.id] = topic
    return out


def _load_routines(path: Path, check: _Checker, claim_id, exercises: dict[str, Exercise]) -> dict[str, Routine]:
    out: dict[str, Routine] = {}
    for item in check.entries(path, check.load_yaml(path)):
        if not claim_id(path, item["id"]):
            continue
        steps = []
        for i, raw in enumerate(item.get("steps") or []):
            if not isinstance(raw, dict) or raw.get("exercise") not in exercises:
                check.fail(path, item["id"], f"step {i + 1} names unknown exercise {raw!r}")
                continue
            seconds = raw.get("seconds")
            if not isinstance(seconds, int) or seconds <= 0:
                check.fail(path, item["id"], f"step {i + 1} needs 'seconds' as a positive whole number")
                continue
            steps.append(RoutineStep(raw["exercise"], seconds, " ".join(str(raw.get("dose", "")).split())))
        routine = Routine(
            id=item["id"],
            goal=check.choice(path, item, "goal", GOALS),
            level=check.choice(path, item, "level", LEVELS_OF_SKILL),
            minutes=check.choice(path, item, "minutes", ROUTINE_MINUTES),
            title=check.text(path, item, "title", 60),
            intro=check.text(path, item, "intro", 200),
            steps=tuple(steps),
        )
        if not steps:
            check.fail(path, routine.id, "needs at least one step")
        elif isinstance(routine.minutes, int):
            total = sum(s.seconds for s in steps)
            if abs(total - routine.minutes * 60) > routine.minutes * 60 * 0.2:
                check.fail(path, routine.id, f"steps add up to {total} s, not about {routine.minutes} min")
        if routine.level == "beginner":
            for s in steps:
                if exercises[s.exercise].level != "beginner":
                    check.fail(path, routine.id, f"beginner routine uses {s.exercise}, which is not beginner level")
        out[routine.id] = routine
    if out and "general-beginner-10" not in out:
        check.fail(path, "general-beginner-10", "the default routine is missing")
    return out


def _load_safety(path: Path, check: _Checker) -> SafetyTriage:
    data = check.load_yaml(path) or {}
    negation = data.get("negation") or {}
    escalations = data.get("escalations") or {}
    for key in ("words", "ignore", "clause_breaks", "clause_starts", "symptom_words"):
        if not all(isinstance(w, str) for w in negation.get(key) or []):
            check.fail(path, f"negation.{key}", "every entry must be quoted text (YAML reads a bare no as false)")
    words = Negation(
        words=set(negation.get("words") or []),
        ignore=[tuple(str(p).split()) for p in negation.get("ignore") or []],
        clause_breaks=set(negation.get("clause_breaks") or []),
        window=int(negation.get("window", 4)),
        symptom_words=set(negation.get("symptom_words") or []),
        clause_starts={tuple(str(p).split()[:2]) for p in negation.get("clause_starts") or []},
    )
    specs = _load_findings(path.with_name("findings.yaml"), check)
    known = {spec.id for spec in specs}
    rules = []
    for item in check.entries(path, data.get("rules")):
        level = check.choice(path, item, "level", LEVELS[1:])
        conditions = []
        for raw in item.get("when") or []:
            try:
                condition = Condition.parse(str(raw))
            except ValueError as exc:
                check.fail(path, item["id"], str(exc))
                continue
            for finding in sorted(condition.findings() - known):
                check.fail(path, item["id"], f"condition {raw!r} names unknown finding {finding!r}")
            conditions.append(condition)
        if not conditions:
            check.fail(path, item["id"], "needs at least one condition under 'when'")
        unless = frozenset(str(u) for u in item.get("unless") or [])
        for finding in sorted(unless - known):
            check.fail(path, item["id"], f"'unless' names unknown finding {finding!r}")
        if not item.get("source"):
            check.fail(path, item["id"], "every rule names the guidance it follows under 'source'")
        if level in LEVELS[1:] and level not in escalations and not item.get("message"):
            check.fail(path, item["id"], f"no escalation wording for level {level!r}")
        rules.append(
            Rule(
                id=item["id"],
                level=level if level in LEVELS else NONE,
                conditions=tuple(conditions),
                reason=" ".join(str(item.get("reason", "")).split()),
                message=" ".join(str(item.get("message", "")).split()),
                topic=item.get("topic"),
                source=" ".join(str(item.get("source", "")).split()),
                unless=unless,
                examples=tuple(str(e) for e in item.get("examples") or []),
            )
        )
    scopes = data.get("scope") or {}
    reader = FindingReader(
        specs,
        words,
        hypothetical=_patterns(path, "scope.hypothetical", scopes.get("hypothetical"), check),
        past=_patterns(path, "scope.past", scopes.get("past"), check),
        general=_patterns(path, "scope.general", scopes.get("general"), check),
        retracted=_patterns(path, "scope.retracted", scopes.get("retracted"), check),
        spellings=_load_spellings(path.with_name("spellings.yaml"), check),
    )
    return SafetyTriage(reader, rules, {k: " ".join(str(v).split()) for k, v in escalations.items()})


def _load_spellings(path: Path, check: _Checker) -> dict[str, str]:
    """Variant -> the English words it is read as; a variant listed twice would be read two ways."""
    data = check.load_yaml(path) or {}
    out: dict[str, str] = {}
    for section in ("spellings", "other_languages"):
        for english, variants in (data.get(section) or {}).items():
            for variant in variants or []:
                variant = str(variant).lower()
                if variant in out:
                    check.fail(path, f"{section}.{english}", f"{variant!r} is already read as {out[variant]!r}")
                out[variant] = str(english)
    return out


def _patterns(path: Path, entry: str, raw: Any, check: _Checker) -> list[Pattern]:
    out = []
    for text in raw or []:
        try:
            out.append(compile_pattern(str(text)))
        except (PatternError, ValueError) as exc:
            check.fail(path, entry, f"pattern {text!r}: {exc}")
    return out


def _load_findings(path: Path, check: _Checker) -> list[FindingSpec]:
    data = check.load_yaml(path) or {}
    specs = []
    for item in check.entries(path, data.get("findings")):
        kind = check.choice(path, item, "kind", KINDS)
        patterns = _patterns(path, item["id"], item.get("phrases"), check)
        if not patterns:
            check.fail(path, item["id"], "needs at least one phrase")
        window = item.get("negation_window")
        specs.append(FindingSpec(item["id"], kind, tuple(patterns), window, bool(item.get("always", False))))
    return specs
