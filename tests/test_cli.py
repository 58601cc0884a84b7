"""The command line: output, exit codes, one-line errors that name the fix."""

import json


def test_ask_prints_answer_or_refusal(run, index_dir):
    code, out, err = run("ask", "Who is China's Vice Minister of Commerce?", "--index",
                         str(index_dir))
    assert code == 0 and err == ""
    assert out.startswith("Answer:") or out.startswith("Not found in the documents")
    assert "article.txt" in out


def test_ask_prints_the_caveat_under_the_answer(run, index_dir):
    code, out, _ = run("ask", "What was the value of China's lithium-ion battery exports to "
                       "Germany in 2025?", "--index", str(index_dir))
    assert code == 0
    if out.startswith("Answer:"):
        assert out.splitlines()[1] == ("  Note: the sentence it is taken from does not "
                                       "mention Germany; check that it is about that.")


def test_ask_json_prints_the_record(run, index_dir):
    code, out, _ = run("ask", "What was the boiling point of water in 1850?", "--json",
                       "--index", str(index_dir), "--top-k", "2")
    record = json.loads(out)
    assert code == 0 and set(record) >= {"answered", "evidence", "alternatives", "index"}
    assert len(record["evidence"]) <= 2


def test_missing_index_is_one_line_with_the_fix(run, tmp_path):
    code, out, err = run("ask", "anything?", "--index", str(tmp_path / "none"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "python -m qa build" in err and "Traceback" not in err


def test_bad_question_and_top_k_exit_2(run, index_dir):
    code, _, err = run("ask", "   ", "--index", str(index_dir))
    assert code == 2 and "question is empty" in err
    code, _, err = run("ask", "Who?", "--index", str(index_dir), "--top-k", "0")
    assert code == 2 and "top_k" in err


def test_build_reports_counts_and_bad_corpus_exits_2(run, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("One sentence. Another one.", encoding="utf-8")
    code, out, _ = run("build", "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert code == 0 and "indexed 1 document, 2 sentences" in out
    code, _, err = run("build", "--corpus", str(tmp_path / "nope"), "--index",
                       str(tmp_path / "j"))
    assert code == 2 and "does not exist" in err


def test_a_corpus_of_empty_or_blank_files_exits_2_naming_them(run, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "blank.md").write_text("  \n\n \t\n", encoding="utf-8")
    code, _, err = run("build", "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert code == 2 and "no text to index" in err and "empty.txt" in err \
        and "blank.md" in err and "Traceback" not in err
    assert not (tmp_path / "i").exists()
    (corpus / "note.txt").write_text("The bridge opened in 1932.", encoding="utf-8")
    code, out, _ = run("build", "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert code == 0 and "indexed 3 documents, 1 sentence," in out


def test_eval_writes_report_and_fail_under_exits_1(run, index_dir, tmp_path):
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps({"id": "a", "question": "Who is China's Vice Minister of "
                                "Commerce?", "answers": ["Li Chenggang"],
                                "evidence": "Li Chenggang"}) + "\n")
    out_path = tmp_path / "r.json"
    code, out, _ = run("eval", "--index", str(index_dir), "--gold", str(gold), "--out",
                       str(out_path))
    assert code == 0 and "evidence@1" in out
    report = json.loads(out_path.read_text())
    assert set(report) == {"metrics", "tradeoff", "results"}
    assert {"id", "gold_answers", "em", "f1", "evidence_hit", "answered"} <= \
        set(report["results"][0])
    code, _, err = run("eval", "--index", str(index_dir), "--gold", str(gold),
                       "--fail-under", "f1=1.01")
    assert code == 1 and "FAIL f1" in err
    code, _, err = run("eval", "--index", str(index_dir), "--gold", str(gold),
                       "--fail-under", "speed=2")
    assert code == 2 and "bad --fail-under" in err
    code, out, err = run("eval", "--index", str(index_dir), "--gold", str(gold), "--jobs", "0")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--jobs 0" in err


def test_bad_environment_setting_is_reported(run, monkeypatch):
    monkeypatch.setenv("QA_PORT", "eighty")
    code, _, err = run("ask", "Who?")
    assert code == 2 and "QA_PORT" in err


def test_closed_output_pipe_ends_quietly(index_dir):
    """`qa ask ... | head`: the reader of stdout goes away; no traceback, exit 141 (SIGPIPE)."""
    import os
    import subprocess
    import sys
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read what the command prints
    try:
        done = subprocess.run([sys.executable, "-m", "qa", "ask", "Who suspended the controls?",
                               "--index", str(index_dir)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr
