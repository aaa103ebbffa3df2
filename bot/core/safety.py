"""Safety triage: red flags and emergencies, negation-aware. Runs before anything else.

Rules are data (content/safety.yaml). Each pattern compiles to a regular expression over the
normalised, space-joined tokens; a match counts unless a negation word stands shortly before it
in the same clause ("not numb, just tight").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.text import Negation, tokens

NONE = "none"
SEE_PROFESSIONAL = "see_professional"
URGENT = "urgent"
LEVELS = (NONE, SEE_PROFESSIONAL, URGENT)  # ascending severity
_RANK = {level: i for i, level in enumerate(LEVELS)}

GAP = r"(?:\s+\S+){0,6}?"


class PatternError(ValueError):
    pass


# "#" in a pattern: a number, in digits or words ("for 6 weeks", "for six weeks", "for a few weeks").
NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|few|couple|many)"


def _word_regex(word: str) -> str:
    if word == "#":
        return NUMBER
    if word.endswith("*"):
        stem = word[:-1]
        if not re.fullmatch(r"[a-z0-9']+", stem):
            raise PatternError(f"bad word {word!r}")
        return re.escape(stem) + r"\S*"
    if not re.fullmatch(r"[a-z0-9']+", word):
        raise PatternError(f"bad word {word!r}")
    return re.escape(word)


def _phrase_regex(phrase: str) -> str:
    return r"\s+".join(_word_regex(w) for w in phrase.split())


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Turn 'a|b (c d|e) ... f*' into a regex over space-joined tokens."""
    parts: list[str | None] = []  # None marks a '...' gap
    for group, plain in re.findall(r"\(([^)]*)\)|(\S+)", pattern.strip().lower()):
        if group:
            alternatives = [a.strip() for a in group.split("|") if a.strip()]
            if not alternatives:
                raise PatternError(f"empty group in {pattern!r}")
            parts.append("(?:" + "|".join(_phrase_regex(a) for a in alternatives) + ")")
        elif plain == "...":
            parts.append(None)
        else:
            parts.append("(?:" + "|".join(_word_regex(w) for w in plain.split("|") if w) + ")")
    if not parts or parts[0] is None or parts[-1] is None:
        raise PatternError(f"pattern must start and end with a word: {pattern!r}")
    return re.compile(r"(?<!\S)" + _join_gaps(parts) + r"(?!\S)")


def _join_gaps(parts: list[str | None]) -> str:
    out = parts[0] or ""
    for part in parts[1:]:
        if part is None:
            out += GAP
        else:
            out += r"\s+" + part
    return out


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    patterns: tuple[re.Pattern[str], ...]
    reason: str = ""
    message: str = ""  # replaces the level's escalation wording entirely (crisis support)
    topic: str | None = None
    negation_window: int | None = None  # None: the default window; 0: never negated


@dataclass(frozen=True)
class Triage:
    level: str = NONE
    rule: Rule | None = None

    @property
    def flagged(self) -> bool:
        return self.level != NONE


class SafetyTriage:
    def __init__(self, rules: list[Rule], negation: Negation, escalations: dict[str, str]) -> None:
        # Urgent rules first so the first hit at the highest level wins.
        self.rules = sorted(rules, key=lambda r: -_RANK[r.level])
        self.negation = negation
        self.escalations = escalations

    def assess(self, text: str) -> Triage:
        toks = tokens(text)
        if not toks:
            return Triage()
        joined = " ".join(toks)
        # char offset -> token index, so a regex hit can be located among the tokens
        starts = {}
        pos = 0
        for i, tok in enumerate(toks):
            starts[pos] = i
            pos += len(tok) + 1
        for rule in self.rules:
            for pattern in rule.patterns:
                for hit in pattern.finditer(joined):
                    if rule.negation_window == 0 or not self.negation.negated_before(
                        toks, starts[hit.start()], rule.negation_window
                    ):
                        return Triage(rule.level, rule)
        return Triage()

    def wording(self, triage: Triage) -> str:
        rule = triage.rule
        if rule is None:
            return ""
        if rule.message:
            return rule.message
        base = self.escalations[rule.level]
        return f"{rule.reason} {base}".strip()
