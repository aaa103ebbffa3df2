"""Reading a message into clinical findings: body site, symptom, loss of function, mechanism, context,
time course, laterality, and crisis language.

Each finding has a lexicon of everyday phrasings (content/findings.yaml, in the pattern language of
bot.core.patterns). A phrase found in the message counts as a finding unless its scope says otherwise:
- negated: a negation word shortly before it, in the same clause ("not numb, just tight");
- hypothetical: after a marker like "what if" or "is it normal to" in the same sentence
  ("what if my leg goes numb?");
- in the past and over: a symptom or mechanism in a clause that says so ("tore it years ago").
Findings keep the sentence they were found in, so a rule can ask for two findings side by side.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.patterns import Hit, Pattern, PatternSet
from bot.core.text import CLAUSE_PUNCTUATION, Negation, tokens

KINDS = ("site", "symptom", "function", "mechanism", "context", "course", "laterality", "crisis", "intent")
SENTENCE_END = frozenset(".!?")
# Kinds whose findings a "years ago, all healed" clause sets aside; context (a hip replacement,
# pregnancy, cancer history) stays true whenever it happened.
PAST_KINDS = frozenset({"symptom", "mechanism", "function", "course"})
# What makes a message about the body or exercise, for the "never 'outside what I know'" rule.
BODY_KINDS = frozenset({"symptom", "function", "mechanism"})
# Sites count only through body-part, which leaves out "hip" itself (hip hop, hipster, a hip check).
BODY_WORDS = frozenset({"body-part", "movement-talk"})
# A negation covers what is claimed, not where: "can't feel the inside of my thighs" keeps the site.
UNNEGATED_KINDS = frozenset({"site", "laterality"})
# What a "jk" or "not like that lol" right after it takes back: what the person said they feel or did.
RETRACTABLE_KINDS = frozenset({"symptom", "function", "mechanism", "course"})
# A message that asks in general ("just curious", "asking for a friend") reports nothing but these.
GENERAL_KEEPS = frozenset({"site", "laterality", "intent", "crisis"})


@dataclass(frozen=True)
class FindingSpec:
    id: str
    kind: str
    patterns: tuple[Pattern, ...]
    negation_window: int | None = None  # None: the default window; 0: never negated
    always: bool = False  # counted even in a hypothetical or past clause (crisis language)


@dataclass(frozen=True)
class Findings:
    """What a message says is true now, and where (sentence numbers)."""

    present: dict[str, frozenset[int]] = field(default_factory=dict)
    set_aside: frozenset[str] = frozenset()  # found, but negated, hypothetical or past
    kinds: frozenset[str] = frozenset()  # kinds of everything found, set aside or not

    @property
    def about_the_body(self) -> bool:
        """Does the message talk about the body, pain, an injury or exercise at all (even to deny it)?"""
        found = self.present.keys() | self.set_aside
        if "figurative" in found and not self.kinds & BODY_KINDS:
            return False  # "stretch my budget": a body word in another sense
        return bool(self.kinds & BODY_KINDS) or bool(BODY_WORDS & found)

    def __contains__(self, finding: str) -> bool:
        return finding in self.present


class FindingReader:
    def __init__(
        self,
        specs: list[FindingSpec],
        negation: Negation,
        hypothetical: list[Pattern],
        past: list[Pattern],
        general: list[Pattern] | None = None,
        spellings: Mapping[str, str] | None = None,
        retracted: list[Pattern] | None = None,
    ) -> None:
        self.specs = specs
        # Dialect, chat and other-language words read as the English the lexicon knows (content/spellings.yaml).
        self.spellings = dict(spellings or {})
        self.negation = negation
        owners: list[int] = []
        patterns: list[Pattern] = []
        for i, spec in enumerate(specs):
            for pattern in spec.patterns:
                owners.append(i)
                patterns.append(pattern)
        self._owner = owners
        self._phrases = PatternSet(patterns)
        self._hypothetical = PatternSet(hypothetical)
        self._past = PatternSet(past)
        self._general = PatternSet(general or [])
        self._retracted = PatternSet(retracted or [])
        self._scores = any(spec.id == _RISING_SCORE for spec in specs)
        # Every word the lexicon and the scope markers use: "limpin" is read as "limping" only when
        # the lexicon knows "limping" and not "limpin".
        self._vocabulary = frozenset(
            w
            for pattern in [*patterns, *hypothetical, *past, *(general or []), *(retracted or [])]
            for w in _WORD.findall(pattern.source)
        )

    def read(self, text: str) -> Findings:
        toks = self.normalise(text)
        if not toks:
            return Findings()
        sentence_of, clause_of = _positions(toks)
        hypothetical_from = _first_marker_per_sentence(
            (hit for hit in self._hypothetical.hits(toks) if not _asks_whether(toks, hit)), sentence_of
        )
        # "had groin pain since last summer": a time in the past that something has lasted since is not over
        past_clauses = {
            clause_of[hit.start] for hit in self._past.hits(toks) if "since" not in toks[hit.start : hit.end]
        }
        in_general = next(self._general.hits(toks), None) is not None  # "just curious", "asking for a friend"
        retractions = [hit.start for hit in self._retracted.hits(toks)]
        present: dict[str, set[int]] = {}
        aside: set[str] = set()
        kinds: set[str] = set()
        for hit in self._phrases.hits(toks):
            spec = self.specs[self._owner[hit.key]]
            kinds.add(spec.kind)
            pattern = self._phrases.patterns[hit.key]
            if in_general and not spec.always and spec.kind not in GENERAL_KEEPS:
                aside.add(spec.id)
            elif spec.kind in RETRACTABLE_KINDS and _retracted(hit, retractions, toks, sentence_of):
                # "my leg went numb... jk it didn't", "chest is tight!! not like that lol, my pecs"
                aside.add(spec.id)
            elif (pattern.says_not or not self._negated_inside(toks, hit, spec)) and self._in_scope(
                spec, hit, toks, sentence_of, clause_of, hypothetical_from, past_clauses
            ):
                present.setdefault(spec.id, set()).add(sentence_of[hit.start])
            else:
                aside.add(spec.id)
        rising = _rising_score(toks)
        if rising is not None and self._scores and hypothetical_from.get(sentence_of[rising], rising + 1) > rising:
            present.setdefault(_RISING_SCORE, set()).add(sentence_of[rising])
            kinds.add("course")
        return Findings(
            {k: frozenset(v) for k, v in present.items()}, frozenset(aside - present.keys()), frozenset(kinds)
        )

    def normalise(self, text: str) -> list[str]:
        """The message's words as the lexicon writes them: "+" and line breaks part clauses, "'d" is
        "would", dialect and chat spellings become the plain word ("cannae" -> "can not", "n" -> "and"),
        a dropped g is put back ("achin" -> "aching"), and intensifiers go ("can't even lift")."""
        if not text.isascii():
            text = _fold_accents(text)  # "mañana", "Hüfte", "heiß": the letters the lexicon can read
        text = _ELLIPSIS.sub(" , ", text)  # "what if... my leg goes numb": a pause, not the end of a sentence
        text = _CLAUSE_MARKS.sub(", ", _LINE_BREAKS.sub(". ", text))
        text = _DECIMAL.sub(r"\1 point \2", text)  # "38.9" is one number, not the end of a sentence
        text = _APOSTROPHE_ENDINGS.sub(lambda m: m.group(1) + " " + _APOSTROPHE_WORDS[m.group(2).lower()], text)
        out: list[str] = []
        text_tokens = tokens(text)
        for at, tok in enumerate(text_tokens):
            if tok in _INTENSIFIERS:
                continue
            if tok == "ma" and out and out[-1] in _DETERMINERS:
                out.append(tok)  # "my ma fell": the mother, not "my"
            elif tok == "wee" and out and out[-1] == "a" and not (len(out) > 1 and out[-2] in _NEEDING):
                out.append("small")  # "a wee bit sore" is not about peeing; "need a wee" is
            elif tok == "me" and (not out or out[-1] not in _GIVING) and _next_in(text_tokens, at, _BODY_NOUNS):
                out.append("my")  # "me back's knacked", "between me legs": dialect "me" for "my" before a body word
            elif tok in self.spellings:
                out.extend(self.spellings[tok].split())
            elif len(tok) >= 4 and tok.endswith("in") and tok not in self._vocabulary and tok + "g" in self._vocabulary:
                out.append(tok + "g")
            else:
                out.append(tok)
        for i in range(len(out) - 1):
            if out[i] in _NOT_FIRST and out[i + 1] == "can":
                out[i], out[i + 1] = "can", "not"  # "no puedo", "não consigo": the negation before the verb
        for i, tok in enumerate(out):
            whole = i > 0 and (out[i - 1] == "full" or (i > 1 and out[i - 2] == "all" and out[i - 1] in _DETERMINERS))
            if tok == "weight" and whole:
                # "won't put full weight on it", "not putting all her weight through it": partial weight bearing,
                # a limp (Ottawa rules: bearing weight means four steps, limping or not), not "can't bear weight"
                out[i] = "fullweight"
        for i in range(3, len(out) - 1):
            if out[i] == "heart" and out[i + 1] in ("attack", "attacks") and out[i - 1] == "a" and out[i - 3] in _GAVE:
                out[i] = "fright"  # "the sprints nearly gave me a heart attack": a fright, not the heart
        for i, tok in enumerate(out):
            if tok == "back" and i > 0 and out[i - 1] in _REGAINED:
                out[i] = "again"  # "get my strength back": strength regained, not the back
        for i, tok in enumerate(out):
            if tok in ("bridge", "bridges") and (
                (i > 0 and out[i - 1] in _EXERCISE_BEFORE) or (i + 1 < len(out) and out[i + 1] in _EXERCISE_AFTER)
            ):
                out[i] = "bridging"  # the exercise ("a glute bridge", "bridge hold"), not a bridge over a river
        return out

    def _negated_inside(self, toks: list[str], hit: Hit, spec: FindingSpec) -> bool:
        """A negation between the words of a match: "chest is not tight" is not chest tightness."""
        if spec.kind in UNNEGATED_KINDS or spec.negation_window == 0 or hit.end - hit.start < 3:
            return False
        return any(self.negation.is_negation(toks, i) for i in range(hit.start + 1, hit.end - 1))

    def _in_scope(
        self,
        spec: FindingSpec,
        hit: Hit,
        toks: list[str],
        sentence_of: list[int],
        clause_of: list[int],
        hypothetical_from: dict[int, int],
        past_clauses: set[int],
    ) -> bool:
        if (
            spec.kind not in UNNEGATED_KINDS
            and spec.negation_window != 0
            and self.negation.negated_before(toks, hit.start, spec.negation_window)
        ):
            return False
        if spec.always or spec.kind == "intent":  # what someone asks for is not a symptom they report
            return True
        marker = hypothetical_from.get(sentence_of[hit.start])
        if marker is not None and marker <= hit.start and spec.kind != "context":
            return False
        return not (spec.kind in PAST_KINDS and clause_of[hit.start] in past_clauses)


_WORD = re.compile(r"[a-z']+")
# Marks people use between clauses ("hip so sore + temp 39", "knee swollen - and hot"); line breaks end a sentence.
_CLAUSE_MARKS = re.compile(r"\s*[+&]\s*|\s+[-\u2013\u2014]+\s+")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_APOSTROPHE_WORDS = {"d": "would", "ll": "will", "re": "are", "ve": "have", "m": "am"}
_APOSTROPHE_ENDINGS = re.compile(r"\b([a-z]+)['\u2019](d|ll|re|ve|m)\b", re.IGNORECASE)
_DECIMAL = re.compile(r"(\d)\.(\d)")
_ELLIPSIS = re.compile(r"\.{2,}|\u2026")
_LETTER_FOLDS = str.maketrans({"\u00df": "ss", "\u00f8": "o", "\u0142": "l", "\u00e6": "ae", "\u0153": "oe"})


def _fold_accents(text: str) -> str:
    """Letters with accents as plain letters ("ü" -> "u", "ñ" -> "n", "ß" -> "ss"); other scripts unchanged."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTER_FOLDS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_EXERCISE_BEFORE = frozenset(
    "glute hip leg single one banded band marching shoulder wheel weighted elevated stance frog isometric".split()
)
_EXERCISE_AFTER = frozenset("pose poses hold holds march marches exercise exercises variation reps sets walk".split())
_DETERMINERS = frozenset("my his her your our their the".split())
# What one gets back ("get my strength back", "want my splits back"): "back" after these is "again", not the back.
_REGAINED = frozenset(
    "strength flexibility mobility fitness confidence splits form motion movement power speed energy stamina "
    "balance bounce spring mojo groove range squat stride pace endurance independence freedom life".split()
)
# Dialect "me" for "my" ("me back's knacked", "between me legs"): only before a body word, and not after a
# verb that takes "me" as its object ("give me back", "got me legs up" stays as written).
_BODY_NOUNS = frozenset(
    "back backside bum bottom arse leg legs hip hips knee knees foot feet thigh thighs groin privates bits "
    "calf calves ankle ankles bladder bowels waterworks chest arm arms".split()
)
_GIVING = frozenset(
    "give gave giving gives bring brought pass hand handed send sent get got gets getting let lets".split()
)
# "need a wee", "go for a wee": peeing, not "a wee bit"
_NEEDING = frozenset("need needed needing needs have had having go went going do did doing for desperate".split())


