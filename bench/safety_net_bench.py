"""Would a semantic safety net help? Embeddings of the rules' examples against what the rules let through.

For every evaluation message the finding rules rate "none", it measures the similarity to the nearest
red-flag example (content/safety.yaml, `examples`) and prints, per threshold, how many real red flags
a net at that threshold would catch and how many messages with no red flag it would flag too.

    python bench/safety_net_bench.py [--heldout]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_knowledge  # noqa: E402
from bot.core.semantic import SemanticIndex  # noqa: E402
from tests.eval.understanding import HELD_BACK, TUNING, load  # noqa: E402

THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


def main(heldout: bool) -> None:
    content, knowledge = build_knowledge()
    semantic = knowledge.semantic
    if semantic is None:
        print("no embedding model installed")
        return
    examples = {rule.id: list(rule.examples) for rule in content.safety.rules if rule.examples}
    net = SemanticIndex(semantic.embedder, examples)
    cases = load(HELD_BACK if heldout else TUNING)
    missed, clear = [], []  # similarity of red flags the rules missed / of messages with no red flag
    for case in cases:
        if content.safety.assess(case["text"]).flagged:
            continue
        score = net.nearest(case["text"]).score
        (missed if case["level"] != "none" else clear).append(score)
    print(
        f"{'held-back' if heldout else 'tuning'} sets: {len(cases)} messages, rules let through "
        f"{len(missed)} red flags and {len(clear)} messages without one; {sum(map(len, examples.values()))} examples"
    )
    print(f"{'threshold':>9}  {'red flags caught':>16}  {'no-flag messages flagged':>24}")
    for t in THRESHOLDS:
        caught = sum(s >= t for s in missed)
        false = sum(s >= t for s in clear)
        share = false / max(1, len(clear))
        print(f"{t:>9.2f}  {caught:>9} of {len(missed):<4}  {false:>12} of {len(clear):<4} ({share:.1%})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", action="store_true")
    main(parser.parse_args().heldout)
