"""Passages: exact offsets (in memory and in the built index), sentence spans, sizes, merging."""
from __future__ import annotations

import json
import random
import statistics

import pytest

from core import index_format as store
from core.passage import Passage
from helpers import contents
from ingest.passages import make_passages, sentence_spans
from core.documents import read_text
from core.settings import DEFAULT_CORPUS, Settings
from ingest.structure import parse

SEEDS = sorted(DEFAULT_CORPUS.glob("*.txt"))
DEFAULTS = Settings()


def _passages(text: str, name: str = "doc.txt", max_chars: int = DEFAULTS.max_chars,
              min_chars: int = DEFAULTS.min_chars) -> list[Passage]:
    return make_passages(text, parse(text, name), name, max_chars, min_chars)


def _check_offsets(text: str, passages: list[Passage]) -> None:
    """Every passage is text[start:end]; its sentences tile it in order, trimmed, inside it."""
    assert passages
    last_end = 0
    for p in passages:
        assert text[p.start:p.end] == p.text
        assert p.text and p.text == p.text.strip()
        assert p.start >= last_end, "passages overlap or are out of order"
        last_end = p.end
        assert p.sentences
        assert p.sentences[0][0] == p.start and p.sentences[-1][1] == p.end
        prev = p.start
        for s, e in p.sentences:
            assert prev <= s < e <= p.end
            sentence = text[s:e]
            assert sentence == sentence.strip() and sentence
            assert text[prev:s].strip() == "", "text between sentences is lost"
            prev = e


def _longest_sentence(p: Passage) -> int:
    return max(e - s for s, e in p.sentences)


# --- offsets ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_seed_passages_round_trip(path):
    text = read_text(path)
    passages = _passages(text, path.name)
    _check_offsets(text, passages)
    assert len({p.id for p in passages}) == len(passages)


def test_index_passages_round_trip_against_the_files(seed_index, seed_corpus, settings):
    build = store.current_build(seed_index)
    passages = contents(seed_index)[1]
    assert {p.source for p in passages} == {p.name for p in SEEDS}
    assert len({p.id for p in passages}) == len(passages)
    for source in {p.source for p in passages}:
        text = read_text(seed_corpus / source)
        mine = [p for p in passages if p.source == source]
        _check_offsets(text, mine)
        # the index holds exactly what ingest cuts from the file today
        assert mine == _passages(text, source, settings.max_chars, settings.min_chars)
    manifest = json.loads((build / store.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["counts"]["passages"] == len(passages)
    assert manifest["counts"]["sentences"] == sum(len(p.sentences) for p in passages)


def test_crlf_and_bom_documents_round_trip(tmp_path):
    body = (
        "# Closeness\n\n"
        "Emotional closeness grows when both people feel safe enough to say what\n"
        "they really think. It takes time, patience and many small moments of\n"
        "honesty.\n\n"
        "## Small Gestures\n\n"
        "Small gestures matter. They show that we notice each other every day, and\n"
        "they add up over the years into something that feels like home.\n"
    )
    for name, data in [
        ("crlf.md", body.replace("\n", "\r\n").encode()),
        ("bom.md", "\ufeff".encode() + body.encode()),
        ("utf16.md", body.replace("\n", "\r\n").encode("utf-16")),
        ("cp1252.md", body.replace("feel safe", "feel safé").encode("cp1252")),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        text = read_text(path)
        passages = _passages(text, name, max_chars=120, min_chars=20)
        _check_offsets(text, passages)
        assert all("\r" not in text[s:e][-1:] for p in passages for s, e in p.sentences)


# --- sentences --------------------------------------------------------------------------

def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text))]


def test_sentence_spans_split_at_sentence_ends():
    assert _sentences("It was late. “Are you awake?” she asked! Yes… 3 years later (really). Done") == [
        "It was late.", "“Are you awake?” she asked!", "Yes…", "3 years later (really).", "Done"]


