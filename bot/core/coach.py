"""The coach: one entry point, `await coach.handle(incoming) -> list[Reply]`, for every platform.

Order of understanding for free text: safety triage, then the user's conversation state, then
intent (small talk, reminders, "more", routine, exercise), then topic retrieval, then an honest
fallback. Storage and the clock are injected.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.core import intents
from bot.core.challenges import PREFIX as CHALLENGE_PREFIX
from bot.core.challenges import STOPPED_NOTICE, Challenges
from bot.core.choices import exercise_choices, timezone_choices
from bot.core.content import Content, Topic
from bot.core.conversation import AREA_GOAL, Conversations, Turn
from bot.core.findings import Findings
from bot.core.followups import Followup, offered_in, pick, read_followup
from bot.core.knowledge import Analysis, Knowledge, Match, stem
from bot.core.messages import Button, Incoming, Reply, rows
from bot.core.ports import Clock, Repository, system_clock
from bot.core.reminders import Reminders
from bot.core.routines import exercise_card, parse_routine_button, routine_overview, routine_step
from bot.core.safety import LEVELS, NONE, URGENT
from bot.core.schedule_text import parse_reminder_request, resolve_timezone
from bot.core.semantic import Nearest
from bot.core.text import MAX_TEXT_CHARS, words
from bot.core.throttle import Throttle

log = logging.getLogger(__name__)

COMMANDS = (
    "start",
    "help",
    "routine",
    "exercise",
    "ask",
    "goal",
    "forget",
    "export",
    "about",
    "remind",
    "reminders",
    "pause",
    "resume",
    "stop",
    "done",
    "snooze",
    "skip",
    "streak",
    "progress",
    "timezone",
    "challenge",
)
# Words that only say "tell me about this exercise"; anything else means the message is about more.
LOOKUP_WORDS = frozenset(
    stem(w)
    for w in (
        "exercise exercises stretch stretches pose poses move moves drill drills do how form proper correct "
        "correctly properly technique explain show cue cues teach perform right position instructions what whats "
        "is are the a an it that this tutorial guide doing good benefit"
    ).split()
)
# Asking what an exercise is worth is asking about the exercise ("couch stretch - legit or overrated?")
WORTH_WORDS = frozenset("legit overrated underrated worth useful useless pointless safe effective bad best".split())
PAIN_TERMS = frozenset({"pain", "tight"})
HURTS = frozenset({"pain", "severe-pain"})  # findings that, mid-routine, mean "this exercise hurts"
REMINDER_COMMANDS = {
    "remind": "subscribe",
    "reminders": "list",
    "pause": "pause",
    "resume": "resume",
    "stop": "stop",
    "done": "done",
    "snooze": "snooze",
    "skip": "skip",
    "streak": "streak",
    "progress": "streak",
    "timezone": "timezone",
}
# After a red-flag answer, "not numb, just tight": the coaching answer for where it is tight.
CORRECTED_TOPIC = {"knee": "knee-pain", "back": "lower-back-pain", "hip-site": "tight-hip-flexors"}
MILD_WORDS = frozenset("tight tightness stiff stiffness achy ache aching sore tired heavy dull".split())
NOTICES = {
    "reminders_paused_unreachable": "remind_notice_unreachable",
    STOPPED_NOTICE: "challenge_notice_stopped",
}
# Words that say "an exercise" when a bare name is ambiguous ("pigeon pose" vs "pigeons on my balcony").
EXERCISE_CONTEXT = frozenset(
    "stretch stretches stretching pose exercise exercises move drill position form "
    "technique hold reps yoga how cue cues properly correctly".split()
)


@dataclass(frozen=True)
class Thresholds:
    """Retrieval confidence: at or above `answer` we answer, above `suggest` we offer 'did you mean'."""

    answer: float = 0.24
    suggest: float = 0.12
    min_coverage: float = 0.75  # share of content words we know; below it the message is about something else
    sure: float = 0.5  # word-matching confidence above which the embeddings are not consulted
    semantic_margin: float = 0.1  # how much nearer a topic must be than the "elsewhere" examples
    semantic_answer: float = 0.55  # similarity to answer a topic the words missed
    semantic_body: float = 0.4  # the same, for a message that talks about the body or exercise
    semantic_floor: float = 0.3  # below this nothing is near in meaning
    blend_coverage: float = 0.35  # a guess from meaning needs this share of known words ("knee-jerk reaction": 1 of 4)


class Coach:
    def __init__(
        self,
        content: Content,
        knowledge: Knowledge,
        repo: Repository,
        clock: Clock = system_clock,
        thresholds: Thresholds = Thresholds(),
        reminders: Reminders | None = None,
        challenges: Challenges | None = None,
        throttle: Throttle | None = None,
        on_turn: Callable[[str, float], None] | None = None,
    ) -> None:
        self.content = content
        self.knowledge = knowledge
        self.repo = repo
        self.clock = clock
        self.thresholds = thresholds
        self.msg = content.messages
        self.flows = Conversations(content, repo)
        self.symptoms = frozenset(s.id for s in content.safety.reader.specs if s.kind == "symptom")
        self.reminders = reminders or Reminders(content, repo)
        self.challenges = challenges or Challenges(content, repo)
        self.throttle = throttle  # None: no flood limit (tests, the local CLI)
        self.on_turn = on_turn  # metrics: (platform, seconds) after every answered turn

    # -- entry point -------------------------------------------------------------------------

    def choices(self, kind: str, typed: str) -> list[str]:
        """Autocomplete while typing: kind "exercise" or "timezone"."""
        if kind == "exercise":
            return exercise_choices(self.content, self.knowledge, typed)
        if kind == "timezone":
            return timezone_choices(typed)
        return []

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
                replies = await self._on_button(turn, incoming.button)
            elif incoming.command is not None:
                replies = await self._on_command(turn, incoming.command.lower().lstrip("/"), incoming.args)
            else:
                replies = await self._on_text(turn, incoming.text)
            turn.remember_context(offered_in(replies), self._said(turn, replies))
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

    # -- commands ----------------------------------------------------------------------------

    async def _export(self, turn: Turn) -> list[Reply]:
        """Everything stored about this person, as a JSON file they can keep."""
        key = turn.incoming.user_key
        data = {
            "user": key,
            "exported_at": turn.now.isoformat(),
            "tables": await self.repo.export_user(key),
        }
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
        rows = sum(len(v) for v in data["tables"].values())
        name = f"hipcoach-export-{turn.now:%Y%m%d}.json"
        return [Reply(self.msg["export_done"].format(rows=rows), file=(name, body), topic="export")]

    async def _on_command(self, turn: Turn, command: str, args: str) -> list[Reply]:
        args = args.strip()
        if command == "start":
            name = f", {turn.incoming.display_name}" if turn.incoming.display_name else ""
            greeting = self.msg["greeting"].format(name=name)
            if not turn.profile.onboarded:
                return self.flows.goal_question(turn, lead=greeting)
            return [Reply(greeting, topic="greeting")]
        if command == "help":
            return [self._help()]
        if command == "about":
            return [Reply(self.msg["about"], topic="about")]
        if command == "ask":
            return await self._on_text(turn, args) if args else [Reply(self.msg["empty"])]
        if command == "routine":
            wish = intents.routine_wish(["routine", *words(args)], self.knowledge.analyse(args))
            bare = re.search(r"(?<![\w.])(\d{1,3})(?![\w.])", args)  # /routine [goal] [level] [minutes]
            if wish is not None and wish.minutes is None and bare:
                value = int(bare.group(1))
                wish = replace(wish, minutes=5 if value <= 7 else 10 if value <= 12 else 15)
            return await self._start_routine(turn, wish)
        if command == "exercise":
            return self._exercise_lookup(args)
        if command == "goal":
            goal = args.lower().replace(" ", "-")
            if goal in AREA_GOAL.values() or goal in self.msg["goal_names"]:
                return await self.flows.set_goal(turn, goal)
            return self.flows.goal_question(turn)
        if command == "forget":
            return self.flows.confirm_forget(turn)
        if command == "export":
            return await self._export(turn)
        if command in REMINDER_COMMANDS:
            return await self._reminder_command(turn, REMINDER_COMMANDS[command], args)
        if command == "challenge":
            return await self.challenges.command(turn, args)
        shown = command[:32]
        return [Reply(self.msg["unknown_command"].format(command=shown) + "\n" + self.msg["help"])]

    async def _reminder_command(self, turn: Turn, action: str, args: str) -> list[Reply]:
        r = self.reminders
        if action == "subscribe":
            return await r.subscribe(turn, args)
        if action == "list":
            return await r.list(turn)
        if action == "pause":
            return await r.pause(turn, args)
        if action == "resume":
            return await r.resume(turn)
        if action == "stop":
            return await r.stop(turn, args)
        if action == "done":
            return await r.done(turn)
        if action == "snooze":
            latest = r.latest_fired(await self.repo.reminders_of(turn.incoming.user_key), turn.now)
            if latest is None:
                return [Reply(self.msg["remind_none"], topic="reminders")]
            minutes = 60 if "1" in args.split() or "hour" in args or "60" in args else 30
            return await r.snooze(turn, latest.id, minutes)
        if action == "skip":
            return await r.skip_today(turn, None)
        if action == "streak":
            return await r.streak(turn)
        return await r.set_timezone(turn, args)

    def _help(self) -> Reply:
        return Reply(
            self.msg["help"],
            rows(Button("Start a routine", "c:routine"), Button("Set my goal", "c:goal")),
            topic="help",
        )

    # -- buttons -----------------------------------------------------------------------------

    async def _on_button(self, turn: Turn, data: str) -> list[Reply]:
        kind, _, rest = data.partition(":")
        if kind == "t" and rest in self.content.topics:
            return self._answer_topic(turn, self.content.topics[rest])
        if kind == "t" and rest in self.content.routines:
            routine = self.content.routines[rest]
            return await self._routine_start_replies(turn, routine)
        if kind == "m" and rest in self.content.topics:
            return self._more(turn, rest)
        if kind == "x" and rest in self.content.exercises:
            return [exercise_card(self.content.exercises[rest], self.content)]
        if kind == "xf" and rest in self.content.exercises:
            return [exercise_card(self.content.exercises[rest], self.content, full=True)]
        if kind == "r":
            return await self._routine_button(turn, data)
        if kind == "rq" and rest in self.content.routines:
            turn.set_flow(None)
            return [Reply(self.msg["routine_stopped"], edit=True)]
        if kind == "s":
            parts = rest.split(":")
            if len(parts) == 3:
                return self.flows.screening_answer(turn, *parts)
        if kind == "o":
            return await self._onboarding_button(turn, rest)
        if kind == "f" and rest in ("yes", "no"):
            return await self.flows.forget(turn, rest == "yes")
        if kind in ("rd", "rz", "rk", "rb"):
            return await self._reminder_button(turn, kind, rest)
        if kind == "tz" and rest:
            zone_name, _ = resolve_timezone(rest)
            return (
                await self.reminders.apply_zone(turn, zone_name) if zone_name else [Reply(self.msg["expired_button"])]
            )
        if kind == CHALLENGE_PREFIX:
            return await self.challenges.button(turn, rest)
        if kind == "c" and rest in COMMANDS:
            return await self._on_command(turn, rest, "")
        return [Reply(self.msg["expired_button"])]

    async def _reminder_button(self, turn: Turn, kind: str, rest: str) -> list[Reply]:
        """rd: done, rz: snooze N minutes, rk: skip today, rb: answer to 'keep, move or stop?'."""
        rid, _, arg = rest.partition(":")
        if not re.fullmatch(r"\d{1,12}", rid):
            return [Reply(self.msg["expired_button"])]
        reminder_id = int(rid)
        if kind == "rd":
            return await self.reminders.done(turn)
        if kind == "rz" and arg in ("30", "60"):
            return await self.reminders.snooze(turn, reminder_id, int(arg))
        if kind == "rk":
            return await self.reminders.skip_today(turn, reminder_id)
        if kind == "rb" and arg in ("keep", "move", "stop"):
            return await self.reminders.backoff_answer(turn, reminder_id, arg)
        return [Reply(self.msg["expired_button"])]

    async def _onboarding_button(self, turn: Turn, rest: str) -> list[Reply]:
        what, _, value = rest.partition(":")
        if what == "g" and value in self.msg["goal_names"]:
            return await self.flows.set_goal(turn, value)
        if what == "l" and value in self.msg["level_names"]:
            return await self.flows.set_level(turn, value)
        if what == "start":
            return self.flows.goal_question(turn)
        if what == "skip":
            return await self.flows.skip_onboarding(turn)
        if what == "none":
            return [Reply(self.msg["not_now"])]
        return [Reply(self.msg["expired_button"])]

    async def _routine_button(self, turn: Turn, data: str) -> list[Reply]:
        parsed = parse_routine_button(data, self.content)
        if parsed is None:
            return [Reply(self.msg["expired_button"])]
        routine, index = parsed
        if index == 0:
            return await self._routine_start_replies(turn, routine)
        return await self._routine_at(turn, routine, index, edit=True)

    def _routine_pain(self, turn: Turn) -> list[Reply] | None:
        """'this one hurts my knee' mid-routine: stop that exercise, offer the easier one or Skip, keep the routine."""
        routine = self.content.routines.get(turn.state.get("routine", ""))
        step = int(turn.state.get("step", 0))
        if routine is None or step >= len(routine.steps):
            return None
        ex = self.content.exercises[routine.steps[step].exercise]
        easier = self.content.exercises.get(ex.easier or "")
        buttons = [Button(f"Easier: {easier.name}"[:40], f"x:{easier.id}")] if easier else []
        buttons += [Button("Skip", f"r:{routine.id}:{step + 1}:s"), Button("Stop", f"rq:{routine.id}")]
        text = self.msg["routine_pain" if easier else "routine_pain_no_easier"].format(name=ex.name)
        return [Reply(text, rows(*buttons, per_row=1), topic=routine.id)]

    async def _routine_at(self, turn: Turn, routine, index: int, edit: bool) -> list[Reply]:
        if index >= len(routine.steps):
            turn.set_flow(None)
            return [Reply(self.msg["routine_done"], edit=edit, topic=routine.id), *await self.reminders.done(turn)]
        turn.set_flow("routine", routine=routine.id, step=index)
        return [routine_step(routine, index, self.content, edit=edit)]

    # -- free text ---------------------------------------------------------------------------

    async def _on_text(self, turn: Turn, text: str) -> list[Reply]:
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

        if turn.state.get("flow") == "routine" and HURTS & triage.findings.present.keys():
            pain = self._routine_pain(turn)  # no red flag (that answered above): this exercise, not the routine
            if pain is not None:
                return prefix + pain
        replies = await self._continue_flow(turn, text, raw)
        if replies is None:
            replies = await self._in_context(turn, text, raw, triage.findings)
        if replies is None:
            replies = await self._understand(turn, text, raw, triage.findings)
        if turn.first_contact and not turn.profile.onboarded and not turn.state.get("flow") and replies[0].topic:
            # offered in the same message: one notification, the answer first
            replies = replies[:-1] + [follow_up(replies[-1], self.flows.onboarding_offer())]
        return prefix + replies

    async def _continue_flow(self, turn: Turn, text: str, raw: list[str]) -> list[Reply] | None:
        flow = turn.state.get("flow")
        if flow == "forget":
            confirmed = self.flows.forget_text(turn, raw)
            if confirmed is not None:
                return await self.flows.forget(turn, confirmed)
        elif flow == "screen":
            return self.flows.screening_text(turn, raw)
        elif flow == "onboard":
            return await self.flows.onboarding_text(turn, raw)
        elif flow == "remind":
            replies = await self.reminders.continue_flow(turn, text)
            if replies is None:
                turn.set_flow(None)  # not an answer to "what time?"/"which zone?": understand it normally
            return replies
        elif flow == "zone":
            zone_name, _ = resolve_timezone(text)
            if zone_name:
                return await self.reminders.apply_zone(turn, zone_name)
        elif flow == "routine" and len(raw) <= 3:
            routine = self.content.routines.get(turn.state.get("routine", ""))
            step = int(turn.state.get("step", 0))
            if routine and set(raw) & {"next", "skip", "done", "finished", "ok", "okay"}:
                return await self._routine_at(turn, routine, step + 1, edit=False)
            if routine and set(raw) & {"stop", "quit", "end", "cancel", "exit"}:
                turn.set_flow(None)
                return [Reply(self.msg["routine_stopped"])]
        return None

    # -- short replies in the context of the last answer ---------------------------------------

    def _said(self, turn: Turn, replies: list[Reply]) -> list[str] | None:
        """What this turn's answer was about: a safety rule, an exercise card or a topic."""
        if turn.said:
            return turn.said
        for reply in reversed(replies):
            if reply.topic in self.content.exercises and reply.card:
                return ["exercise", reply.topic]
            if reply.topic in self.content.topics:
                return ["topic", reply.topic]
        return None

    async def _in_context(self, turn: Turn, text: str, raw: list[str], findings: Findings) -> list[Reply] | None:
        """'2', 'that one', 'yes', 'no', 'why?', 'more', 'not numb, just tight' after what the coach just said."""
        said = turn.state.get("said") or [None, None]
        if said[0] == "safety" and corrects_to_mild(findings, raw, self.symptoms):
            return self._corrected(turn, findings)
        if said[0] == "exercise" and intents.wants_more(raw) and said[1] in self.content.exercises:
            return [exercise_card(self.content.exercises[said[1]], self.content, full=True)]
        followup = read_followup(raw, text)
        if followup is None:
            return None
        offered = turn.state.get("offered") or []
        data = pick(offered, followup)
        if data is not None:
            return await self._on_button(turn, data)
        if followup.kind == "why":
            return self._why(turn, said)
        if followup.kind == "yes":
            return [Reply(self.msg["context_yes"], rows(Button("Start a routine", "c:routine")))]
        if followup.kind == "no":
            return [Reply(self.msg["context_no"])]
        return self._stale_choice(turn, followup, offered)

    def _stale_choice(self, turn: Turn, followup: Followup, offered: list[list[str]]) -> list[Reply]:
        """A number or 'that one' with nothing (or no such thing) on offer: say so, and ask again."""
        if offered:
            buttons = rows(*(Button(label, data) for label, data in offered), per_row=1)
            key = "choice_which" if followup.kind == "that" else "choice_out_of_range"
            return [Reply(self.msg[key].format(count=len(offered)), buttons)]
        again = self.flows.ask_again(turn)
        if again:
            return [follow_up(Reply(self.msg["choice_expired_again"]), again[0]), *again[1:]]
        return [Reply(self.msg["choice_expired"])]

    def _why(self, turn: Turn, said: list) -> list[Reply] | None:
        kind, what = said
        if kind == "safety":
            rule = self.content.safety.rule(what)
            if rule is not None:
                turn.said = said
                return [Reply(self.msg["why_safety"].format(reason=rule.reason), topic="see-a-professional")]
        if kind == "topic" and what in self.content.topics:
            return self._more(turn, what)
        if kind == "exercise" and what in self.content.exercises:
            return [exercise_card(self.content.exercises[what], self.content, full=True)]
        return None

    def _corrected(self, turn: Turn, findings: Findings) -> list[Reply]:
        """'not numb, just tight' after a numbness answer: no red flag after all, so the coaching answer."""
        sites = findings.present.keys() | findings.set_aside
        topic = next((t for site, t in CORRECTED_TOPIC.items() if site in sites), "tight-hip-flexors")
        answer = self._answer_topic(turn, self.content.topics[topic])
        return [replace(answer[0], text=f"{self.msg['context_mild']}\n\n{answer[0].text}"), *answer[1:]]

    async def _understand(self, turn: Turn, text: str, raw: list[str], findings: Findings) -> list[Reply]:
        talk = intents.small_talk(raw)
        if talk == "greeting":
            name = f", {turn.incoming.display_name}" if turn.incoming.display_name else ""
            if turn.first_contact and not turn.profile.onboarded:
                return self.flows.goal_question(turn, lead=self.msg["greeting"].format(name=name))
            hello = Reply(self.msg["greeting_again"].format(name=name), topic="greeting")
            if turn.state.get("flow") == "onboard":  # "hi" is no reason to drop the question still open
                return [follow_up(hello, again) for again in self.flows.ask_again(turn)[:1]]
            return [hello]
        if talk == "help":
            return [self._help()]
        if talk:
            return [Reply(self.msg[talk], topic=talk)]
        action = intents.reminder_action(raw)
        if action:
            args = text.split(None, 1)[1] if action in ("pause", "stop", "timezone") and " " in text.strip() else ""
            return await self._reminder_command(turn, action, args)
        if intents.wants_reminder(raw) or (intents.mentions_schedule(raw) and parse_reminder_request(text).time):
            return await self.reminders.subscribe(turn, text)
        if intents.wants_more(raw):
            last = turn.state.get("last_topic")
            if last in self.content.topics:
                return self._more(turn, last)

        if intents.about_other_body_part(raw):
            return [Reply(self.msg["body_elsewhere"])]  # about the body: never "outside what I know"
        analysis = self.knowledge.analyse(text)
        wish = intents.routine_wish(raw, analysis)
        if wish is not None:
            return await self._start_routine(turn, wish)

        matches = self.knowledge.topics.search(analysis.terms)
        confidence = self._confidence(matches, analysis)
        found = self.knowledge.exercises.find(text, analysis.surface)
        if found and self._is_exercise_lookup(
            raw, analysis, *found, confident_topic=confidence >= self.thresholds.answer
        ):
            return [exercise_card(self.content.exercises[found[0]], self.content)]
        t = self.thresholds
        meaning = self._meaning(text, confidence)
        body = findings.about_the_body
        if meaning is not None and self._means_elsewhere(meaning, body):
            return [self._fallback(off_topic=True)]  # nearer to anything-but-hips than to any topic
        if confidence >= t.answer:  # measured: overruling confident word matches with meaning loses accuracy
            return self._answer_topic(turn, self.content.topics[matches[0].id], analysis)
        if meaning is not None and meaning.topic and self._means_a_topic(meaning, body):
            return self._answer_topic(turn, self.content.topics[meaning.topic], analysis)
        if body and meaning is not None and meaning.score >= t.semantic_floor and analysis.coverage >= t.blend_coverage:
            # About the body, but neither words nor meaning are sure: the likeliest answer, with the others a tap away
            ranked = blend(matches, meaning)
            others = ranked[1:3]
            return self._answer_topic(turn, self.content.topics[ranked[0]], analysis, others=others)
        if confidence >= t.suggest and analysis.coverage >= t.min_coverage:
            if len(matches) == 1:  # "did you mean one of these?" with one option: just answer it
                return self._answer_topic(turn, self.content.topics[matches[0].id], analysis)
            return [self._did_you_mean([m.id for m in matches])]
        return [self._fallback(off_topic=not body and analysis.coverage < t.min_coverage)]

    def _means_elsewhere(self, meaning: Nearest, body: bool) -> bool:
        """Nearer to the examples about other things than to any topic (or, with no body words, near neither)."""
        t = self.thresholds
        if meaning.margin < -t.semantic_margin:
            return True
        return not body and meaning.score < t.semantic_floor + 0.1

    def _meaning(self, text: str, confidence: float) -> Nearest | None:
        """The embedding index's view, when word matching alone is not sure."""
        semantic = self.knowledge.semantic
        if semantic is None or confidence >= self.thresholds.sure:
            return None
        return semantic.nearest(text)

    def _means_a_topic(self, meaning: Nearest, body: bool) -> bool:
        """Close enough in meaning to answer a topic the words did not find: nearer to hips than elsewhere."""
        t = self.thresholds
        if meaning.margin < (t.semantic_margin if body else 2 * t.semantic_margin):
            return False
        return meaning.score >= (t.semantic_body if body else t.semantic_answer)

    def _confidence(self, matches: list[Match], analysis: Analysis) -> float:
        if not matches:
            return 0.0
        # Unknown words pull confidence down: "hip hop recommendations" is not about hips.
        return matches[0].score * min(1.0, analysis.coverage / self.thresholds.min_coverage) ** 2

    def _is_exercise_lookup(
        self,
        raw: list[str],
        analysis: Analysis,
        exercise_id: str,
        name_words: int,
        in_order: bool,
        confident_topic: bool,
    ) -> bool:
        """Is this message about how to do that exercise, rather than a topic or something else?

        "whats a clamshell" is; "what do frogs eat" and "happy baby shower gift ideas" are not: they
        carry other words (or no exercise context) beyond the name. A name found only with its words
        shuffled ("can't squat deep" vs "deep squat") needs an explicit how-to word.
        """
        name_terms = self.knowledge.exercises.terms_of[exercise_id]
        others = [t for t in analysis.terms if t not in name_terms and t not in LOOKUP_WORDS and t != "hip"]
        worth = set(raw) & WORTH_WORDS
        others = [t for t in others if t not in worth]
        leftover = len(others) + max(0, analysis.unknown - len(worth))
        asks_how = bool(set(raw) & EXERCISE_CONTEXT)
        if not in_order:
            return asks_how and leftover <= 1
        context = name_words > 1 or asks_how
        return leftover == 0 or (leftover == 1 and context and not confident_topic) or (leftover == 1 and asks_how)

    # -- answers -----------------------------------------------------------------------------

    def _answer_topic(
        self, turn: Turn, topic: Topic, analysis: Analysis | None = None, others: list[str] | None = None
    ) -> list[Reply]:
        turn.remember_topic(topic.id)
        buttons = [Button(self.msg["more_button"], f"m:{topic.id}")] if topic.more else []
        if others:  # not sure this is the question: the next likeliest topics instead of exercises
            buttons += [Button(self.content.topics[o].title[:40], f"t:{o}") for o in others]
        for ex_id in () if others else topic.exercises[:2]:
            name = self.content.exercises[ex_id].name
            buttons.append(Button(self.msg["how_to_button"].format(name=name)[:40], f"x:{ex_id}"))
        answer = Reply(topic.answer, rows(*buttons, per_row=1), topic=topic.id)
        if topic.symptom and analysis is not None and PAIN_TERMS & set(analysis.terms):
            # the screening question is the next step: ask it in the same message, with its buttons only
            return [follow_up(replace(answer, buttons=()), self.flows.start_screening(turn, topic.symptom))]
        return [answer]

    def _more(self, turn: Turn, topic_id: str) -> list[Reply]:
        topic = self.content.topics[topic_id]
        turn.remember_topic(topic_id)
        return [Reply(topic.more or self.msg["more_none"], topic=topic_id)]

    def _did_you_mean(self, topic_ids: list[str]) -> Reply:
        topic_ids = list(dict.fromkeys(topic_ids))  # a choice of one is no choice: callers pass two or more
        buttons = [Button(self.content.topics[t].title[:40], f"t:{t}") for t in topic_ids[:3]]
        return Reply(self.msg["did_you_mean"], rows(*buttons, per_row=1))

    def _fallback(self, off_topic: bool) -> Reply:
        suggestions = self.msg["fallback_suggestions"]
        lead = self.msg["off_topic" if off_topic else "fallback"]
        # the suggestions are buttons (numbered choices in the terminal), not also a list in the text
        return Reply(lead, rows(*(Button(s["label"], f"t:{s['id']}") for s in suggestions), per_row=1))

    def _exercise_lookup(self, query: str) -> list[Reply]:
        if not query:
            names = sorted(self.content.exercises.values(), key=lambda e: (e.level, e.name))[:6]
            return [
                Reply(self.msg["exercise_which"], rows(*(Button(e.name[:40], f"x:{e.id}") for e in names), per_row=2))
            ]
        found = self.knowledge.exercises.find(query)
        if found:
            return [exercise_card(self.content.exercises[found[0]], self.content)]
        close = self.knowledge.exercises.suggestions(query) or list(self.content.exercises)[:3]
        text = self.msg["exercise_not_found"].format(query=query[:60])
        return [Reply(text, rows(*(Button(self.content.exercises[e].name[:40], f"x:{e}") for e in close), per_row=1))]

    async def _start_routine(self, turn: Turn, wish: intents.RoutineWish) -> list[Reply]:
        routine = self.content.routine_for(
            wish.goal or turn.profile.goal, wish.level or turn.profile.level, wish.minutes
        )
        return await self._routine_start_replies(turn, routine)

    async def _routine_start_replies(self, turn: Turn, routine) -> list[Reply]:
        text = routine_overview(routine, self.content, self.msg["level_names"])
        overview = Reply(text, topic=routine.id, card=True)
        return [overview, *await self._routine_at(turn, routine, 0, edit=False)]


