"""Folding typed text for matching (accents, dashes, apostrophes), and masking what was already read."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_TEXT_CHARS = 500  # a reminder request is one line; the cap keeps the worst case cheap
_MASK = "\x00"  # stands in for a found time zone; never typed, so it cannot collide with user text


_PUNCT = str.maketrans(
    {**dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"), "\u2019": "'", "\u2018": "'"}
)


def _fold(text: str) -> str:
    """Strip accents and unify dashes/apostrophes so 'São Paulo' and 'UTC−5' match their plain spellings."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCT))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class _Source:
    shown: str  # folded, original case: what problems quote back
    low: str  # folded, lower case: what the patterns read
    truncated: bool

    @classmethod
    def of(cls, text: str) -> _Source:
        shown = _fold(text[:MAX_TEXT_CHARS])
        return cls(shown, shown.lower(), len(text) > MAX_TEXT_CHARS)

    def quote(self, start: int, end: int) -> str:
        # lower() can change the length of rare characters; then spans only fit the lower-case copy
        source = self.shown if len(self.shown) == len(self.low) else self.low
        return source[start:end].strip()


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + _MASK * (end - start) + text[end:]
