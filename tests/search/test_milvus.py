"""The Milvus store (setting `store`) against a real milvus-lite server the tests start: the same
search contract, citations and incremental ingest as an index folder, the manifest's checks,
and a server that stops and comes back."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from core import milvus
from core.errors import IndexStale, SettingsError, StoreUnavailable
from core.settings import Settings
from helpers import EVAL_DIR, TESTS, TINY, MilvusServer, write_files
from ingest import build_index
from ingest import milvus_write
from search import open_searcher
from search.evaluate import load_questions
from search.milvus_store import load_milvus



def contract(name: str):
    """A test module of the index folder's contract, whose checks run here on Milvus."""
    found = sys.modules.get(Path(name).stem)
    if found is None:
        spec = importlib.util.spec_from_file_location(Path(name).stem, TESTS / name)
        found = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(found)
    return found


test_search = contract("search/test_search.py")

SEEDS_CHANGED_TAIL = "\n\nA closing line added later, about patience and about listening well.\n"


def ingest(corpus, settings, **kw):
    return build_index([corpus], Path("unused"), settings, on_event=lambda e: None, progress=False, **kw)


# --- the search contract, as on an index folder ----------------------------------------------------

@pytest.mark.parametrize("question,phrase", test_search.REAL_QUESTIONS)
def test_real_questions_are_answered_with_a_verbatim_quote(milvus_searcher, seed_corpus, question, phrase):
    test_search.test_real_questions_are_answered_with_a_verbatim_quote(milvus_searcher, seed_corpus,
                                                                       question, phrase)


def test_unrelated_questions_get_no_good_answer(milvus_searcher):
    for question in ("How do I file my income taxes?", "What is photosynthesis?"):
        assert not milvus_searcher.search(question).answered


def test_dev_questions_rank_as_on_the_index_folder(milvus_searcher, searcher):
    """Same passages in the same order for every dev question (candidates from Milvus, BM25 by
    Milvus' own function over the same terms), and the same calibration."""
    questions = load_questions(EVAL_DIR / "dev_questions.jsonl") + load_questions(EVAL_DIR / "dev_offtopic.jsonl")
    for q in questions:
        here, there = searcher.search(q["q"]), milvus_searcher.search(q["q"])
        assert [r.id for r in there.results] == [r.id for r in here.results], q["q"]
        assert [r.quote for r in there.results] == [r.quote for r in here.results]
        assert there.answered == here.answered
        assert np.allclose([r.score for r in there.results], [r.score for r in here.results], atol=1e-4)


def test_search_in_some_documents_filters_inside_milvus(milvus_searcher):
    source = "physical-intimacy-with-the-wrong-person.txt"
    answer = milvus_searcher.search("what happens to trust", sources=[source])
    assert answer.results and all(r.source == source for r in answer.results)


def test_reader_documents_neighbours_and_ids(milvus_searcher, searcher):
    assert milvus_searcher.documents() == searcher.documents()
    p = searcher.passages[10]
    assert milvus_searcher.passage(p.id) == p
    assert milvus_searcher.neighbours(p) == searcher.neighbours(p)
    assert milvus_searcher.passage("no-such-id") is None
    assert milvus_searcher.store.with_question() == searcher.store.with_question()
    assert milvus_searcher.store.word_counts(["intimacy", "zzzz"]) == searcher.store.word_counts(["intimacy", "zzzz"])


def test_citations_verify_against_the_files(milvus_searcher, seed_corpus):
    test_cite = contract("workshop/test_cite.py")
    test_cite.test_every_result_verifies_against_the_seed_files(milvus_searcher, seed_corpus)
    for style in ("plain", "markdown", "apa"):
        test_cite.test_every_style_names_quote_title_section_paragraph_and_unknown_author(
            milvus_searcher, seed_corpus, style)


# --- ingest --------------------------------------------------------------------------------------

def test_incremental_ingest_equals_a_full_one(milvus_server, seed_corpus, tmp_path):
    corpus = tmp_path / "seeds"
    shutil.copytree(seed_corpus, corpus)
    settings = Settings(store=milvus_server.address("incremental"))
    ingest(corpus, settings)
    files = sorted(corpus.glob("*.txt"))
    files[0].unlink()
    changed = files[1]
    changed.write_text(changed.read_text(encoding="utf-8") + SEEDS_CHANGED_TAIL, encoding="utf-8")
    (corpus / "tiny.txt").write_text(TINY["a.txt"], encoding="utf-8")
    report = ingest(corpus, settings)
    assert report.incremental
    assert report.changes.counts() == {"added": 1, "changed": 1, "removed": 1, "unchanged": 3}
    store = load_milvus(settings.milvus(), settings).store
    fresh = [p for p in store.iter_passages() if p.source in (changed.name, "tiny.txt")]
    assert report.passages_embedded == len(fresh) > 0
    assert report.passages == len(store)

    full = Settings(store=milvus_server.address("full"))
    ingest(corpus, full)
    a = store.in_document_order()
    b = load_milvus(full.milvus(), full).store.in_document_order()
    assert a[0] == b[0]
    assert np.allclose(a[1], b[1], atol=1e-6) and np.allclose(a[2], b[2], atol=1e-6)
    # what Milvus holds beyond the manifest's rows was deleted
    client = milvus.connect(settings.milvus())
    held = client.query(settings.milvus().name("passages"), filter="row >= 0", output_fields=["row"])
    assert len(held) == len(store)


