"""Understanding free text that no open question claimed: small talk, reminder wishes, "more", a routine
wish, an exercise lookup, then topic retrieval by words and by meaning (with its thresholds), then an
honest fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core import intents
from bot.core.analyzer import Analysis, stem
from bot.core.content import Content
from bot.core.conversation import Conversations, Turn
from bot.core.flows import Typed
from bot.core.guided_routines import GuidedRoutines
from bot.core.knowledge import Knowledge, Match
from bot.core.messages import Reply
from bot.core.profile_routes import greeting_name, help_reply
from bot.core.routines import exercise_card
from bot.core.schedule_text import parse_reminder_request
from bot.core.semantic import Nearest
from bot.core.topic_answers import TopicAnswers, follow_up

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
# Words that say "an exercise" when a bare name is ambiguous ("pigeon pose" vs "pigeons on my balcony").
EXERCISE_CONTEXT = frozenset(
    "stretch stretches stretching pose exercise exercises move drill position form "
    "technique hold reps yoga how cue cues properly correctly".split()
)
# Chest symptoms while exercising, asked in theory or denied (safety has already run, so no red flag is reported):
# when to stop and get checked is a coaching question ("is chest pain during exercise ever ok to ignore?").
CHEST_WORDS = frozenset("chest heart lungs".split())
CHEST_SYMPTOMS = frozenset({"chest-pain", "breathless", "palpitations", "arm-jaw-pain"})


def _chest_during_exercise(raw: list[str], findings) -> bool:
    others = set(raw) & intents.OTHER_BODY_PARTS
    found = findings.present.keys() | findings.set_aside
    return bool(others) and others <= CHEST_WORDS and "exertion" in found and bool(CHEST_SYMPTOMS & found)


ARGUMENT_TAKERS = ("pause", "stop", "timezone")  # "pause 3 days": the rest of the message is the command's


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


# Runs a command by name as if typed (reminder wishes in plain words take the command's own route).
RunCommand = Callable[[Turn, str, str], Awaitable[list[Reply]]]


class Understanding:
    def __init__(
        self,
        content: Content,
        knowledge: Knowledge,
        thresholds: Thresholds,
        conversations: Conversations,
        answers: TopicAnswers,
        routines: GuidedRoutines,
        run_command: RunCommand,
    ) -> None:
        self.content = content
        self.knowledge = knowledge
        self.thresholds = thresholds
        self.conversations = conversations
        self.answers = answers
        self.routines = routines
        self.run_command = run_command
        self.msg = content.messages

    async def understand(self, turn: Turn, typed: Typed) -> list[Reply]:
        text, raw, findings = typed.text, typed.words, typed.findings
        talk = intents.small_talk(raw)
        if talk == "greeting":
            return self._greeting(turn)
        if talk == "help":
            return [help_reply(self.msg)]
        if talk:
            return [Reply(self.msg[talk], topic=talk)]
        command = intents.reminder_action(raw)
        if command:
            args = text.split(None, 1)[1] if command in ARGUMENT_TAKERS and " " in text.strip() else ""
            return await self.run_command(turn, command, args)
        if intents.wants_reminder(raw) or (intents.mentions_schedule(raw) and parse_reminder_request(text).time):
            return await self.run_command(turn, "remind", text)
        if intents.wants_more(raw):
            last = turn.state.get("last_topic")
            if last in self.content.topics:
                return self.answers.more(turn, last)

        if "warning-question" in findings.present:
            # safety has run first, so nothing here is reported as happening now: a question about the warning signs
            # of a clot, a stroke, a heart attack or a limping child gets them, never "outside what I know"
            return [Reply(self.msg["warning_signs"], topic="see-a-professional")]
        if intents.about_other_body_part(raw):
            if _chest_during_exercise(raw, findings):
                # asked in theory or denied ("what if my chest goes tight mid run?"): when to stop and get checked
                return [Reply(self.msg["chest_during_exercise"], topic="see-a-professional")]
            return [Reply(self.msg["body_elsewhere"])]  # about the body: never "outside what I know"
        analysis = self.knowledge.analyse(text)
        wish = intents.routine_wish(raw, analysis)
        if wish is not None:
            return await self.routines.start(turn, wish)

        t = self.thresholds
        matches = self.knowledge.topics.search(analysis.terms)
        confidence = self._confidence(matches, analysis)
        found = self.knowledge.exercises.find(text, analysis.surface)
        if found and self._is_exercise_lookup(raw, analysis, *found, confident_topic=confidence >= t.answer):
            return [exercise_card(self.content.exercises[found[0]], self.content)]
        meaning = self._meaning(text, confidence)
        body = findings.about_the_body
        answer = self.answers.answer
        if meaning is not None and self._means_elsewhere(meaning, body):
            return [self.answers.fallback(off_topic=True)]  # nearer to anything-but-hips than to any topic
        if confidence >= t.answer:  # measured: overruling confident word matches with meaning loses accuracy
            return answer(turn, self.content.topics[matches[0].id], analysis)
        if meaning is not None and meaning.topic and self._means_a_topic(meaning, body):
            return answer(turn, self.content.topics[meaning.topic], analysis)
        if body and meaning is not None and meaning.score >= t.semantic_floor and analysis.coverage >= t.blend_coverage:
            # About the body, but neither words nor meaning are sure: the likeliest answer, with the others a tap away
            ranked = blend(matches, meaning)
            return answer(turn, self.content.topics[ranked[0]], analysis, others=ranked[1:3])
        if confidence >= t.suggest and analysis.coverage >= t.min_coverage:
            if len(matches) == 1:  # "did you mean one of these?" with one option: just answer it
                return answer(turn, self.content.topics[matches[0].id], analysis)
            return [self.answers.did_you_mean([m.id for m in matches])]
        return [self.answers.fallback(off_topic=not body and analysis.coverage < t.min_coverage)]

    def _greeting(self, turn: Turn) -> list[Reply]:
        name = greeting_name(turn)
        if turn.first_contact and not turn.profile.onboarded:
            return self.conversations.goal_question(turn, lead=self.msg["greeting"].format(name=name))
        hello = Reply(self.msg["greeting_again"].format(name=name), topic="greeting")
        if turn.state.get("flow") == "onboard":  # "hi" is no reason to drop the question still open
            return [follow_up(hello, again) for again in self.conversations.ask_again(turn)[:1]]
        return [hello]

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


def blend(matches: list[Match], meaning: Nearest) -> list[str]:
    """Topics ranked by word match and meaning together (each on its own scale, meaning counting more)."""
    scores: dict[str, float] = {}
    for topic_id, score in meaning.ranked:
        scores[topic_id] = scores.get(topic_id, 0.0) + score
    for m in matches:
        scores[m.id] = scores.get(m.id, 0.0) + 0.5 * m.score
    return sorted(scores, key=lambda t: -scores[t])
