"""The command-line front end `python -m search`: in this process (`cli` fixture) on the real
seed index, and once end to end as a user runs it (a subprocess)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import EVAL_DIR, ROOT

KEYS = {"rank", "score", "text", "quote", "title", "section", "source", "paragraph", "start", "end"}


def test_json_contract_and_verbatim_text_end_to_end(seed_index, seed_corpus):
    out = subprocess.run([sys.executable, "-m", "search", "How do some people protect themselves after being hurt?",
                          "--json", "--top-k", "3", "--index-dir", str(seed_index), "--no-rebuild"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
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


def test_stdin_questions_give_json_lines(seed_index, cli):
    questions = "What does intimacy add to an independent life?\n\nWhat is photosynthesis?\n"
    out = cli("search", "-", "--json", "--index-dir", str(seed_index), "--no-rebuild", stdin=questions)
    assert out.returncode == 0, out.stderr
    objs = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [o["question"] for o in objs] == ["What does intimacy add to an independent life?",
                                             "What is photosynthesis?"]
    assert [o["answered"] for o in objs] == [True, False]


def test_a_line_of_stdin_that_is_not_utf8_is_reported_and_the_others_answered(seed_index, cli):
    questions = "What does intimacy add to an independent life?\n".encode() + b"caf\xe9 \xff\n" + b"Why build walls?\n"
    out = cli("search", "-", "--json", "--index-dir", str(seed_index), "--no-rebuild", stdin=questions)
    assert out.returncode == 1
    assert "line 2 of the input is not UTF-8" in out.stderr and "Traceback" not in out.stderr
    objs = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [o["question"] for o in objs] == ["What does intimacy add to an independent life?", "Why build walls?"]


def test_readable_text_output(seed_index, cli):
    out = cli("search", "Is true intimacy a single moment of closeness?", "--index-dir", str(seed_index))
    assert out.returncode == 0, out.stderr
    assert "not a fleeting moment or a one-time act" in out.stdout
    assert "paragraph" in out.stdout and ".txt" in out.stdout


def test_empty_question_exits_2_before_loading_anything(seed_index, cli, monkeypatch):
    from search import cli as search_cli

    monkeypatch.setattr(search_cli, "open_searcher", lambda args: pytest.fail("loaded for nothing"))
    for command in (["   "], ["theme", " \t "]):
        out = cli("search", *command, "--index-dir", str(seed_index))
        assert out.returncode == 2 and "empty" in out.stderr.lower(), out.stderr
    out = cli("search", "trust", "--top-k", "0", "--index-dir", str(seed_index))
    assert out.returncode == 2 and "--top-k" in out.stderr


def test_help_lists_every_subcommand(cli):
    out = cli("search", "--help")
    assert out.returncode == 0
    for command in ("ask", "eval", "themes", "theme", "like"):
        assert f"    {command} " in out.stdout, out.stdout


def test_a_bad_setting_is_refused_with_its_fix(seed_index, cli, monkeypatch):
    monkeypatch.setenv("ESSAYS_TOP_K", "five")
    out = cli("search", "trust", "--index-dir", str(seed_index))
    assert out.returncode == 2 and "ESSAYS_TOP_K='five' is not a whole number" in out.stderr


def test_missing_index_without_rebuild_says_how_to_fix(tmp_path, cli):
    out = cli("search", "trust", "--index-dir", str(tmp_path / "nowhere"), "--no-rebuild")
    assert out.returncode == 1
    assert "python -m ingest" in out.stderr


def test_eval_prints_metrics_and_compares_settings(seed_index, cli, tmp_path):
    # two questions of the dev set (the whole set is measured once, in test_search.py)
    dev = (EVAL_DIR / "dev_questions.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    (tmp_path / "q.jsonl").write_text("\n".join(dev) + "\n", encoding="utf-8")
    (tmp_path / "off.jsonl").write_text('{"q": "How do I file my income taxes?"}\n', encoding="utf-8")
    out = cli("search", "eval", tmp_path / "q.jsonl", "--offtopic", tmp_path / "off.jsonl",
              "--index-dir", seed_index, "--json", "--compare", "dense-only:sentence_weight=0,bm25_weight=0")
    assert out.returncode == 0, out.stderr
    reports = json.loads(out.stdout)["reports"]
    assert [r["name"] for r in reports] == ["default", "dense-only"]
    for key in ("hit1", "hit5", "mrr10", "ndcg10", "quote_hit1", "offtopic_abstention", "false_abstention"):
        assert 0.0 <= reports[0][key] <= 1.0
    assert reports[0]["questions"] == 2 and reports[0]["offtopic_abstention"] == 1.0
    table = cli("search", "eval", tmp_path / "q.jsonl", "--index-dir", seed_index)
    assert table.returncode == 0 and "hit@1" in table.stdout and "MRR@10" in table.stdout
    bad = cli("search", "eval", tmp_path / "q.jsonl", "--index-dir", seed_index, "--compare", "x:max_chars=300")
    assert bad.returncode == 2 and "changes the index" in bad.stderr
    bad = cli("search", "eval", tmp_path / "q.jsonl", "--index-dir", seed_index, "--compare", "x:diversity=much")
    assert bad.returncode == 2 and "not a number" in bad.stderr


def test_eval_rejects_a_bad_file(tmp_path, seed_index, cli):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    out = cli("search", "eval", str(bad), "--index-dir", str(seed_index))
    assert out.returncode == 2 and "bad.jsonl:1" in out.stderr


def test_source_filter(seed_index, cli):
    source = "human-intimacy-beyond-the-physical.txt"
    out = cli("search", "trust", "--json", "--source", source, "--index-dir", str(seed_index), "--no-rebuild")
    assert out.returncode == 0, out.stderr
    assert {r["source"] for r in json.loads(out.stdout)["results"]} == {source}
    bad = cli("search", "trust", "--source", "nope.txt", "--index-dir", str(seed_index), "--no-rebuild")
    assert bad.returncode == 2 and "no document nope.txt" in bad.stderr
