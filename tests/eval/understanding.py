"""Score the coach on evaluation sets written apart from the rules (tests/eval/sets, tests/eval/heldout).

Each message goes to a fresh user through the real `Coach.handle`, exactly like `ask --jsonl`. A
message is right when the coach's safety level is the expected one and, for messages with no red
flag, it did the right kind of thing:
- kind hip: answered with hip content (a topic, exercise or routine), never "outside what I know";
- kind offtopic: no hip topic (the honest fallback);
- kind medication: pointed to a pharmacist or doctor (topic "medication").

Run directly to see every miss:  python -m tests.eval.understanding [--heldout]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.app import build_knowledge
from bot.core.coach import Coach, main_topic, worst_safety
from bot.core.messages import Incoming
from bot.storage.repository import SqlRepository

HERE = Path(__file__).parent
TUNING = sorted((HERE / "sets").glob("*.yaml"))
HELD_BACK = sorted((HERE / "heldout").glob("*.yaml"))
NOT_HIP = {None, "urgent-care", "crisis-support", "medication"}
MILD = {"mild", "negated", "hypothetical"}


def load(paths: list[Path]) -> list[dict]:
    cases = []
    for path in paths:
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append({**case, "file": path.name})
    return cases


@dataclass
class Miss:
    text: str
    want: str
    got: str
    category: str


@dataclass
class Score:
    total: int = 0
    right: int = 0
    by_level: Counter = field(default_factory=Counter)  # expected level -> count
    right_by_level: Counter = field(default_factory=Counter)
    emergencies: int = 0
    emergencies_missed: list[str] = field(default_factory=list)
    mild: int = 0
    mild_to_urgent: list[str] = field(default_factory=list)
    offtopic: int = 0
    offtopic_as_hip: list[str] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)

    @property
    def overall(self) -> float:
        return self.right / self.total if self.total else 0.0

    def share(self, level: str) -> float:
        return self.right_by_level[level] / self.by_level[level] if self.by_level[level] else 1.0

    def summary(self, name: str) -> str:
        return (
            f"{name}: {self.total} messages, overall {self.overall:.1%}; "
            f"urgent {self.right_by_level['urgent']}/{self.by_level['urgent']}, "
            f"see a professional {self.right_by_level['see_professional']}/{self.by_level['see_professional']}, "
            f"no red flag {self.right_by_level['none']}/{self.by_level['none']}; "
            f"emergencies missed {len(self.emergencies_missed)}, "
            f"mild escalated to urgent {len(self.mild_to_urgent)}/{self.mild}, "
            f"off-topic answered as hip {len(self.offtopic_as_hip)}/{self.offtopic}"
        )


def judge(case: dict, topic: str | None, safety: str) -> str | None:
    """What went wrong, or None when the coach did the right thing."""
    want = case["level"]
    if safety != want:
        return f"safety {safety}"
    if want != "none":
        return None
    kind = case.get("kind", "hip")
    if kind == "hip" and topic in NOT_HIP:
        return f"topic {topic} (no hip answer)"
    if kind == "offtopic" and topic not in NOT_HIP:
        return f"topic {topic} (off-topic answered as hip)"
    if kind == "medication" and topic != "medication":
        return f"topic {topic} (not sent to a pharmacist)"
    return None


async def score(cases: list[dict], built=None) -> Score:
    """Score through the real coach; `built` is a (content, knowledge) pair to score instead of the default."""
    content, knowledge = built or build_knowledge()
    result = Score()
    with tempfile.TemporaryDirectory() as tmp:
        repo = await SqlRepository.open(Path(tmp) / "eval.db")
        coach = Coach(content, knowledge, repo)
        try:
            for i, case in enumerate(cases):
                user = f"eval-{i}"
                replies = await coach.handle(Incoming("eval", user, user, text=case["text"]))
                topic, safety = main_topic(replies), worst_safety(replies)
                level, category = case["level"], case.get("category", "")
                result.total += 1
                result.by_level[level] += 1
                if level == "urgent":
                    result.emergencies += 1
                    if safety != "urgent":
                        result.emergencies_missed.append(case["text"])
                if level == "none" and category in MILD:
                    result.mild += 1
                    if safety == "urgent":
                        result.mild_to_urgent.append(case["text"])
                if case.get("kind") == "offtopic":
                    result.offtopic += 1
                    if topic not in NOT_HIP:
                        result.offtopic_as_hip.append(case["text"])
                wrong = judge(case, topic, safety)
                if wrong is None:
                    result.right += 1
                    result.right_by_level[level] += 1
                else:
                    result.misses.append(Miss(case["text"], level + "/" + case.get("kind", ""), wrong, category))
        finally:
            await repo.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", action="store_true", help="score the held-back sets (not for tuning)")
    args = parser.parse_args()
    paths = HELD_BACK if args.heldout else TUNING
    result = asyncio.run(score(load(paths)))
    for miss in result.misses:
        print(f"want {miss.want:26} got {miss.got:44} {miss.category:14} | {miss.text}")
    print(result.summary("held back" if args.heldout else "tuning sets"))


if __name__ == "__main__":
    main()
