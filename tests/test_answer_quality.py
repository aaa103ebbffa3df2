"""The answer-quality gate: the evaluation set in tests/eval/messages.yaml through the real coach."""

from __future__ import annotations

import pytest

from bot.core.safety import LEVELS
from tests.eval.run import evaluate, load_eval

MIN_TOPIC_ACCURACY = 0.95


@pytest.fixture(scope="module")
def cases():
    return load_eval()


async def test_eval_set_is_big_and_varied(cases, content):
    assert len(cases) >= 200
    assert {"negation", "offtopic", "crisis", "emergency", "typo", "red-flag"} <= _tags(cases)
    assert sum(c["safety"] == "urgent" for c in cases) >= 15
    assert sum(c.get("topic") is None for c in cases) >= 20
    for case in cases:
        assert case["safety"] in LEVELS
        topic = case.get("topic")
        known = topic is None or topic in content.topics or topic in content.exercises or topic in content.routines
        assert known or topic in {"greeting", "thanks", "help", "about", "reminders", "urgent-care", "crisis-support"}


def _tags(cases):
    return {t.strip() for c in cases for t in str(c.get("note", "")).split(",")}


async def test_eval_is_not_a_copy_of_the_content_examples(cases, content):
    examples = {e.lower().strip(" ?!.") for t in content.topics.values() for e in t.examples}
    copied = [c["text"] for c in cases if c["text"].lower().strip(" ?!.") in examples]
    assert len(copied) <= len(cases) // 20, copied  # a few short, natural phrasings coincide


async def test_topic_accuracy_and_no_missed_emergency(cases):
    result = await evaluate(cases)
    misses = "\n".join(f"  want {w} got {g} ({ws}/{gs}): {t}" for t, w, g, ws, gs in result.misses)
    assert not result.missed_urgent, f"missed urgent cases: {result.missed_urgent}"
    assert result.topic_accuracy >= MIN_TOPIC_ACCURACY, f"topic accuracy {result.topic_accuracy:.1%}\n{misses}"
    assert result.safety_accuracy >= 0.97, misses
