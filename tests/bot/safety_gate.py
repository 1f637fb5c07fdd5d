#!/usr/bin/env python3
"""Score the risk detector on the held-out set it never trains on, and fail below the bars.

With --model, judges the detector that model ships when it was trained on this checkout's data and
code; otherwise trains one exactly as the NLU component does (bot/safety/data/train.yml plus the
bot's ordinary requests). Assesses every line of tests/safety_holdout/holdout.yml and prints, per
kind, how many risks were detected at all and with the right kind; the overall recall; the
false-alarm rate on messages without risk; low-mood accuracy; the recall and false alarms should
an encoder fail (the detector then reads less deep, bot.safety.detector.Depth); the cost per
message, held out and of the bot's ordinary requests. With --model it also runs the trained Rasa
model (the whole NLU pipeline, DIET included) on the same texts. Prints whether the issue's
targets (recall 0.99, false alarms 2%) are met; exits 1 below the floors given (--min-recall,
--max-false-alarms, --min-right-kind: a ratchet set to the figures reached, default the targets)
or when the pipeline does worse than the detector.

Usage (from the repository root, in the Rasa environment):
  .venv-rasa/bin/python tests/bot/safety_gate.py [--model models]
      [--min-recall R --max-false-alarms F --min-right-kind K]
      [--tune [--target-recall R] [--pooled-layers FIRST SECOND]]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bot.safety.detector import SECOND_STAGE_RECALL, Depth, Detector, Evidence  # noqa: E402
from bot.safety.labels import LOW_MOOD, RISK_KINDS, TRAINING_FILE, load_examples  # noqa: E402
from bot.safety.training import (  # noqa: E402
    ordinary_requests,
    shipped_detector,
    train_detector,
    training_encoders,
)

HOLDOUT = REPO / "tests" / "safety_holdout" / "holdout.yml"
NLU_HOLDOUT = REPO / "tests" / "nlu_holdout"
# The targets: printed with whether they are met.
TARGET_RECALL = 0.99
TARGET_FALSE_ALARMS = 0.02
# The recalls at which --tune also prints the cross-validated false alarms.
TRADE_OFF_RECALLS = (0.99, 0.98, 0.97, 0.95, 0.90)


@dataclass(frozen=True)
class Verdict:
    kind: str | None
    low_mood: bool


@dataclass
class Scores:
    name: str
    detected: dict[str, int] = field(default_factory=dict)
    right_kind: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    false_alarms: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    negatives: int = 0
    # Per label of the messages without risk (low_mood, none): how many, how many taken for a risk.
    negatives_by_label: dict[str, int] = field(default_factory=dict)
    false_alarms_by_label: dict[str, int] = field(default_factory=dict)
    low_mood_right: int = 0
    low_mood_total: int = 0

    @property
    def recall(self) -> float:
        return sum(self.detected.values()) / max(1, sum(self.total.values()))

    @property
    def kind_accuracy(self) -> float:
        return sum(self.right_kind.values()) / max(1, sum(self.total.values()))

    @property
    def false_alarm_rate(self) -> float:
        return len(self.false_alarms) / max(1, self.negatives)


def score(name: str, examples: Sequence[tuple[str, str]],
          verdicts: Sequence[Verdict]) -> Scores:
    scores = Scores(name)
    for (text, label), verdict in zip(examples, verdicts, strict=True):
        if label in RISK_KINDS:
            scores.total[label] = scores.total.get(label, 0) + 1
            found = verdict.kind is not None
            scores.detected[label] = scores.detected.get(label, 0) + found
            scores.right_kind[label] = scores.right_kind.get(label, 0) + (verdict.kind == label)
            if not found:
                scores.misses.append(f"[{label}] {text}")
            continue
        scores.negatives += 1
        scores.negatives_by_label[label] = scores.negatives_by_label.get(label, 0) + 1
        if verdict.kind is not None:
            scores.false_alarms.append(f"[{label} -> {verdict.kind}] {text}")
            scores.false_alarms_by_label[label] = scores.false_alarms_by_label.get(label, 0) + 1
        if label == LOW_MOOD:
            scores.low_mood_total += 1
            scores.low_mood_right += verdict.kind is None and verdict.low_mood
    return scores


def report(scores: Scores) -> None:
    print(f"\n== {scores.name}")
    print(f"  {'kind':<20}{'n':>5}{'detected':>10}{'right kind':>12}")
    for kind in RISK_KINDS:
        n = scores.total.get(kind, 0)
        print(f"  {kind:<20}{n:>5}{scores.detected.get(kind, 0) / max(1, n):>10.3f}"
              f"{scores.right_kind.get(kind, 0) / max(1, n):>12.3f}")
    print(f"  recall (risk detected) {scores.recall:.3f}  right kind {scores.kind_accuracy:.3f}")
    by_label = ", ".join(f"{label} {scores.false_alarms_by_label.get(label, 0)}/{n}"
                         for label, n in sorted(scores.negatives_by_label.items()))
    print(f"  false alarms {len(scores.false_alarms)}/{scores.negatives} = "
          f"{scores.false_alarm_rate:.3f} ({by_label})")
    print(f"  low mood recognised (as low mood, not risk) {scores.low_mood_right}/"
          f"{scores.low_mood_total}")
    for line in scores.misses:
        print(f"  missed: {line}")
    for line in scores.false_alarms:
        print(f"  false alarm: {line}")


def cost_per_message(assess: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    """Microseconds per message, each assessed alone (as the Rasa server does)."""
    timings = []
    for text in texts:
        start = time.perf_counter()
        assess(text)
        timings.append((time.perf_counter() - start) * 1e6)
    return timings


def pipeline_verdicts(model: Path, texts: Sequence[str]) -> list[Verdict]:
    from rasa.core.agent import Agent
    from rasa.model import get_local_model
    from rasa.utils.log_utils import configure_structlog

    from bot import rasa_server

    rasa_server.apply()  # the model loads as the Rasa server loads it
    # Unconfigured, structlog prints Rasa's debug line for every parse, message text included.
    configure_structlog(logging.WARNING)
    agent = Agent.load(get_local_model(str(model)))

    async def parse_all() -> list[Verdict]:
        verdicts = []
        for text in texts:
            parsed = await agent.parse_message(text)
            intent = (parsed.get("intent") or {}).get("name")
            kinds = [e.get("value") for e in parsed.get("entities") or []
                     if e.get("entity") == "risk_kind"]
            risk = intent == "safety_risk"
            verdicts.append(Verdict((kinds[0] if kinds else "unknown") if risk else None,
                                    intent == LOW_MOOD))
        return verdicts

    return asyncio.run(parse_all())


def tune(target_recall: float, pooled_layers: tuple[int, int] | None = None) -> None:
    """The second stage's entry and the threshold, in 5-fold cross-validation on the training set:
    the entry is the first stage's score giving recall SECOND_STAGE_RECALL (with the lexicon's
    matches, which always enter); the threshold gives target_recall for the detector's whole
    decision rule (Evidence.at_risk: the lexicon's lower bar, the entry and the request veto
    included), not for the score alone. The bot's requests are split into folds too, so that the
    veto is judged on requests it did not learn. Also the thresholds at the shallower depths (an
    encoder failing). pooled_layers: the encoders' pooling, when not the detector's."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold

    examples = load_examples(TRAINING_FILE)
    requests = ordinary_requests()
    encoders = training_encoders(pooled_layers)
    labels = np.array([label for _, label in examples])
    folds = zip(StratifiedKFold(5, shuffle=True, random_state=0).split(examples, labels),
                KFold(5, shuffle=True, random_state=0).split(requests), strict=True)
    # The evidence at each depth (the shallower ones: when an encoder fails).
    by_depth: dict[Depth, list[Evidence]] = {depth: [] for depth in Depth}
    request_evidence: list[Evidence] = []
    order: list[int] = []
    for (train, test), (requests_train, requests_test) in folds:
        # Entry 0: the second stage judges every message, so that any entry can be tried below.
        detector = Detector.train([examples[i] for i in train],
                                  [requests[i] for i in requests_train], encoders=encoders,
                                  second_stage_entry=0.0)
        for depth, found in by_depth.items():
            found += detector.evidence_many([examples[i][0] for i in test], encoders, depth)
        request_evidence += detector.evidence_many([requests[i] for i in requests_test], encoders)
        order += list(test)
    evidence = by_depth[Depth.SECOND]
    labels = labels[order]  # in the order of evidence
    positives = np.isin(labels, RISK_KINDS)

    def highest(scores: list[float], falls_short: Callable[[float], bool]) -> float:
        """The highest of the scores at which recall does not yet fall short (recall falls as
        the bar rises)."""
        candidates = sorted(set(scores))
        return candidates[max(0, bisect.bisect_left(candidates, True, key=falls_short) - 1)]

    def entering(entry: float, of: Sequence[Evidence] = evidence) -> np.ndarray:
        return np.array([e.lexicon_match or e.first_score >= entry for e in of])

    entry = highest([e.first_score for e, p in zip(evidence, positives, strict=True) if p],
                    lambda t: bool(entering(t)[positives].mean() < SECOND_STAGE_RECALL))

    def decisions(threshold: float, of: Sequence[Evidence] = evidence,
                  entry: float = entry) -> np.ndarray:
        return np.array([e.at_risk(threshold, entry) for e in of])

    def threshold_for(of: Sequence[Evidence], entry: float,
                      recall: float = target_recall) -> float:
        """The highest threshold at which the whole rule keeps the recall."""
        return highest([e.score for e, p in zip(of, positives, strict=True) if p],
                       lambda t: bool(decisions(t, of, entry)[positives].mean() < recall))

    threshold = threshold_for(evidence, entry)
    chosen = decisions(threshold)
    print(f"second stage entry for cross-validated recall {SECOND_STAGE_RECALL}: {entry:.3f} "
          f"(recall {entering(entry)[positives].mean():.4f}; entering: "
          f"{entering(entry)[~positives].mean():.2f} of the training set's negatives, "
          f"{entering(entry, request_evidence).mean():.3f} of its requests)")
    print(f"threshold for cross-validated recall {target_recall}: {threshold:.3f} "
          f"(recall {chosen[positives].mean():.4f}, false alarms {chosen[~positives].mean():.3f} "
          f"of the training set's negatives, {chosen[labels == LOW_MOOD].mean():.3f} of its low "
          f"mood, {decisions(threshold, request_evidence).sum()} of its {len(requests)} requests)")
    # What a lower recall would buy: whether any threshold meets both of the targets.
    trade = []
    for recall in TRADE_OFF_RECALLS:
        chosen = decisions(threshold_for(evidence, entry, recall))
        trade.append(f"{recall}: {chosen[~positives].mean():.3f}")
    print(f"false alarms at cross-validated recall {', '.join(trade)}")
    for depth in (Depth.FIRST, Depth.NGRAMS):  # the whole rule, without the second stage
        shallow = by_depth[depth]
        bar = threshold_for(shallow, 0.0)
        chosen = decisions(bar, shallow, 0.0)
        print(f"threshold at depth {depth.name} (an encoder failed) for cross-validated recall "
              f"{target_recall}: {bar:.3f} (recall {chosen[positives].mean():.4f}, false alarms "
              f"{chosen[~positives].mean():.3f})")


