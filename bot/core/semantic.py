"""Meaning-based matching: sentence embeddings beside the word-based TF-IDF retrieval.

TF-IDF only knows the words the content uses; "is the couch stretch legit or overrated" shares almost
none with any example. Static word embeddings place paraphrases and unseen words near the topic they
belong to. The model is WordLlama (l2_supercat, 256 dimensions), whose token embeddings and tokenizer
ship inside its pip wheel: nothing is downloaded at run time, and we read the two files directly
(average of token vectors, then unit length) instead of importing the package, which costs 0.5 s of
imports we don't need.

Beside the topics, the index holds examples of messages about other things entirely (content/
semantic.yaml, "elsewhere"): a message nearer to those than to any topic is not about hips, whatever
single word it shares with them ("hip hop", "hippo").
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.core.text import words

log = logging.getLogger(__name__)

ELSEWHERE = "elsewhere"  # the owner of examples about anything but hips


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]):  # -> numpy array (n, dim), rows of unit length
        ...


class WordLlamaEmbedder:
    """Mean-pooled WordLlama token embeddings, read from the files its wheel ships."""

    TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
    WEIGHTS = "weights/l2_supercat_256.safetensors"

    def __init__(self, package_dir: Path, dims: int = 256) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self._np = np
        self.tokenizer = Tokenizer.from_file(str(package_dir / self.TOKENIZER))
        weights = load_file(str(package_dir / self.WEIGHTS))["embedding.weight"]
        self.vectors = np.ascontiguousarray(weights[:, :dims], dtype=np.float32)  # Matryoshka: a prefix still works
        self.name = f"wordllama-{dims}"

    def embed(self, texts: Sequence[str]):
        np = self._np
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        # The same normal form as every other reader (lower case, no invisible characters, contractions
        # spelt out); the tokenizer takes valid UTF-8 only, so a lone surrogate becomes "?".
        clean = [" ".join(words(t)).encode("utf-8", "replace").decode("utf-8") for t in texts]
        for i, encoding in enumerate(self.tokenizer.encode_batch(clean, add_special_tokens=False)):
            if encoding.ids:
                out[i] = self.vectors[encoding.ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def load_embedder(dims: int = 256) -> Embedder | None:
    """The shipped WordLlama model, or None (with a log line) when it is not installed."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        log.warning("event=semantic_unavailable reason=wordllama_not_installed")
        return None
    try:
        return WordLlamaEmbedder(Path(list(spec.submodule_search_locations)[0]), dims)
    except (ImportError, OSError, KeyError, ValueError) as exc:
        log.warning("event=semantic_unavailable reason=%s", type(exc).__name__)
        return None


@dataclass(frozen=True)
class Nearest:
    topic: str | None  # the nearest topic, None when nothing is near
    score: float  # cosine similarity of the nearest topic example
    elsewhere: float  # cosine similarity of the nearest example about something else
    ranked: tuple[tuple[str, float], ...] = ()  # topics by their best example, best first

    @property
    def margin(self) -> float:
        """How much nearer the hips are than everything else (negative: it is about something else)."""
        return self.score - self.elsewhere


class SemanticIndex:
    def __init__(self, embedder: Embedder, docs: dict[str, list[str]]) -> None:
        import numpy as np

        self._np = np
        self.embedder = embedder
        owners: list[str] = []
        texts: list[str] = []
        for owner, examples in docs.items():
            for text in examples:
                if text.strip():
                    owners.append(owner)
                    texts.append(text)
        self.owners = owners
        self.matrix = embedder.embed(texts)  # one row per example

    def nearest(self, text: str, limit: int = 3) -> Nearest:
        scores = self.matrix @ self.embedder.embed([text])[0]
        best: dict[str, float] = {}
        for owner, score in zip(self.owners, scores.tolist(), strict=True):
            if score > best.get(owner, -1.0):
                best[owner] = score
        elsewhere = best.pop(ELSEWHERE, 0.0)
        ranked = tuple(sorted(best.items(), key=lambda item: -item[1])[:limit])
        if not ranked:
            return Nearest(None, 0.0, elsewhere)
        return Nearest(ranked[0][0], ranked[0][1], elsewhere, ranked)
