"""Splitting long answers to fit a platform's message limit, on the most natural boundary available."""

from __future__ import annotations

from collections.abc import Callable


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Chunks whose measured size (e.g. length after escaping) fits `limit`: paragraphs, lines, words.

    A chunk of only whitespace is dropped (unless that is all there is): platforms refuse a blank message."""
    out = _split(text, limit, measure)
    # a long run of nothing but line breaks splits into nothing at all: still one (cut) message
    return [chunk for chunk in out if chunk.strip()] or out[:1] or [(text or " ")[:limit]]


def _split(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    text = text or " "
    if measure(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        parts = text.split(separator)
        if len(parts) == 1:
            continue
        chunks: list[str] = []
        current = ""
        for part in parts:
            candidate = f"{current}{separator}{part}" if current else part
            if measure(candidate) <= limit:
                current = candidate
            else:
                if current:
                    chunks.append(current)
                current = part
        if current:
            chunks.append(current)
        if all(measure(c) <= limit for c in chunks):
            return chunks
        return [piece for chunk in chunks for piece in _split(chunk, limit, measure)]
    # one enormous word: cut it (escaping can at most grow a character 5x, as in '&amp;')
    step = max(1, limit // 5)
    return [text[i : i + step] for i in range(0, len(text), step)]
