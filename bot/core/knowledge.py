"""Offline, deterministic retrieval over the knowledge base.

Each topic is indexed by the several example questions users actually ask (plus its title and
keywords), not only by its answer text. Text goes through one analyser: contractions, a synonym
table from content/, typo correction against the known vocabulary, compound splitting
("hipflexor") and a light stemmer. Scoring is TF-IDF cosine over unigrams and bigrams; a topic's
score mixes its best-matching example with its centroid, so one lucky example cannot win alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.content import Content, Exercise
from bot.core.semantic import ELSEWHERE, Embedder, SemanticIndex
from bot.core.text import CLAUSE_PUNCTUATION, Negation, tokens, words

STOPWORDS = frozenset(
    """
a about above after again all also am an and any anything are as at be because been before being
below between both but by can could did do does doing done down during each even ever every few for
from further get gets getting got had has have having he her here hers herself him himself his how
i if in into is it its itself just keep let like me might mine more most much must my myself need
needs no nor not now of off on once one only or other our ours out over own please pls plz really
same shall she should so some something still such than that the their them then there these they
this those through to too u ur under until up us very want wanna was we were what when where which
while who whom why will with would yes yet you your yours yourself ok okay hey hi lol tbh idk btw
thing things way bit lot lots kind sort maybe anyone someone im ive id dont cant gonna gotta go
see tell know think feel feels feeling felt make makes made say said give show help helps helped
""".split()
)


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to fold plurals and -ing/-ed forms together."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("ness", "", 7),
        ("ing", "", 6),
        ("edly", "", 7),
        ("ed", "", 5),
        ("ly", "", 6),
        ("es", "e", 5),
    ):
        if word.endswith(suffix) and len(word) >= min_len:
            if suffix == "ed" and word.endswith("eed"):
                return word  # speed, need: not a past tense
            word = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # running -> run, stopped -> stop
            return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def damerau(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance, giving up early past limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class Analyzer:
    """Turns text into matching terms. Built once from the content's own vocabulary."""

    def __init__(
        self,
        synonyms: dict[str, list[str]],
        vocabulary: Counter[str],
        domain: set[str],
        negation: Negation | None = None,
    ) -> None:
        self.negation = negation
        self.phrases: dict[tuple[str, ...], str] = {}
        self.single: dict[str, str] = {}
        for canonical, variants in synonyms.items():
            for variant in [canonical, *variants]:
                parts = tuple(words(str(variant)))
                if len(parts) > 1:
                    self.phrases[parts] = canonical
                elif parts:
                    self.single[parts[0]] = canonical
        self.max_phrase = max((len(p) for p in self.phrases), default=1)
        # Words the coach knows (not counted as unknown); typos are only corrected towards the
        # domain words (examples, keywords, synonyms, exercise names), so "payday" stays unknown.
        self.known = Counter(vocabulary)
        for word in self.single:
            self.known[word] += 1
        self.domain = set(domain) | set(self.single)
        self._deletes: dict[str, list[str]] = defaultdict(list)
        # Typos are fixed towards domain words and plain English function words ("shuld" -> should).
        for word in self.domain | STOPWORDS:
            if len(word) >= 3 and not word.isdigit():
                for key in self._delete_keys(word):
                    self._deletes[key].append(word)
        self._cache: dict[str, str | tuple[str, ...] | None] = {}

    @staticmethod
    def _delete_keys(word: str) -> set[str]:
        return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}

    def correct(self, word: str) -> str | tuple[str, ...] | None:
        """A known word, a split compound ('hipflexor' -> hip, flexor), or None when unknown."""
        if word in self.known or word in STOPWORDS or word.isdigit():
            return word
        if word in self._cache:
            return self._cache[word]
        result: str | tuple[str, ...] | None = None
        if len(word) >= 4:
            candidates = {c for key in self._delete_keys(word) for c in self._deletes.get(key, ())}
            scored = [(self._typo_distance(word, c), -self.known[c], c) for c in candidates]
            scored = [s for s in scored if s[0] is not None]
            if scored:
                result = min(scored)[2]
        if result is None and len(word) >= 6:
            for i in range(3, len(word) - 2):
                left, right = word[:i], word[i:]
                if left in self.domain and right in self.domain:
                    result = (left, right)
                    break
        if len(self._cache) < 50_000:
            self._cache[word] = result
        return result

    @staticmethod
    def _typo_distance(typo: str, word: str) -> int | None:
        """How far a plausible typo is from a known word, or None when it is more likely another word.

        Short words only forgive an extra or swapped letter ("kneee", "hipp"), because swapping one
        letter of a short word usually makes a different real word ("dull" is not "pull").
        """
        if typo[0] != word[0]:
            return None
        if len(typo) <= 5:
            # a doubled letter ("kneee", "hipp"), two letters swapped, or (5 letters) one letter missing ("fasia")
            doubled = len(word) == len(typo) - 1 and any(
                typo[i] == typo[i + 1] and typo[:i] + typo[i + 1 :] == word for i in range(len(typo) - 1)
            )
            swapped = len(word) == len(typo) and damerau(typo, word, 1) == 1 and sorted(typo) == sorted(word)
            missing = len(typo) == 5 and len(word) == 6 and typo in {word[:i] + word[i + 1 :] for i in range(6)}
            return 1 if doubled or swapped or missing else None
        limit = 1 if len(typo) < 8 else 2
        distance = damerau(typo, word, limit)
        return distance if distance <= limit else None

    def surface(self, text: str) -> tuple[list[str], int]:
        """Corrected surface words and how many content words were unknown. Negated symptoms are dropped."""
        toks = tokens(text)
        if self.negation is not None:
            toks = self.negation.without_negated_symptoms(toks)
        out: list[str] = []
        unknown = 0
        for word in toks:
            if word in CLAUSE_PUNCTUATION:
                continue
            fixed = self.correct(word)
            if fixed is None:
                unknown += 1
                continue
            for w in (fixed,) if isinstance(fixed, str) else fixed:
                out.append(w)
        return out, unknown

    def terms(self, surface: list[str]) -> list[str]:
        """Synonyms folded (phrases first), stopwords dropped, stemmed."""
        out: list[str] = []
        i = 0
        while i < len(surface):
            for size in range(min(self.max_phrase, len(surface) - i), 1, -1):
                canonical = self.phrases.get(tuple(surface[i : i + size]))
                if canonical:
                    out.append(canonical)
                    i += size
                    break
            else:
                word = surface[i]
                i += 1
                if word in STOPWORDS:
                    continue
                out.append(stem(self.single.get(word, word)))
        return out

    def analyse(self, text: str) -> Analysis:
        surface, unknown = self.surface(text)
        return Analysis(surface, self.terms(surface), unknown)