def _next_in(toks: list[str], at: int, words: frozenset[str]) -> bool:
    return at + 1 < len(toks) and toks[at + 1] in words


_GAVE = frozenset("gave give gives giving given nearly almost".split())  # "(nearly) gave me a heart attack"
_NOT_FIRST = frozenset({"no", "not"})  # "no" + "can" from "no puedo"; "not" + "can" from "não consigo"
# "can't tell if", "not sure if": an "if" that means "whether" asks about now, it is not a hypothetical.
_WHETHER_VERBS = frozenset("tell know sure unsure idea check see notice remember".split())


_RISING_SCORE = "worsening"  # the finding a pain score that went up counts as
_SCORES = frozenset(str(n) for n in range(11))


def _rising_score(toks: list[str]) -> int | None:
    """Where a pain score out of 10 went up ("was 2/10, now 6/10", "a 3/10 a month ago and a 7 now"), else None.

    The first score must be written out of 10 ("3/10", "3 out of 10"); a later one may be bare after
    "now", "a" or "like" ("it is a 7 now"). Scores count from the first; the last one must be higher.
    """
    first: int | None = None
    for i, tok in enumerate(toks):
        if tok not in _SCORES:
            continue
        after = toks[i + 1 : i + 4]
        out_of_ten = after[:1] == ["10"] or after[:3] == ["out", "of", "10"]
        if first is None:
            if out_of_ten and tok != "10":
                first = int(tok)
            continue
        bare = i > 0 and toks[i - 1] in ("now", "a", "like", "at", "to", "its")
        if (out_of_ten or bare) and int(tok) > first + 1:
            return i
    return None


