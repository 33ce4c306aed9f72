"""The command-line front ends, run as a user would run them (subprocesses, real index)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import EVAL_DIR, ROOT

KEYS = {"rank", "score", "text", "quote", "title", "section", "source", "paragraph", "start", "end"}


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "search", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_json_contract_and_verbatim_text(seed_index, seed_corpus):
    out = run("How do some people protect themselves after being hurt?", "--json", "--top-k", "3",
              "--index-dir", str(seed_index), "--no-rebuild")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["question"] == "How do some people protect themselves after being hurt?"
    assert obj["answered"] is True
    assert len(obj["results"]) == 3
    for r in obj["results"]:
        assert KEYS <= set(r)
        original = (seed_corpus / r["source"]).read_text(encoding="utf-8")
        assert original[r["start"]:r["end"]] == r["text"]
        assert r["quote"] in r["text"]


def test_stdin_questions_give_json_lines(seed_index):
    questions = "What does intimacy add to an independent life?\n\nWhat is photosynthesis?\n"
    out = run("-", "--json", "--index-dir", str(seed_index), "--no-rebuild", stdin=questions)
    assert out.returncode == 0, out.stderr
    objs = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [o["question"] for o in objs] == ["What does intimacy add to an independent life?",
                                             "What is photosynthesis?"]
    assert [o["answered"] for o in objs] == [True, False]


def test_readable_text_output(seed_index):
    out = run("Is true intimacy a single moment of closeness?", "--index-dir", str(seed_index))
    assert out.returncode == 0, out.stderr
    assert "not a fleeting moment or a one-time act" in out.stdout
    assert "paragraph" in out.stdout and ".txt" in out.stdout


def test_empty_question_exits_2(seed_index):
    out = run("   ", "--index-dir", str(seed_index))
    assert out.returncode == 2
    assert "empty" in out.stderr.lower()


def test_missing_index_without_rebuild_says_how_to_fix(tmp_path):
    out = run("trust", "--index-dir", str(tmp_path / "nowhere"), "--no-rebuild")
    assert out.returncode == 1
    assert "python -m ingest" in out.stderr


def test_eval_prints_metrics(seed_index):
    out = run("eval", str(EVAL_DIR / "dev_questions.jsonl"), "--offtopic",
              str(EVAL_DIR / "dev_offtopic.jsonl"), "--index-dir", str(seed_index), "--json",
              "--compare", "dense-only:sentence_weight=0,bm25_weight=0")
    assert out.returncode == 0, out.stderr
    reports = json.loads(out.stdout)["reports"]
    assert [r["name"] for r in reports] == ["default", "dense-only"]
    for key in ("hit1", "hit5", "mrr10", "ndcg10", "quote_hit1", "offtopic_abstention", "false_abstention"):
        assert 0.0 <= reports[0][key] <= 1.0
    assert reports[0]["offtopic_abstention"] == 1.0


def test_eval_rejects_a_bad_file(tmp_path, seed_index):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    out = run("eval", str(bad), "--index-dir", str(seed_index))
    assert out.returncode == 2 and "bad.jsonl:1" in out.stderr


def test_source_filter(seed_index):
    source = "human-intimacy-beyond-the-physical.txt"
    out = run("trust", "--json", "--source", source, "--index-dir", str(seed_index), "--no-rebuild")
    assert out.returncode == 0, out.stderr
    assert {r["source"] for r in json.loads(out.stdout)["results"]} == {source}
    bad = run("trust", "--source", "nope.txt", "--index-dir", str(seed_index), "--no-rebuild")
    assert bad.returncode == 2 and "no document nope.txt" in bad.stderr
