"""Does a message suggest a risk to someone's safety, of which kind, or only low mood?

`Detector.train(examples, requests)` fits logistic regressions on shared word and character
n-grams (TF-IDF): risk or not, which kind (on risk examples), low mood or not (on the others), and
the bot's ordinary requests against the risk examples (keeps "goodbye" out of crisis). A second
risk classifier (an RBF support-vector machine) reads all-MiniLM-L6-v2's vector of the text
(bot.safety.embedding; pooled from its last three layers, FIRST_STAGE_POOLED_LAYERS), which knows
that "how many would it take to not wake up" is near "I want to die" without sharing a word with
it; the risk score is the weighted mean of the two probabilities (EMBEDDING_WEIGHT). `assess`
scores the whole message and each of its clauses, so that one risk clause inside a long message
about work is not diluted by the rest.

That first stage is cheap (about 7 ms) and rules out most messages. What it does not rule out
(a first score of at least `second_stage_entry`, or a lexicon match) gets a second opinion: an
SVM on all-mpnet-base-v2's vector of the whole message (a larger encoder, 30-50 ms; pooled from
its last six layers, SECOND_STAGE_POOLED_LAYERS). Its probability decides, except that it cannot
lower the score of a clause the first stage is sure of (CONFIDENT_RISK): a risk clause inside a
long message keeps it. Its vector also has a say in the kind of risk (SECOND_KIND_WEIGHT).

A match of the lexicon (bot.safety_lexicon) lowers the bar to LEXICON_FLOOR, so the classifier
can still overrule an idiom it is sure of ("i overdosed on coffee today"). Negation and idioms
are learnt from the data, not written as rules.
"""

from __future__ import annotations

import logging
import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import SVC

from bot.safety.embedding import SentenceEncoder
from bot.safety.labels import LOW_MOOD, NO_RISK, RISK_KINDS, most_urgent
from bot.safety.models import minilm, mpnet
from bot.safety_lexicon import normalise, suggests_risk

log = logging.getLogger(__name__)

