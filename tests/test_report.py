"""The evaluation report: outcomes, escaping, comparison, the CLI flags, and a real browser.

Records are built by hand (no model); the browser test saves artifacts/eval-report.png.
"""

from __future__ import annotations

import json
import re

import pytest

import test_browser
from qa import report
from qa.evaluation import EvalReport, score, summarize
from test_browser import browser, screenshot  # noqa: F401  (a fixture)
from test_evaluation import DOCS, record

SCRIPT = "<script>alert(1)</script>"
RIGHT = (True, "24%", 14, 17)
WRONG = (True, "18.66%", 31, 37)


def row(item_id, question, answers, answered, text=None, start=0, end=0, confidence=0.5,
        section="01 Tariffs"):
    item = {"id": item_id, "question": question, "answers": answers,
            "evidence": "The tariff is 24%." if answers else ""}
    rec = record(answered, text, start, end, evidence=(0, 18) if start < 18 else (19, 47),
                 confidence=confidence)
    return {**score({**rec, "question": question}, item, DOCS), "section": section}


def gold_run(changed: bool = False) -> list[dict]:
    """Six hand-checked questions: 1 right, 1 wrong, 1 refused though answerable, 2 refused
    rightly, 1 answered though unanswerable. `changed`: q2 answered rightly instead."""
    return [
        row("q1", "What is the tariff?", ["24%"], *RIGHT, confidence=0.9),
        row("q2", "What tariff applies?", ["24%"], *(RIGHT if changed else WRONG),
            confidence=0.7),
        row("q3", "How much did exports rise?", ["18.66%"], False, confidence=0.3,
            section="02 Exports"),
        row("q4", "Who is the president?", [], False, confidence=0.1, section="02 Exports"),
        row("q5", "Which port?", [], False, confidence=0.15),
        row("q6", f"{SCRIPT} what rate?", [], *RIGHT, confidence=0.8),
    ]


def outcome_rows(page: str, key: str) -> int:
    section = re.search(rf'<section id="outcome-{key}".*?</section>', page, re.S).group(0)
    return section.count("<tr>") - (1 if "<table" in section else 0)


def test_outcomes_and_one_row_per_question():
    results = gold_run()
    assert [report.outcome(r) for r in results] == [
        "answered-right", "answered-wrong", "refused-answerable", "refused-rightly",
        "refused-rightly", "answered-unanswerable"]
    page = report.render_html(summarize(results), results, {"gold": "g.jsonl",
                                                            "index fingerprint": "abc123"})
    expected = {"answered-right": 1, "answered-wrong": 1, "refused-answerable": 1,
                "refused-rightly": 2, "answered-unanswerable": 1}
    assert {key: outcome_rows(page, key) for key in expected} == expected
    for key, n in expected.items():  # the outcome table and the navigation agree
        assert f'<a href="#outcome-{key}">{report.LABELS[key]}</a></td>\n<td class="n">{n}</td>' \
            in page.replace("</td><td", "</td>\n<td")
        assert f'href="#outcome-{key}">{report.LABELS[key]} ({n})</a>' in page
    assert "abc123" in page and "http://127.0.0.1:8000/?q=What+is+the+tariff%3F" in page
    assert "The tariff is <mark>24%</mark>." in page       # the answer marked in its sentence
    assert "<td>01 Tariffs</td><td class=\"n\">4</td>" in page  # per section: 4 in 01, 2 in 02
    assert "<td>02 Exports</td><td class=\"n\">2</td>" in page
    # self-contained: nothing loaded from elsewhere, no scripts
    assert not re.search(r"<script|<link|<img|<iframe|src=|@import|url\(", page, re.I)


def test_everything_printed_is_escaped():
    results = gold_run()
    results[0]["evidence"][0]["section"] = '"><img src=x onerror=alert(1)>'
    page = report.render_html(summarize(results), results, {"gold": SCRIPT})
    assert SCRIPT not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; what rate?" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_an_answers_caveat_is_shown_beside_it():
    results = gold_run()
    results[0]["caveat"] = "the sentence it is taken from does not mention <b>2024</b>"
    page = report.render_html(summarize(results), results, {"gold": "g.jsonl"})
    assert ('<td>24%<br><span class="muted">note: the sentence it is taken from does not '
            'mention &lt;b&gt;2024&lt;/b&gt;</span></td>') in page
    assert page.count("note: the sentence") == 1


def test_reliability_bins_match_the_ece():
    results = gold_run()
    metrics = summarize(results)
    bins = report.reliability_bins(results)
    assert sum(b["count"] for b in bins) == len(results)
    ece = sum(b["count"] * abs(b["confidence"] - b["accuracy"]) for b in bins if b["count"])
    assert ece / len(results) == pytest.approx(metrics["ece"])
    # q1 (0.9) is right, q6 (0.8) is an unanswerable: top span not right
    assert bins[9]["accuracy"] == 1.0 and bins[8]["accuracy"] == 0.0
    svg = report.render_html(metrics, results)
    assert svg.count("<circle") == sum(1 for b in bins if b["count"])
    assert f"ECE {metrics['ece']:.3f}" in svg