def judged_detector(model: Path | None) -> Detector:
    """The detector the model ships when it was trained on this checkout's data and code (what
    users get; `make test` trains the model just before); else one trained as the model would."""
    if model is not None:
        from rasa.model import get_local_model

        shipped = shipped_detector(Path(get_local_model(str(model))))
        if shipped is not None:
            print(f"detector: the one {model} ships (trained on this checkout's data and code)")
            return shipped
        print(f"detector: {model} was trained on other data or code; training one now")
    started = time.perf_counter()
    detector = train_detector()
    print(f"detector trained in {time.perf_counter() - started:.1f} s")
    return detector


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="also score this Rasa model (file or folder)")
    parser.add_argument("--tune", action="store_true", help="print the cross-validated threshold")
    parser.add_argument("--target-recall", type=float, default=TARGET_RECALL,
                        help="the cross-validated recall --tune aims at (default %(default)s)")
    parser.add_argument("--pooled-layers", type=int, nargs=2, metavar=("FIRST", "SECOND"),
                        help="with --tune: how many last layers each encoder pools, to compare "
                             "with the detector's (encodes the training set afresh)")
    parser.add_argument("--min-recall", type=float, default=TARGET_RECALL,
                        help="fail below this recall (the ratchet; default the target)")
    parser.add_argument("--max-false-alarms", type=float, default=TARGET_FALSE_ALARMS,
                        help="fail above this false-alarm rate (the ratchet; default the target)")
    parser.add_argument("--min-right-kind", type=float, default=0.0,
                        help="fail when fewer risks than this get the right kind (the ratchet)")
    args = parser.parse_args()
    if args.tune:
        tune(args.target_recall, tuple(args.pooled_layers) if args.pooled_layers else None)
        return 0
    holdout = load_examples(HOLDOUT)
    texts = [text for text, _ in holdout]
    detector = judged_detector(args.model)
    print(f"held-out set: {len(holdout)} messages ({HOLDOUT.relative_to(REPO)})")
    detector_scores = score("risk detector (bot/safety/detector.py)", holdout,
                            [Verdict(a.kind, a.low_mood) for a in detector.assess_many(texts)])
    report(detector_scores)
    for depth, failed in ((Depth.FIRST, "the second stage's encoder"),
                          (Depth.NGRAMS, "both encoders")):
        shallow = score(depth.name, holdout, [Verdict(a.kind, a.low_mood)
                                              for a in detector.assess_many(texts, depth=depth)])
        print(f"  should {failed} fail (threshold {detector.bar(depth)[0]:.3f}): recall "
              f"{shallow.recall:.3f}, false alarms {len(shallow.false_alarms)}/{shallow.negatives}"
              f" = {shallow.false_alarm_rate:.3f}")
    # Most held-out messages reach the second stage; most of what people send the bot does not.
    requests = ordinary_requests(NLU_HOLDOUT)
    for name, measured in (("held-out message", texts),
                           ("ordinary request (tests/nlu_holdout)", requests)):
        timings = cost_per_message(detector.assess, measured)
        print(f"  cost per {name}: median {statistics.median(timings):.0f} us, "
              f"p95 {statistics.quantiles(timings, n=20)[-1]:.0f} us ({len(timings)} calls)")
    failures = []
    if detector_scores.recall < args.min_recall:
        failures.append(f"detector recall {detector_scores.recall:.3f} < floor {args.min_recall}")
    if detector_scores.false_alarm_rate > args.max_false_alarms:
        failures.append(f"detector false alarms {detector_scores.false_alarm_rate:.3f} > "
                        f"ceiling {args.max_false_alarms}")
    if detector_scores.kind_accuracy < args.min_right_kind:
        failures.append(f"detector right kind {detector_scores.kind_accuracy:.3f} < floor "
                        f"{args.min_right_kind}")
    if args.model:
        pipeline = score(f"whole NLU pipeline ({args.model})", holdout,
                         pipeline_verdicts(args.model, texts))
        report(pipeline)
        if pipeline.recall < detector_scores.recall:
            failures.append(f"pipeline recall {pipeline.recall:.3f} below the detector's")
        if pipeline.false_alarm_rate > detector_scores.false_alarm_rate:
            failures.append(f"pipeline false alarms {pipeline.false_alarm_rate:.3f} above the "
                            "detector's")
    for name, met in [
        (f"recall >= {TARGET_RECALL}", detector_scores.recall >= TARGET_RECALL),
        (f"false alarms <= {TARGET_FALSE_ALARMS}",
         detector_scores.false_alarm_rate <= TARGET_FALSE_ALARMS),
    ]:
        print(f"target (issue 10) {name}: {'met' if met else 'NOT MET'}")
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        print(f"passed the ratchet: recall >= {args.min_recall}, "
              f"false alarms <= {args.max_false_alarms}, right kind >= {args.min_right_kind}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
