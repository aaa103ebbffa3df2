"""The knowledge base: complete, valid, in our own words, and validated with clear errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.core.content import CATEGORIES, GOALS, LEVELS_OF_SKILL, ROUTINE_MINUTES, ContentError, load_content

ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "hip-release-article.txt"
CONTENT = Path(__file__).resolve().parents[1] / "content"
TOPIC_IDS = """releasing-hips flexibility mobility fascia hip-anatomy hip-muscles benefits range-of-motion
tight-hip-flexors pain-relief lower-back-pain knee-pain hip-pain athletic-performance power agility-speed
squat-deadlift posture injury-risk stress-release circulation-nerves strategies dynamic-stretching
static-stretching foam-rolling strengthening yoga-pilates how-often see-a-professional""".split()


def test_every_article_section_is_a_topic(content):
    assert set(TOPIC_IDS) <= set(content.topics)
    faqs = [t for t in content.topics.values() if t.faq]
    assert len(faqs) == 5
    for topic in content.topics.values():
        assert topic.section and len(topic.examples) >= 6
        assert len(topic.answer) <= 480


def test_exercise_library_spans_every_strategy(content):
    assert len(content.exercises) >= 25
    assert {ex.category for ex in content.exercises.values()} == set(CATEGORIES)
    assert {ex.level for ex in content.exercises.values()} == set(LEVELS_OF_SKILL)
    for ex in content.exercises.values():
        assert len(ex.cues) >= 3 and ex.dose and ex.feel and ex.avoid and ex.skip_if


def test_a_routine_for_every_goal_level_and_length(content):
    for goal in GOALS:
        for level in LEVELS_OF_SKILL:
            for minutes in ROUTINE_MINUTES:
                routine = content.routine_for(goal, level, minutes)
                assert (routine.goal, routine.level, routine.minutes) == (goal, level, minutes)
                total = sum(step.seconds for step in routine.steps)
                assert abs(total - minutes * 60) <= minutes * 12


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not ARTICLE.exists(), reason="article not beside the repo")
def test_content_is_in_our_own_words(content):
    article = _shingles(ARTICLE.read_text(encoding="utf-8"))
    ours = [t.answer + " " + t.more for t in content.topics.values()]
    ours += [" ".join([*e.cues, e.feel, e.avoid, e.skip_if]) for e in content.exercises.values()]
    pasted = [s for text in ours for s in _shingles(text) & article]
    assert not pasted, f"eight words in a row from the article: {pasted[:3]}"


@pytest.fixture
def content_copy(tmp_path):
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_errors_name_the_file_and_the_entry(content_copy):
    def break_topic(data):
        del next(t for t in data if t["id"] == "fascia")["answer"]

    def break_routine(data):
        data[0]["steps"][0]["exercise"] = "moonwalk"

    def break_exercise(data):
        data[0]["level"] = "expert"

    _edit_yaml(content_copy / "topics" / "basics.yaml", break_topic)
    _edit_yaml(content_copy / "routines.yaml", break_routine)
    _edit_yaml(content_copy / "exercises.yaml", break_exercise)
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    problems = "\n".join(err.value.problems)
    assert "topics/basics.yaml: fascia: missing field 'answer'" in problems
    assert "routines.yaml: general-beginner-5: step 1 names unknown exercise" in problems
    assert "exercises.yaml: 90-90-switches: 'level' is 'expert'" in problems


def test_broken_yaml_is_reported_not_raised(content_copy):
    (content_copy / "safety.yaml").write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert any(p.startswith("safety.yaml: -: not valid YAML") for p in err.value.problems)


def test_unquoted_no_in_negation_words_is_caught(content_copy):
    path = content_copy / "safety.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('"no", ', "no, ", 1), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert any("negation.words" in p for p in err.value.problems)


def test_a_spelling_read_two_ways_is_caught(content_copy):
    """content/spellings.yaml maps dialect and other-language words to English; one word, one reading."""

    def twice(data):
        data["other_languages"]["knee"].append("cannae")  # already Scots for "can not"

    _edit_yaml(content_copy / "spellings.yaml", twice)
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert any(
        p.startswith("spellings.yaml: other_languages.knee: 'cannae' is already read as") for p in err.value.problems
    )


def test_a_message_named_twice_across_message_files_is_caught(content_copy):
    (content_copy / "messages" / "extra.yaml").write_text('help: "a second help text"\n', encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content_copy)
    assert any(p.startswith("messages/extra.yaml: help: message name defined twice") for p in err.value.problems)