def test_compare_names_the_question_that_changed():
    earlier = {"metrics": summarize(gold_run()), "results": gold_run()}
    now = gold_run(changed=True)
    diff = report.compare(summarize(now), now, earlier)
    assert [new["id"] for _, new in diff["better"]] == ["q2"] and diff["worse"] == []
    text = report.format_comparison(diff)
    assert "1 question got better" in text and "What tariff applies?" in text
    assert "before: '18.66%' (answered wrong, F1 0.00)" in text
    assert "now:    '24%' (answered right, F1 1.00)" in text
    assert re.search(r"F1 +0\.\d+ -> 0\.\d+ +\(\+0\.167\)", text)
    page = report.render_html(summarize(now), now, diff=diff)
    better = re.search(r'<section id="better">.*?</section>', page, re.S).group(0)
    assert "What tariff applies?" in better and \
        '<td>18.66%<br><span class="muted">answered wrong, F1 0.00' in better
    assert '<span class="up">+0.167</span>' in page
    # back again: it got worse; a refusal instead of a wrong answer (same F1) is better
    assert [n["id"] for _, n in report.compare(summarize(now), gold_run(),
                                               {"metrics": {}, "results": now})["worse"]] == ["q2"]
    refused = gold_run()
    refused[1] = row("q2", "What tariff applies?", ["24%"], False)
    assert [n["id"] for _, n in report.compare({}, refused, earlier)["better"]] == ["q2"]


def test_cli_html_and_compare(monkeypatch, tmp_path, capsys):
    import qa.evaluation
    from qa.cli import main
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"metrics": summarize(gold_run()), "results": gold_run()}))
    now = gold_run(changed=True)
    monkeypatch.setattr(qa.evaluation, "run_evaluation",
                        lambda settings, gold, out=None, jobs=None:
                        EvalReport(summarize(now), now, {"eval seconds": 12.0}))
    page = tmp_path / "r.html"
    assert main(["eval", "--html", str(page), "--compare", str(earlier)]) == 0
    out = capsys.readouterr().out
    assert "What tariff applies?" in out and "1 question got better" in out
    assert re.search(r"HTML report written to .*r\.html in \d+\.\d+ s \(answering took 12\.0 s",
                     out)
    assert 'id="better"' in page.read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["eval", "--compare", str(bad)]) == 2
    assert main(["eval", "--html", str(tmp_path / "no" / "r.html")]) == 2
    assert "is not a report" in capsys.readouterr().err


@test_browser.pytestmark
def test_report_in_a_real_browser(browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    earlier = {"metrics": summarize(gold_run()), "results": gold_run()}
    now = gold_run(changed=True)
    page = tmp_path / "report.html"
    page.write_text(report.render_html(summarize(now), now, {"gold": "hand-checked"},
                                       report.compare(summarize(now), now, earlier)))
    test_browser.viewport(browser, test_browser.LAPTOP)
    browser.get(page.as_uri())
    svg = browser.find_element(By.CSS_SELECTOR, "#reliability svg")
    assert svg.size["width"] > 100 and svg.size["height"] > 100
    for shape in ("rect", "circle", "path"):
        drawn = [e for e in svg.find_elements(By.TAG_NAME, shape)
                 if e.size["width"] > 0 and e.size["height"] > 0]
        assert drawn, f"no {shape} drawn"
    screenshot(browser, "eval-report.png")
    for key, label in report.OUTCOMES:
        browser.find_element(By.CSS_SELECTOR, f'nav a[href="#outcome-{key}"]').click()
        assert browser.current_url.endswith(f"#outcome-{key}")
        heading = browser.find_element(By.CSS_SELECTOR, f"#outcome-{key} h2")
        assert heading.text.startswith(label) and heading.is_displayed()
        top, height = browser.execute_script(
            "return [arguments[0].getBoundingClientRect().top, window.innerHeight]", heading)
        assert 0 <= top < height  # scrolled into view
    assert "What tariff applies?" in browser.find_element(By.ID, "better").text
    assert browser.get_log("browser") == []


@test_browser.pytestmark
def test_report_fits_a_phone_screen(browser, tmp_path):  # noqa: F811
    """Nothing is wider than a 390-pixel phone: tables scroll in their own box, the charts
    shrink with their text."""
    from qa.evaluation import tradeoff
    from selenium.webdriver.common.by import By
    now = gold_run(changed=True)
    earlier = {"metrics": summarize(gold_run()), "results": gold_run()}
    page = tmp_path / "report.html"
    page.write_text(report.render_html(summarize(now), now, {"gold": "hand-checked"},
                                       report.compare(summarize(now), now, earlier),
                                       curve=tradeoff(now, 0.5),
                                       earlier_curve=tradeoff(gold_run(), 0.5)))
    test_browser.viewport(browser, (390, 844), mobile=True)
    try:
        browser.get(page.as_uri())
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        for svg in browser.find_elements(By.TAG_NAME, "svg"):
            box = svg.rect
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        screenshot(browser, "eval-report-phone.png")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