@dataclass(frozen=True)
class Analysis:
    surface: list[str]
    terms: list[str]
    unknown: int  # content words the coach has never seen (not typos of known ones)

    @property
    def coverage(self) -> float:
        """Share of the message's content words the coach knows: low means probably off-topic."""
        known = len(self.terms)
        return known / (known + self.unknown) if known + self.unknown else 0.0


def features(terms: list[str]) -> Counter[str]:
    """Unigrams plus neighbouring pairs; pairs ignore order so "sore hip" matches "hip pain"."""
    feats: Counter[str] = Counter(terms)
    feats.update("_".join(sorted((a, b))) for a, b in zip(terms, terms[1:], strict=False))
    return feats


@dataclass(frozen=True)
class Match:
    id: str
    score: float


class TopicIndex:
    """TF-IDF over example questions, grouped by topic."""

    BEST_WEIGHT = 0.8  # best single example vs. the topic's centroid
    KEYWORD_WEIGHT = 0.4  # a query word that is one of a topic's own keywords, shared by n topics: /n

    def __init__(
        self, analyzer: Analyzer, docs: dict[str, list[str]], keywords: dict[str, tuple[str, ...]] | None = None
    ) -> None:
        self.analyzer = analyzer
        self.keyword_topics: dict[str, set[str]] = defaultdict(set)
        for topic_id, kws in (keywords or {}).items():
            for kw in kws:
                for term in analyzer.analyse(kw).terms:
                    self.keyword_topics[term].add(topic_id)
        example_feats: list[tuple[str, Counter[str]]] = []
        for topic_id, texts in docs.items():
            for text in texts:
                feats = features(analyzer.analyse(text).terms)
                if feats:
                    example_feats.append((topic_id, feats))
        n = len(example_feats)
        df: Counter[str] = Counter()
        for _, feats in example_feats:
            df.update(feats.keys())
        self.idf = {f: math.log((n + 1) / (c + 0.5)) for f, c in df.items()}
        self.default_idf = math.log((n + 1) / 0.5)
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.example_topic: list[str] = []
        centroids: dict[str, Counter[str]] = defaultdict(Counter)
        for i, (topic_id, feats) in enumerate(example_feats):
            vec = self._weigh(feats)
            self.example_topic.append(topic_id)
            for f, w in vec.items():
                self.postings[f].append((i, w))
                centroids[topic_id][f] += w
        self.centroid_postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for topic_id, vec in centroids.items():
            norm = math.sqrt(sum(w * w for w in vec.values()))
            for f, w in vec.items():
                self.centroid_postings[f].append((topic_id, w / norm))

    def _weigh(self, feats: Counter[str]) -> dict[str, float]:
        vec = {f: (1 + math.log(c)) * self.idf.get(f, self.default_idf) for f, c in feats.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return {f: w / norm for f, w in vec.items()}

    def search(self, terms: list[str], limit: int = 3) -> list[Match]:
        query = self._weigh(features(terms))
        per_example: dict[int, float] = {}
        centroid: dict[str, float] = {}
        example_score, centroid_score = per_example.get, centroid.get  # hot loop: local lookups
        postings, centroid_postings = self.postings, self.centroid_postings
        for f, w in query.items():
            for i, ew in postings.get(f, ()):
                per_example[i] = example_score(i, 0.0) + w * ew
            for topic_id, cw in centroid_postings.get(f, ()):
                centroid[topic_id] = centroid_score(topic_id, 0.0) + w * cw
        best: dict[str, float] = {}
        example_topic = self.example_topic
        for i, score in per_example.items():
            topic_id = example_topic[i]
            if score > best.get(topic_id, -1.0):
                best[topic_id] = score
        bonus: dict[str, float] = {}
        for term in set(terms):
            owners = self.keyword_topics.get(term, ())
            rarity = self.idf.get(term, self.default_idf) / self.default_idf  # common words count less
            for topic_id in owners:
                bonus[topic_id] = bonus.get(topic_id, 0.0) + self.KEYWORD_WEIGHT * rarity / len(owners)
        scored = [
            Match(t, self.BEST_WEIGHT * best[t] + (1 - self.BEST_WEIGHT) * centroid.get(t, 0.0) + bonus.get(t, 0.0))
            for t in best
        ]
        scored.sort(key=lambda m: (-m.score, m.id))
        return scored[:limit]


class ExerciseFinder:
    """Finds exercise names and aliases in text, forgiving typos via the shared analyser."""

    def __init__(self, analyzer: Analyzer, exercises: dict[str, Exercise]) -> None:
        self.analyzer = analyzer
        self.exercises = exercises
        self.names: dict[tuple[str, ...], str] = {}
        for ex in exercises.values():
            for name in (ex.name, *ex.aliases, ex.id.replace("-", " ")):
                key = self.key(name)
                if key:
                    self.names.setdefault(key, ex.id)
        self.max_len = max(len(k) for k in self.names)
        # word -> multi-word names containing it, so unordered matching only looks at likely names
        self.by_word: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for key in self.names:
            if len(key) > 1:
                for word in set(key):
                    self.by_word[word].append(key)
        # The same words as retrieval sees them (synonyms folded), to tell "about this exercise" apart
        self.terms_of = {
            ex.id: {t for name in (ex.name, *ex.aliases) for t in analyzer.analyse(name).terms}
            for ex in exercises.values()
        }

    def key(self, text: str) -> tuple[str, ...]:
        return self.key_of(self.analyzer.surface(text)[0])

    @staticmethod
    def key_of(surface: list[str]) -> tuple[str, ...]:
        return tuple(stem(w) for w in surface if w not in {"the", "a", "an"})

    def find(self, text: str, surface: list[str] | None = None) -> tuple[str, int, bool] | None:
        """(exercise id, how many words its name covered, found in order), or None.

        Names in order win ("pigeon pose"), longest first; then multi-word names whose words all
        appear in any order ("foam roll my tfl" finds "tfl roll"). Pass the analysed surface words
        to skip analysing the text again.
        """
        toks = self.key_of(surface) if surface is not None else self.key(text)
        for size in range(min(self.max_len, len(toks)), 0, -1):
            for i in range(len(toks) - size + 1):
                ex_id = self.names.get(toks[i : i + size])
                if ex_id:
                    return ex_id, size, True
        present = set(toks)
        candidates = {key for word in present for key in self.by_word.get(word, ())}
        unordered = [(len(key), self.names[key]) for key in candidates if set(key) <= present]
        if unordered:
            size, ex_id = max(unordered)
            return ex_id, size, False
        return None

    def suggestions(self, text: str, limit: int = 3) -> list[str]:
        """Closest exercise names for an unknown query, by shared words."""
        query = set(self.key(text))
        scored = []
        for key, ex_id in self.names.items():
            overlap = len(query & set(key))
            if overlap:
                scored.append((-overlap, len(key), ex_id))
        seen: list[str] = []
        for _, _, ex_id in sorted(scored):
            if ex_id not in seen:
                seen.append(ex_id)
        return seen[:limit]


def domain_vocabulary(content: Content) -> set[str]:
    """Words that carry hip meaning: how users ask (examples), keywords, and exercise names."""
    vocab: set[str] = set()
    for topic in content.topics.values():
        for text in (*topic.examples, topic.title, *topic.keywords):
            vocab.update(words(text))
    for ex in content.exercises.values():
        for text in (ex.name, *ex.aliases, *ex.muscles):
            vocab.update(words(text))
    return vocab - STOPWORDS


def content_vocabulary(content: Content) -> Counter[str]:
    vocab: Counter[str] = Counter()
    for topic in content.topics.values():
        for text in (*topic.examples, topic.title, topic.answer, topic.more, *topic.keywords):
            vocab.update(words(text))
    for ex in content.exercises.values():
        for text in (ex.name, *ex.aliases, *ex.muscles, *ex.cues, ex.feel):
            vocab.update(words(text))
    return vocab


def load_elsewhere(content_dir: Path) -> list[str]:
    """Examples of messages about anything but hips (content/semantic.yaml)."""
    path = content_dir / "semantic.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(x) for x in data.get("elsewhere") or []]


def load_synonyms(content_dir: Path) -> dict[str, list[str]]:
    path = content_dir / "synonyms.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): [str(v) for v in vs] for k, vs in data.items()}


class Knowledge:
    """Everything retrieval needs, built once at start-up."""

    def __init__(
        self,
        content: Content,
        synonyms: dict[str, list[str]],
        embedder: Embedder | None = None,
        elsewhere: list[str] | None = None,
    ) -> None:
        self.content = content
        self.analyzer = Analyzer(
            synonyms, content_vocabulary(content), domain_vocabulary(content), content.safety.negation
        )
        docs = {
            t.id: [*t.examples, t.title, " ".join(t.keywords)] + ([t.faq] if t.faq else [])
            for t in content.topics.values()
        }
        self.topics = TopicIndex(self.analyzer, docs, {t.id: t.keywords for t in content.topics.values()})
        self.exercises = ExerciseFinder(self.analyzer, content.exercises)
        self.semantic: SemanticIndex | None = None
        if embedder is not None:
            meaning = {t.id: [*t.examples, t.title] for t in content.topics.values()}
            meaning[ELSEWHERE] = list(elsewhere or [])
            self.semantic = SemanticIndex(embedder, meaning)

    def analyse(self, text: str) -> Analysis:
        return self.analyzer.analyse(text)


_NUMBER_WORDS = {"five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30}
_MINUTE_WORDS = {"min", "mins", "minute", "minutes", "m"}
_NUMBER = re.compile(r"(\d{1,3})(min|mins|minute|minutes|m)?")


def minutes_in(text_words: list[str]) -> int | None:
    """A routine length mentioned in the text ("5 min", "ten minutes", "15mins"), snapped to 5/10/15."""
    for i, word in enumerate(text_words):
        following = text_words[i + 1] if i + 1 < len(text_words) else ""
        value = _NUMBER_WORDS.get(word)
        if value is None:
            m = _NUMBER.fullmatch(word)
            # A bare number only counts as minutes when "min" follows ("sit 9 hours" is not a length).
            if not m or (m.group(2) is None and following not in _MINUTE_WORDS):
                continue
            value = int(m.group(1))
        elif following and following not in _MINUTE_WORDS:
            continue
        if value > 0:
            return 5 if value <= 7 else 10 if value <= 12 else 15
    return None
