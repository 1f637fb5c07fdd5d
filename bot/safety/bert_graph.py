"""A sentence-transformers BERT model as an ONNX graph, built from its weights (no PyTorch export).

`sentence_graph(config, weights)` gives the graph of BERT's encoder as the model's config.json
describes it (its layers, heads, layer-norm epsilon), followed by the pooling of
all-MiniLM-L6-v2's modules.json: the mean of the token vectors (padding left out), normalised to
unit length. Inputs: `ids` (texts x tokens, int64 WordPiece ids, 0 after the end) and `mask`
(texts x tokens, float, 1 for a token and 0 for padding); output: `vectors` (texts x width).
Weights are named as the PyTorch checkpoint names them, without the `bert.` prefix, each dense
layer's stored as (out, in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from onnx import ModelProto, TensorProto, helper, numpy_helper

OPSET = 17  # the first with LayerNormalization
IR_VERSION = 8  # that of opset 17; a newer onnx package would write one ONNX Runtime cannot read


class _Builder:
    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self._weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[TensorProto] = []
        self._names: set[str] = set()

    def constant(self, name: str, value: Any, dtype: Any = np.float32) -> str:
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def weight(self, name: str, transpose: bool = False) -> str:
        value = self._weights[name]
        return self.constant(name, np.ascontiguousarray(value.T) if transpose else value)

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


def sentence_graph(config: Mapping[str, Any], weights: Mapping[str, np.ndarray]) -> ModelProto:
    layers, heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
    epsilon = float(config["layer_norm_eps"])
    width = int(weights["embeddings.word_embeddings.weight"].shape[1])
    head_width = width // heads
    g = _Builder(weights)

    tokens = g.op("Gather", g.op("Shape", "ids"), g.constant("one", 1, np.int64), axis=0)
    positions = g.op("Range", g.constant("zero", 0, np.int64), tokens, "one")
    x = g.op("Add", g.op("Gather", g.weight("embeddings.word_embeddings.weight"), "ids", axis=0),
             g.op("Gather", g.weight("embeddings.position_embeddings.weight"), positions, axis=0))
    token_type = weights["embeddings.token_type_embeddings.weight"][0]  # every token's is 0
    x = g.op("Add", x, g.constant("token_type", token_type))
    x = g.layer_norm(x, "embeddings.LayerNorm", epsilon)

    # Padding takes no attention: -1e9 added to its scores, (texts, 1, 1, tokens).
    padding = g.op("Mul", g.op("Sub", g.constant("1.0", 1.0), "mask"), g.constant("-1e9", -1e9))
    padding = g.op("Unsqueeze", padding, g.constant("axes_1_2", [1, 2], np.int64))
    by_head = g.constant("by_head", [0, 0, heads, head_width], np.int64)
    merged = g.constant("merged", [0, 0, width], np.int64)
    scale = g.constant("scale", 1 / math.sqrt(head_width))

    def split(t: str) -> str:  # (texts, heads, tokens, head width)
        return g.op("Transpose", g.op("Reshape", t, by_head), perm=[0, 2, 1, 3])

    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        q, k, v = (split(g.dense(x, prefix + "attention.self." + part))
                   for part in ("query", "key", "value"))
        scores = g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2]))
        scores = g.op("Add", g.op("Mul", scores, scale), padding)
        attention = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        attention = g.op("Reshape", g.op("Transpose", attention, perm=[0, 2, 1, 3]), merged)
        x = g.layer_norm(g.op("Add", x, g.dense(attention, prefix + "attention.output.dense")),
                         prefix + "attention.output.LayerNorm", epsilon)
        hidden = g.dense(x, prefix + "intermediate.dense")
        # BERT's exact GELU: x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)).
        phi = g.op("Add", g.constant("1.0", 1.0),
                   g.op("Erf", g.op("Mul", hidden, g.constant("1/sqrt2", 1 / math.sqrt(2)))))
        hidden = g.op("Mul", g.op("Mul", hidden, g.constant("0.5", 0.5)), phi)
        x = g.layer_norm(g.op("Add", x, g.dense(hidden, prefix + "output.dense")),
                         prefix + "output.LayerNorm", epsilon)

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
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                             ir_version=IR_VERSION)
