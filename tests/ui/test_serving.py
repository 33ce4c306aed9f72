"""The pages' shared loader switches to a newer build as a whole (no restart, no mix)."""
from __future__ import annotations

import dataclasses
import shutil

from ingest import build_index
from ui import serving


def test_newer_build_is_served_after_an_ingest(tmp_path, seed_corpus, settings):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    settings = dataclasses.replace(settings, index_dir=str(index_dir))
    first = serving.load_searcher(settings)
    assert serving.load_searcher(settings) is first, "loaded once per build"

    (corpus / "new-essay.txt").write_text(
        "Gratitude journals and quiet walks\n\nWriting down three moments of gratitude each evening "
        "helped the couple notice kindness they had stopped seeing.\n", encoding="utf-8")
    build_index([corpus], index_dir, settings, on_event=lambda e: None, progress=False)
    second = serving.load_searcher(settings)
    assert second is not first
    assert second.index.build != first.index.build
    top = second.search("gratitude journal each evening", k=1).results[0]
    assert top.source == "new-essay.txt"
    assert all(p.source != "new-essay.txt" for p in first.passages), "the old searcher is untouched"
