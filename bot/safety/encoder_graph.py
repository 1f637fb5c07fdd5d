"""A sentence-transformers encoder as an ONNX graph, built from its weights (no PyTorch export).

`sentence_graph(config, weights)` gives the graph of the encoder the model's config.json
describes (its `model_type`, layers, heads, layer-norm epsilon), followed by the pooling both
models' modules.json ask for: the mean of the token vectors (padding left out), normalised to
unit length. With `pooled_layers=n` the token vectors pooled are the mean of the last n layers'
outputs instead of the last layer's alone (the risk detector's two encoders: see
bot/safety/detector.py). Two encoders are known:
- BERT (all-MiniLM-L6-v2): absolute positions from 0, token types (every token's is 0);
- MPNet (all-mpnet-base-v2): absolute positions from padding_idx + 1, no token types, and a
  relative position bias added to every layer's attention scores (one table, shared by the
  layers, looked up by T5's bucketing of the distance between two tokens).
Inputs: `ids` (texts x tokens, int64 token ids, padding after the end) and `mask` (texts x tokens,
float, 1 for a token and 0 for padding); output: `vectors` (texts x width). Weights are named as
the PyTorch checkpoint names them, without the `bert.` prefix, each dense layer's stored as
(out, in). The graph holds no weights, only their names and shapes (external data): ONNX Runtime
is handed the arrays themselves (SentenceGraph.weights), which saves copying and serialising
hundreds of megabytes (MPNet loaded in 9.3 s with them inside the graph).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import ModelProto, TensorProto, helper, numpy_helper

OPSET = 17  # the first with LayerNormalization
IR_VERSION = 8  # that of opset 17; a newer onnx package would write one ONNX Runtime cannot read


@dataclass(frozen=True)
class _Names:
    """Where an encoder keeps each layer's weights (the part after `encoder.layer.N.`)."""
    query: str
    key: str
    value: str
    attention_out: str
    attention_norm: str


_NAMES = {
    "bert": _Names("attention.self.query", "attention.self.key", "attention.self.value",
                   "attention.output.dense", "attention.output.LayerNorm"),
    "mpnet": _Names("attention.attn.q", "attention.attn.k", "attention.attn.v",
                    "attention.attn.o", "attention.LayerNorm"),
}


@dataclass(frozen=True)
class SentenceGraph:
    model: ModelProto
    weights: dict[str, np.ndarray]  # the graph's external initializers, by name


class _Builder:
    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self._weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[TensorProto] = []
        self.supplied: dict[str, np.ndarray] = {}
        self._names: set[str] = set()

    def constant(self, name: str, value: Any, dtype: Any = np.float32) -> str:
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def supply(self, name: str, value: np.ndarray) -> str:
        """An initializer whose data ONNX Runtime is given at load (add_initializer)."""
        if name not in self._names:
            self._names.add(name)
            self.supplied[name] = np.ascontiguousarray(value, np.float32)
            stub = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=value.shape,
                               data_location=TensorProto.EXTERNAL)
            stub.external_data.add(key="location", value="supplied at load")
            self.initializers.append(stub)
        return name

    def weight(self, name: str, transpose: bool = False) -> str:
        value = self._weights[name]
        return self.supply(name, value.T if transpose else value)

    def op(self, kind: str, *inputs: str, output: str | None = None, **attributes: Any) -> str:
        output = output or f"{kind.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, list(inputs), [output], **attributes))
        return output

    def dense(self, x: str, name: str) -> str:
        product = self.op("MatMul", x, self.weight(name + ".weight", transpose=True))
        return self.op("Add", product, self.weight(name + ".bias"))

    def layer_norm(self, x: str, name: str, epsilon: float) -> str:
        return self.op("LayerNormalization", x, self.weight(name + ".weight"),
                       self.weight(name + ".bias"), axis=-1, epsilon=epsilon)


def relative_position_buckets(length: int, buckets: int = 32,
                              max_distance: int = 128) -> np.ndarray:
    """MPNet's bucket of each (query, key) token pair: T5's bidirectional bucketing (exact for
    small distances, logarithmic up to max_distance), computed in float32 as MPNet's is."""
    distance = np.arange(length)[:, None] - np.arange(length)[None, :]  # query - key
    half = buckets // 2
    exact = half // 2
    bucket = (distance < 0).astype(np.int64) * half
    distance = np.abs(distance)
    logarithmic = exact + (np.log(np.maximum(distance, 1).astype(np.float32) / np.float32(exact))
                           / np.float32(math.log(max_distance / exact))
                           * np.float32(half - exact)).astype(np.int64)
    return bucket + np.where(distance < exact, distance, np.minimum(logarithmic, half - 1))


