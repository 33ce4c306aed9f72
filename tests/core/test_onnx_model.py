"""The ONNX Runtime encoder gives the vectors sentence-transformers gives, exported atomically
once per model; models it cannot run exactly are refused or left to torch."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core import onnx_model
from core.errors import ModelError
from core.model import Embedder, load_embedder
from core.settings import Settings

TEXTS = ["How do I sort a list of dictionaries by a key?", "Trust grows slowly. It breaks fast!",
         "word " * 400, "", "naïve café — “quoted” text"]


@pytest.fixture(scope="module")
def model_dir() -> str:
    return Settings().model_path()


@pytest.fixture(scope="module")
def both(model_dir):
    return load_embedder(model_dir, "onnx"), Embedder(model_dir)


def test_the_default_encoder_is_onnx_and_gives_the_torch_vectors(both, model_dir):
    onnx, torch_model = both
    assert isinstance(load_embedder(model_dir), onnx_model.OnnxEmbedder)
    a, b = onnx.encode(TEXTS), torch_model.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert np.abs(a - b).max() < 1e-4
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert onnx.words() == torch_model.words()


def test_token_vectors_and_spans_match_torch_and_pool_to_the_text_vector(both):
    onnx, torch_model = both
    for mine, theirs, text in zip(onnx.encode_tokens(TEXTS), torch_model.encode_tokens(TEXTS), TEXTS):
        assert mine.vectors.shape == theirs.vectors.shape
        assert np.abs(mine.vectors - theirs.vectors).max() < 1e-4
        assert (mine.spans == theirs.spans).all()
        assert float(mine.pooled() @ onnx.encode([text])[0]) > 0.99999
    long = onnx.encode_tokens(["word " * 400])[0]
    assert len(long.vectors) == onnx.max_tokens == 256  # truncated as sentence-transformers does


def test_batches_do_not_change_vectors(both):
    onnx, _ = both
    one_by_one = np.concatenate([onnx.encode([t]) for t in TEXTS])
    assert np.abs(onnx.encode(TEXTS, batch_size=2) - one_by_one).max() < 1e-5


def test_a_failed_export_leaves_nothing_and_torch_takes_over(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def broken(model, out):
        out.write_bytes(b"half a graph")
        raise RuntimeError("killed")

    monkeypatch.setattr(onnx_model, "export", broken)
    load_embedder.cache_clear()
    try:
        assert isinstance(load_embedder(model_dir, "auto"), Embedder)
        with pytest.raises(ModelError, match="ESSAYS_ENCODER=torch"):
            load_embedder(model_dir, "onnx")
    finally:
        load_embedder.cache_clear()
    root = tmp_path / "ask-the-essays" / "onnx"
    assert list(root.iterdir()) == []  # no half-written export


def test_a_damaged_export_says_how_to_fix_it(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = onnx_model.cache_root() / onnx_model.export_key(model_dir)
    target.mkdir(parents=True)
    (target / "model.onnx").write_bytes(b"\x00garbage")
    load_embedder.cache_clear()
    try:
        with pytest.raises(ModelError, match="Delete the folder"):
            load_embedder(model_dir, "auto")
    finally:
        load_embedder.cache_clear()


def test_only_plain_mean_pooling_models_run_on_onnx(model_dir, tmp_path):
    assert onnx_model.supports(model_dir) == ""
    copy = tmp_path / "cls-model"
    shutil.copytree(model_dir, copy, ignore=shutil.ignore_patterns("*.safetensors"))
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    assert "pools with" in onnx_model.supports(str(copy))
    assert "not a local model folder" in onnx_model.supports(str(tmp_path / "nothing"))


def test_the_encoder_setting_is_checked():
    assert Settings.from_env({"ESSAYS_ENCODER": "torch"}).encoder == "torch"
    with pytest.raises(ValueError, match="one of auto, onnx, torch"):
        Settings.from_env({"ESSAYS_ENCODER": "gpu"})


def test_a_cache_folder_that_cannot_be_written_leaves_torch_to_do_the_work(model_dir, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    load_embedder.cache_clear()
    try:
        embedder = load_embedder(model_dir, "auto")
        assert isinstance(embedder, Embedder)
        assert embedder.encode(["still answers"]).shape == (1, 384)
        with pytest.raises(ModelError, match="export to ONNX failed"):
            load_embedder(model_dir, "onnx")
    finally:
        load_embedder.cache_clear()
