"""The one text analyser every lookup shares: contractions, a synonym table from content/, typo correction
against the known vocabulary, compound splitting ("hipflexor") and a light stemmer. Knowledge builds its
topic and exercise indexes on top of it; this module knows nothing of topics.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from bot.core.text import CLAUSE_PUNCTUATION, Negation, tokens, words

STOPWORDS = frozenset(
    """
a about above after again all also am an and any anything are as at be because been before being
below between both but by can could did do does doing done down during each even ever every few for
from further get gets getting got had has have having he her here hers herself him himself his how
i if in into is it its itself just keep let like me might mine more most much must my myself need
needs no nor not now of off on once one only or other our ours out over own please pls plz really
same shall she should so some something still such than that the their them then there these they
this those through to too u ur under until up us very want wanna was we were what when where which
while who whom why will with would yes yet you your yours yourself ok okay hey hi lol tbh idk btw
thing things way bit lot lots kind sort maybe anyone someone im ive id dont cant gonna gotta go
see tell know think feel feels feeling felt make makes made say said give show help helps helped
""".split()
)


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to fold plurals and -ing/-ed forms together."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("ness", "", 7),
        ("ing", "", 6),
        ("edly", "", 7),
        ("ed", "", 5),
        ("ly", "", 6),
        ("es", "e", 5),
    ):
        if word.endswith(suffix) and len(word) >= min_len:
            if suffix == "ed" and word.endswith("eed"):
                return word  # speed, need: not a past tense
            word = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # running -> run, stopped -> stop
            return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def damerau(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance, giving up early past limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class Analyzer:
    """Turns text into matching terms. Built once from the content's own vocabulary."""

    def __init__(
        self,
        synonyms: dict[str, list[str]],
        vocabulary: Counter[str],
        domain: set[str],
        negation: Negation | None = None,
    ) -> None:
        self.negation = negation
        self.phrases: dict[tuple[str, ...], str] = {}
        self.single: dict[str, str] = {}
        for canonical, variants in synonyms.items():
            for variant in [canonical, *variants]:
                parts = tuple(words(str(variant)))
                if len(parts) > 1:
                    self.phrases[parts] = canonical
                elif parts:
                    self.single[parts[0]] = canonical
        self.max_phrase = max((len(p) for p in self.phrases), default=1)
        # Words the coach knows (not counted as unknown); typos are only corrected towards the
        # domain words (examples, keywords, synonyms, exercise names), so "payday" stays unknown.
        self.known = Counter(vocabulary)
        for word in self.single:
            self.known[word] += 1
        self.domain = set(domain) | set(self.single)
        self._deletes: dict[str, list[str]] = defaultdict(list)
        # Typos are fixed towards domain words and plain English function words ("shuld" -> should).
        for word in self.domain | STOPWORDS:
            if len(word) >= 3 and not word.isdigit():
                for key in self._delete_keys(word):
                    self._deletes[key].append(word)
        self._cache: dict[str, str | tuple[str, ...] | None] = {}

    @staticmethod
    def _delete_keys(word: str) -> set[str]:
        return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}

    def correct(self, word: str) -> str | tuple[str, ...] | None:
        """A known word, a split compound ('hipflexor' -> hip, flexor), or None when unknown."""
        if word in self.known or word in STOPWORDS or word.isdigit():
            return word
        if word in self._cache:
            return self._cache[word]
        result: str | tuple[str, ...] | None = None
        if len(word) >= 4:
            candidates = {c for key in self._delete_keys(word) for c in self._deletes.get(key, ())}
            scored = [(self._typo_distance(word, c), -self.known[c], c) for c in candidates]
            scored = [s for s in scored if s[0] is not None]
            if scored:
                result = min(scored)[2]
        if result is None and len(word) >= 6:
            for i in range(3, len(word) - 2):
                left, right = word[:i], word[i:]
                if left in self.domain and right in self.domain:
                    result = (left, right)
                    break
        if len(self._cache) < 50_000:
            self._cache[word] = result
        return result

    @staticmethod
    def _typo_distance(typo: str, word: str) -> int | None:
        """How far a plausible typo is from a known word, or None when it is more likely another word.

        Short words only forgive an extra or swapped letter ("kneee", "hipp"), because swapping one
        letter of a short word usually makes a different real word ("dull" is not "pull").
        """
        if typo[0] != word[0]:
            return None
        if len(typo) <= 5:
            # a doubled letter ("kneee", "hipp"), two letters swapped, or (5 letters) one letter missing ("fasia")
            doubled = len(word) == len(typo) - 1 and any(
                typo[i] == typo[i + 1] and typo[:i] + typo[i + 1 :] == word for i in range(len(typo) - 1)
            )
            swapped = len(word) == len(typo) and damerau(typo, word, 1) == 1 and sorted(typo) == sorted(word)
            missing = len(typo) == 5 and len(word) == 6 and typo in {word[:i] + word[i + 1 :] for i in range(6)}
            return 1 if doubled or swapped or missing else None
        limit = 1 if len(typo) < 8 else 2
        distance = damerau(typo, word, limit)
        return distance if distance <= limit else None

    def surface(self, text: str) -> tuple[list[str], int]:
        """Corrected surface words and how many content words were unknown. Negated symptoms are dropped."""
        toks = tokens(text)
        if self.negation is not None:
            toks = self.negation.without_negated_symptoms(toks)
        out: list[str] = []
        unknown = 0
        for word in toks:
            if word in CLAUSE_PUNCTUATION:
                continue
            fixed = self.correct(word)
            if fixed is None:
                unknown += 1
                continue
            for w in (fixed,) if isinstance(fixed, str) else fixed:
                out.append(w)
        return out, unknown

    def terms(self, surface: list[str]) -> list[str]:
        """Synonyms folded (phrases first), stopwords dropped, stemmed."""
        out: list[str] = []
        i = 0
        while i < len(surface):
            for size in range(min(self.max_phrase, len(surface) - i), 1, -1):
                canonical = self.phrases.get(tuple(surface[i : i + size]))
                if canonical:
                    out.append(canonical)
                    i += size
                    break
            else:
                word = surface[i]
                i += 1
                if word in STOPWORDS:
                    continue
                out.append(stem(self.single.get(word, word)))
        return out

    def analyse(self, text: str) -> Analysis:
        surface, unknown = self.surface(text)
        return Analysis(surface, self.terms(surface), unknown)


@dataclass(frozen=True)
class Analysis:
    surface: list[str]
    terms: list[str]
    unknown: int  # content words the coach has never seen (not typos of known ones)

    @property
    def coverage(self) -> float:
        """Share of the message's content words the coach knows: low means probably off-topic."""
        known = len(self.terms)
        return known / (known + self.unknown) if known + self.unknown else 0.0