def test_sentence_spans_keep_abbreviations_and_lowercase_continuations():
    text = "Dr. Smith met Mrs. Jones, e.g. at a café. We spoke about trust vs. fear. then we left."
    assert _sentences(text) == [
        "Dr. Smith met Mrs. Jones, e.g. at a café.", "We spoke about trust vs. fear. then we left."]


def test_sentences_run_across_hard_wrapped_lines():
    text = (
        "Wrapped Text\n\n"
        "Emotional closeness grows when both people feel safe enough to say what\n"
        "they really think. It takes time, patience and many small moments of\n"
        "honesty.\n"
    )
    (p,) = _passages(text)
    assert [" ".join(text[s:e].split()) for s, e in p.sentences] == [
        "Emotional closeness grows when both people feel safe enough to say what they really think.",
        "It takes time, patience and many small moments of honesty.",
    ]


# --- sizes ------------------------------------------------------------------------------

def test_seed_passage_sizes():
    lengths = []
    for path in SEEDS:
        text = read_text(path)
        for p in _passages(text, path.name):
            n = p.end - p.start
            lengths.append(n)
            assert n <= DEFAULTS.max_chars * 1.25 or len(p.sentences) == 1, (path.name, n)
    assert statistics.median(lengths) <= 700
    assert max(lengths) <= 1.25 * DEFAULTS.max_chars


def _sentence(rng: random.Random, words: int) -> str:
    vocab = "love trust care we you they feel open honest close safe time talk listen share".split()
    return " ".join(rng.choice(vocab) for _ in range(words)).capitalize() + "."


def test_long_paragraph_is_split_at_sentence_boundaries():
    rng = random.Random(7)
    paragraph = " ".join(_sentence(rng, 14) for _ in range(30))
    text = f"A Long Paragraph\n\n{paragraph}\n"
    passages = _passages(text, max_chars=300, min_chars=60)
    _check_offsets(text, passages)
    assert len(passages) >= len(paragraph) // 300
    assert all(p.end - p.start <= 300 for p in passages)
    assert all(p.paragraph == p.paragraph_end == 1 for p in passages)
    all_sentences = sentence_spans(text, passages[0].start, passages[-1].end)
    assert [s for p in passages for s in p.sentences] == all_sentences
    assert " ".join(p.text for p in passages) == paragraph
    # roughly equal pieces, not one big and one crumb
    sizes = [p.end - p.start for p in passages]
    assert min(sizes) >= 0.5 * max(sizes)


def test_a_single_sentence_longer_than_max_chars_is_cut_at_spaces():
    rng = random.Random(3)
    giant = _sentence(rng, 120)
    text = f"One Big Sentence\n\nA short opener here. {giant} A short closer here.\n"
    passages = _passages(text, max_chars=200, min_chars=10)
    _check_offsets(text, passages)
    pieces = [text[s:e] for p in passages for s, e in p.sentences]
    assert " ".join(pieces).split() == text.split("\n\n", 1)[1].split()  # cut between words, none lost
    for p in passages:
        assert _longest_sentence(p) <= 200 and p.end - p.start <= 250


def test_short_fragments_merge_with_a_neighbour_in_the_same_section():
    text = (
        "Short Pieces Essay\n\n"
        "Trust takes time.\n\n"
        "It grows when partners keep small promises, day after day, and when they listen.\n\n"
        "## Another Section\n\n"
        "Closeness needs honesty.\n"
    )
    passages = _passages(text, max_chars=550, min_chars=160)
    _check_offsets(text, passages)
    assert [(p.paragraph, p.paragraph_end, p.section) for p in passages] == [
        (1, 2, ""), (3, 3, "Another Section")]
    assert passages[0].text.startswith("Trust takes time.\n\nIt grows")


def test_short_faq_answers_are_not_merged_across_questions():
    text = read_text(DEFAULT_CORPUS / "emotional-intimacy-the-hidden-connection.txt")
    faq = [p for p in _passages(text) if p.section == "FAQs"]
    assert len(faq) == 5
    assert all(p.paragraph == p.paragraph_end and p.question for p in faq)
    assert len({p.question for p in faq}) == 5


