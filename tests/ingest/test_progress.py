"""The first start's and the uploads' progress bar: ingest events as how far it is and what it
is doing (documents read, passages embedded, time left), never going back."""
from ingest import BuildProgress, Event


def test_progress_says_documents_passages_and_time_left_and_never_goes_back():
    bar = BuildProgress()
    seen = [bar.update(e) for e in [
        Event("plan", "the index is missing"),
        Event("plan", "read a.txt", 1, 2),
        Event("embed", "embedding 2 new or changed documents", 0, 0),
        Event("plan", "read b.txt", 2, 2),
        Event("embed", "embedded 40 of 80 passages · 20 passages/s · 2 s left", 40, 80),
        Event("embed", "embedded 80 of 80 passages · 20 passages/s · 0 s left", 80, 80),
        Event("write", "writing 80 passages"),
        Event("done", "indexed 2 documents, 80 passages", 1, 1),
    ]]
    assert seen[-1] is None  # "done": the page shows itself
    fractions = [f for f, _ in seen[:-1]]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] < 1
    assert seen[4][1] == "Read 2 of 2 documents · embedded 40 of 80 passages · 20 passages/s · 2 s left"
    assert seen[6][1] == "Writing 80 passages…"