def test_an_ingest_killed_before_its_commit_leaves_the_previous_index(milvus_server, tmp_path, monkeypatch):
    corpus = write_files(tmp_path / "docs", TINY)
    settings = Settings(store=milvus_server.address("killed"))
    ingest(corpus, settings)
    before = open_searcher(None, settings, rebuild=False).search("trust and patience")
    (corpus / "d.txt").write_text("Bread Baking\n\nDough rises best in a warm kitchen overnight.\n",
                                  encoding="utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(milvus_write, "commit", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(corpus, settings)
    monkeypatch.undo()
    with pytest.raises(IndexStale):  # the previous build, which lacks d.txt, is what is committed
        load_milvus(settings.milvus(), settings)
    loaded = load_milvus(settings.milvus(), settings, check_corpus=False)
    assert sorted(s for s, _, _ in loaded.store.documents()) == ["a.txt", "b.md", "c.txt"]
    report = ingest(corpus, settings)
    assert report.changes.counts()["added"] == 1
    after = open_searcher(None, settings, rebuild=False)
    assert after.search("trust and patience").results[0].id == before.results[0].id
    assert after.search("when does dough rise").results[0].source == "d.txt"
    client = milvus.connect(settings.milvus())
    held = client.query(settings.milvus().name("passages"), filter="row >= 0", output_fields=["row"])
    assert len(held) == len(after.store), "the killed run's rows were deleted"


def test_another_model_or_settings_are_refused_with_the_store_in_the_fix(milvus_settings, milvus_searcher):
    other = Settings(store=milvus_settings.store, max_chars=milvus_settings.max_chars + 100)
    with pytest.raises(IndexStale) as err:
        load_milvus(other.milvus(), other)
    assert f"--store {milvus_settings.store}" in str(err.value)


# --- the server going away -------------------------------------------------------------------------

def test_a_stopped_server_is_said_plainly_and_the_same_searcher_recovers(tmp_path, cli):
    server = MilvusServer(tmp_path / "data")
    server.start()
    try:
        corpus = write_files(tmp_path / "docs", TINY)
        settings = Settings(store=server.address("restart"))
        ingest(corpus, settings)
        searcher = open_searcher(None, settings, rebuild=False)
        first = searcher.search("what do tomatoes need").results[0].id
        server.stop()
        with pytest.raises(StoreUnavailable) as err:
            searcher.search("what do tomatoes need")
        assert f"127.0.0.1:{server.port} does not answer" in str(err.value)
        out = cli("search", "what do tomatoes need", "--store", settings.store, "--no-rebuild")
        assert out.returncode == 1 and "does not answer" in out.stderr and "Traceback" not in out.stderr
        server.start()
        assert searcher.search("what do tomatoes need").results[0].id == first
    finally:
        server.stop()


def test_store_addresses_are_checked():
    assert milvus.parse_address("") is None
    a = milvus.parse_address("milvus://127.0.0.1:19530/essays")
    assert (a.host, a.port, a.collection, a.uri) == ("127.0.0.1", 19530, "essays", "http://127.0.0.1:19530")
    for bad in ("milvus://127.0.0.1/essays", "http://127.0.0.1:19530/essays", "milvus://h:1/bad-name"):
        with pytest.raises(SettingsError, match="milvus://HOST:PORT/COLLECTION"):
            Settings(store=bad)
    with pytest.raises(SettingsError, match="MILVUS_TOKEN"):
        Settings(store="milvus://root:secret@127.0.0.1:19530/essays")
    assert milvus.credentials({"MILVUS_TOKEN": "t"}) == {"token": "t"}
    assert milvus.credentials({"MILVUS_USER": "u", "MILVUS_PASSWORD": "p"}) == {"user": "u", "password": "p"}


def test_names_with_quotes_accents_and_backslashes(milvus_server, tmp_path):
    name = 'Café "notes" \\ back.txt'
    corpus = write_files(tmp_path / "docs", {**TINY, name: "Crème Brûlée\n\nThe crème custard sets slowly in a "
                                                           "water bath; the sugar is burnt just before serving.\n"})
    settings = Settings(store=milvus_server.address("names"))
    ingest(corpus, settings)
    searcher = open_searcher(None, settings, rebuild=False)
    answer = searcher.search("how is the custard made", sources=[name])
    assert answer.results and {r.source for r in answer.results} == {name}
    assert searcher.passage(answer.results[0].id) == answer.results[0].passage
    from core.segments import keyword_text
    from core.text import word_counts

    expected = word_counts(keyword_text(p) for p in searcher.store.iter_passages())
    assert expected["custard"] == 1
    assert searcher.store.word_counts(["crème", "custard", "sugar"]) == {
        w: expected[w] for w in ("crème", "custard", "sugar") if expected[w]}


def test_themes_and_more_like_this_as_on_the_index_folder(milvus_searcher, searcher):
    from search.themes.explore import more_like_this, theme_search
    from search.themes.map import theme_map

    here, there = theme_map(searcher), theme_map(milvus_searcher)
    assert [t.label for t in there.themes] == [t.label for t in here.themes]
    assert there.assignment == here.assignment
    ref = searcher.passages[20].id
    assert [r.id for r in more_like_this(milvus_searcher, ref).results] == \
        [r.id for r in more_like_this(searcher, ref).results]
    assert [r.id for r in theme_search(milvus_searcher, "trust").results] == \
        [r.id for r in theme_search(searcher, "trust").results]


def test_a_full_ingest_of_an_empty_folder_keeps_the_collection(milvus_server, tmp_path):
    from core.errors import IngestError

    corpus = write_files(tmp_path / "docs", TINY)
    settings = Settings(store=milvus_server.address("empty"))
    ingest(corpus, settings)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(IngestError, match="No documents found"):
        ingest(tmp_path / "nothing", settings, full=True)
    assert len(load_milvus(settings.milvus(), settings, check_corpus=False).store) == \
        sum(1 for _ in open_searcher(None, settings, rebuild=False).store.iter_passages()) > 0
