"""The understanding gate: evaluation sets written by people who never saw the rules or the content.

tests/eval/sets/ is what the rules were tuned on; tests/eval/heldout/ was scored only once the design
was done and is never tuned on (add a new held-back file rather than tuning on these). Every set must
keep: no emergency or crisis missed, at most 2% of mild messages escalated to urgent care, no
off-topic message answered as a hip topic, and 95% right overall.
"""

from __future__ import annotations

import pytest

from tests.eval.understanding import HELD_BACK, MILD, TUNING, load, score

GUIDELINE_CATEGORIES = {
    "cauda-equina",
    "neuro-loss",
    "fracture",
    "septic-joint",
    "dvt-pe",
    "cardiac",
    "crisis",
    "joint-replacement",
    "limping-child",
    "inflammatory-back",
    "cancer-warning",
    "knee-instability",
    "injury",
    "nerve",
    "persistent",
    "worsening",
    "pregnancy",
}


def test_the_sets_are_big_and_cover_every_guideline_category():
    cases = load(TUNING + HELD_BACK)
    assert len(cases) >= 600
    assert sum(c["level"] != "none" for c in cases) >= 200
    assert sum(c["level"] == "none" and c.get("category") in MILD for c in cases) >= 100
    assert GUIDELINE_CATEGORIES <= {c.get("category") for c in cases if c["level"] != "none"}
    assert {"offtopic", "medication"} <= {c.get("kind") for c in cases}
    held_back = load(HELD_BACK)
    seen = {c["text"].strip().lower() for c in load(TUNING)}
    assert len(held_back) >= 150
    assert sum(c["text"].strip().lower() in seen for c in held_back) == 0, "a held-back message is also a tuning one"


@pytest.mark.parametrize("name, paths", [("tuning sets", TUNING), ("held back", HELD_BACK)])
async def test_no_missed_emergency_few_false_alarms_and_95_percent_right(name, paths):
    result = await score(load(paths))
    misses = "\n".join(f"  want {m.want} got {m.got}: {m.text}" for m in result.misses)
    assert not result.emergencies_missed, f"{name}: emergencies without urgent care: {result.emergencies_missed}"
    assert len(result.mild_to_urgent) <= 0.02 * result.mild, f"{name}: mild sent to urgent: {result.mild_to_urgent}"
    assert not result.offtopic_as_hip, f"{name}: off-topic answered as a hip topic: {result.offtopic_as_hip}"
    assert result.overall >= 0.95, f"{result.summary(name)}\n{misses}"
