"""What the detector trains on: the labelled safety set, plus every ordinary request of the bot's
NLU data (bot/data/nlu, all intents but the safety ones) as messages without risk (the
detector weighs them up: a crisis answer to "goodbye" or "do it" is the worst false alarm)."""

from __future__ import annotations

import hashlib
import re
import tarfile
from pathlib import Path

import yaml

from bot.safety.detector import (
    RISK_THRESHOLD,
    Detector,
    Encoders,
    first_encoder,
    second_encoder,
)
from bot.safety.labels import NO_RISK, TRAINING_FILE, load_examples

REPO = Path(__file__).resolve().parents[2]
NLU_DIR = REPO / "bot" / "data" / "nlu"
# The sentence vectors of the training texts by each encoder, kept between trainings (data/ is not
# committed): encoding them afresh takes about 10 s with MiniLM and 90 s with MPNet.
EMBEDDING_CACHES = (REPO / "data" / "safety-embeddings.npz",
                    REPO / "data" / "safety-embeddings-mpnet.npz")
# How a trained model keeps the detector (bot/components/safety_net.py): the detector, and the
# fingerprint of what it was trained on.
DETECTOR_FILE = "detector.pkl"
INPUTS_FILE = "inputs.sha256"
# Intents whose examples are not ordinary requests: they are learnt from the safety set.
SAFETY_INTENTS = frozenset({"safety_risk", "low_mood"})
_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def ordinary_requests(nlu_dir: Path = NLU_DIR) -> list[str]:
    texts: list[str] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = item.get("intent") if isinstance(item, dict) else None
            if not intent or intent.split("/")[0] in SAFETY_INTENTS:
                continue
            for line in str(item.get("examples") or "").splitlines():
                text = _ENTITY_MARKUP.sub(r"\1", line.strip().removeprefix("- ").strip())
                if text:
                    texts.append(text)
    return texts


def training_examples(safety_file: Path = TRAINING_FILE,
                      nlu_dir: Path = NLU_DIR) -> list[tuple[str, str]]:
    return [*load_examples(safety_file), *((text, NO_RISK) for text in ordinary_requests(nlu_dir))]


def training_encoders(pooled_layers: tuple[int, int] | None = None) -> Encoders:
    """The two stages' encoders, on every core, each with its cache of vectors. pooled_layers:
    the layers each pools, when not the detector's (a comparison: then without the caches)."""
    if pooled_layers is not None:
        return first_encoder(pooled_layers[0]), second_encoder(pooled_layers[1])
    first_cache, second_cache = EMBEDDING_CACHES
    return first_encoder(cache=first_cache), second_encoder(cache=second_cache)


def train_detector(safety_file: Path = TRAINING_FILE, nlu_dir: Path = NLU_DIR,
                   risk_threshold: float = RISK_THRESHOLD) -> Detector:
    return Detector.train(load_examples(safety_file), ordinary_requests(nlu_dir), risk_threshold,
                          training_encoders())


def inputs_fingerprint(safety_file: Path = TRAINING_FILE, nlu_dir: Path = NLU_DIR) -> str:
    """Changes when any training input or the detector's code changes (Rasa's cache does not see
    files it did not read)."""
    digest = hashlib.sha256()
    code = sorted(Path(__file__).resolve().parent.glob("*.py"))
    for path in [safety_file, *sorted(nlu_dir.glob("*.yml")), *code]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def shipped_detector(model: Path) -> Detector | None:
    """The detector a trained Rasa model (its .tar.gz) ships, when it was trained on this
    checkout's data and code (its fingerprint matches); None otherwise."""
    saved: dict[str, bytes] = {}
    with tarfile.open(model) as archive:
        for member in archive:
            name = Path(member.name).name
            if "SafetyNet" in member.name and name in (DETECTOR_FILE, INPUTS_FILE):
                file = archive.extractfile(member)
                if file is not None:
                    saved[name] = file.read()
    if saved.get(INPUTS_FILE, b"").decode("ascii") != inputs_fingerprint():
        return None
    return Detector.from_bytes(saved[DETECTOR_FILE], f"{model}: {DETECTOR_FILE}")
