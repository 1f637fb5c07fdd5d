#!/usr/bin/env python3
"""Fail when the held-out NLU scores fall below the bars.

Reads the reports `rasa test nlu` writes (intent_report.json and <Extractor>_report.json) and
exits 1 when intent macro-F1 or entity F1 is below its bar, 2 when a report is missing.

Usage (from the repository root):
  rasa test nlu --nlu tests/nlu_holdout --model models --out results/nlu_holdout
  python tests/bot/nlu_gate.py --report-dir results/nlu_holdout
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _load(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"missing report: {path} (run `rasa test nlu` first)")
    return json.loads(path.read_text())


def _f1(report: dict, average: str) -> float:
    return float(report.get(average, {}).get("f1-score", 0.0))


def _counts(per_entity: dict) -> tuple[float, float, float]:
    """True positives, predictions and gold mentions from one entity's report row."""
    support = float(per_entity.get("support", 0))
    true_positives = float(per_entity.get("recall", 0.0)) * support
    precision = float(per_entity.get("precision", 0.0))
    predicted = true_positives / precision if precision else 0.0
    return true_positives, predicted, support


def combined_entity_f1(reports: dict[str, dict], owners: dict[str, str], default: str) -> float:
    """Micro-F1 over all entity types, each scored on the extractor that owns it.

    `rasa test nlu` scores every extractor against every annotated entity, so an extractor that
    only handles invite codes (RegexEntityExtractor) looks bad on issues, and the neural model
    looks bad on random codes it is not meant to extract. Each entity type counts once here.
    """
    true_positives = predicted = gold = 0.0
    entity_types = {name for report in reports.values() for name, row in report.items()
                    if isinstance(row, dict) and "support" in row and name not in _AVERAGES}
    for entity in entity_types:
        row = reports[owners.get(entity, default)].get(entity, {})
        tp, pred, sup = _counts(row)
        true_positives, predicted, gold = true_positives + tp, predicted + pred, gold + sup
    if not true_positives:
        return 0.0
    precision, recall = true_positives / predicted, true_positives / gold
    return 2 * precision * recall / (precision + recall)


_AVERAGES = {"micro avg", "macro avg", "weighted avg", "accuracy", "no_entity"}


def evaluate(report_dir: Path, owners: dict[str, str], default: str) -> dict[str, float]:
    """Intent macro-F1, entity F1 (each entity on its own extractor), FAQ selection."""
    scores = {"intent macro-F1": _f1(_load(report_dir / "intent_report.json"), "macro avg")}
    extractors = {default, *owners.values()}
    reports = {name: _load(report_dir / f"{name}_report.json") for name in extractors}
    scores["entity micro-F1 (each entity on its extractor)"] = combined_entity_f1(
        reports, owners, default)
    for name, report in sorted(reports.items()):
        scores[f"  info: {name} micro-F1 over all entities"] = _f1(report, "micro avg")
    selection = report_dir / "response_selection_report.json"
    if selection.is_file():
        scores["FAQ response selection macro-F1"] = _f1(_load(selection), "macro avg")
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-dir", type=Path, default=Path("results/nlu_holdout"),
                        help="the --out directory of `rasa test nlu` (default: %(default)s)")
    parser.add_argument("--min-intent-f1", type=float, default=0.95,
                        help="bar for intent macro-F1 (default: %(default)s)")
    parser.add_argument("--min-entity-f1", type=float, default=0.90,
                        help="bar for each extractor's entity F1 (default: %(default)s)")
    parser.add_argument("--owner", action="append", default=[], metavar="ENTITY=EXTRACTOR",
                        help="the extractor that handles an entity type "
                             "(default: invite_code=RegexEntityExtractor)")
    parser.add_argument("--default-extractor", default="DIETClassifier",
                        help="the extractor of every other entity type (default: %(default)s)")
    args = parser.parse_args(argv)
    owners = dict(item.split("=", 1) for item in args.owner) or {
        "invite_code": "RegexEntityExtractor"}
    try:
        scores = evaluate(args.report_dir, owners, args.default_extractor)
    except FileNotFoundError as error:
        print(f"nlu_gate: {error}", file=sys.stderr)
        return 2
    failed = False
    for name, score in scores.items():
        bar = args.min_intent_f1 if name.startswith("intent") else \
            args.min_entity_f1 if name.startswith("entity") else None
        verdict = "" if bar is None else ("ok" if score >= bar else f"BELOW {bar:.2f}")
        failed = failed or (bar is not None and score < bar)
        print(f"{name:<52} {score:.3f}  {verdict}")
    print("nlu_gate: FAILED" if failed else "nlu_gate: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
