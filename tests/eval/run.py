"""Run the answer-quality evaluation set through the real coach and score it.

Used by tests/test_answer_quality.py (the gate) and by bench/ (timing); run directly to see misses:
    python -m tests.eval.run
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.app import build_knowledge
from bot.core.coach import Coach, main_topic, worst_safety
from bot.core.messages import Incoming
from bot.storage.repository import SqlRepository

EVAL_FILE = Path(__file__).with_name("messages.yaml")


def load_eval() -> list[dict]:
    return yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))


@dataclass
class Result:
    total: int = 0
    topic_hits: int = 0
    safety_hits: int = 0
    missed_urgent: list[str] = field(default_factory=list)
    misses: list[tuple[str, str | None, str | None, str, str]] = field(default_factory=list)

    @property
    def topic_accuracy(self) -> float:
        return self.topic_hits / self.total

    @property
    def safety_accuracy(self) -> float:
        return self.safety_hits / self.total


async def evaluate(cases: list[dict] | None = None, built=None) -> Result:
    cases = cases if cases is not None else load_eval()
    content, knowledge = built or build_knowledge()
    with tempfile.TemporaryDirectory() as tmp:
        repo = await SqlRepository.open(Path(tmp) / "eval.db")
        coach = Coach(content, knowledge, repo)
        result = Result()
        try:
            for i, case in enumerate(cases):
                user = f"eval-{i}"  # every message from a fresh user, like `ask --jsonl`
                replies = await coach.handle(Incoming("eval", user, user, text=case["text"]))
                topic, safety = main_topic(replies), worst_safety(replies)
                result.total += 1
                result.topic_hits += topic == case.get("topic")
                result.safety_hits += safety == case["safety"]
                if case["safety"] == "urgent" and safety != "urgent":
                    result.missed_urgent.append(case["text"])
                if topic != case.get("topic") or safety != case["safety"]:
                    result.misses.append((case["text"], case.get("topic"), topic, case["safety"], safety))
        finally:
            await repo.close()
    return result


def main() -> None:
    result = asyncio.run(evaluate())
    for text, want, got, want_s, got_s in result.misses:
        print(f"want {want!s:28} got {got!s:28} {want_s:>16} {got_s:>16} | {text}")
    print(
        f"\n{result.total} messages: topic accuracy {result.topic_accuracy:.1%}, "
        f"safety accuracy {result.safety_accuracy:.1%}, missed urgent {len(result.missed_urgent)}"
    )


if __name__ == "__main__":
    main()
