"""The labels of the safety data sets and the risk kinds of the NLU interface (issue 10)."""

from __future__ import annotations

from pathlib import Path

import yaml

# Most urgent first: when a message fits several kinds, the first one wins.
RISK_KINDS: tuple[str, ...] = (
    "emergency", "danger_from_others", "harm_to_others", "suicidal", "someone_else",
)
LOW_MOOD = "low_mood"
NO_RISK = "none"
LABELS: tuple[str, ...] = (*RISK_KINDS, LOW_MOOD, NO_RISK)
TRAINING_FILE = Path(__file__).resolve().parent / "data" / "train.yml"


class DatasetError(ValueError):
    pass


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs of a data set file: `examples: {label: [text, ...]}`."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = document.get("examples")
    if not isinstance(groups, dict):
        raise DatasetError(f"{path}: expected a mapping 'examples: {{label: [texts]}}'")
    examples: list[tuple[str, str]] = []
    for label, texts in groups.items():
        if label not in LABELS:
            raise DatasetError(f"{path}: unknown label {label!r} (expected one of {LABELS})")
        if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
            raise DatasetError(f"{path}: label {label!r} must list non-empty strings "
                               "(quote yes/no/ok so that YAML keeps them text)")
        examples.extend((text, label) for text in texts)
    return examples


def most_urgent(kinds: set[str]) -> str:
    return next(kind for kind in RISK_KINDS if kind in kinds)
