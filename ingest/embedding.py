"""The embed step of ingest: a passage's vector and its sentences' vectors.

Each passage is encoded once, with its title and section (`embed_text`); its vector is the mean
of its token vectors, as the model pools. With the setting `sentence_context` (on by default) a
sentence's vector is the mean of that sentence's token vectors inside the passage's encoding: the
sentence read in its passage's context ("late chunking"). That halves what the model reads, and
on the HOWTO dev set it found the answering sentence more often (quote-hit@1 0.33 -> 0.43,
answerable questions refused 4 -> 2 of 30; the seeds unchanged). A sentence the passage's
encoding does not reach (past the model's 256 tokens) is encoded alone, as are all sentences with
`sentence_context` off or an embedder that cannot return token vectors (a test stand-in).
"""
from __future__ import annotations

import numpy as np

from core.onnx_model import Tokens, unit_mean
from core.passage import Passage
from core.settings import Settings


def embed_text(p: Passage, embed_context: bool) -> str:
    """What the model reads for a passage: its text, after its title and section if asked."""
    text = " ".join(p.text.split())
    if embed_context and p.context():
        return f"{p.context()}: {text}"
    return text


def sentence_texts(p: Passage) -> list[str]:
    return [" ".join(s.split()) for s in p.sentence_texts()]


def sentence_tokens(text: str, body_start: int, sentences: list[str], tokens: Tokens) -> list[np.ndarray | None]:
    """The token vectors of each sentence inside `text` (the passage as encoded), found in
    order from `body_start` (after the context prefix); None where the encoding does not cover
    the whole sentence (past the model's length) or the sentence is not found."""
    starts, ends = tokens.spans[:, 0], tokens.spans[:, 1]
    real = ends > starts  # special tokens have empty spans
    reached = int(ends[real].max()) if real.any() else 0
    at = body_start
    out: list[np.ndarray | None] = []
    for s in sentences:
        found = text.find(s, at) if s else -1
        if found < 0 or found + len(s) > reached:
            out.append(None)
            continue
        at = found + len(s)
        inside = real & (starts >= found) & (ends <= at)
        out.append(tokens.vectors[inside] if inside.any() else None)
    return out


def embed_passages(embedder, passages: list[Passage], settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(passage vectors, sentence vectors in passage order) for `passages`."""
    texts = [embed_text(p, settings.embed_context) for p in passages]
    sentences = [sentence_texts(p) for p in passages]
    if not (settings.sentence_context and hasattr(embedder, "encode_tokens")):
        return embedder.encode(texts), embedder.encode([s for ss in sentences for s in ss])
    encoded = embedder.encode_tokens(texts)
    pv = np.array([t.pooled() for t in encoded], dtype="float32").reshape(len(texts), embedder.dimension)
    sv: list[np.ndarray | None] = []
    alone: list[tuple[int, str]] = []
    for p, text, ss, tokens in zip(passages, texts, sentences, encoded):
        body_start = len(text) - len(" ".join(p.text.split()))
        for s, vectors in zip(ss, sentence_tokens(text, body_start, ss, tokens)):
            if vectors is None:
                alone.append((len(sv), s))
            sv.append(None if vectors is None else unit_mean(vectors))
    for (row, _), v in zip(alone, embedder.encode([s for _, s in alone])):
        sv[row] = v
    return pv, np.array(sv, dtype="float32").reshape(len(sv), embedder.dimension)
