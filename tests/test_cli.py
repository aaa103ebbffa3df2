"""The command line contract other tools rely on: `python -m bot ask "TEXT"` and `python -m bot ask --jsonl`.

Every test runs the real CLI in a subprocess, in an empty temporary directory, with HIPCOACH_DB unset
unless the test is about it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60
KEYS = {"text", "topic", "safety"}
SAFETY_LEVELS = {"none", "see_professional", "urgent"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPCOACH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_cli(args: list[str], cwd: Path, stdin: str | bytes = "", **env: str) -> subprocess.CompletedProcess:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args], input=data, capture_output=True, cwd=cwd, env=_env(**env), timeout=TIMEOUT
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    )


def jsonl(items: list[object]) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)


def parse_lines(stdout: str) -> list[dict]:
    lines = stdout.splitlines()
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"stdout line is not JSON: {line!r}\nstdout was:\n{stdout}")
    return out


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "cwd"
    d.mkdir()
    return d


# -- ask "TEXT" -----------------------------------------------------------------------------------


def test_ask_one_message_prints_only_the_answer(workdir):
    proc = run_cli(["ask", "my knee hurts"], workdir, HIPCOACH_LOG_LEVEL="DEBUG")
    assert proc.returncode == 0, proc.stderr
    answer = proc.stdout.strip()
    assert answer, "no answer printed"
    assert "knee" in answer.lower()
    # Debug logging is on, yet none of it reaches stdout: it carries the reply text only.
    assert "level=" not in proc.stdout and "event=" not in proc.stdout
    assert "Traceback" not in proc.stderr
    # A one-off question uses a throwaway database, not ./hipcoach.db.
    assert list(workdir.iterdir()) == []


def test_ask_without_text_is_a_usage_error(workdir):
    proc = run_cli(["ask"], workdir)
    assert proc.returncode == 2
    assert "usage" in proc.stderr.lower()
    assert proc.stdout == ""


# -- ask --jsonl ----------------------------------------------------------------------------------

MIXED = [
    {"text": "how do I loosen tight hip flexors"},
    {"text": "any good films tonight?"},
    {"text": "sharp shooting pain down my leg"},
    {"text": "I lost control of my bladder"},
    {"text": "not numb, just tight hips from sitting"},
]


def test_jsonl_one_line_per_input_in_order_with_safety_levels(workdir):
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(MIXED), HIPCOACH_LOG_LEVEL="DEBUG")
    assert proc.returncode == 0, proc.stderr
    out = parse_lines(proc.stdout)  # every stdout line is JSON, even with debug logging on
    assert len(out) == len(MIXED)
    for item in out:
        assert set(item) == KEYS, item
        assert isinstance(item["text"], str) and item["text"].strip()
        assert item["safety"] in SAFETY_LEVELS
        assert item["topic"] is None or isinstance(item["topic"], str)

    topic_q, films, red_flag, emergency, negated = out
    assert topic_q["topic"] == "tight-hip-flexors" and topic_q["safety"] == "none"
    assert "flexor" in topic_q["text"].lower()

    assert films["topic"] is None and films["safety"] == "none"

    assert red_flag["safety"] == "see_professional"
    assert "physio" in red_flag["text"].lower() or "doctor" in red_flag["text"].lower()

    assert emergency["safety"] == "urgent"
    assert "emergency" in emergency["text"].lower()

    # "not numb" is negated: this is a tight-hips question, not a referral.
    assert negated["safety"] == "none"
    assert negated["topic"] not in (None, "see-a-professional", "urgent-care")


def test_jsonl_reply_text_joins_all_replies(workdir):
    # "my knee hurts" gets an answer and a screening question: both are in "text", a blank line apart.
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "my knee hurts"}]))
    assert proc.returncode == 0, proc.stderr
    [item] = parse_lines(proc.stdout)
    assert item["topic"] == "knee-pain"
    parts = item["text"].split("\n\n")
    assert len(parts) >= 2
    assert "knee" in parts[0].lower()
    assert any("feel" in p.lower() for p in parts[1:])  # the screening question


def test_jsonl_user_continues_a_conversation(workdir):
    lines = [
        {"text": "my knee hurts", "user": "pat"},
        {"text": "dull ache", "user": "pat"},
        {"text": "no", "user": "pat"},
        {"text": "no", "user": "pat"},
        {"text": "dull ache"},  # a fresh user saying the same thing
    ]
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(lines))
    assert proc.returncode == 0, proc.stderr
    first, continued, no_injury, finished, fresh = parse_lines(proc.stdout)
    assert first["topic"] == "knee-pain"
    # Same user: "dull ache" answers the screening question, so the coach asks about an injury next.
    assert "injury" in continued["text"].lower()
    assert continued["text"] != fresh["text"]
    # ... "no" (no injury) asks about getting worse, one thing at a time; "no" again offers a knee routine.
    assert "worse" in no_injury["text"].lower() and "injury" not in no_injury["text"].lower()
    assert finished["topic"] == "knee-pain" and finished["safety"] == "none"
    assert "routine" in finished["text"].lower()
    # A fresh user saying "dull ache" out of the blue is not understood.
    assert "injury" not in fresh["text"].lower()
    assert fresh["topic"] is None


def test_jsonl_different_users_do_not_share_a_conversation(workdir):
    lines = [{"text": "my knee hurts", "user": "a"}, {"text": "dull ache", "user": "b"}]
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(lines))
    assert proc.returncode == 0, proc.stderr
    _, other = parse_lines(proc.stdout)
    assert "injury" not in other["text"].lower()


def test_jsonl_lines_without_user_are_independent(workdir):
    lines = [{"text": "my knee hurts"}, {"text": "dull ache"}]
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(lines))
    assert proc.returncode == 0, proc.stderr
    _, second = parse_lines(proc.stdout)
    assert "injury" not in second["text"].lower()


def test_jsonl_malformed_lines_are_reported_and_processing_continues(workdir):
    lines = [
        {"text": "my knee hurts"},
        "this is not json",
        "[1, 2, 3]",
        '{"text": "unterminated',
        '"just a string"',
        {"text": "I lost control of my bladder"},
    ]
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(lines))
    assert proc.returncode == 0, proc.stderr
    out = parse_lines(proc.stdout)
    assert len(out) == len(lines)
    ok_first, *bad, ok_last = out
    assert "error" not in ok_first and ok_first["topic"] == "knee-pain"
    for item in bad:
        assert "error" in item, item
        assert set(item) == KEYS | {"error"}
        assert item["text"].strip()
    assert "error" not in ok_last and ok_last["safety"] == "urgent"


def test_jsonl_deeply_nested_line_is_an_error_line_not_a_crash(workdir):
    # A pathological (but syntactically plausible) line must not take the rest of the batch down.
    lines = ["[" * 100_000, {"text": "my knee hurts"}]
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(lines))
    out = parse_lines(proc.stdout)
    assert len(out) == 2, proc.stderr[-2000:]
    assert "error" in out[0]
    assert out[1]["topic"] == "knee-pain"
    assert proc.returncode == 0


def test_jsonl_invalid_utf8_line_is_an_error_line_not_a_crash(workdir):
    # PYTHONIOENCODING=utf-8 gives stdin the strict decoding a normal en_US.UTF-8 terminal or pipe gets.
    good = jsonl([{"text": "my knee hurts"}]).encode()
    data = good + b'{"text": "hi \xff\xfe there"}\n' + good
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=data, PYTHONIOENCODING="utf-8")
    out = parse_lines(proc.stdout)
    assert len(out) == 3, proc.stderr[-2000:]
    assert out[0]["topic"] == "knee-pain" and out[2]["topic"] == "knee-pain"
    assert "error" in out[1] or out[1]["text"].strip()
    assert proc.returncode == 0


def test_jsonl_non_ascii_text_round_trips(workdir):
    lines = [{"text": "my knee hurts \u2014 \u00e7a fait mal \U0001f9b5"}, {"text": "\u0645\u0631\u062d\u0628\u0627"}]
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl(lines))
    assert proc.returncode == 0, proc.stderr
    knee, arabic = parse_lines(proc.stdout)
    assert knee["topic"] == "knee-pain"
    assert arabic["text"].strip() and arabic["safety"] == "none"


def test_jsonl_uses_hipcoach_db_when_set(workdir, tmp_path):
    db = tmp_path / "given.db"
    proc = run_cli(
        ["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "my knee hurts", "user": "kim"}]), HIPCOACH_DB=str(db)
    )
    assert proc.returncode == 0, proc.stderr
    assert len(parse_lines(proc.stdout)) == 1
    assert db.exists()
    with sqlite3.connect(db) as conn:
        keys = [row[0] for row in conn.execute("SELECT user_key FROM users")]
    assert len(keys) == 1 and keys[0].endswith("kim")
    assert not (workdir / "hipcoach.db").exists()


def test_jsonl_hipcoach_db_keeps_conversations_across_runs(workdir, tmp_path):
    db = str(tmp_path / "kept.db")
    first = run_cli(
        ["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "my knee hurts", "user": "kim"}]), HIPCOACH_DB=db
    )
    second = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "dull ache", "user": "kim"}]), HIPCOACH_DB=db)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    [item] = parse_lines(second.stdout)
    assert "injury" in item["text"].lower()


async def _user_keys(url: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [row["user_key"] for row in await conn.fetch("SELECT user_key FROM users")]
    finally:
        await conn.close()


def test_jsonl_on_postgresql_keeps_conversations_across_runs(workdir, postgres):
    url = postgres.database()
    first = run_cli(
        ["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "my knee hurts", "user": "kim"}]), HIPCOACH_DB=url
    )
    second = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "dull ache", "user": "kim"}]), HIPCOACH_DB=url)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    [item] = parse_lines(second.stdout)
    assert "injury" in item["text"].lower()  # the second run continued the first run's conversation, from PostgreSQL
    assert asyncio.run(_user_keys(url)) == ["cli:u-kim"]
    assert not (workdir / "hipcoach.db").exists()


def test_jsonl_without_hipcoach_db_leaves_no_database_behind(workdir):
    proc = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "my knee hurts", "user": "kim"}]))
    assert proc.returncode == 0, proc.stderr
    assert len(parse_lines(proc.stdout)) == 1
    assert not (workdir / "hipcoach.db").exists()
    assert list(workdir.iterdir()) == []
    # Without HIPCOACH_DB every run starts from scratch: kim's screening is not remembered.
    again = run_cli(["ask", "--jsonl"], workdir, stdin=jsonl([{"text": "dull ache", "user": "kim"}]))
    [item] = parse_lines(again.stdout)
    assert "injury" not in item["text"].lower()


def test_jsonl_empty_input_writes_nothing(workdir):
    proc = run_cli(["ask", "--jsonl"], workdir, stdin="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