def _retracted(hit: Hit, retractions: list[int], toks: list[str], sentence_of: list[int]) -> bool:
    """Is a symptom taken back by a later "jk" or "not like that lol": in its sentence, or at the start of the next?"""
    here = sentence_of[hit.start]
    for at in retractions:
        if at <= hit.start or _reasserted(toks[at:]):
            continue
        before = at - 1
        while before > hit.start and toks[before] in SENTENCE_END:
            before -= 1  # "tight!! not like that lol": the marker opens the next sentence
        if sentence_of[before] == here:
            return True
    return False


def _reasserted(after: list[str]) -> bool:
    """ "jk ... no seriously it is crushing": the joke is taken back in turn."""
    if _SERIOUS & set(after):
        return True
    return any(pair in _SERIOUS_PAIRS for pair in zip(after, after[1:], strict=False))


_SERIOUS = frozenset({"seriously", "srsly", "honestly", "genuinely", "fr", "actually"})
_SERIOUS_PAIRS = frozenset({("for", "real"), ("not", "joking"), ("no", "joke"), ("not", "kidding"), ("in", "truth")})


def _asks_whether(toks: list[str], hit: Hit) -> bool:
    return toks[hit.start] == "if" and hit.start > 0 and toks[hit.start - 1] in _WHETHER_VERBS


# Words that only add emphasis: "can't even lift my leg" reads as "can't lift my leg".
_INTENSIFIERS = frozenset("even really actually literally totally completely fully simply basically".split())
# Words that start a new clause for scope: "years ago ... and recently it hurts" is two clauses.
_CLAUSE_WORDS = frozenset(
    "but now though although however yet recently lately nowadays currently today still started began begun".split()
)


def _positions(toks: list[str]) -> tuple[list[int], list[int]]:
    """Sentence and clause number of every token."""
    sentence_of, clause_of = [], []
    sentence = clause = 0
    for tok in toks:
        sentence_of.append(sentence)
        clause_of.append(clause)
        if tok in SENTENCE_END:
            sentence += 1
        if tok in CLAUSE_PUNCTUATION or tok in _CLAUSE_WORDS:
            clause += 1
    return sentence_of, clause_of


def _first_marker_per_sentence(hits, sentence_of: list[int]) -> dict[int, int]:
    first: dict[int, int] = {}
    for hit in hits:
        sentence = sentence_of[hit.start]
        if hit.start < first.get(sentence, len(sentence_of)):
            first[sentence] = hit.start
    return first