# Below this risk score a message is not at risk: the threshold at which the whole decision rule
# (Evidence.at_risk, with the second stage) gives recall 0.99 in 5-fold cross-validation on the
# training set, with the bot's requests in the folds too; never on held-out data
# (`tests/bot/safety_gate.py --tune`). The training set's negatives are the hard ones (idioms,
# sadness, issue names, everyday fears), so its cross-validated false alarms are high: 0.070 at
# this threshold (0.037 of its low mood) and 3 of the 1,195 requests (4,754 lines, 2026-12-06).
# They were 0.109 and 4 (threshold 0.150) with both encoders pooling their last layer alone and
# the second stage weighted with the n-grams; 0.190 and 9 with the first stage alone (0.130).
# EMBEDDING_WEIGHT was chosen there too (on the 3,623 lines of that morning): at cross-validated
# recall 0.99, false alarms were 0.295 with the embeddings alone, 0.245, 0.234 and 0.215 with them
# weighted 0.5, 0.7 and 0.85; a logistic regression on the embeddings instead of the SVM gave
# 0.338; the SVM's C (1 to 30) and the n-grams' C (5 or 20) changed them by at most 0.017.
RISK_THRESHOLD = 0.141
# A lexicon match is a risk unless the classifier's probability is below this.
LEXICON_FLOOR = 0.05
# A kind at least this probable takes part in the urgency rule (the more urgent kind wins).
KIND_FLOOR = 0.3
# The kind's probabilities: the n-grams' of the riskiest clause, weighted with this much of an
# SVM's on the second stage's vector of the whole message when it was read. In 5-fold
# cross-validation on the training set's risk lines (2026-12-06, whole messages, the urgency
# rule), the right kind for 0.917 of them with the n-grams alone, 0.959 with the SVM alone, 0.967
# with the SVM weighted 0.7 (0.965 at 0.5, 0.949 at 0.3).
SECOND_KIND_WEIGHT = 0.7
LOW_MOOD_THRESHOLD = 0.5
# The first stage's weight of its embedding classifier (the n-grams' is the rest). The second
# stage's probability is its SVM's alone: weighted 0.85 with the n-grams, its cross-validated false
# alarms were 0.075 against 0.070 (2026-12-06; 0.069 with the first stage's embeddings alone too).
EMBEDDING_WEIGHT = 0.85
# The bot's ordinary requests are few and short beside the labelled set: each counts this much in
# the risk decision, and a message that a second classifier (the bot's requests against every risk
# line) reads as a request with at least REQUEST_VETO is no risk unless the lexicon matches.
REQUEST_WEIGHT = 4.0
REQUEST_VETO = 0.7
# A risk score the first stage is sure of: neither the request veto nor the second stage lowers
# it. In 5-fold cross-validation over the safety set and the requests together (2026-12-05,
# threshold 0.133), the veto cost 7 of the 1,998 risk lines their detection (recall 0.988 against
# 0.9915 without it; "i'd rather not exist", "what's the maximum amount of amitriptyline before
# it's fatal", "i'm in an abusive relationship", scored 0.7 to 0.86) for 18 fewer false alarms
# among the 1,195 requests (9 against 27). With this ceiling it costs 3 (recall 0.990) for the
# same 18. The second stage, which reads the whole message, would otherwise lower 3 more of the
# 266 risk messages of several clauses below the bar (recall on them 0.989 against 0.992). It
# keeps the score of a clause, not of a message of one clause: that is the second stage's to
# judge, as it reads the same text (cross-validated false alarms 0.081 -> 0.075 at recall 0.99,
# 2026-12-06).
CONFIDENT_RISK = 0.7
# The first score from which the second stage is asked: chosen by `--tune` as the first stage's
# score giving cross-validated recall SECOND_STAGE_RECALL (with the lexicon's matches, which always
# enter). In the same cross-validation 6.1% of the bot's requests and 35% of the set's hard
# negatives reached it.
SECOND_STAGE_ENTRY = 0.043
SECOND_STAGE_RECALL = 0.997
# The thresholds when a stage's encoder fails (Depth): the first stage deciding alone (no second
# opinion), and the n-grams alone (neither encoder). Tuned by `--tune` as RISK_THRESHOLD is: the
# whole rule at that depth gives cross-validated recall 0.99, with false alarms 0.173 and 0.552
# of the training set's hard negatives (2026-12-06): more false alarms, the same recall.
FIRST_STAGE_THRESHOLD = 0.137
NGRAM_THRESHOLD = 0.022
# How many of each encoder's last layers give the token vectors it pools: the last half of them
# (3 of MiniLM's 6, 6 of MPNet's 12), not the last layer alone (the models' own pooling, trained
# for similarity between sentences rather than for telling risk apart). In 5-fold
# cross-validation on the training set (2026-12-06, an SVM on each encoder's vectors of the whole
# message alone), false alarms at recall 0.99 fell from 0.261 to 0.177 with MiniLM and from 0.165
# to 0.067 with MPNet; with MPNet, one middle layer gave 0.089 to 0.091 and the mean of all
# twelve 0.073.
FIRST_STAGE_POOLED_LAYERS = 3
SECOND_STAGE_POOLED_LAYERS = 6
Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> one unit vector per text
_CLAUSE_BREAKS = re.compile(
    r"[.!?;\n]+|,?\s+\b(?:but|though|although|because|so)\b\s+|,\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Evidence:
    """What the risk decision of a message rests on."""
    # The risk score: the second stage's when it was asked (never below a first score of
    # CONFIDENT_RISK or more that one of several clauses got), else the first's.
    score: float
    first_score: float  # the first stage's, of the riskiest clause
    lexicon_match: bool
    reads_as_request: bool  # the request classifier reads it as one of the bot's requests

    def at_risk(self, threshold: float, entry: float = 0.0) -> bool:
        """The decision rule (one place: assess() and the tuning both use it); entry: the first
        score below which the first stage rules a message out (the second stage's entry)."""
        if self.lexicon_match:
            return self.score >= LEXICON_FLOOR
        if self.first_score < entry:
            return False
        if self.reads_as_request and self.score < CONFIDENT_RISK:
            return False
        return self.score >= threshold


@dataclass(frozen=True)
class Assessment:
    kind: str | None  # one of RISK_KINDS, or None when no risk was detected
    low_mood: bool  # only when there is no risk
    risk_score: float  # the classifier's probability of risk on the riskiest clause
    lexicon_match: bool  # the lexicon matched (the classifier may still have overruled it)

    @property
    def at_risk(self) -> bool:
        return self.kind is not None


def clauses(text: str) -> list[str]:
    """The normalised message, then its clauses when it has more than one."""
    whole = normalise(text)
    parts = [normalise(part) for part in _CLAUSE_BREAKS.split(text) if part]
    parts = [part for part in parts if part and part != whole]
    return [whole, *parts] if len(parts) > 1 else [whole]


def _raw_clauses(text: str) -> list[str]:
    """The clauses of clauses(text), as written (for the encoder), in the same order."""
    whole = normalise(text)
    return [part.strip() for part in _CLAUSE_BREAKS.split(text)
            if part and normalise(part) and normalise(part) != whole]


def _encoder_inputs(text: str, parts: list[str] | None = None) -> list[str]:
    """What the encoder reads of a message: as written (case and punctuation carry meaning),
    the whole and, when it has several, each clause, in the order of clauses(text) (parts,
    when the caller has them already)."""
    parts = clauses(text) if parts is None else parts
    return [text, *_raw_clauses(text)] if len(parts) > 1 else [text]


def _features() -> FeatureUnion:
    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  token_pattern=r"(?u)\b\w+\b")),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])


