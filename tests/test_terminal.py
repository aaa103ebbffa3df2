"""The terminal chat: `python -m bot` with no tokens. Buttons appear as numbered choices; typing the number
presses the button; /quit or end of input leaves."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.adapters.terminal import render, run_terminal, to_incoming
from bot.core.messages import Button, Reply, rows

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60
PROMPT = "you> "
CHOICE = re.compile(r"^\s*\[(\d+)\] (.+)$", re.MULTILINE)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPCOACH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def choices_in(text: str) -> dict[str, int]:
    """label -> number for the numbered choices shown in text."""
    return {label.strip(): int(n) for n, label in CHOICE.findall(text)}


def number_for(text: str, label_part: str) -> int:
    for label, n in choices_in(text).items():
        if label_part.lower() in label.lower():
            return n
    raise AssertionError(f"no choice like {label_part!r} in:\n{text}")


class Terminal:
    """Drives `python -m bot` like a person at a keyboard: read up to the prompt, type a line."""

    def __init__(self, cwd: Path, db: Path) -> None:
        self.stderr_path = cwd / "stderr.txt"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in finish()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env=_env(HIPCOACH_DB=str(db)),
        )
        self.transcript = ""

    def read_to_prompt(self) -> str:
        fd = self.proc.stdout.fileno()
        chunk = b""
        deadline = time.monotonic() + TIMEOUT
        while not chunk.endswith(PROMPT.encode()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no prompt within {TIMEOUT}s; got:\n{chunk.decode(errors='replace')}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    raise AssertionError(
                        f"chat ended early; output:\n{chunk.decode(errors='replace')}\n"
                        f"stderr:\n{self.stderr_path.read_text(errors='replace')}"
                    )
                chunk += data
        text = chunk.decode()
        self.transcript += text
        return text

    def type(self, line: str) -> str:
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        self.transcript += line + "\n"
        return self.read_to_prompt()

    def finish(self, line: str | None = "/quit") -> tuple[int, str, str]:
        try:
            out, _ = self.proc.communicate(input=(line + "\n").encode() if line else b"", timeout=TIMEOUT)
        finally:
            self._stderr.close()
        return self.proc.returncode, out.decode(), self.stderr_path.read_text(errors="replace")


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path, tmp_path / "chat.db")
    yield term
    if term.proc.poll() is None:
        term.proc.kill()
        term.proc.wait()
    if not term._stderr.closed:
        term._stderr.close()


# -- the real chat, in a subprocess ---------------------------------------------------------------


def test_terminal_question_first_gets_answer_and_numbered_screening(terminal, tmp_path):
    """The scenario from the brief: a question first, then a number picks a shown button."""
    start = terminal.read_to_prompt()
    assert choices_in(start), "the greeting shows numbered choices"
    reply = terminal.type("my knee hurts")
    assert "knee" in reply.lower()
    dull = number_for(reply, "dull")  # the screening question's choices are numbered
    assert number_for(reply, "sharp") != dull
    nxt = terminal.type(str(dull))
    assert "injury" in nxt.lower()
    assert {"Yes", "No"} <= set(choices_in(nxt))
    code, _, err = terminal.finish("/quit")
    assert code == 0, err
    assert (tmp_path / "chat.db").exists()


def test_terminal_skip_onboarding_then_screening_by_numbers(terminal, tmp_path):
    start = terminal.read_to_prompt()
    shown = choices_in(start)
    assert sorted(shown.values()) == list(range(1, len(shown) + 1)), "choices are numbered 1..n"
    assert any("skip" in label.lower() for label in shown)

    skipped = terminal.type(str(number_for(start, "skip")))
    assert "routine" in skipped.lower()

    answer = terminal.type("my knee hurts")
    assert "knee" in answer.lower()
    assert "feel" in answer.lower()
    # Numbers continue across the replies of one turn: answer buttons first, screening choices after.
    numbers = sorted(choices_in(answer).values())
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3

    injury = terminal.type(str(number_for(answer, "dull")))
    assert "injury" in injury.lower()

    worse = terminal.type(str(number_for(injury, "no")))
    assert "worse" in worse.lower()
    clear = terminal.type(str(number_for(worse, "no")))
    assert number_for(clear, "start:") >= 1  # a routine is offered as a numbered choice

    code, out, err = terminal.finish("/quit")
    assert code == 0, err
    assert "Traceback" not in err
    assert "bye" in out.lower()
    db = tmp_path / "chat.db"
    assert db.exists()


def test_terminal_remembers_onboarding_across_sessions(tmp_path):
    first = Terminal(tmp_path, tmp_path / "chat.db")
    start = first.read_to_prompt()
    first.type(str(number_for(start, "skip")))
    assert first.finish("/quit")[0] == 0
    second = Terminal(tmp_path, tmp_path / "chat.db")
    again = second.read_to_prompt()
    assert not choices_in(again), "an onboarded user is not asked for a goal again"
    assert second.finish("/quit")[0] == 0


def test_terminal_eof_exits_cleanly(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=b"",
        capture_output=True,
        cwd=tmp_path,
        env=_env(HIPCOACH_DB=str(tmp_path / "eof.db")),
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr
    assert b"bye" in proc.stdout.lower()


def test_terminal_eof_mid_conversation_exits_cleanly(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=b"my hip hurts\n2",
        capture_output=True,
        cwd=tmp_path,
        env=_env(HIPCOACH_DB=str(tmp_path / "eof.db")),
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert proc.stdout.count(PROMPT.encode()) >= 3


def test_terminal_defaults_to_hipcoach_db_in_cwd(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], input=b"/quit\n", capture_output=True, cwd=tmp_path, env=_env(), timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "hipcoach.db").exists()


# -- render / to_incoming ------------------------------------------------------------------------


def test_render_numbers_buttons_across_replies():
    a, b, c, d = (Button(f"label {x}", f"t:{x}") for x in "abcd")
    text, choices = render(
        [
            Reply("First reply", rows(a, b)),
            Reply("No buttons here"),
            Reply("Third reply", rows(c, d, per_row=1)),
        ]
    )
    assert choices == [a, b, c, d]
    assert [(int(n), label) for n, label in CHOICE.findall(text)] == [
        (1, "label a"),
        (2, "label b"),
        (3, "label c"),
        (4, "label d"),
    ]
    # Each choice sits under the reply it belongs to.
    assert text.index("First reply") < text.index("[1]") < text.index("[2]") < text.index("No buttons here")
    assert text.index("Third reply") < text.index("[3]")


def test_render_without_buttons_has_no_choices():
    text, choices = render([Reply("Just text"), Reply("More text")])
    assert choices == []
    assert "Just text" in text and "More text" in text
    assert not CHOICE.search(text)


CHOICES = [Button("one", "t:one"), Button("two", "t:two"), Button("three", "t:three")]


@pytest.mark.parametrize("line, data", [("1", "t:one"), ("3\n", "t:three"), ("  2  ", "t:two")])
def test_to_incoming_number_in_range_presses_that_button(line, data):
    inc = to_incoming(line, CHOICES, "me", "Me")
    assert inc.button == data
    assert inc.command is None


@pytest.mark.parametrize("line", ["0", "4", "99", "-1", "1.5", "007x", "12345678901234567890"])
def test_to_incoming_number_out_of_range_is_text(line):
    inc = to_incoming(line, CHOICES, "me", "Me")
    assert inc.button is None and inc.command is None
    assert inc.text == line


def test_to_incoming_number_with_no_choices_is_text():
    inc = to_incoming("1", [], "me", "Me")
    assert inc.button is None and inc.text == "1"


@pytest.mark.parametrize("line", ["\u00b2", "\u2460", "\u00b9\u00b2"])  # superscript two, circled one, ¹²
def test_to_incoming_digit_like_characters_are_text_not_a_crash(line):
    # str.isdigit() is True for these but int() rejects them.
    inc = to_incoming(line, CHOICES, "me", "Me")
    assert inc.button is None
    assert inc.text == line


def test_to_incoming_commands_and_text():
    cmd = to_incoming("/routine 5 min", CHOICES, "me", "Me")
    assert cmd.command == "routine" and cmd.args == "5 min" and cmd.button is None
    assert to_incoming("/help", CHOICES, "me", "Me").command == "help"
    lone = to_incoming("/", CHOICES, "me", "Me")
    assert lone.command is None and lone.text == "/"
    text = to_incoming("  my hips are tight  ", CHOICES, "me", "Me")
    assert text.text == "my hips are tight" and text.command is None and text.button is None


# -- run_terminal in-process ---------------------------------------------------------------------


class ScriptedUser:
    """A read_line that decides what to type from what the chat has shown so far.

    A step is either a literal line, or ("press", label part): type the number shown for that label
    in the reply just shown.
    """

    def __init__(self, out: io.StringIO, steps: list) -> None:
        self.out = out
        self.steps = list(steps)

    def _latest_choices(self) -> str:
        # Only the reply just shown (between the last two prompts) can be pressed.
        return self.out.getvalue().split(PROMPT)[-2]

    def __call__(self) -> str:
        if not self.steps:
            return ""  # EOF
        step = self.steps.pop(0)
        if isinstance(step, tuple):
            return f"{number_for(self._latest_choices(), step[1])}\n"
        return step + "\n"


async def _run(coach, steps: list, user: str = "tester") -> str:
    out = io.StringIO()
    await run_terminal(coach, stdout=out, user_id=user, read_line=ScriptedUser(out, steps))
    return out.getvalue()


async def test_run_terminal_numbers_press_buttons(coach, repo):
    steps = [("press", "skip"), "my knee hurts", ("press", "dull"), ("press", "no"), ("press", "no"), "/quit"]
    transcript = await _run(coach, steps)
    turns = transcript.split(PROMPT)
    assert len(turns) == 7  # greeting, 5 replies, goodbye (6 prompts: 5 lines typed, then /quit)
    assert "knee" in turns[2].lower() and choices_in(turns[2])
    assert "injury" in turns[3].lower()
    assert "worse" in turns[4].lower()
    assert number_for(turns[5], "start:")
    assert transcript.rstrip().lower().endswith("look after those hips.")
    profile = await repo.get_profile("terminal:tester")
    assert profile.onboarded  # the Skip press reached the coach as a button


async def test_run_terminal_stdin_and_eof(coach):
    out = io.StringIO()
    await run_terminal(coach, stdin=io.StringIO("my hip hurts\n"), stdout=out, user_id="eof")
    text = out.getvalue()
    assert text.count(PROMPT) == 2  # one typed line, then EOF ends the chat
    assert "hip" in text.split(PROMPT)[1].lower()
    assert "bye" in text.lower()


async def test_run_terminal_out_of_range_number_is_treated_as_text(coach, content, repo):
    transcript = await _run(coach, ["99", "/quit"])
    greeting, reply, _ = transcript.split(PROMPT)
    assert len(choices_in(greeting)) < 99
    # Typed as text, "99" is not understood; it is not an (expired) button press.
    assert content.messages["expired_button"] not in reply
    assert content.messages["error"] not in reply
    assert reply.strip()
    profile = await repo.get_profile("terminal:tester")
    assert profile.goal is None and not profile.onboarded


async def test_run_terminal_only_latest_buttons_can_be_pressed(coach, repo, content):
    # The goal choices were shown at the start; after a reply without buttons ("thanks") they are gone,
    # so "2" is plain text and does not set a goal.
    transcript = await _run(coach, ["thanks", "2", "/quit"])
    greeting, thanks, after, _ = transcript.split(PROMPT)
    assert choices_in(greeting).get("Undo desk sitting") == 2
    assert not choices_in(thanks)
    assert content.messages["expired_button"] not in after
    profile = await repo.get_profile("terminal:tester")
    assert profile.goal is None


async def test_run_terminal_number_presses_the_latest_batch(coach, repo):
    transcript = await _run(coach, [("press", "desk"), ("press", "new to"), "/quit"])
    assert "undo desk sitting" in transcript.split(PROMPT)[2].lower()  # the goal is confirmed back
    profile = await repo.get_profile("terminal:tester")
    assert profile.goal == "desk" and profile.level == "beginner" and profile.onboarded


async def test_export_goes_to_the_users_data_folder_not_the_current_one(coach, tmp_path, monkeypatch):
    data_home, cwd = tmp_path / "data", tmp_path / "checkout"
    cwd.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.chdir(cwd)
    transcript = await _run(coach, ["my knee hurts", "/export", "/quit"])
    assert list(cwd.iterdir()) == []  # no health data left in the folder the chat was started from
    (saved,) = (data_home / "hipcoach").glob("hipcoach-export-*.json")
    assert str(saved) in transcript  # and the chat says where it went
    assert saved.stat().st_mode & 0o077 == 0  # only the person can read it
    assert "terminal:tester" in saved.read_text()


async def test_run_terminal_digit_like_input_does_not_crash(coach, content):
    transcript = await _run(coach, ["\u00b2", "/quit"])
    reply = transcript.split(PROMPT)[1]
    assert reply.strip()
    assert content.messages["error"] not in reply
