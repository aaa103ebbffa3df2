"""Word patterns for safety findings: a small language that content editors write in YAML.

    a|b|c     any one of these words
    (a b|c d) any one of these phrases (words and groups mix: "calf|(lower leg|shin)")
    , .       punctuation, as the message has it
    tingl*    any word starting with "tingl" (tingle, tingling, tingly)
    ...       up to six other words in between
    #         any number ("for 6 weeks", "for six weeks", "for a few weeks"); #kg a number glued to a unit
    !a|b      after a word: the next word is not a or b ("fell !asleep" finds "fell" but not "fell asleep")

A pattern compiles to one regular expression over the normalised, space-joined tokens of a message.
`PatternSet` finds every hit of many patterns at once, trying only the patterns whose first word
occurs in the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

GAP = r"(?:\s+[^\s.,;:!?]+){0,6}?"  # up to six words, never across punctuation
_MAX_WORDS_MEMO = 50_000  # distinct words whose candidate patterns a PatternSet remembers
NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|few|couple|many)"


class PatternError(ValueError):
    pass


def _word_regex(word: str) -> str:
    if word == "#":
        return NUMBER
    if word.startswith("#") and re.fullmatch(r"#[a-z]+", word):
        return r"\d+(?:\.\d+)?" + word[1:]  # a number glued to a unit: "8kg", "4yo"
    if word in _PUNCTUATION:
        return re.escape(word)
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


_PUNCTUATION = frozenset(".,;:!?")
_NEGATIONS = frozenset({"not", "no", "never", "without", "nothing", "none", "nor", "zero"})
# One part of a pattern: alternatives joined by |, each a word or a (phrase|phrase) group.
_PART = re.compile(r"(?:\([^)]*\)|[^\s|()]+)(?:\|(?:\([^)]*\)|[^\s|()]+))*")


def _alternatives(part: str) -> list[str]:
    """'calf|(lower leg|shin)' -> ['calf', 'lower leg', 'shin']"""
    out: list[str] = []
    for group, word in re.findall(r"\(([^)]*)\)|([^\s|()]+)", part):
        if group:
            out.extend(a.strip() for a in group.split("|") if a.strip())
        else:
            out.append(word)
    return out


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern plus the words a match can start with, so most messages skip the regex."""

    source: str
    regex: re.Pattern[str]
    first_words: frozenset[str]
    first_prefixes: tuple[str, ...]
    says_not: bool = False  # the pattern itself has a negation word ("can not walk"): its own "not" counts

    def could_match(self, words: set[str]) -> bool:
        if self.first_words & words:
            return True
        return any(w.startswith(self.first_prefixes) for w in words) if self.first_prefixes else False


def compile_pattern(pattern: str) -> Pattern:
    """Turn 'a|b (c d|e) ... f*' into a regex over space-joined tokens."""
    parts: list[str | None] = []  # None marks a '...' gap
    starts: list[str] = []  # the first part's possible first words
    text = pattern.strip().lower()
    pos = 0
    for match in _PART.finditer(text):
        if text[pos : match.start()].strip():
            raise PatternError(f"cannot read {text[pos : match.start()]!r} in {pattern!r}")
        pos = match.end()
        plain = match.group(0)
        if plain == "...":
            parts.append(None)
            continue
        if plain.startswith("!"):
            if not parts or parts[-1] is None:
                raise PatternError(f"'!' must follow a word in {pattern!r}")
            banned = "|".join(_phrase_regex(w) for w in _alternatives(plain[1:]))
            if not banned:
                raise PatternError(f"empty '!' in {pattern!r}")
            parts[-1] = parts[-1] + r"(?!\s+(?:" + banned + r")(?!\S))"
            continue
        alternatives = _alternatives(plain)
        if not alternatives:
            raise PatternError(f"empty group in {pattern!r}")
        parts.append("(?:" + "|".join(_phrase_regex(a) for a in alternatives) + ")")
        if len(parts) == 1:
            starts = [a.split()[0] for a in alternatives]
    if text[pos:].strip():
        raise PatternError(f"cannot read {text[pos:]!r} in {pattern!r}")
    if not parts or parts[0] is None or parts[-1] is None:
        raise PatternError(f"pattern must start and end with a word: {pattern!r}")
    regex = re.compile(r"(?<!\S)" + _join_gaps(parts) + r"(?!\S)")
    says_not = bool(_NEGATIONS & set(re.findall(r"[a-z']+", text)))
    if any(w.startswith("#") for w in starts):
        return Pattern(pattern, regex, frozenset(), ("",), says_not)  # a number first: always try the regex
    prefixes = tuple(w[:-1] for w in starts if w.endswith("*"))
    return Pattern(pattern, regex, frozenset(w for w in starts if not w.endswith("*")), prefixes, says_not)


def _join_gaps(parts: list[str | None]) -> str:
    out = parts[0] or ""
    for part in parts[1:]:
        out += GAP if part is None else r"\s+" + part
    return out


@dataclass(frozen=True)
class Hit:
    key: int  # which pattern (its index in the set)
    start: int  # token index of the first word
    end: int  # token index after the last word


class PatternSet:
    """Many patterns, each found anywhere in a message; patterns are tried only when their first word occurs."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self._starting: dict[str, tuple[int, ...]] = {}

    def _started_by(self, word: str) -> tuple[int, ...]:
        found = self._starting.get(word)
        if found is None:
            found = tuple(i for i, pattern in enumerate(self.patterns) if pattern.could_match({word}))
            if len(self._starting) >= _MAX_WORDS_MEMO:
                self._starting.clear()  # bounded: user text can bring any number of new words
            self._starting[word] = found
        return found

    def hits(self, toks: list[str]) -> Iterator[Hit]:
        """Every (non-overlapping per pattern) hit, in pattern order."""
        if not toks:
            return
        joined = " ".join(toks)
        starts: dict[int, int] = {}  # char offset -> token index
        pos = 0
        for i, tok in enumerate(toks):
            starts[pos] = i
            pos += len(tok) + 1
        candidates: set[int] = set()
        for word in set(toks):
            candidates.update(self._started_by(word))
        for key in sorted(candidates):
            for m in self.patterns[key].regex.finditer(joined):
                first = starts[m.start()]
                yield Hit(key, first, first + len(m.group(0).split()))