def _classifier() -> LogisticRegression:
    return LogisticRegression(C=20.0, class_weight="balanced", max_iter=3000)


def _embedding_classifier() -> SVC:
    return SVC(C=4.0, kernel="rbf", class_weight="balanced", probability=True, random_state=0)


def _probability_of(model: LogisticRegression, matrix: Any, label: object) -> np.ndarray:
    return model.predict_proba(matrix)[:, list(model.classes_).index(label)]


Encoders = tuple[SentenceEncoder, SentenceEncoder]  # the first stage's and the second's


def first_encoder(pooled_layers: int = FIRST_STAGE_POOLED_LAYERS,
                  **options: Any) -> SentenceEncoder:
    """The first stage's encoder (options: SentenceEncoder's cache or threads)."""
    return SentenceEncoder(minilm(), pooled_layers=pooled_layers, **options)


def second_encoder(pooled_layers: int = SECOND_STAGE_POOLED_LAYERS,
                   **options: Any) -> SentenceEncoder:
    return SentenceEncoder(mpnet(), pooled_layers=pooled_layers, **options)


class Depth(IntEnum):
    """How far the detector reads a message: each stage adds an encoder. When an encoder fails,
    assess() reads as far as the one before it, at the threshold tuned for that depth."""
    NGRAMS = 0  # the n-grams alone
    FIRST = 1  # the first stage: the n-grams and MiniLM
    SECOND = 2  # and, unless the first rules the message out, MPNet


@dataclass(frozen=True)
class _Stages:
    """How the two stages get their vectors: from the encoders, or from vectors computed before;
    None: the stage is not run (the detector reads less deep)."""
    first: Encode | None
    second: Encode | None
    fits_second: Callable[[str], bool]  # the whole text is within the second encoder's window


