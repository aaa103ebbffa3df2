"""Offline, deterministic retrieval over the knowledge base.

Each topic is indexed by the several example questions users actually ask (plus its title and
keywords), not only by its answer text. Text goes through one analyser (`bot.core.analyzer`).
Scoring is TF-IDF cosine over unigrams and bigrams; a topic's score mixes its best-matching example
with its centroid, so one lucky example cannot win alone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.core.analyzer import STOPWORDS, Analysis, Analyzer, stem
from bot.core.content import Content, Exercise, safe_load
from bot.core.semantic import ELSEWHERE, Embedder, SemanticIndex
from bot.core.text import words


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
    data = safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(x) for x in data.get("elsewhere") or []]


def load_synonyms(content_dir: Path) -> dict[str, list[str]]:
    path = content_dir / "synonyms.yaml"
    if not path.exists():
        return {}
    data = safe_load(path.read_text(encoding="utf-8")) or {}
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
