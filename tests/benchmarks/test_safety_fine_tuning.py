"""benchmarks/safety_fine_tuning.py: its TensorFlow MiniLM is the encoder the detector runs, it
learns from what it is shown, and the comparison reads false alarms at the recall asked for. The
TensorFlow part runs in Rasa's environment (a subprocess): the dev environment has no TensorFlow."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from benchmarks.safety_fine_tuning import BATCH, false_alarms, similar_lengths
from tests.stack import in_rasa_env

CHECK = textwrap.dedent("""
    import json
    import numpy as np
    from benchmarks.safety_fine_tuning import (
        Tokens, fine_tune, probabilities, same_as_the_onnx_encoder)
    from bot.safety.models import minilm

    tokens = Tokens(minilm())
    risk = ["i want to die", "i'm going to kill myself tonight", "i took all my pills",
            "i'm on the bridge and going to jump", "i cut myself again", "no reason to live",
            "i have the rope ready", "i want to end my life"]
    safe = ["book me a session", "what time is my appointment", "hello there",
            "can i change my therapist", "thanks, that's great", "how many sessions do i have",
            "i'd like a therapist in leeds", "cancel my booking please"]
    texts = risk + safe
    at_risk = np.array([True] * len(risk) + [False] * len(safe))
    model = fine_tune(tokens, texts, at_risk, np.ones(len(texts)), epochs=12,
                      learning_rate=3e-4)
    learnt = probabilities(model, tokens, texts)
    print(json.dumps({"difference": same_as_the_onnx_encoder(tokens),
                      "risk": learnt[at_risk].tolist(), "safe": learnt[~at_risk].tolist()}))
""")


def test_false_alarms_are_read_at_the_highest_bar_keeping_the_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.5, 0.1, 0.05])
    positive = np.array([True, True, True, True, False, False, False, False])
    # Recall 0.75 keeps three of the four risks: the bar is the third highest, 0.7.
    assert false_alarms(scores, positive, 0.75) == (0.0, 0.7)
    # Recall 1 needs the bar at 0.2: two of the four negatives are above it.
    assert false_alarms(scores, positive, 1.0) == (0.5, 0.2)


def test_batches_hold_texts_of_similar_length_in_a_shuffled_order() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=10 * BATCH)
    ids = [[0] * int(n) for n in lengths]
    batches = similar_lengths(ids, np.random.default_rng(1))
    assert sorted(row for rows in batches for row in rows) == list(range(len(ids)))
    assert {len(rows) for rows in batches} == {BATCH}
    assert max(np.ptp(lengths[rows]) for rows in batches) < np.ptp(lengths) / 3
    assert batches != similar_lengths(ids, np.random.default_rng(2))


@pytest.fixture(scope="module")
def fine_tuned() -> dict[str, object]:
    return in_rasa_env(CHECK, timeout=600)


def test_its_minilm_gives_the_vectors_of_the_encoder_the_detector_runs(fine_tuned) -> None:
    assert fine_tuned["difference"] < 1e-5


def test_fine_tuning_separates_what_it_was_shown(fine_tuned) -> None:
    assert min(fine_tuned["risk"]) > max(fine_tuned["safe"])
