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
_MAX_WORDS_MEMO = 50_000  # distinct words whose candidate patterns SafetyTriage remembers


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


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern plus the words a match can start with, so most messages skip the regex."""

    regex: re.Pattern[str]
    first_words: frozenset[str]
    first_prefixes: tuple[str, ...]

    def could_match(self, words: set[str]) -> bool:
        if self.first_words & words:
            return True
        return any(w.startswith(self.first_prefixes) for w in words) if self.first_prefixes else False


def compile_pattern(pattern: str) -> Pattern:
    """Turn 'a|b (c d|e) ... f*' into a regex over space-joined tokens."""
    parts: list[str | None] = []  # None marks a '...' gap
    starts: list[str] = []  # the first part's possible first words
    for group, plain in re.findall(r"\(([^)]*)\)|(\S+)", pattern.strip().lower()):
        if group:
            alternatives = [a.strip() for a in group.split("|") if a.strip()]
            if not alternatives:
                raise PatternError(f"empty group in {pattern!r}")
            parts.append("(?:" + "|".join(_phrase_regex(a) for a in alternatives) + ")")
            words = [a.split()[0] for a in alternatives]
        elif plain == "...":
            parts.append(None)
            words = []
        else:
            parts.append("(?:" + "|".join(_word_regex(w) for w in plain.split("|") if w) + ")")
            words = [w for w in plain.split("|") if w]
        if len(parts) == 1:
            starts = words
    if not parts or parts[0] is None or parts[-1] is None:
        raise PatternError(f"pattern must start and end with a word: {pattern!r}")
    regex = re.compile(r"(?<!\S)" + _join_gaps(parts) + r"(?!\S)")
    if "#" in starts:
        return Pattern(regex, frozenset(), ("",))  # a number first: always try the regex
    prefixes = tuple(w[:-1] for w in starts if w.endswith("*"))
    return Pattern(regex, frozenset(w for w in starts if not w.endswith("*")), prefixes)


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
    patterns: tuple[Pattern, ...]
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
        # Every (rule, pattern) in the order they are tried, and per word which of them it could start
        # (Pattern.could_match, answered once per distinct word instead of once per pattern and message).
        self._checks = [(rule, pattern) for rule in self.rules for pattern in rule.patterns]
        self._starting: dict[str, tuple[int, ...]] = {}

    def _started_by(self, word: str) -> tuple[int, ...]:
        found = self._starting.get(word)
        if found is None:
            found = tuple(i for i, (_, pattern) in enumerate(self._checks) if pattern.could_match({word}))
            if len(self._starting) >= _MAX_WORDS_MEMO:
                self._starting.clear()  # bounded: user text can bring any number of new words
            self._starting[word] = found
        return found

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
        candidates: set[int] = set()
        for word in set(toks):
            candidates.update(self._started_by(word))
        checks = self._checks
        for i in sorted(candidates):  # the rules' order: the first hit at the highest level wins
            rule, pattern = checks[i]
            for hit in pattern.regex.finditer(joined):
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
