"""The risk detector (bot/safety): kinds, urgency, low mood, idioms, its data sets and storage."""

from __future__ import annotations

import copy
import logging
import tarfile
from pathlib import Path

import numpy as np
import pytest

from bot.safety.detector import (
    CONFIDENT_RISK,
    FIRST_STAGE_THRESHOLD,
    LEXICON_FLOOR,
    NGRAM_THRESHOLD,
    Depth,
    Detector,
    Evidence,
    clauses,
)
from bot.safety.labels import RISK_KINDS, DatasetError, load_examples, most_urgent
from bot.safety.training import (
    DETECTOR_FILE,
    INPUTS_FILE,
    SAFETY_INTENTS,
    inputs_fingerprint,
    ordinary_requests,
    shipped_detector,
    train_detector,
    training_examples,
)
from bot.safety_lexicon import normalise, suggests_risk
from tests.stack import StackError, trained_model

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "bot" / "safety" / "data" / "train.yml"
CANDIDATES = TRAIN.with_name("candidates.yml")  # written, not trained on
HOLDOUT = REPO / "tests" / "safety_holdout" / "holdout.yml"


@pytest.fixture(scope="module")
def detector() -> Detector:
    """The detector of the trained model (`make test` trains it just before) when it was trained
    on this checkout's data and code; else one trained now (30 to 50 s)."""
    try:
        model = trained_model()
    except StackError:
        return train_detector()
    return shipped_detector(model) or train_detector()


@pytest.mark.parametrize(("text", "kind"), [
    ("i swallowed every tablet in the house half an hour ago", "emergency"),
    ("I'm on the roof of the car park and i'm going to jump", "emergency"),
    ("i keep wishing i would not wake up in the morning", "suicidal"),
    ("how many of my sleeping pills would it take to not wake up", "suicidal"),
    ("my colleague told me he wants to end his life", "someone_else"),
    ("i'm going to hurt my manager tomorrow and i mean it", "harm_to_others"),
    ("my partner hits me and i'm scared to go home", "danger_from_others"),
])
def test_each_kind_of_risk_is_detected_with_its_kind(detector, text, kind):
    assessment = detector.assess(text)
    assert assessment.at_risk, text
    assert assessment.kind == kind, (text, assessment)
    assert not assessment.low_mood


def test_the_more_urgent_kind_wins():
    assert most_urgent({"suicidal", "emergency"}) == "emergency"
    assert most_urgent({"someone_else", "harm_to_others", "suicidal"}) == "harm_to_others"
    assert RISK_KINDS[0] == "emergency"


def test_a_risk_clause_inside_a_long_message_about_work_is_found(detector):
    text = ("The quarterly numbers are due on Friday and my manager wants the deck redone. "
            "Honestly I've been saving up my tablets for when it gets too much. "
            "Anyway, can I book a session on Tuesday?")
    assert len(clauses(text)) > 1
    assert detector.assess(text).kind == "suicidal"


@pytest.mark.parametrize("text", [
    "I could die of embarrassment", "this commute will be the death of me",
    "we're killing it this quarter", "how do I kill the process", "that cake is to die for",
    "the cost of living crisis is hitting everyone", "book me a video session next tuesday",
])
def test_idioms_and_ordinary_requests_are_not_risks(detector, text):
    assessment = detector.assess(text)
    assert not assessment.at_risk, (text, assessment)


@pytest.mark.parametrize("text", ["I've been sad lately", "feeling really down"])
def test_low_mood_is_not_a_crisis(detector, text):
    assessment = detector.assess(text)
    assert assessment.kind is None
    assert assessment.low_mood


def test_a_plain_request_is_neither_risk_nor_low_mood(detector):
    assessment = detector.assess("how many sessions do I have left")
    assert (assessment.kind, assessment.low_mood) == (None, False)


def test_a_lexicon_match_is_a_risk(detector):
    text = "i want to kill myself"
    assert suggests_risk(text)
    assessment = detector.assess(text)
    assert assessment.lexicon_match
    assert assessment.at_risk


