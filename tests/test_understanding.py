"""The understanding gate: evaluation sets written by people who never saw the rules or the content.

tests/eval/sets/ is what the rules were tuned on (every set there was first held back, scored once,
then tuned on); it must keep no emergency or crisis missed, at most 2% of mild messages escalated to
urgent care, no off-topic message answered as a hip topic, and 95% right overall. tests/eval/heldout/
is never tuned on: its floor is the score it had when first scored, so a regression shows without
anyone reading the messages.
"""

from __future__ import annotations

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
    assert len(held_back) >= 150 and sum(c["level"] == "urgent" for c in held_back) >= 50
    assert sum(c["text"].strip().lower() in seen for c in held_back) == 0, "a held-back message is also a tuning one"


async def test_tuning_sets_no_missed_emergency_few_false_alarms_and_95_percent_right():
    result = await score(load(TUNING))
    misses = "\n".join(f"  want {m.want} got {m.got}: {m.text}" for m in result.misses)
    assert not result.emergencies_missed, f"emergencies without urgent care: {result.emergencies_missed}"
    assert len(result.mild_to_urgent) <= 0.02 * result.mild, f"mild sent to urgent: {result.mild_to_urgent}"
    assert not result.offtopic_as_hip, f"off-topic answered as a hip topic: {result.offtopic_as_hip}"
    assert result.overall >= 0.95, f"{result.summary('tuning sets')}\n{misses}"


async def test_held_back_sets_do_not_fall_below_their_first_score():
    """The held-back sets (four writers who never saw the project, 598 messages): AG and AH scored 91.6% overall,
    122 of 130 emergencies, 2 of 58 mild to urgent when first scored in round 19, before the round's tuning (92.3%,
    123 of 130 after it); AK and AL, written while round 19 was tuned and first scored after it, 89.0%, 118 of 130
    emergencies, 3 of 58 mild to urgent. Together at their first scores: 90.3% overall, 240 of 260 emergencies,
    5 of 116 mild to urgent, 0 of 15 off-topic answered as hip (docs/safety.md).

    The floor catches a regression without anyone reading (or tuning on) these messages: the failure
    reports figures, not texts. Raise the floor when a new design scores higher; never lower it.
    """
    result = await score(load(HELD_BACK))
    recognised = 1 - len(result.emergencies_missed) / result.emergencies
    assert recognised >= 0.92, result.summary("held back")  # first scores: 240 of 260 (92.3%)
    assert len(result.mild_to_urgent) <= 5, result.summary("held back")  # first scores: 5 of 116
    assert not result.offtopic_as_hip, result.summary("held back")  # first scores: 0 of 15
    assert result.overall >= 0.90, result.summary("held back")  # first scores: 90.3%
