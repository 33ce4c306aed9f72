"""The embed step: one encoding per passage; each sentence's vector from its tokens there."""
from __future__ import annotations

import numpy as np
import pytest

from core.model import load_embedder
from core.onnx_model import Tokens
from core.passage import Passage
from core.settings import Settings
from ingest.embedding import embed_passages, embed_text, sentence_tokens


def tokens_of(text: str) -> Tokens:
    """Whitespace words as tokens, between two special tokens; vector i is i+1 in every cell."""
    spans, at = [(0, 0)], 0
    for word in text.split():
        at = text.index(word, at)
        spans.append((at, at + len(word)))
        at += len(word)
    spans.append((0, 0))
    vectors = np.arange(1, len(spans) + 1, dtype="float32")[:, None] * np.ones((1, 4), dtype="float32")
    return Tokens(vectors, np.array(spans))


def test_each_sentence_gets_its_own_tokens_after_the_context():
    text = "Intro: Intro words. Second one here."
    found = sentence_tokens(text, len("Intro: "), ["Intro words.", "Second one here."], tokens_of(text))
    assert [v[:, 0].tolist() for v in found] == [[3, 4], [5, 6, 7]]  # not the "Intro:" of the context


def test_sentences_past_the_encoding_or_not_found_are_left_for_encoding_alone():
    text = "One two. Three four."
    tokens = tokens_of(text)
    cut = Tokens(tokens.vectors[:3], tokens.spans[:3])  # truncated after "two."
    assert [v is None for v in sentence_tokens(text, 0, ["One two.", "Three four."], cut)] == [False, True]
    assert sentence_tokens(text, 0, ["Missing.", ""], tokens) == [None, None]


def passage(text: str, sentences: list[tuple[int, int]]) -> Passage:
    return Passage(id="p", source="a.txt", title="Title", section="Part", question="", kind="body",
                   paragraph=1, paragraph_end=1, start=0, end=len(text), text=text,
                   sentences=tuple(sentences))


@pytest.fixture(scope="module")
def model():
    settings = Settings()
    return load_embedder(settings.model_path(), settings.encoder)


def test_real_model_sentence_vectors_are_read_in_their_passage(model):
    text = "Sorting is stable. Equal keys keep their original order."
    p = passage(text, [(0, 18), (19, len(text))])
    pv, sv = embed_passages(model, [p], Settings())
    read = embed_text(p, True)
    assert read.startswith("Title") and read.endswith(text)
    assert float(pv[0] @ model.encode([read])[0]) > 0.99999
    found = sentence_tokens(read, len(read) - len(text), ["Sorting is stable.",
                            "Equal keys keep their original order."], model.encode_tokens([read])[0])
    assert [len(v) for v in found] == [4, 7]  # "sorting is stable ." and seven more
    expected = found[1].mean(0) / np.linalg.norm(found[1].mean(0))
    assert float(sv[1] @ expected) > 0.99999
    alone = model.encode(["Equal keys keep their original order."])[0]
    assert 0.5 < float(sv[1] @ alone) < 0.9999  # in context: close to, not the same as, alone
    off_pv, off_sv = embed_passages(model, [p], Settings(sentence_context=False))
    assert np.abs(off_pv - pv).max() < 1e-4
    assert float(off_sv[1] @ alone) > 0.99999


def test_a_passage_longer_than_the_model_reads_encodes_the_rest_alone(model):
    first = "Short opening sentence here."
    rest = " ".join(["word"] * 300) + "."
    text = f"{first} {rest}"
    p = passage(text, [(0, len(first)), (len(first) + 1, len(text))])
    pv, sv = embed_passages(model, [p], Settings())
    assert sv.shape == (2, model.dimension)
    assert float(sv[1] @ model.encode([rest])[0]) > 0.99999