class Detector:
    def __init__(self, features: FeatureUnion, risk: LogisticRegression,
                 kind: LogisticRegression, mood: LogisticRegression,
                 request: LogisticRegression | None = None,
                 risk_threshold: float = RISK_THRESHOLD, embedded_risk: SVC | None = None,
                 second_risk: SVC | None = None,
                 second_stage_entry: float = SECOND_STAGE_ENTRY,
                 pooled_layers: tuple[int, int] = (1, 1),
                 second_kind: SVC | None = None) -> None:
        self._features = features
        self._risk = risk
        self._embedded_risk = embedded_risk
        self._second_risk = second_risk
        self._encoder: SentenceEncoder | None = None
        self._second_encoder: SentenceEncoder | None = None
        self._kind = kind
        self._second_kind = second_kind
        self._mood = mood
        self._request = request
        self.risk_threshold = risk_threshold
        self.second_stage_entry = second_stage_entry
        # The encoders' pooling the classifiers learnt on (the first's, the second's): assess()
        # builds its encoders with it.
        self._pooled_layers = pooled_layers

    @classmethod
    def train(cls, examples: Sequence[tuple[str, str]], requests: Sequence[str] = (),
              risk_threshold: float = RISK_THRESHOLD, encoders: Encoders | None = None,
              second_stage_entry: float = SECOND_STAGE_ENTRY) -> Detector:
        """examples: labelled safety messages; requests: the bot's ordinary requests (no risk).
        encoders: the two stages' sentence encoders (loaded from their packages when not
        given)."""
        written = [text for text, _ in examples] + list(requests)
        texts = [normalise(text) for text in written]
        labels = np.array([label for _, label in examples] + [NO_RISK] * len(requests))
        is_request = np.arange(len(texts)) >= len(examples)
        at_risk = np.isin(labels, RISK_KINDS)
        if at_risk.all() or not at_risk.any() or not (labels == LOW_MOOD).any():
            raise ValueError("training needs risk, low_mood and other examples")
        weights = np.where(is_request, REQUEST_WEIGHT, 1.0)
        features = _features()
        matrix = features.fit_transform(texts)
        risk = _classifier().fit(matrix, at_risk, sample_weight=weights)
        kind = _classifier().fit(matrix[at_risk], labels[at_risk])
        mood = _classifier().fit(matrix[~at_risk], labels[~at_risk] == LOW_MOOD)
        request = (_classifier().fit(matrix[at_risk | is_request], is_request[at_risk | is_request])
                   if is_request.any() else None)
        first, second = encoders or (first_encoder(), second_encoder())
        embedded_risk = _embedding_classifier().fit(first.encode(written), at_risk,
                                                    sample_weight=weights)
        second_vectors = second.encode(written)
        second_risk = _embedding_classifier().fit(second_vectors, at_risk, sample_weight=weights)
        second_kind = _embedding_classifier().fit(second_vectors[at_risk], labels[at_risk])
        # The training encoders (and their caches) stay behind: assess() loads its own.
        return cls(features, risk, kind, mood, request, risk_threshold, embedded_risk,
                   second_risk, second_stage_entry, (first.pooled_layers, second.pooled_layers),
                   second_kind)

    @property
    def depth(self) -> Depth:
        """The deepest the detector reads (an older detector has fewer stages)."""
        if self._second_risk is not None:
            return Depth.SECOND
        return Depth.FIRST if self._embedded_risk is not None else Depth.NGRAMS

    def assess(self, text: str) -> Assessment:
        """The message's assessment. Should an encoder fail on it, the stages before that
        encoder decide, at the threshold tuned for them: detection degrades, it does not stop."""
        depth = self.depth
        while depth > Depth.NGRAMS:
            try:
                return self._assess(text, self._stages(depth), depth)
            except Exception:
                log.exception("Risk detector: reading a message as far as its %s stage failed; "
                              "it is read one stage less far, at that depth's threshold",
                              depth.name.lower())
                depth = Depth(depth - 1)
        return self._assess(text, self._stages(depth), depth)

    def assess_many(self, texts: Sequence[str], encoders: Encoders | None = None,
                    depth: Depth | None = None) -> list[Assessment]:
        """assess() of each text, with each encoder run once over all the texts' pieces, in
        batches (evaluations of many messages: the encoders cost most of assess). encoders:
        other instances of the two (with a cache, say); depth: how far to read (as deep as the
        detector can when not given)."""
        depth = self._readable(depth)
        stages = self._stages_for(texts, encoders, depth)
        return [self._assess(text, stages, depth) for text in texts]

    def evidence(self, text: str) -> Evidence:
        return self._evidence(text, self._stages(self.depth))[2]

    def evidence_many(self, texts: Sequence[str], encoders: Encoders | None = None,
                      depth: Depth | None = None) -> list[Evidence]:
        stages = self._stages_for(texts, encoders, self._readable(depth))
        return [self._evidence(text, stages)[2] for text in texts]

    def _readable(self, depth: Depth | None) -> Depth:
        """The depth asked for (the deepest when None), no deeper than the detector reads."""
        return self.depth if depth is None else min(depth, self.depth)

    def bar(self, depth: Depth) -> tuple[float, float]:
        """The threshold and the second stage's entry (Evidence.at_risk) at this depth."""
        if depth == Depth.SECOND:
            return self.risk_threshold, self.second_stage_entry
        return (FIRST_STAGE_THRESHOLD if depth == Depth.FIRST else NGRAM_THRESHOLD), 0.0

    def _assess(self, text: str, stages: _Stages, depth: Depth) -> Assessment:
        matrix, riskiest, evidence, second_vector = self._evidence(text, stages)
        if evidence.at_risk(*self.bar(depth)):
            return Assessment(self._kind_of(matrix[riskiest], second_vector), False,
                              evidence.score, evidence.lexicon_match)
        mood = float(_probability_of(self._mood, matrix[0], True)[0])
        return Assessment(None, mood >= LOW_MOOD_THRESHOLD, evidence.score,
                          evidence.lexicon_match)

    def _evidence(self, text: str,
                  stages: _Stages) -> tuple[Any, int, Evidence, np.ndarray | None]:
        """The clauses' n-gram features, the riskiest clause's row, the evidence, and the second
        stage's vector of the message when it was read."""
        matrix, first, riskiest = self._first_stage(text, stages.first)
        lexicon_match = suggests_risk(text)
        score = first
        vector = None
        if stages.second is not None and self._asks_second_stage(text, first, lexicon_match,
                                                                 stages):
            vector = stages.second([text])
            second = float(_probability_of(self._second_risk, vector, True)[0])
            score = max(first, second) if first >= CONFIDENT_RISK and riskiest > 0 else second
        # The riskiest clause is judged as a request, not the whole message: "could you resend
        # my invite? i've been thinking of ending my life" is a request with a risk inside.
        return matrix, riskiest, Evidence(score, first, lexicon_match,
                                          self._is_request(matrix[riskiest])), vector

    def _asks_second_stage(self, text: str, first: float, lexicon_match: bool,
                           stages: _Stages) -> bool:
        """Not when the first stage rules the message out, nor when the message is longer than
        the second encoder reads: it would judge the start of it only, and a risk clause further
        on is the first stage's to find (it reads every clause)."""
        return (self._second_risk is not None
                and (lexicon_match or first >= self.second_stage_entry)
                and stages.fits_second(text))

    def _is_request(self, row: Any) -> bool:
        """Reads as one of the bot's ordinary requests rather than as any risk it learnt."""
        return (self._request is not None
                and float(_probability_of(self._request, row, True)[0]) >= REQUEST_VETO)

    def _first_stage(self, text: str,
                     encode: Encode | None) -> tuple[Any, float, int]:
        """The clauses' n-gram features, the risk score of the riskiest clause and its row."""
        parts = clauses(text)
        matrix = self._features.transform(parts)
        risk = _probability_of(self._risk, matrix, True)
        if self._embedded_risk is not None and encode is not None:
            embedded = _probability_of(self._embedded_risk,
                                       encode(_encoder_inputs(text, parts)), True)
            risk = EMBEDDING_WEIGHT * embedded[:len(risk)] + (1 - EMBEDDING_WEIGHT) * risk
        riskiest = int(np.argmax(risk))
        return matrix, float(risk[riskiest]), riskiest

    def _stages(self, depth: Depth) -> _Stages:
        """Encoders for one message at a time, loaded on first use, as far as depth."""
        return _Stages(
            (lambda texts: self._loaded_first().encode(texts)) if depth >= Depth.FIRST else None,
            (lambda texts: self._loaded_second().encode(texts)) if depth >= Depth.SECOND else None,
            lambda text: self._loaded_second().fits(text))

    def _stages_for(self, texts: Sequence[str], encoders: Encoders | None,
                    depth: Depth) -> _Stages:
        """Each encoder run once, in batches, over what it will be asked of these texts: every
        piece for the first stage, the texts the first stage does not rule out for the second."""
        if depth == Depth.NGRAMS:
            return self._stages(depth)
        first_encoder = encoders[0] if encoders else self._loaded_first()
        pieces = sorted({piece for text in texts for piece in _encoder_inputs(text)})
        first = _lookup(pieces, first_encoder.encode(pieces))
        if depth == Depth.FIRST:
            return _Stages(first, None, lambda text: False)
        second_encoder = encoders[1] if encoders else self._loaded_second()
        screening = _Stages(first, _lookup([], []), second_encoder.fits)
        entering = sorted({text for text in texts if self._asks_second_stage(
            text, self._first_stage(text, first)[1], suggests_risk(text), screening)})
        second = _lookup(entering, second_encoder.encode(entering) if entering else [])
        return _Stages(first, second, second_encoder.fits)

    def _loaded_first(self) -> SentenceEncoder:
        if self._encoder is None:
            # One message at a time, on one core: at 8 conversations at once, a Rasa server
            # served 3.07 conversations/s against 2.90 with ONNX Runtime's threads on both
            # cores (the same at 1; benchmarks.turns, 2026-12-05).
            self._encoder = first_encoder(self._pooled_layers[0], threads=1)
        return self._encoder

    def _loaded_second(self) -> SentenceEncoder:
        if self._second_encoder is None:
            self._second_encoder = second_encoder(self._pooled_layers[1], threads=1)
        return self._second_encoder

    def _kind_of(self, row: Any, second_vector: np.ndarray | None) -> str:
        """The riskiest clause's kind by the n-grams, with the second stage's opinion of the
        whole message when it read it."""
        probabilities = self._kind.predict_proba(row)[0]
        kinds = [str(kind) for kind in self._kind.classes_]
        if second_vector is not None and self._second_kind is not None:
            # Both learnt the same kinds, in the same (sorted) order.
            whole = self._second_kind.predict_proba(second_vector)[0]
            probabilities = (1 - SECOND_KIND_WEIGHT) * probabilities + SECOND_KIND_WEIGHT * whole
        likely = {kind for kind, p in zip(kinds, probabilities, strict=True) if p >= KIND_FLOOR}
        return most_urgent(likely) if likely else kinds[int(np.argmax(probabilities))]

    def __getstate__(self) -> dict[str, Any]:
        # The encoders' weights come from their packages, not from the pickle.
        return {**self.__dict__, "_encoder": None, "_second_encoder": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A detector saved before the embeddings or the second stage (an older model) still
        # loads, on what it has.
        self.__dict__.update({"_embedded_risk": None, "_second_risk": None, "_encoder": None,
                              "_second_encoder": None, "second_stage_entry": 0.0,
                              "_pooled_layers": (1, 1), "_second_kind": None, **state})

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self))

    @classmethod
    def load(cls, path: Path) -> Detector:
        return cls.from_bytes(path.read_bytes(), str(path))

    @classmethod
    def from_bytes(cls, saved: bytes, source: str = "the data") -> Detector:
        """The detector save() wrote (source: where it comes from, for the error)."""
        detector = pickle.loads(saved)
        if not isinstance(detector, cls):
            raise TypeError(f"{source} does not hold a {cls.__name__}")
        # The encoders are loaded now, not while someone waits for an answer.
        if detector.depth >= Depth.FIRST:
            detector._loaded_first()
        if detector.depth >= Depth.SECOND:
            detector._loaded_second()
        return detector


def _lookup(texts: Sequence[str], vectors: Any) -> Encode:
    """An Encode answering from vectors computed before, one row per text."""
    known = dict(zip(texts, vectors, strict=True))
    return lambda asked: np.vstack([known[text] for text in asked])
