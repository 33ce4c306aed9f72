"""The optional cross-encoder re-ranker, with a small cross-encoder built offline.

No trained cross-encoder can be downloaded here, so the test builds one from the bundled
MiniLM weights with a fresh (seeded) scoring head: its scores mean nothing, but they are real
cross-encoder scores, which is what the code path needs to be checked against.
"""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import ModelError
from core.model import Reranker


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory, settings):
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(settings.model_path(), num_labels=1, device="cpu").save(str(path))
    return str(path)


def test_reranker_orders_candidates_by_cross_encoder_score(searcher, tiny_cross_encoder):
    question = "How do some people protect themselves after being hurt?"
    plain = searcher.with_settings(diversity=0.0)
    candidates = plain.search(question, k=32).results  # the re-ranker sees 4 x k candidates
    reranked = plain.with_settings(reranker=tiny_cross_encoder).search(question, k=8).results
    direct = Reranker(tiny_cross_encoder).scores(question, [r.text for r in candidates])
    expected = [candidates[i].id for i in np.argsort(-direct, kind="stable")[:8]]
    assert [r.id for r in reranked] == expected
    assert [r.score for r in reranked] == pytest.approx(sorted(direct, reverse=True)[:8])


def test_missing_reranker_model_says_what_to_do(searcher, tmp_path):
    with pytest.raises(ModelError, match="ESSAYS_RERANKER"):
        searcher.with_settings(reranker=str(tmp_path / "no-such-model")).search("trust")