def asks_about_medicine(findings: Findings) -> bool:
    """A medicine and a question of dose or mixing in one sentence ("can I take 2 advil with a beer")."""
    medicine, dosing = findings.present.get("medicine"), findings.present.get("dosing")
    return bool(medicine and dosing and medicine & dosing)


def corrects_to_mild(findings: Findings, raw: list[str], symptoms: frozenset[str]) -> bool:
    """A symptom taken back and a mild feeling put in its place ("not numb, just tight", "no, only stiff")."""
    taken_back = bool(findings.set_aside & symptoms)
    return taken_back and bool(set(raw) & MILD_WORDS) and len(raw) <= 12


def blend(matches: list[Match], meaning: Nearest) -> list[str]:
    """Topics ranked by word match and meaning together (each on its own scale, meaning counting more)."""
    scores: dict[str, float] = {}
    for topic_id, score in meaning.ranked:
        scores[topic_id] = scores.get(topic_id, 0.0) + score
    for m in matches:
        scores[m.id] = scores.get(m.id, 0.0) + 0.5 * m.score
    return sorted(scores, key=lambda t: -scores[t])


def follow_up(first: Reply, then: Reply) -> Reply:
    """One message: the first reply's text and buttons, then the follow-up's question and buttons."""
    return replace(first, text=f"{first.text}\n\n{then.text}", buttons=first.buttons + then.buttons)


def worst_safety(replies: list[Reply]) -> str:
    return max((r.safety for r in replies), key=LEVELS.index, default=NONE)


def main_topic(replies: list[Reply]) -> str | None:
    return next((r.topic for r in replies if r.topic), None)
