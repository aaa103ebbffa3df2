"""Safety triage: red flags and emergencies, read from clinical findings. Runs before anything else.

A message is first read into findings (bot.core.findings: "numbness" at the "saddle" site, a "fall"
and "cannot bear weight", "fever" with a "hot joint"). Red-flag rules are combinations of findings
(content/safety.yaml), each with its guideline source, its level and a reason a person understands.
The first rule that holds at the highest level wins.

A condition is written "a|b + c": at least one of a or b, and c, anywhere in the message. Written
"a|b & c" the findings must stand in the same sentence ("numb" and "groin" side by side, not a numb
foot in one sentence and a tight groin in the next).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.findings import FindingReader, Findings
from bot.core.patterns import PatternError, compile_pattern  # noqa: F401  (re-exported for content checks)

NONE = "none"
SEE_PROFESSIONAL = "see_professional"
URGENT = "urgent"
LEVELS = (NONE, SEE_PROFESSIONAL, URGENT)  # ascending severity
_RANK = {level: i for i, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class Condition:
    """'a|b & c + d': (a or b) and c in one sentence, and d anywhere in the message."""

    blocks: tuple[tuple[frozenset[str], ...], ...]  # blocks joined by +, groups within a block by &

    @classmethod
    def parse(cls, text: str) -> Condition:
        blocks = []
        for block in text.split("+"):
            groups = tuple(frozenset(a.strip() for a in part.split("|") if a.strip()) for part in block.split("&"))
            if not all(groups):
                raise ValueError(f"empty part in condition {text!r}")
            blocks.append(groups)
        return cls(tuple(blocks))

    def findings(self) -> frozenset[str]:
        return frozenset().union(*(group for block in self.blocks for group in block))

    def holds(self, found: Findings) -> bool:
        return all(_together(block, found.present) for block in self.blocks)


def _together(groups: tuple[frozenset[str], ...], present: dict[str, frozenset[int]]) -> bool:
    """Is one finding of every group present, all in one sentence (when there is more than one group)?"""
    if len(groups) == 1:
        return bool(groups[0] & present.keys())
    sentences: set[int] | None = None
    for group in groups:
        here = set().union(*(present[f] for f in group if f in present))
        sentences = here if sentences is None else sentences & here
        if not sentences:
            return False
    return True


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    conditions: tuple[Condition, ...]
    reason: str = ""
    message: str = ""  # replaces the level's escalation wording entirely (crisis support)
    topic: str | None = None
    source: str = ""
    unless: frozenset[str] = frozenset()
    examples: tuple[str, ...] = ()  # how a person might say it, for the semantic safety net

    def holds(self, found: Findings) -> bool:
        if self.unless & found.present.keys():
            return False
        return any(c.holds(found) for c in self.conditions)


@dataclass(frozen=True)
class Triage:
    level: str = NONE
    rule: Rule | None = None
    findings: Findings = Findings()

    @property
    def flagged(self) -> bool:
        return self.level != NONE


class SafetyTriage:
    def __init__(self, reader: FindingReader, rules: list[Rule], escalations: dict[str, str]) -> None:
        self.reader = reader
        # Urgent rules first so the first hit at the highest level wins.
        self.rules = sorted(rules, key=lambda r: -_RANK[r.level])
        self.escalations = escalations

    @property
    def negation(self):
        return self.reader.negation

    def assess(self, text: str) -> Triage:
        found = self.reader.read(text)
        if not found.present:
            return Triage(findings=found)
        for rule in self.rules:
            if rule.holds(found):
                return Triage(rule.level, rule, found)
        return Triage(findings=found)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def wording(self, triage: Triage) -> str:
        rule = triage.rule
        if rule is None:
            return ""
        if rule.message:
            return rule.message
        base = self.escalations[rule.level]
        return f"{rule.reason} {base}".strip()
