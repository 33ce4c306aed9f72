"""Themes, theme search and "more like this": pure functions on synthetic vectors, the
done-when figures on the seed index, the CLI subcommands and the theme page."""
from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from core.text import LABEL_STOP_WORDS
from ingest import build_index
from search import themes
from search.store import LocalStore
from search.themes import explore
from search.themes import map as theme_map_module
from helpers import ROOT

THEME_PHRASES = ["healing after being hurt", "loneliness and isolation", "trust"]
KEYS = {"rank", "score", "text", "quote", "title", "section", "source", "paragraph", "start", "end"}

TOPICS = [
    "garden soil compost seedlings watering",
    "ocean waves tide sailors harbour",
    "violin orchestra concert melody rehearsal",
    "mountain climbing summit ropes glacier",
    "bread baking dough oven flour",
    "chess opening gambit endgame tournament",
    "winter snow frost sledge blizzard",
    "railway station platform locomotive timetable",
]


def blobs(n_blobs: int, per_blob: int, dim: int = 48, spread: float = 0.15, seed: int = 0):
    """Unit vectors around n_blobs random centres, with texts that name each blob's topic."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim))
    vectors, texts, truth = [], [], []
    for b in range(n_blobs):
        for i in range(per_blob):
            vectors.append(centres[b] / np.linalg.norm(centres[b]) + spread * rng.normal(size=dim) / np.sqrt(dim))
            words = TOPICS[b % len(TOPICS)].split()
            # every passage also says "essay" (a corpus-wide word) and some stop words
            texts.append(f"The essay is about {words[i % 5]} and {words[(i + 1) % 5]}; "
                         f"it was {words[(i + 2) % 5]} with the {words[(i + 3) % 5]} {words[(i + 4) % 5]}.")
            truth.append(b)
    return themes.normalise(np.array(vectors)), texts, np.array(truth)


def label_words(label: str) -> list[str]:
    return [w for phrase in label.split(", ") for w in phrase.split()]


# --------------------------------------------------------------------------- pure functions

def test_deterministic_for_the_same_input():
    vectors, texts, _ = blobs(7, 9)
    sources = [f"doc{i % 3}.txt" for i in range(len(texts))]
    a = themes.compute_themes(vectors, texts, sources)
    b = themes.compute_themes(vectors.copy(), list(texts), list(sources))
    assert a == b
    assert a.to_json() == themes.ThemeMap.from_json(json.loads(json.dumps(a.to_json()))).to_json()


def test_every_passage_in_exactly_one_theme():
    vectors, texts, _ = blobs(6, 8, spread=0.9)  # overlapping blobs: assignments are not obvious
    found = themes.compute_themes(vectors, texts, n_themes=9)
    rows = sorted(r for t in found.themes for r in t.rows)
    assert rows == list(range(len(texts)))
    assert sum(t.size for t in found.themes) == len(texts)
    for t in found.themes:
        assert all(found.assignment[r] == t.id for r in t.rows)
        assert t.size >= themes.MIN_THEME_SIZE  # no tiny "outlier" leftovers
    assert [t.id for t in found.themes] == list(range(1, len(found.themes) + 1))
    assert [t.size for t in found.themes] == sorted((t.size for t in found.themes), reverse=True)


def test_number_of_themes_chosen_by_silhouette_finds_clear_groups():
    vectors, texts, truth = blobs(8, 10, spread=0.2)
    found = themes.compute_themes(vectors, texts)
    assert found.chosen_by == "silhouette"
    assert len(found.themes) == 8
    assert set(found.silhouette) == set(themes.numbers_to_try(len(texts)))
    # each found theme is one true group
    for t in found.themes:
        assert len({int(truth[r]) for r in t.rows}) == 1


def test_number_of_themes_can_be_set():
    vectors, texts, _ = blobs(8, 10, spread=0.2)
    found = themes.compute_themes(vectors, texts, n_themes=6)
    assert found.chosen_by == "setting" and len(found.themes) == 6


def test_theme_range_scales_with_the_corpus():
    assert themes.theme_range(75) == range(6, 16)
    assert themes.theme_range(100_000) == range(6, 31)
    assert themes.theme_range(12) == range(2, 3)


def test_silhouette_matches_the_textbook_definition():
    vectors, _, truth = blobs(3, 6, dim=8, spread=1.0, seed=3)
    got = themes.silhouettes(vectors, truth)
    dist = 1 - vectors.astype("float64") @ vectors.T.astype("float64")
    for i in range(len(vectors)):
        own = [j for j in range(len(vectors)) if truth[j] == truth[i] and j != i]
        a = dist[i, own].mean()
        b = min(dist[i, truth == c].mean() for c in set(truth.tolist()) if c != truth[i])
        assert got[i] == pytest.approx((b - a) / max(a, b), abs=1e-6)


def test_labels_are_distinctive_words_without_stop_words():
    vectors, texts, truth = blobs(6, 8, spread=0.2)
    found = themes.compute_themes(vectors, texts)
    for t in found.themes:
        words = label_words(t.label)
        assert words, t
        assert not [w for w in words if w in LABEL_STOP_WORDS], t.label
        assert "essay" not in words  # in every passage: labels nothing
        topic = TOPICS[int(truth[t.rows[0]])].split()
        assert set(words) <= set(topic), (t.label, topic)


def test_terms_phrases_and_vague_words():
    found = dict(themes.terms("Trust is the quiet time of healing. Quality time heals."))
    assert found["trust"] == "trust"
    assert "heal" in found  # healing and heals share a stem
    assert "qualiti time" in found and found["qualiti time"] == "quality time"
    assert "time" not in found  # vague on its own
    assert not any(w in LABEL_STOP_WORDS for surface in found.values() for w in surface.split())
    assert "heal qualiti" not in found  # a full stop ends a phrase


def test_round_robin_takes_turns_and_skips_near_duplicates():
    v = themes.normalise(np.eye(6)[[0, 0, 1, 2, 3, 4]] + 0.001)
    assert themes.round_robin([[0, 1, 2], [3, 4], [5]], 4, v) == [0, 3, 5, 2]  # 1 is 0 again
    assert themes.round_robin([[3], [4]], 10, v) == [3, 4]


def test_project_2d_is_stable():
    vectors, _, _ = blobs(3, 5)
    a, b = themes.project_2d(vectors), themes.project_2d(vectors.copy())
    assert a.shape == (15, 2) and np.array_equal(a, b)


# --------------------------------------------------------------------------- the seed essays

@pytest.fixture(scope="module")
def seed_themes(searcher):
    return themes.theme_map(searcher)


def test_seed_themes_done_when(searcher, seed_themes):
    n = len(searcher.passages)
    assert 6 <= len(seed_themes.themes) <= 15
    assert max(t.size for t in seed_themes.themes) <= 0.4 * n
    assert sorted(r for t in seed_themes.themes for r in t.rows) == list(range(n))
    assert sorted(i for t in seed_themes.themes for i in t.ids) == sorted(p.id for p in searcher.passages)
    for t in seed_themes.themes:
        assert t.label and not t.label.startswith("theme ")  # a label from the words, no bucket
        assert not [w for w in label_words(t.label) if w in LABEL_STOP_WORDS]
        assert len(t.sources) >= 2  # themes run across essays
        assert sum(c for _, c in t.sources) == t.size
        assert 1 <= len(t.quotes) <= theme_map_module.QUOTES
        for q in t.quotes:
            assert q.text in searcher.passages[q.row].text and q.id == searcher.passages[q.row].id


def test_seed_themes_same_in_another_process(searcher, seed_index, seed_themes):
    code = ("import json, sys; from core.settings import Settings; from search.loading import load_index; "
            "from search.themes import compute_themes; i = load_index(sys.argv[1], Settings()); "
            "m = compute_themes(i.passage_vectors, [p.text for p in i.passages], [p.source for p in i.passages]); "
            "print(json.dumps(m.assignment))")
    out = subprocess.run([sys.executable, "-c", code, str(seed_index)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert tuple(json.loads(out.stdout)) == seed_themes.assignment


def test_seed_themes_cached_in_the_build_folder(searcher, seed_themes, tmp_path):
    build = tmp_path / "build"
    build.mkdir()

    def loaded_again():  # the same build loaded afresh (nothing derived from it kept yet)
        return dataclasses.replace(searcher, index=dataclasses.replace(searcher.index, build=build))

    first = themes.theme_map(loaded_again())
    saved = json.loads((build / themes.CACHE_FILE).read_text())
    assert saved["key"] == first.key == themes.cache_key(searcher.index, 0)
    assert first == seed_themes
    assert not list(build.glob(".themes-*"))  # the temporary file was renamed into place
    saved["themes"][0]["label"] = "read from the cache"
    (build / themes.CACHE_FILE).write_text(json.dumps(saved))
    again = loaded_again()
    assert themes.theme_map(again).themes[0].label == "read from the cache"
    assert themes.theme_map(again) is themes.theme_map(again), "kept with the loaded index"
    (build / themes.CACHE_FILE).write_text("{damaged")
    assert themes.theme_map(loaded_again()) == seed_themes
    seven = themes.theme_map(loaded_again(), n_themes=7)  # another setting: another key, computed afresh
    assert seven.key != first.key and seven.chosen_by == "setting" and len(seven.themes) <= 7


@pytest.mark.parametrize("phrase", THEME_PHRASES)
def test_theme_search_covers_several_essays(searcher, phrase):
    found = themes.theme_search(searcher, phrase, 10)
    assert found.answered
    sources = [r.source for r in found.results]
    assert len(found.results) <= 10
    assert len(set(sources)) >= 3, sources
    # grouped by essay, counts agree with the results
    assert sources == sorted(sources, key=lambda s: [e.source for e in found.essays].index(s))
    assert {e.source: e.shown for e in found.essays if e.shown} == {s: sources.count(s) for s in set(sources)}
    assert all(e.matching >= e.shown for e in found.essays)
    assert [r.rank for r in found.results] == list(range(1, len(found.results) + 1))
    for r in found.results:
        assert r.quote in r.text


def test_theme_search_shares_results_fairly_between_essays(searcher):
    for phrase in THEME_PHRASES + ["men and vulnerability"]:
        essays = themes.theme_search(searcher, phrase, 10).essays
        for a in essays:
            for b in essays:
                # an essay gets two more results than another only when the other has no more
                assert a.shown <= b.shown + 1 or b.shown == b.matching, (phrase, a, b)


def test_theme_search_off_topic(searcher):
    found = themes.theme_search(searcher, "photosynthesis in chloroplasts", 10)
    assert not found.answered and found.notice
    assert all(e.matching == 0 for e in found.essays)


def test_more_like_this_leaves_out_itself_and_near_duplicates(searcher):
    passages = searcher.passages
    for row in (0, len(passages) // 2, len(passages) - 1):
        similar = themes.more_like_this(searcher, passages[row].id, 5)
        assert similar.passage == passages[row]
        ids = [r.id for r in similar.results]
        assert len(ids) == 5 and passages[row].id not in ids and len(set(ids)) == 5
    # make passage 1 a near-duplicate of passage 0: it must not be listed as like passage 0
    vectors = searcher.index.passage_vectors.copy()
    vectors[1] = themes.normalise((vectors[0] + 0.01 * vectors[1])[None])[0]
    store = copy.copy(searcher.store)
    store.passage_vectors = lambda rows: vectors[np.asarray(rows, dtype="int64")]
    index = dataclasses.replace(searcher.index, store=store)  # the same build, nothing derived yet
    other = dataclasses.replace(searcher, index=index)
    ids = [r.id for r in themes.more_like_this(other, passages[0].id, 10).results]
    assert passages[1].id not in ids and passages[0].id not in ids and len(ids) == 10


def test_more_like_this_per_document_means_equal_the_theme_space(searcher):
    vectors = searcher.index.passage_vectors
    rows = np.arange(len(vectors))
    expected = themes.across_documents(vectors, [p.source for p in searcher.passages])
    assert np.abs(themes.document_means(searcher).free(rows, vectors) - expected).max() < 1e-6


def test_more_like_this_in_a_large_library_compares_only_its_candidates(searcher, monkeypatch):
    """Past SIMILAR_CANDIDATES passages, only the passages nearest by the passage index are
    compared; the ones found are those exact comparison ranks first among them."""
    row = len(searcher.passages) // 3
    exact = [r.id for r in themes.more_like_this(searcher, searcher.passages[row].id, 3).results]
    monkeypatch.setattr(explore, "SIMILAR_CANDIDATES", 40)
    read = []
    real = LocalStore.passage_vectors
    monkeypatch.setattr(LocalStore, "passage_vectors", lambda self, rows: read.append(len(rows)) or real(self, rows))
    few = [r.id for r in themes.more_like_this(searcher, searcher.passages[row].id, 3).results]
    assert len(few) == 3 and max(read) == 40  # never every passage vector
    assert few[0] == exact[0]  # the nearest is among the 40 nearest by the index


def test_find_passage_by_id_or_paragraph(searcher):
    p = searcher.passages[5]
    assert themes.find_passage(searcher, p.id) == 5
    row = themes.find_passage(searcher, f"{p.source}:{p.paragraph}")
    assert searcher.passages[row].source == p.source and searcher.passages[row].paragraph <= p.paragraph
    with pytest.raises(LookupError, match="no document"):
        themes.find_passage(searcher, "nope.txt:1")
    with pytest.raises(LookupError, match="no passage at paragraph 999"):
        themes.find_passage(searcher, f"{p.source}:999")
    with pytest.raises(LookupError, match="passage id or SOURCE:PARAGRAPH"):
        themes.find_passage(searcher, "garbage")


# --------------------------------------------------------------------------- command line


def test_cli_themes_json(seed_index, seed_corpus, searcher, cli):
    out = cli("search", "themes", "--json", "--index-dir", str(seed_index), "--no-rebuild")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["passages"] == len(searcher.passages)
    assert 6 <= len(obj["themes"]) <= 15
    assert sum(t["size"] for t in obj["themes"]) == obj["passages"]
    for t in obj["themes"]:
        assert {"id", "label", "size", "sources", "quotes", "ids"} <= set(t)
        for q in t["quotes"]:
            assert q["text"] in (seed_corpus / q["source"]).read_text(encoding="utf-8")
    text = cli("search", "themes", "--index-dir", str(seed_index), "--no-rebuild")
    assert text.returncode == 0 and obj["themes"][0]["label"] in text.stdout


def test_cli_theme_json(seed_index, seed_corpus, cli):
    out = cli("search", "theme", "loneliness and isolation", "--top-k", "6", "--json",
              "--index-dir", str(seed_index), "--no-rebuild")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["question"] == "loneliness and isolation" and obj["answered"] is True
    assert 1 <= len(obj["results"]) <= 6
    for r in obj["results"]:
        assert KEYS <= set(r)
        assert (seed_corpus / r["source"]).read_text(encoding="utf-8")[r["start"]:r["end"]] == r["text"]
    counts = {e["source"]: e["shown"] for e in obj["per_essay"]}
    assert sum(counts.values()) == len(obj["results"])
    assert len({r["source"] for r in obj["results"]}) >= 3
    assert cli("search", "theme", "  ", "--index-dir", str(seed_index)).returncode == 2


def test_cli_like(seed_index, searcher, cli):
    p = searcher.passages[10]
    out = cli("search", "like", f"{p.source}:{p.paragraph}", "--json", "--index-dir", str(seed_index), "--no-rebuild")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["passage"]["source"] == p.source
    assert len(obj["results"]) == 5 and obj["passage"]["id"] not in {r["id"] for r in obj["results"]}
    by_id = cli("search", "like", p.id, "--top-k", "2", "--index-dir", str(seed_index), "--no-rebuild")
    assert by_id.returncode == 0 and "paragraph" in by_id.stdout
    bad = cli("search", "like", "nope.txt:3", "--index-dir", str(seed_index), "--no-rebuild")
    assert bad.returncode == 2 and "no document" in bad.stderr


# --------------------------------------------------------------------------- the theme page

@pytest.fixture()
def page(monkeypatch, seed_index):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(seed_index))
    return AppTest.from_file(str(ROOT / "pages" / "themes.py"), default_timeout=180)


def test_theme_page_lists_themes_and_opens_one(page, searcher, seed_themes):
    page.session_state["q"] = "What does trust need?"  # the question page's question
    page.run()
    assert not page.exception, page.exception
    box = page.selectbox(key="open_theme")
    assert len(box.options) == len(seed_themes.themes)
    assert any("What does trust need?" in m.value for m in page.markdown)  # the way back keeps it
    assert page.session_state["q"] == "What does trust need?"
    theme = seed_themes.themes[-1]
    box.select(theme.id).run()
    assert not page.exception
    citations = [c.value for c in page.code]
    quotes = {q.row: q.text for q in theme.quotes}
    for row in theme.rows:  # each cited, quoting the sentence that carries the theme if it has one
        p = searcher.passages[row]
        quoted = " ".join(quotes.get(row, p.text).split())[:60]
        assert any(p.source in c and quoted in c for c in citations), (row, quoted)
    assert len(page.expander) >= theme.size  # "More like this" under each passage


def test_theme_page_theme_search_groups_by_essay(page):
    page.run()
    page.text_input(key="theme_phrase").input("trust").run()
    assert not page.exception, page.exception
    groups = [m.value for m in page.markdown if "on this theme" in m.value]
    assert len(groups) >= 3


def test_numbers_tried_stay_few_for_large_corpora():
    assert themes.numbers_to_try(75) == list(range(6, 16))
    tried = themes.numbers_to_try(100_000)
    assert len(tried) <= 10 and tried[0] == 6 and tried[-1] == 30


def test_theme_page_cites_in_the_chosen_style_from_the_catalogue_and_verifies(tmp_path, settings, monkeypatch):
    from streamlit.testing.v1 import AppTest

    source = "emotional-intimacy-the-hidden-connection.txt"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "seeds" / source, corpus / source)
    (corpus / "catalog.toml").write_text(f'["{source}"]\nauthor = "A. Catalogued"\ndate = 2021\n',
                                         encoding="utf-8")
    build_index([corpus], tmp_path / "index", settings, on_event=lambda e: None, progress=False)
    monkeypatch.setenv("ESSAYS_INDEX_DIR", str(tmp_path / "index"))
    page = AppTest.from_file(str(ROOT / "pages" / "themes.py"), default_timeout=180)
    page.session_state["style"] = "apa"  # chosen on the question page
    page.run()
    page.text_input(key="theme_phrase").input("trust").run()
    assert not page.exception, page.exception
    cited = [c.value for c in page.code]
    assert cited and all("(A. Catalogued, 2021" in c and "para" in c for c in cited), cited[:2]
    assert not page.warning
    # The file is edited while the page is open: no quote is passed off as verified.
    path = corpus / source
    path.write_text("A new first line.\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    page.run()
    assert page.warning and all("file changed since indexing" in w.value.replace("\\", "") for w in page.warning)
    assert all(c.value.startswith("[quote not verified") for c in page.code)


def test_themes_of_a_large_index_are_found_on_a_sample_and_cover_every_passage(searcher, monkeypatch):
    """Above THEME_SAMPLE passages the themes come from an even sample; every passage is still
    in exactly one theme and the sizes count them all (here with a tiny sample of the seeds)."""
    monkeypatch.setattr(theme_map_module, "THEME_SAMPLE", 40)
    found = theme_map_module.compute_for_index(searcher)
    n = len(searcher.passages)
    assert "sample of 40" in found.chosen_by
    assert len(found.assignment) == n and sum(t.size for t in found.themes) == n
    assert {a for a in found.assignment} == {t.id for t in found.themes}
    sample = set(theme_map_module.sample_rows(n, 40).tolist())
    for t in found.themes:
        assert set(t.rows) <= sample and sum(c for _, c in t.sources) == t.size
        for q in t.quotes:
            assert q.text in searcher.passages[q.row].text


def test_the_theme_map_draws_an_even_sample_of_a_large_index(searcher):
    rows, xy = themes.map_points(searcher, limit=30)
    assert len(rows) == 30 and xy.shape == (30, 2) and rows[0] == 0 and rows[-1] == len(searcher.passages) - 1
    everything, _ = themes.map_points(searcher)
    assert list(everything) == list(range(len(searcher.passages)))