@pytest.mark.parametrize(("score", "first", "lexicon", "as_request", "at_risk"), [
    (0.30, 0.30, False, False, True),  # above the threshold
    (0.10, 0.30, False, False, False),  # below it (the second stage's score decides)
    (0.30, 0.04, False, False, False),  # the first stage ruled it out (below the entry)
    (0.30, 0.30, False, True, False),  # reads as one of the bot's requests: vetoed ...
    (CONFIDENT_RISK, 0.30, False, True, True),  # ... unless the score is sure of the risk
    (0.10, 0.01, True, False, True),  # the lexicon lowers the bar to LEXICON_FLOOR ...
    (0.10, 0.10, True, True, True),  # ... and no request vetoes it
    (LEXICON_FLOOR / 2, 0.3, True, False, False),  # the classifier overrules an idiom it is sure of
])
def test_the_decision_rule(score, first, lexicon, as_request, at_risk):
    assert Evidence(score, first, lexicon, as_request).at_risk(threshold=0.2, entry=0.05) is at_risk


def test_assess_decides_by_the_evidence_the_tuning_sees(detector):
    for text in ("i took all my pills", "I've been sad lately", "hello",
                 "i could die of embarrassment", "i want to kill myself"):
        evidence = detector.evidence(text)
        assert detector.assess(text).at_risk is evidence.at_risk(
            detector.risk_threshold, detector.second_stage_entry), text


class _SecondStageSaying:
    """A second stage that gives every message the same probability of risk."""
    classes_ = np.array([False, True])

    def __init__(self, risk: float) -> None:
        self._risk = risk

    def predict_proba(self, rows):
        return np.tile([1.0 - self._risk, self._risk], (len(rows), 1))


@pytest.mark.parametrize("second_says", [0.0, 1.0])
def test_the_second_stage_decides_unless_a_clause_is_sure_or_it_is_ruled_out(detector,
                                                                              second_says):
    judged = copy.copy(detector)
    judged._second_risk = _SecondStageSaying(second_says)
    seen = set()
    for text in ("i want to kill myself", "i swallowed every tablet in the house an hour ago",
                 "the printer jammed again this morning. i want to kill myself",
                 "I've been sad lately", "i've been feeling hopeless", "i'm so tired of everything",
                 "work is killing me", "that cake is to die for",
                 "book me a video session next tuesday", "hello"):
        evidence = judged.evidence(text)
        riskiest = judged._first_stage(text, judged._stages(Depth.FIRST).first)[2]
        if not evidence.lexicon_match and evidence.first_score < detector.second_stage_entry:
            seen.add("ruled out")  # the second stage was not asked
            assert evidence.score == evidence.first_score, text
            assert not judged.assess(text).at_risk, text
        elif evidence.first_score >= CONFIDENT_RISK and riskiest > 0:
            # It reads the whole message: it cannot lower the score of one of its clauses
            # that the first stage is sure of.
            seen.add("sure of a clause")
            assert evidence.score >= evidence.first_score, text
            assert judged.assess(text).at_risk, text
        else:
            seen.add("decides")  # its probability is the score
            assert evidence.score == second_says, text
            assert judged.assess(text).at_risk is bool(second_says), text
    assert seen == {"ruled out", "sure of a clause", "decides"}


class _SecondStageKind:
    """A second stage that reads every message as one kind of risk."""
    def __init__(self, kind: str) -> None:
        self.classes_ = np.array(sorted(RISK_KINDS))
        self._kind = kind

    def predict_proba(self, rows):
        return np.tile(self.classes_ == self._kind, (len(rows), 1)).astype(float)


def test_the_second_stage_has_a_say_in_the_kind(detector):
    text = "i want to kill myself"
    assert detector.assess(text).kind == "suicidal"
    judged = copy.copy(detector)
    judged._second_kind = _SecondStageKind("emergency")  # weighted 0.7: above the kind floor
    assert judged.assess(text).kind == "emergency"
    assert judged.assess_many([text]) == [judged.assess(text)]


