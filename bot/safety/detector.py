"""Does a message suggest a risk to someone's safety, of which kind, or only low mood?

`Detector.train(examples, requests)` fits logistic regressions on shared word and character
n-grams (TF-IDF): risk or not, which kind (on risk examples), low mood or not (on the others), and
the bot's ordinary requests against the risk examples (keeps "goodbye" out of crisis). A second
risk classifier (an RBF support-vector machine) reads the sentence embedding of all-MiniLM-L6-v2
(bot.safety.embedding), which knows that "how many would it take to not wake up" is near "I want
to die" without sharing a word with it; the risk score is the weighted mean of the two
probabilities (EMBEDDING_WEIGHT). `assess` scores the whole message and each of its clauses, so
that one risk clause inside a long message about work is not diluted by the rest. A match of the
lexicon (bot.safety_lexicon) lowers the bar to LEXICON_FLOOR, so the classifier can still
overrule an idiom it is sure of ("I cut myself shaving"). Negation and idioms are learnt from the
data, not written as rules.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import SVC

from bot.safety.embedding import SentenceEncoder
from bot.safety.labels import LOW_MOOD, NO_RISK, RISK_KINDS, most_urgent
from bot.safety_lexicon import normalise, suggests_risk

# Below this risk score a message is not at risk: the threshold at which the whole decision rule
# (Evidence.at_risk) gives recall 0.99 in 5-fold cross-validation on the training set, with the
# bot's requests in the folds too; never on held-out data (`tests/bot/safety_gate.py --tune`). The
# training set's negatives are the hard ones (idioms, sadness, issue names, everyday fears), so
# its cross-validated false alarms are high: 0.190 at this threshold, and 9 of the 1,195 requests
# (4,754 lines, 2026-12-05). It was 0.133 before, chosen on the score alone, which ignored the
# lexicon's lower bar and the request veto.
# EMBEDDING_WEIGHT was chosen there too (on the 3,623 lines of that morning): at cross-validated
# recall 0.99, false alarms were 0.295 with the embeddings alone, 0.245, 0.234 and 0.215 with them
# weighted 0.5, 0.7 and 0.85; a logistic regression on the embeddings instead of the SVM gave
# 0.338; the SVM's C (1 to 30) and the n-grams' C (5 or 20) changed them by at most 0.017.
RISK_THRESHOLD = 0.130
# A lexicon match is a risk unless the classifier's probability is below this.
LEXICON_FLOOR = 0.05
# A kind at least this probable takes part in the urgency rule (the more urgent kind wins).
KIND_FLOOR = 0.3
LOW_MOOD_THRESHOLD = 0.5
EMBEDDING_WEIGHT = 0.85
# The bot's ordinary requests are few and short beside the labelled set: each counts this much in
# the risk decision, and a message that a second classifier (the bot's requests against every risk
# line) reads as a request with at least REQUEST_VETO is no risk unless the lexicon matches.
REQUEST_WEIGHT = 4.0
REQUEST_VETO = 0.7
# ... unless its risk score is at least this. In 5-fold cross-validation over the safety set and
# the requests together (2026-12-05, threshold 0.133), the veto cost 7 of the 1,998 risk lines
# their detection (recall 0.988 against 0.9915 without it; "i'd rather not exist", "what's the
# maximum amount of amitriptyline before it's fatal", "i'm in an abusive relationship", scored 0.7
# to 0.86) for 18 fewer false alarms among the 1,195 requests (9 against 27). With this ceiling it
# costs 3 (recall 0.990) for the same 18.
REQUEST_VETO_CEILING = 0.7
Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> one unit vector per text
_CLAUSE_BREAKS = re.compile(
    r"[.!?;\n]+|,?\s+\b(?:but|though|although|because|so)\b\s+|,\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Evidence:
    """What the risk decision of a message rests on."""
    score: float  # the risk score of the riskiest clause
    lexicon_match: bool
    reads_as_request: bool  # the request classifier reads it as one of the bot's requests

    def at_risk(self, threshold: float) -> bool:
        """The decision rule (one place: assess() and the threshold's tuning both use it)."""
        if self.lexicon_match:
            return self.score >= LEXICON_FLOOR
        if self.reads_as_request and self.score < REQUEST_VETO_CEILING:
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


class Detector:
    def __init__(self, features: FeatureUnion, risk: LogisticRegression,
                 kind: LogisticRegression, mood: LogisticRegression,
                 request: LogisticRegression | None = None,
                 risk_threshold: float = RISK_THRESHOLD, embedded_risk: SVC | None = None,
                 encoder: SentenceEncoder | None = None) -> None:
        self._features = features
        self._risk = risk
        self._embedded_risk = embedded_risk
        self._encoder = encoder
        self._kind = kind
        self._mood = mood
        self._request = request
        self.risk_threshold = risk_threshold

    @classmethod
    def train(cls, examples: Sequence[tuple[str, str]], requests: Sequence[str] = (),
              risk_threshold: float = RISK_THRESHOLD,
              encoder: SentenceEncoder | None = None) -> Detector:
        """examples: labelled safety messages; requests: the bot's ordinary requests (no risk).
        encoder: the sentence encoder (loaded from its package when not given)."""
        texts = [normalise(text) for text, _ in [*examples, *((r, NO_RISK) for r in requests)]]
        labels = np.array([label for _, label in examples] + [NO_RISK] * len(requests))
        is_request = np.arange(len(texts)) >= len(examples)
        at_risk = np.isin(labels, RISK_KINDS)
        if at_risk.all() or not at_risk.any() or not (labels == LOW_MOOD).any():
            raise ValueError("training needs risk, low_mood and other examples")
        features = _features()
        matrix = features.fit_transform(texts)
        risk = _classifier().fit(matrix, at_risk,
                                 sample_weight=np.where(is_request, REQUEST_WEIGHT, 1.0))
        kind = _classifier().fit(matrix[at_risk], labels[at_risk])
        mood = _classifier().fit(matrix[~at_risk], labels[~at_risk] == LOW_MOOD)
        request = (_classifier().fit(matrix[at_risk | is_request], is_request[at_risk | is_request])
                   if is_request.any() else None)
        encoder = encoder or SentenceEncoder()
        embedded_risk = _embedding_classifier().fit(
            encoder.encode([text for text, _ in [*examples, *((r, NO_RISK) for r in requests)]]),
            at_risk, sample_weight=np.where(is_request, REQUEST_WEIGHT, 1.0))
        # The training encoder (and its cache) stays behind: assess() loads its own.
        return cls(features, risk, kind, mood, request, risk_threshold, embedded_risk)

    def assess(self, text: str) -> Assessment:
        return self._assess(text)

    def assess_many(self, texts: Sequence[str]) -> list[Assessment]:
        """assess() of each text, with the encoder run once over all their clauses, in batches
        (evaluations of many messages; one encoder pass per message costs most of assess)."""
        if self._embedded_risk is None:
            return [self.assess(text) for text in texts]
        pieces = sorted({piece for text in texts for piece in _encoder_inputs(text)})
        known = dict(zip(pieces, self._encoder_().encode(pieces), strict=True))
        return [self._assess(text, lambda raw: np.vstack([known[piece] for piece in raw]))
                for text in texts]

    def evidence(self, text: str) -> Evidence:
        return self._evidence(text)[2]

    def _assess(self, text: str, encode: Encode | None = None) -> Assessment:
        matrix, riskiest, evidence = self._evidence(text, encode)
        if evidence.at_risk(self.risk_threshold):
            return Assessment(self._kind_of(matrix[riskiest]), False, evidence.score,
                              evidence.lexicon_match)
        mood = float(_probability_of(self._mood, matrix[0], True)[0])
        return Assessment(None, mood >= LOW_MOOD_THRESHOLD, evidence.score,
                          evidence.lexicon_match)

    def _evidence(self, text: str, encode: Encode | None = None) -> tuple[Any, int, Evidence]:
        """The clauses' n-gram features, the riskiest clause's row, and the evidence."""
        matrix, score, riskiest = self._riskiest(text, encode)
        # The riskiest clause is judged as a request, not the whole message: "could you resend
        # my invite? i've been thinking of ending my life" is a request with a risk inside.
        return matrix, riskiest, Evidence(score, suggests_risk(text),
                                          self._is_request(matrix[riskiest]))

    def _is_request(self, row: Any) -> bool:
        """Reads as one of the bot's ordinary requests rather than as any risk it learnt."""
        return (self._request is not None
                and float(_probability_of(self._request, row, True)[0]) >= REQUEST_VETO)

    def _riskiest(self, text: str, encode: Encode | None = None) -> tuple[Any, float, int]:
        parts = clauses(text)
        matrix = self._features.transform(parts)
        risk = _probability_of(self._risk, matrix, True)
        if self._embedded_risk is not None:
            encode = encode or self._encoder_().encode
            embedded = _probability_of(self._embedded_risk,
                                       encode(_encoder_inputs(text, parts)), True)
            risk = EMBEDDING_WEIGHT * embedded[:len(risk)] + (1 - EMBEDDING_WEIGHT) * risk
        riskiest = int(np.argmax(risk))
        return matrix, float(risk[riskiest]), riskiest

    def _encoder_(self) -> SentenceEncoder:
        if self._encoder is None:
            # One message at a time, on one core: at 8 conversations at once, a Rasa server
            # served 3.07 conversations/s against 2.90 with ONNX Runtime's threads on both
            # cores (the same at 1; benchmarks.turns, 2026-12-05).
            self._encoder = SentenceEncoder(threads=1)
        return self._encoder

    def _kind_of(self, row: Any) -> str:
        probabilities = self._kind.predict_proba(row)[0]
        kinds = [str(kind) for kind in self._kind.classes_]
        likely = {kind for kind, p in zip(kinds, probabilities, strict=True) if p >= KIND_FLOOR}
        return most_urgent(likely) if likely else kinds[int(np.argmax(probabilities))]

    def __getstate__(self) -> dict[str, Any]:
        # The encoder's weights come from their package, not from the pickle.
        return {**self.__dict__, "_encoder": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A detector saved before the embeddings (an older model) still loads, on n-grams only.
        self.__dict__.update({"_embedded_risk": None, "_encoder": None, **state})

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
        if detector._embedded_risk is not None:
            detector._encoder_()  # loaded now, not while someone waits for an answer
        return detector
