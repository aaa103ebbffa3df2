"""Text normalisation shared by safety triage and retrieval: one place decides what a 'word' is."""

from __future__ import annotations

import functools
import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
# Invisible format characters (Unicode category Cf) that copy-paste and some keyboards put inside words:
# soft hyphen, zero-width space / (non-)joiner, direction marks and embeddings, word joiner, BOM. Dropped,
# so "nu\u00admb" is still "numb" (a red flag must not hide behind one).
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF]
)
_FOLD = {**_APOSTROPHES, **_INVISIBLE}

# Written with and without the apostrophe, because people type both.
_CONTRACTIONS = {
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "ain't": "is not",
    "aint": "is not",
    "shan't": "shall not",
    "i'm": "i am",
    "im": "i am",
    "it's": "it is",
    "that's": "that is",
    "what's": "what is",
    "there's": "there is",
    "let's": "let us",
    "i've": "i have",
    "ive": "i have",
    "i'd": "i would",
    "i'll": "i will",
    "you're": "you are",
    # chat spellings
    "hw": "how",
    "wat": "what",
    "wht": "what",
    "shud": "should",
    "cud": "could",
    "wud": "would",
    "abt": "about",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "tmrw": "tomorrow",
    "rn": "right now",
    "2day": "today",
}
_NT_BARE = (
    "dont",
    "doesnt",
    "didnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "havent",
    "hasnt",
    "hadnt",
    "couldnt",
    "wouldnt",
    "shouldnt",
    "mustnt",
    "neednt",
)
for _word in _NT_BARE:
    _CONTRACTIONS[_word] = _word[:-2] + " not"

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.,;:!?]")
CLAUSE_PUNCTUATION = frozenset(".,;:!?")
MAX_TEXT_CHARS = 2000  # nobody asks about hips in more than this; keeps the hot path bounded


def _expand(token: str) -> str:
    if token in _CONTRACTIONS:
        return _CONTRACTIONS[token]
    if token.endswith("n't"):
        return token[:-3] + " not"
    if token.endswith("'s"):
        return token[:-2]
    return token.replace("'", "")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens with contractions expanded; sentence punctuation kept as tokens."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=16)
def _tokens(text: str) -> tuple[str, ...]:
    # Memoised for the message at hand: safety triage, the coach and the analyser each tokenise it.
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).translate(_FOLD).lower()
    out: list[str] = []
    for raw in _TOKEN.findall(text):
        out.extend(_expand(raw).split())
    return tuple(out)


def words(text: str) -> list[str]:
    """Word tokens only (no punctuation)."""
    return [t for t in tokens(text) if t not in CLAUSE_PUNCTUATION]


class Negation:
    """Which words a negation covers: 'not numb, just tight' negates 'numb' but not 'tight'.

    A negation word covers up to `window` words after it, stopping at punctuation or a clause word
    ("but", "just"). Phrases like "not sure" or "no longer" are not negations.
    """

    def __init__(
        self,
        words: set[str],
        ignore: list[tuple[str, ...]],
        clause_breaks: set[str],
        window: int,
        symptom_words: set[str] | None = None,
        clause_starts: set[tuple[str, str]] | None = None,
    ) -> None:
        self.clause_starts = clause_starts or set()
        self.words = words
        self.symptom_words = symptom_words or set()
        self.ignore = ignore
        self.clause_breaks = clause_breaks
        self.window = window

    def is_negation(self, toks: list[str], i: int) -> bool:
        return self._is_negation(toks, i)

    def _is_negation(self, toks: list[str], i: int) -> bool:
        return toks[i] in self.words and not any(tuple(toks[i : i + len(p)]) == p for p in self.ignore)

    def negated_before(self, toks: list[str], index: int, window: int | None = None) -> bool:
        """Is there a negation within `window` words before toks[index], in the same clause?"""
        window = self.window if window is None else window
        i, seen = index - 1, 0
        while i >= 0 and seen < window:
            if toks[i] in CLAUSE_PUNCTUATION:
                return False
            if i + 1 < len(toks) and (toks[i], toks[i + 1]) in self.clause_starts:
                return False
            if toks[i] in self.clause_breaks:
                # "not after a fall" still negates; "can't walk after a fall" does not reach past "after"
                return i > 0 and self._is_negation(toks, i - 1)
            if self._is_negation(toks, i):
                return True
            if toks[i] not in ("or", "nor"):  # "not swollen or red or warm": a list stays negated
                seen += 1
            i -= 1
        return False

    def without_negated_symptoms(self, toks: list[str]) -> list[str]:
        """Drop negated symptoms: 'no back pain, i just want to move better' -> 'i just want to move better'.

        Only spans that contain a symptom word go ("my hips don't move well" keeps its meaning): from
        the negation word up to the last symptom word it covers.
        """
        drop: set[int] = set()
        for i in range(len(toks)):
            if not self._is_negation(toks, i):
                continue
            last = None
            for j in range(i + 1, min(len(toks), i + 1 + self.window)):
                if toks[j] in CLAUSE_PUNCTUATION or toks[j] in self.clause_breaks:
                    break
                if toks[j] in self.symptom_words:
                    last = j
            if last is not None:
                drop.update(range(i, last + 1))
        return [t for k, t in enumerate(toks) if k not in drop]