def _counting_second_encoder(detector: Detector) -> tuple[Detector, list[str]]:
    """A copy of the detector whose second encoder records what it is asked to encode."""
    counted = copy.copy(detector)
    first, second = detector._loaded_first(), detector._loaded_second()
    asked: list[str] = []

    class Counting:
        fits = second.fits

        def encode(self, texts):
            asked.extend(texts)
            return second.encode(texts)

    counted._encoder, counted._second_encoder = first, Counting()
    return counted, asked


def test_a_message_the_first_stage_rules_out_never_reaches_the_second_encoder(detector):
    counted, asked = _counting_second_encoder(detector)
    counted.assess("book me a video session next tuesday")
    assert asked == []
    counted.assess("i've been saving up my tablets")
    assert asked == ["i've been saving up my tablets"]


def test_a_message_longer_than_the_second_encoders_window_is_the_first_stages(detector):
    text = ("The quarterly numbers are due on Friday and my manager wants the deck redone. " * 8
            + "Honestly I've been saving up my tablets for when it gets too much.")
    counted, asked = _counting_second_encoder(detector)
    assert not detector._loaded_second().fits(text)
    assert counted.assess(text).kind == "suicidal"
    assert asked == []  # it would read the first 128 tokens only
    assert detector.assess_many([text]) == [detector.assess(text)]


class _FailingEncoder:
    def fits(self, text):
        raise RuntimeError("the encoder failed")

    def encode(self, texts):
        raise RuntimeError("the encoder failed")


@pytest.mark.parametrize(("failing", "depth"), [("second", Depth.FIRST), ("both", Depth.NGRAMS)])
def test_when_an_encoder_fails_the_stages_before_it_decide_at_their_own_threshold(
        detector, failing, depth, caplog):
    broken = copy.copy(detector)
    broken._second_encoder = _FailingEncoder()
    if failing == "both":
        broken._encoder = _FailingEncoder()
    texts = ["i want to kill myself", "i swallowed every tablet in the house an hour ago",
             "my colleague told me he wants to end his life", "I've been sad lately", "hello",
             "book me a video session next tuesday"]
    with caplog.at_level(logging.ERROR, logger="bot.safety.detector"):
        assessed = [broken.assess(text) for text in texts]
    for alone, together in zip(assessed, detector.assess_many(texts, depth=depth), strict=True):
        assert (alone.kind, alone.low_mood) == (together.kind, together.low_mood)
        assert alone.risk_score == pytest.approx(together.risk_score, abs=1e-5)
    assert [a.kind for a in assessed] == ["suicidal", "emergency", "someone_else", None, None, None]
    assert assessed[3].low_mood
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    if failing == "second":  # on the messages the first stage does not rule out
        counted, asked = _counting_second_encoder(detector)
        for text in texts:
            counted.assess(text)
        assert len(failed) == len(asked) > 0
    else:  # on every message, at both depths
        assert len(failed) == 2 * len(texts)
        assert "as far as its first stage failed" in failed[1]
    assert "as far as its second stage failed" in failed[0]
    assert detector.bar(Depth.FIRST) == (FIRST_STAGE_THRESHOLD, 0.0)
    assert detector.bar(Depth.NGRAMS) == (NGRAM_THRESHOLD, 0.0)


def test_a_saved_detector_loads_and_answers_the_same(detector, tmp_path):
    path = tmp_path / "detector.pkl"
    detector.save(path)
    loaded = Detector.load(path)
    for text in ("i took all my pills", "I've been sad lately", "hello"):
        assert loaded.assess(text) == detector.assess(text)


def test_many_messages_assessed_at_once_are_assessed_as_one_by_one(detector):
    texts = ["i took all my pills", "I've been sad lately", "hello", "book me a therapist",
             "work is awful. my manager shouts, but i want to end it all tonight",
             "my colleague is dying to meet you, and the deadline is killing me"]
    for text, together in zip(texts, detector.assess_many(texts), strict=True):
        alone = detector.assess(text)
        assert (together.kind, together.low_mood, together.lexicon_match) == (
            alone.kind, alone.low_mood, alone.lexicon_match), text
        assert together.risk_score == pytest.approx(alone.risk_score, abs=1e-5), text