def test_comments_are_never_merged():
    text = (
        "A Post With Comments\n\n"
        "The essay itself is one paragraph long, and it says something about trust.\n\n"
        "5 Comments\n\n"
        "Great post!\n\nThank you.\n\nGreat post!\n\nSo true.\n\nI agree with every word here.\n"
    )
    passages = _passages(text)
    _check_offsets(text, passages)
    comments = [p for p in passages if p.kind == "comment"]
    assert [p.text for p in comments] == [
        "Great post!", "Thank you.", "Great post!", "So true.", "I agree with every word here."]
    assert all(p.paragraph == p.paragraph_end and p.section == "Comments" for p in comments)
    assert len({p.id for p in passages}) == len(passages), "identical comments need distinct ids"
    body = [p for p in passages if p.kind == "body"]
    assert len(body) == 1 and "Great post" not in body[0].text


def _merge_rule_holds(passages: list[Passage], structure, max_chars: int, min_chars: int) -> None:
    """A short body passage is short only because no neighbour could take it: another kind,
    section or question, a heading or dropped line between them, or too long together."""
    walls = [s.start for s in structure.headings + structure.questions]
    walls += [s.start for s, _ in structure.dropped]
    for i, p in enumerate(passages):
        if p.end - p.start >= min_chars or p.kind != "body":
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(passages):
                q = passages[j]
                a, b = sorted((p, q), key=lambda x: x.start)
                same = (q.kind, q.section, q.question) == (p.kind, p.section, p.question)
                walled = any(a.end <= w < b.start for w in walls)
                fits = (q.end - q.start) + (p.end - p.start) <= max_chars * 1.25
                assert not (same and fits and not walled), (p.text, q.text)


@pytest.mark.parametrize("seed", range(40))
def test_random_documents_keep_every_rule(seed):
    rng = random.Random(seed)
    max_chars, min_chars = rng.choice([(550, 160), (300, 80), (800, 200)])
    parts = ["Random Essay Title Here"]
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.25:
            parts.append(rng.choice(["## Section One", "## Section Two", "Another Heading Here"]))
        parts.append(" ".join(_sentence(rng, rng.choice([3, 6, 12, 25, 60]))
                              for _ in range(rng.randint(1, 12))))
    if rng.random() < 0.4:
        parts.append("3 Comments")
        parts += [_sentence(rng, rng.choice([2, 5, 30])) for _ in range(3)]
    sep = rng.choice(["\n\n", "\n", "\r\n\r\n"])
    text = sep.join(parts) + "\n"
    passages = _passages(text, "random.md", max_chars, min_chars)
    _check_offsets(text, passages)
    for p in passages:
        assert p.end - p.start <= max_chars * 1.25 or _longest_sentence(p) > max_chars
    s = parse(text, "random.md")
    _merge_rule_holds(passages, s, max_chars, min_chars)
    assert len({p.id for p in passages}) == len(passages)
    covered = "".join(p.text for p in passages)
    for para in s.paragraphs:  # no paragraph text is lost
        assert "".join(text[para.start:para.end].split()) in "".join(covered.split())


def test_passage_dict_round_trip():
    text = read_text(SEEDS[0])
    for p in _passages(text, SEEDS[0].name):
        assert Passage.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_merges_do_not_swallow_dropped_boilerplate_or_repeated_headings():
    text = (
        "Merging Rules Essay\n\n"
        "Trust takes time.\n\n"
        "Advertisement\n\n"
        "It grows when partners keep small promises.\n\n"
        "## Notes\n\n"
        "Honesty first.\n\n"
        "## Notes\n\n"
        "Kindness second.\n"
    )
    passages = _passages(text, max_chars=550, min_chars=160)
    _check_offsets(text, passages)
    assert all("Advertisement" not in p.text and "## Notes" not in p.text for p in passages)
    assert [p.text for p in passages] == [
        "Trust takes time.", "It grows when partners keep small promises.", "Honesty first.",
        "Kindness second."]
