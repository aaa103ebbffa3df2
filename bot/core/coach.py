"""The coach: one entry point, `await coach.handle(incoming) -> list[Reply]`, for every platform.

`handle` only runs the turn (throttle, load, save, a notice from while they were away) and routes: a button
by its prefix, a command by its name, free text through safety triage first, then the open conversation
flow, then the short-reply context, then understanding. Each feature declares its commands, buttons and
flows in its own table (`Routes`, the flow table), so a new command is a table entry and a handler, never a
branch here. Storage and the clock are injected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.core.challenges import STOPPED_NOTICE, Challenges
from bot.core.challenges.routes import challenge_routes
from bot.core.choices import exercise_choices, timezone_choices
from bot.core.content import Content
from bot.core.conversation import Conversations, Turn
from bot.core.exercise_lookup import ExerciseLookup
from bot.core.findings import Findings
from bot.core.flows import Typed, flow_table
from bot.core.followups import offered_in
from bot.core.guided_routines import GuidedRoutines
from bot.core.knowledge import Knowledge
from bot.core.messages import Incoming, Reply
from bot.core.ports import Clock, Repository, system_clock
from bot.core.profile_routes import ProfileRoutes
from bot.core.reminders import Reminders
from bot.core.reminders.routes import ReminderRoutes
from bot.core.router import Call, Router, Routes
from bot.core.safety import LEVELS, NONE, URGENT
from bot.core.short_replies import ShortReplies
from bot.core.text import MAX_TEXT_CHARS, words
from bot.core.throttle import Throttle
from bot.core.topic_answers import TopicAnswers, follow_up
from bot.core.understanding import Thresholds, Understanding

log = logging.getLogger(__name__)

NOTICES = {
    "reminders_paused_unreachable": "remind_notice_unreachable",
    STOPPED_NOTICE: "challenge_notice_stopped",
}


class Coach:
    def __init__(
        self,
        content: Content,
        knowledge: Knowledge,
        repo: Repository,
        clock: Clock = system_clock,
        thresholds: Thresholds | None = None,
        reminders: Reminders | None = None,
        challenges: Challenges | None = None,
        throttle: Throttle | None = None,
        on_turn: Callable[[str, float], None] | None = None,
    ) -> None:
        self.content = content
        self.knowledge = knowledge
        self.repo = repo
        self.clock = clock
        self.msg = content.messages
        self.reminders = reminders or Reminders(content, repo)
        self.challenges = challenges or Challenges(content, repo)
        self.throttle = throttle  # None: no flood limit (tests, the local CLI)
        self.on_turn = on_turn  # metrics: (platform, seconds) after every answered turn

        conversations = Conversations(content, repo)
        routines = GuidedRoutines(content, knowledge, self.reminders)
        answers = TopicAnswers(content, conversations, routines.start_routine)
        features = (
            ProfileRoutes(content, repo, conversations),
            routines,
            ExerciseLookup(content, knowledge),
            answers,
            ReminderRoutes(self.reminders, repo, self.msg),
        )
        own = Routes(commands={"ask": self._ask}, buttons={"c": self._command_button})
        self.router = Router(own, *(f.routes for f in features), challenge_routes(self.challenges))
        self.flows = flow_table(*(f.flows for f in features))
        self.short_replies = ShortReplies(content, conversations, answers, self.press)
        self.understanding = Understanding(
            content, knowledge, thresholds or Thresholds(), conversations, answers, routines, self.run_command
        )
        self.conversations = conversations

    def command_names(self) -> set[str]:
        """Every command name the router answers (to check against the command catalogue)."""
        return set(self.router.commands)

    def choices(self, kind: str, typed: str) -> list[str]:
        """Autocomplete while typing: kind "exercise" or "timezone"."""
        if kind == "exercise":
            return exercise_choices(self.content, self.knowledge, typed)
        if kind == "timezone":
            return timezone_choices(typed)
        return []

    # -- the turn ----------------------------------------------------------------------------

    async def handle(self, incoming: Incoming) -> list[Reply]:
        started = time.perf_counter()
        if self.throttle is not None and not incoming.local:
            verdict = self.throttle.check(incoming.user_key)
            if verdict != "ok":  # before any database work: a flood costs next to nothing
                log.info("event=throttled platform=%s user=%s", incoming.platform, incoming.user_key)
                return [Reply(self.msg["too_fast"])] if verdict == "notice" else []
        try:
            now = self.clock()
            first, profile, state = await self.repo.begin_turn(incoming.user_key, incoming.display_name[:128], now)
            turn = Turn(incoming, now, first, profile, state or {})
            if incoming.button is not None:
                replies = await self.press(turn, incoming.button)
            elif incoming.command is not None:
                name = incoming.command.lower().lstrip("/")
                replies = await self._command(turn, name, Call(incoming.args.strip(), incoming.options))
            else:
                replies = await self.chat(turn, incoming.text)
            turn.remember_context(offered_in(replies), self.short_replies.said_in(turn, replies))
            if turn.profile.notice and turn.profile.notice in NOTICES:
                # Something happened while they were away (e.g. we could not reach them): say it once.
                replies = [Reply(self.msg[NOTICES[turn.profile.notice]]), *replies]
                await self.repo.set_notice(incoming.user_key, None)
            if turn.state_changed or turn.soft_changed:
                # "tell me more" context alone is not worth a disk write on every answer
                await self.repo.set_state(incoming.user_key, turn.state or None, now, durable=turn.state_changed)
        except Exception:
            # Never a traceback in the chat; the log has it (without the message text).
            log.exception("event=handle_failed platform=%s user=%s", incoming.platform, incoming.user_key)
            replies = [Reply(self.msg["error"])]
        elapsed = time.perf_counter() - started
        if self.on_turn is not None:
            self.on_turn(incoming.platform, elapsed)
        log.debug("event=handled user=%s ms=%.2f", incoming.user_key, elapsed * 1000)
        return replies

    # -- routing -----------------------------------------------------------------------------

    async def press(self, turn: Turn, data: str) -> list[Reply]:
        """A button, by the prefix of its data; an unknown or forged one has expired."""
        routed = self.router.button(data)
        if routed is None:
            return [Reply(self.msg["expired_button"])]
        handler, call = routed
        return await handler(turn, call)

    async def run_command(self, turn: Turn, name: str, args: str) -> list[Reply]:
        """A command as if typed with these arguments (plain-words reminder wishes take this way)."""
        return await self._command(turn, name, Call(args))

    async def _command(self, turn: Turn, name: str, call: Call) -> list[Reply]:
        handler = self.router.command(name)
        if handler is None:
            shown = name[:32]
            return [Reply(self.msg["unknown_command"].format(command=shown) + "\n" + self.msg["help"])]
        return await handler(turn, call)

    async def _command_button(self, turn: Turn, call: Call) -> list[Reply]:
        """c:<command>: a button that runs a command with no arguments ("Start a routine")."""
        handler = self.router.command(call.args)
        return await handler(turn, Call()) if handler else [Reply(self.msg["expired_button"])]

    async def _ask(self, turn: Turn, call: Call) -> list[Reply]:
        return await self.chat(turn, call.args) if call.args else [Reply(self.msg["empty"])]

    # -- free text ---------------------------------------------------------------------------

    async def chat(self, turn: Turn, text: str) -> list[Reply]:
        """Safety first, then the open question (flow), then the short-reply context, then understanding."""
        text = (text or "").strip()
        prefix: list[Reply] = []
        if len(text) > MAX_TEXT_CHARS:
            prefix = [Reply(self.msg["too_long"])]
            text = text[:MAX_TEXT_CHARS]
        raw = words(text)
        if not raw:
            return [Reply(self.msg["empty"])]

        triage = self.content.safety.assess(text)
        if triage.flagged:
            turn.set_flow(None)
            turn.said = ["safety", triage.rule.id]
            topic = triage.rule.topic or ("urgent-care" if triage.level == URGENT else "see-a-professional")
            return prefix + [Reply(self.content.safety.wording(triage), topic=topic, safety=triage.level)]
        if asks_about_medicine(triage.findings):
            return prefix + [Reply(self.msg["medication"], topic="medication")]

        typed = Typed(text, raw, triage.findings)
        step = self.flows.get(turn.state.get("flow") or "")
        replies = await step(turn, typed) if step is not None else None
        if replies is None:
            replies = await self.short_replies.answer(turn, typed)
        if replies is None:
            replies = await self.understanding.understand(turn, typed)
        if turn.first_contact and not turn.profile.onboarded and not turn.state.get("flow") and replies[0].topic:
            # offered in the same message: one notification, the answer first
            replies = replies[:-1] + [follow_up(replies[-1], self.conversations.onboarding_offer())]
        return prefix + replies


def asks_about_medicine(findings: Findings) -> bool:
    """A medicine and a question of dose or mixing in one sentence ("can I take 2 advil with a beer")."""
    medicine, dosing = findings.present.get("medicine"), findings.present.get("dosing")
    return bool(medicine and dosing and medicine & dosing)


def worst_safety(replies: list[Reply]) -> str:
    return max((r.safety for r in replies), key=LEVELS.index, default=NONE)


def main_topic(replies: list[Reply]) -> str | None:
    return next((r.topic for r in replies if r.topic), None)