def test_the_data_sets_are_large_separate_and_labelled():
    train, holdout = load_examples(TRAIN), load_examples(HOLDOUT)
    for examples, risks, negatives in ((train, 600, 400), (holdout, 250, 200)):
        at_risk = [label for _, label in examples if label in RISK_KINDS]
        assert len(at_risk) >= risks
        assert len(examples) - len(at_risk) >= negatives
        assert set(at_risk) == set(RISK_KINDS)
    # Apart even where case, apostrophes or punctuation differ; the candidate lines too.
    trained_on = {normalise(text) for text, _ in [*training_examples(), *load_examples(CANDIDATES)]}
    assert not [text for text, _ in holdout if normalise(text) in trained_on]


def test_ordinary_requests_come_from_the_nlu_data_without_the_safety_intents(tmp_path):
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: find_therapist\n    examples: |\n      - a therapist in [Leeds](location)\n"
        "  - intent: safety_risk\n    examples: |\n      - i want to die\n"
        "  - intent: low_mood\n    examples: |\n      - i feel low\n")
    assert ordinary_requests(tmp_path) == ["a therapist in Leeds"]
    assert {"safety_risk", "low_mood"} == SAFETY_INTENTS


def test_the_fingerprint_follows_the_safety_data(tmp_path):
    copy = tmp_path / "train.yml"
    copy.write_text(TRAIN.read_text())
    before = inputs_fingerprint(copy)
    copy.write_text(TRAIN.read_text() + "    - one more line\n")
    assert inputs_fingerprint(copy) != before


@pytest.mark.parametrize(("content", "problem"), [
    ("examples:\n  worried:\n    - hello\n", "unknown label"),
    ("examples:\n  none:\n    - yes\n", "non-empty strings"),
    ("version: 1\n", "expected a mapping"),
])
def test_a_bad_data_file_is_refused_clearly(tmp_path, content, problem):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(DatasetError, match=problem):
        load_examples(path)


@pytest.mark.parametrize("nlu_dir", [REPO / "bot" / "data" / "nlu", REPO / "tests" / "nlu_holdout"],
                         ids=["bot NLU data", "NLU held-out set"])
def test_no_ordinary_request_of_the_bot_is_a_risk(detector, nlu_dir):
    requests = ordinary_requests(nlu_dir)
    assert len(requests) > 100
    taken_for_risks = [text for text, assessment in zip(
        requests, detector.assess_many(requests), strict=True) if assessment.at_risk]
    assert taken_for_risks == []


@pytest.mark.parametrize("answer", [
    # What people answer to the booking form's "What would you like help with?" (issue 10: a
    # crisis answer to one of them is the second-worst bug). The first is the live report's.
    "i'm scared of presenting", "abuse in my past", "anxiety", "panic attacks", "grief",
    "eating", "addiction", "trauma", "depression", "self-esteem",
])
def test_an_issue_named_as_a_forms_answer_is_no_risk(detector, answer):
    assert not detector.assess(answer).at_risk, answer


COMPONENT = "components/train_bot.components.safety_net.SafetyNet9"


def test_a_model_ships_its_detector_only_when_trained_on_this_checkout(detector, tmp_path):
    saved = tmp_path / "saved.pkl"
    detector.save(saved)
    for fingerprint, shipped in [(inputs_fingerprint(), True), ("0" * 64, False)]:
        model = tmp_path / f"{fingerprint[:8]}.tar"  # Rasa's are gzipped: read the same way
        (tmp_path / INPUTS_FILE).write_text(fingerprint, encoding="ascii")
        with tarfile.open(model, "w") as archive:
            archive.add(saved, f"{COMPONENT}/{DETECTOR_FILE}")
            archive.add(tmp_path / INPUTS_FILE, f"{COMPONENT}/{INPUTS_FILE}")
        found = shipped_detector(model)
        assert (found is not None) is shipped
        if found is not None:
            text = "i took all my pills an hour ago"
            assert found.assess(text) == detector.assess(text)