def sentence_graph(config: Mapping[str, Any], weights: Mapping[str, np.ndarray],
                   pooled_layers: int = 1) -> SentenceGraph:
    kind = str(config.get("model_type", "bert"))
    if kind not in _NAMES:
        raise ValueError(f"no graph for a {kind!r} encoder (known: {', '.join(_NAMES)})")
    names = _NAMES[kind]
    layers, heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
    if not 1 <= pooled_layers <= layers:
        raise ValueError(f"pooled_layers must be 1 to {layers}, not {pooled_layers}")
    epsilon = float(config["layer_norm_eps"])
    width = int(weights["embeddings.word_embeddings.weight"].shape[1])
    head_width = width // heads
    g = _Builder(weights)

    tokens = g.op("Gather", g.op("Shape", "ids"), g.constant("one", 1, np.int64), axis=0)
    # MPNet counts positions from padding_idx + 1 (RoBERTa's convention); BERT from 0.
    first_position = int(config["pad_token_id"]) + 1 if kind == "mpnet" else 0
    start = g.constant("first_position", first_position, np.int64)
    positions = g.op("Range", start, g.op("Add", tokens, start), "one")
    x = g.op("Add", g.op("Gather", g.weight("embeddings.word_embeddings.weight"), "ids", axis=0),
             g.op("Gather", g.weight("embeddings.position_embeddings.weight"), positions, axis=0))
    if "embeddings.token_type_embeddings.weight" in weights:
        token_type = weights["embeddings.token_type_embeddings.weight"][0]  # every token's is 0
        x = g.op("Add", x, g.constant("token_type", token_type))
    x = g.layer_norm(x, "embeddings.LayerNorm", epsilon)

    # Padding takes no attention: -1e9 added to its scores, (texts, 1, 1, tokens).
    bias = g.op("Mul", g.op("Sub", g.constant("1.0", 1.0), "mask"), g.constant("-1e9", -1e9))
    bias = g.op("Unsqueeze", bias, g.constant("axes_1_2", [1, 2], np.int64))
    if "encoder.relative_attention_bias.weight" in weights:
        # (heads, tokens, tokens), the same for every layer: the table for the longest message
        # the embeddings allow, cut to this one's length.
        longest = int(config["max_position_embeddings"]) - first_position
        table = weights["encoder.relative_attention_bias.weight"][relative_position_buckets(
            longest, int(config.get("relative_attention_num_buckets", 32)))]
        length = g.op("Unsqueeze", tokens, g.constant("axis_0", [0], np.int64))
        cut = g.op("Concat", length, length, axis=0)
        relative = g.op("Slice", g.supply("relative_bias", table.transpose(2, 0, 1)),
                        g.constant("zeros_2", [0, 0], np.int64), cut,
                        g.constant("axes_1_2", [1, 2], np.int64))
        bias = g.op("Add", bias, relative)
    by_head = g.constant("by_head", [0, 0, heads, head_width], np.int64)
    merged = g.constant("merged", [0, 0, width], np.int64)
    scale = g.constant("scale", 1 / math.sqrt(head_width))

    def split(t: str) -> str:  # (texts, heads, tokens, head width)
        return g.op("Transpose", g.op("Reshape", t, by_head), perm=[0, 2, 1, 3])

    outputs = []  # each layer's token vectors
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        q, k, v = (split(g.dense(x, prefix + part))
                   for part in (names.query, names.key, names.value))
        scores = g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2]))
        scores = g.op("Add", g.op("Mul", scores, scale), bias)
        attention = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        attention = g.op("Reshape", g.op("Transpose", attention, perm=[0, 2, 1, 3]), merged)
        x = g.layer_norm(g.op("Add", x, g.dense(attention, prefix + names.attention_out)),
                         prefix + names.attention_norm, epsilon)
        hidden = g.dense(x, prefix + "intermediate.dense")
        # The exact GELU: x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)).
        phi = g.op("Add", g.constant("1.0", 1.0),
                   g.op("Erf", g.op("Mul", hidden, g.constant("1/sqrt2", 1 / math.sqrt(2)))))
        hidden = g.op("Mul", g.op("Mul", hidden, g.constant("0.5", 0.5)), phi)
        x = g.layer_norm(g.op("Add", x, g.dense(hidden, prefix + "output.dense")),
                         prefix + "output.LayerNorm", epsilon)
        outputs.append(x)

    if pooled_layers > 1:
        x = g.op("Mean", *outputs[-pooled_layers:])
    # The mean over the message's tokens, then unit length.
    token_mask = g.op("Unsqueeze", "mask", g.constant("axis_2", [2], np.int64))
    axis_1 = g.constant("axis_1", [1], np.int64)
    pooled = g.op("Div", g.op("ReduceSum", g.op("Mul", x, token_mask), axis_1, keepdims=0),
                  g.op("ReduceSum", token_mask, axis_1, keepdims=0))
    length = g.op("Max", g.op("ReduceL2", pooled, axes=[1], keepdims=1),
                  g.constant("1e-12", 1e-12))
    g.op("Div", pooled, length, output="vectors")

    graph = helper.make_graph(
        g.nodes, "sentence_embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["texts", "tokens"]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["texts", "tokens"])],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["texts", width])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION)
    return SentenceGraph(model, g.supplied)
