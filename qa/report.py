"""Evaluation runs people can read: one self-contained HTML file, and run-against-run comparison.

The reliability diagram is hand-written SVG, not matplotlib: it is a few rectangles, circles
and one line, matplotlib would be a new dependency of about 30 MB (with its font cache and a
first import of about a second), and hand-written markup is small, escapes like the rest of the
page and renders the same in every browser. Everything printed from a question, an answer or a
document goes through `html.escape`: they are untrusted text. The page needs no JavaScript and
loads nothing from outside; the outcome sections are reached with `#outcome-...` anchors.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote_plus

import numpy as np

from .errors import QAError
from .evaluation import confidence_bin

# (anchor key, label) in the order the report shows them
OUTCOMES = [("answered-right", "answered right"),
            ("answered-wrong", "answered wrong"),
            ("refused-answerable", "refused though answerable"),
            ("refused-rightly", "refused rightly"),
            ("answered-unanswerable", "answered though unanswerable")]
LABELS = dict(OUTCOMES)
# when F1 ties, a refusal is better than a wrong answer
RANK = {"answered-right": 2, "refused-rightly": 2, "refused-answerable": 1,
        "answered-wrong": 0, "answered-unanswerable": 0}
METRICS = [("questions", "questions"), ("em", "exact match"), ("f1", "F1"),
           ("has_answer_f1", "F1 on answerable questions"), ("evidence_at_1", "evidence@1"),
           ("evidence_recall_at_3", "evidence recall@3"),
           ("no_answer_accuracy", "no-answer accuracy"),
           ("answered_precision", "precision when answering"), ("answer_rate", "answer rate"),
           ("ece", "expected calibration error"), ("verbatim", "verbatim"),
           ("latency_p50_ms", "latency p50 (ms)"), ("latency_p95_ms", "latency p95 (ms)")]
LOWER_IS_BETTER = {"ece", "latency_p50_ms", "latency_p95_ms"}
SLOWEST = 10


class ReportError(QAError):
    code = "report_error"


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def outcome(row: dict) -> str:
    """One of OUTCOMES' keys (right: F1 >= 0.5, the event `confidence` predicts)."""
    if row["gold_answers"]:
        if not row["answered"]:
            return "refused-answerable"
        return "answered-right" if row["f1"] >= 0.5 else "answered-wrong"
    return "answered-unanswerable" if row["answered"] else "refused-rightly"


def outcome_counts(results: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(LABELS, 0)
    for row in results:
        counts[outcome(row)] += 1
    return counts


def reliability_bins(results: list[dict], bins: int = 10) -> list[dict]:
    """Equal-width confidence bins (the ones the ECE uses) with the top span's observed accuracy."""
    confidence = np.array([r["confidence"] for r in results], dtype=float)
    correct = np.array([r["top_correct"] for r in results], dtype=float)
    which = confidence_bin(confidence, bins)
    out = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        out.append({"low": b / bins, "high": (b + 1) / bins, "count": n,
                    "confidence": float(confidence[mask].mean()) if n else None,
                    "accuracy": float(correct[mask].mean()) if n else None})
    return out


# -- comparison -----------------------------------------------------------------------------
def load_earlier(path: Path) -> dict:
    """An earlier `qa eval --out` report ({"metrics", "results"})."""
    try:
        earlier = json.loads(Path(path).read_text(encoding="utf-8"))
        assert isinstance(earlier["metrics"], dict) and isinstance(earlier["results"], list)
        assert all({"question", "gold_answers", "answered", "f1", "confidence"} <= set(row)
                   for row in earlier["results"])
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ReportError(f"--compare {str(path)!r} is not a report written by "
                          f"`qa eval --out` ({exc.__class__.__name__}): pass such a file") from None
    return earlier


def _key(row: dict) -> str:
    return str(row.get("id") or row["question"])


def compare(metrics: dict, results: list[dict], earlier: dict) -> dict:
    """Each metric's change, and the questions (matched by id) whose F1 or outcome changed."""
    changes = [(key, label, earlier["metrics"][key], metrics[key]) for key, label in METRICS
               if isinstance(earlier["metrics"].get(key), (int, float)) and key in metrics]
    before = {_key(r): r for r in earlier["results"]}
    better, worse = [], []
    for row in results:
        old = before.get(_key(row))
        if old is None:
            continue
        change = row["f1"] - old["f1"]
        if abs(change) <= 1e-9:  # same F1: a refusal instead of a wrong answer is better
            change = RANK[outcome(row)] - RANK[outcome(old)]
        if change:
            (better if change > 0 else worse).append((old, row))
    now = {_key(r) for r in results}
    return {"metrics": changes, "better": better, "worse": worse,
            "new": sum(k not in before for k in now),
            "gone": sum(k not in now for k in before)}


def answer_text(row: dict) -> str:
    return row["answer"]["text"] if row["answered"] and row.get("answer") else "(refused)"


def format_comparison(diff: dict, limit: int = 25) -> str:
    """The comparison for the terminal."""
    lines = ["change against the earlier run"]
    width = max((len(label) for _, label, _, _ in diff["metrics"]), default=0)
    for key, label, old, new in diff["metrics"]:
        lines.append(f"  {label.ljust(width)}  {_num(old, key)} -> {_num(new, key)}  "
                     f"({_delta(key, old, new, html_tags=False)})")
    if diff["new"] or diff["gone"]:
        lines.append(f"  questions only in this run: {diff['new']}, "
                     f"only in the earlier run: {diff['gone']}")
    for name in ("better", "worse"):
        pairs = diff[name]
        lines.append(_questions_got(len(pairs), name))
        for old, new in pairs[:limit]:
            lines.append(f"  [{new.get('id')}] {new['question']}")
            lines.append(f"      before: {answer_text(old)!r} ({LABELS[outcome(old)]}, "
                         f"F1 {old['f1']:.2f})")
            lines.append(f"      now:    {answer_text(new)!r} ({LABELS[outcome(new)]}, "
                         f"F1 {new['f1']:.2f})")
        if len(pairs) > limit:
            lines.append(f"  ... and {len(pairs) - limit} more (all of them in --html)")
    return "\n".join(lines)


def _num(value, key: str = "") -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}"


def _questions_got(n: int, name: str) -> str:
    return f"{n} question{'' if n == 1 else 's'} got {name}"


def _delta(key: str, old, new, html_tags: bool = True) -> str:
    change = new - old
    text = ("+" if change >= 0 else "") + _num(change, key)
    if not html_tags or abs(change) < 1e-9:
        return text
    good = (change < 0) == (key in LOWER_IS_BETTER)
    return f'<span class="{"up" if good else "down"}">{esc(text)}</span>'


# -- HTML -------------------------------------------------------------------------------------
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
 max-width:1200px;padding:1em 1.5em;color:#1d232b;background:#fff}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #d5d9e0;padding:.25em .5em;
 vertical-align:top;text-align:left}th{background:#f1f3f6}td.n{text-align:right;white-space:nowrap}
nav a{margin-right:.8em}mark{background:#ffe27a;padding:0 .1em}.muted{color:#667}
.up{color:#17803d;font-weight:600}.down{color:#b3261e;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start}.grid>*{max-width:440px}
.o-answered-right,.o-refused-rightly{border-left:6px solid #2e9d57}
.o-answered-wrong,.o-answered-unanswerable{border-left:6px solid #d0453b}
.o-refused-answerable{border-left:6px solid #e0a100}
section:target h2{background:#fff6d6}.q td{font-size:.93em}td:first-child{white-space:nowrap}
svg{max-width:100%;height:auto}
@media (max-width:40em){body{padding:.6em .8em}.grid>*{max-width:100%}
 table{display:block;max-width:100%;overflow-x:auto}nav a{display:inline-block}
 td:first-child{white-space:normal}}
"""


def render_html(metrics: dict, results: list[dict], run: dict | None = None,
                diff: dict | None = None, service_url: str = "http://127.0.0.1:8000",
                curve: dict | None = None, earlier_curve: dict | None = None) -> str:
    """The whole report as one HTML page (no scripts, no external resources); `curve`: the
    run's trade-off (evaluation.tradeoff), `earlier_curve` the compared run's."""
    run = run or {}
    counts = outcome_counts(results)
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width,initial-scale=1">',
             f"<title>Evaluation: {esc(run.get('gold', 'gold set'))}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>Evaluation of {esc(run.get('gold', 'a gold set'))}</h1>",
             _run_line(run), _nav(counts, diff), '<div class="grid"><div>',
             _metrics_table(metrics, diff), _outcome_table(counts), "</div>",
             _reliability(results, metrics), "</div>", _tradeoff(curve, earlier_curve),
             _sections_table(results),
             _slowest(results)]
    if diff is not None:
        parts.append(_changed(diff, service_url))
    parts.append(_questions(results, service_url))
    parts.append("</body></html>")
    return "\n".join(parts)


def _nav(counts: dict, diff: dict | None) -> str:
    links = [("#metrics", "metrics"), ("#reliability", "reliability"), ("#tradeoff", "trade-off"),
             ("#outcomes", "outcomes"), ("#sections", "per section"), ("#slowest", "slowest")]
    if diff is not None:
        links += [("#better", f"better ({len(diff['better'])})"),
                  ("#worse", f"worse ({len(diff['worse'])})")]
    links += [(f"#outcome-{key}", f"{label} ({counts[key]})") for key, label in OUTCOMES]
    return "<nav>" + "".join(f'<a href="{href}">{esc(text)}</a>' for href, text in links) + \
        "</nav>"


def _table(head: list[str], rows: list[list[str]], attrs: str = "") -> str:
    """A table; `head` is escaped here, cells arrive as finished HTML."""
    out = [f"<table{attrs}><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(row) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"


def _cell(value, numeric: bool = False) -> str:
    return f'<td class="n">{esc(value)}</td>' if numeric else f"<td>{esc(value)}</td>"


def _run_line(run: dict) -> str:
    """The run's settings and index, one line under the title."""
    items = [f"{esc(k)}: <b>{esc(v)}</b>" for k, v in run.items() if k != "gold"]
    return f'<p id="run" class="muted">{" · ".join(items)}</p>' if items else ""


def _metrics_table(metrics: dict, diff: dict | None) -> str:
    before = {key: old for key, _, old, _ in (diff or {}).get("metrics", [])}
    head = ["metric", "value"] + (["earlier", "change"] if diff is not None else [])
    rows = []
    for key, label in METRICS:
        row = [_cell(label), _cell(_num(metrics[key], key), True)]
        if diff is not None:
            old = before.get(key)
            row += [_cell("" if old is None else _num(old, key), True),
                    '<td class="n">' + ("" if old is None else _delta(key, old, metrics[key]))
                    + "</td>"]
        rows.append(row)
    return '<h2 id="metrics">Metrics</h2>' + _table(head, rows)


PLOT_WIDTH, PLOT_HEIGHT, PLOT_LEFT, PLOT_TOP, PLOT_SIZE = 400, 382, 50, 20, 320


def _unit_square(label: str):
    """The start of an inline SVG plot of [0, 1] x [0, 1] with its ticks: the list of SVG parts
    and the functions from values to x and y coordinates."""
    left, top, size = PLOT_LEFT, PLOT_TOP, PLOT_SIZE
    x = lambda v: left + v * size  # noqa: E731
    y = lambda v: top + (1 - v) * size  # noqa: E731
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}" '
           f'viewBox="0 0 {PLOT_WIDTH} {PLOT_HEIGHT}" role="img" aria-label="{esc(label)}">',
           f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="#fafbfc" '
           'stroke="#889"/>']
    for t in np.linspace(0, 1, 6):
        svg.append(f'<line x1="{x(t):.1f}" y1="{y(0)}" x2="{x(t):.1f}" y2="{y(0) + 5}" '
                   f'stroke="#889"/><text x="{x(t):.1f}" y="{y(0) + 18}" font-size="11" '
                   f'text-anchor="middle">{t:.1f}</text>')
        svg.append(f'<line x1="{left - 5}" y1="{y(t):.1f}" x2="{left}" y2="{y(t):.1f}" '
                   f'stroke="#889"/><text x="{left - 8}" y="{y(t) + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{t:.1f}</text>')
    return svg, x, y


def _reliability(results: list[dict], metrics: dict) -> str:
    """Confidence bins against the observed accuracy of the top span, as inline SVG."""
    bins = reliability_bins(results)
    svg, x, y = _unit_square("reliability diagram")
    size, left, top = PLOT_SIZE, PLOT_LEFT, PLOT_TOP
    svg.append(f'<path d="M{x(0)} {y(0)} L{x(1)} {y(1)}" stroke="#999" stroke-dasharray="4 3" '
               'fill="none"/>')
    for b in bins:
        if not b["count"]:
            continue
        acc, bx, bw = b["accuracy"], x(b["low"]) + 2, (b["high"] - b["low"]) * size - 4
        tip = (f"confidence {b['low']:.1f}-{b['high']:.1f}: {b['count']} questions, "
               f"mean confidence {b['confidence']:.2f}, accuracy {acc:.2f}")
        svg.append(f'<rect x="{bx:.1f}" y="{y(acc):.1f}" width="{bw:.1f}" '
                   f'height="{max(acc * size, 1):.1f}" fill="#5b8fd6" fill-opacity=".75">'
                   f"<title>{esc(tip)}</title></rect>")
        svg.append(f'<circle cx="{x(b["confidence"]):.1f}" cy="{y(acc):.1f}" r="4" '
                   f'fill="#d0453b"><title>{esc(tip)}</title></circle>')
        svg.append(f'<text x="{bx + bw / 2:.1f}" y="{min(y(acc) - 8, y(0) - 6):.1f}" '
                   f'font-size="11" text-anchor="middle">{b["count"]}</text>')
    svg.append(f'<text x="{x(.5)}" y="{y(0) + 36}" font-size="12" text-anchor="middle">'
               "confidence</text>")
    svg.append(f'<text x="14" y="{y(.5)}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {y(.5)})">observed accuracy</text>')
    svg.append(f'<text x="{left + 8}" y="{top + 16}" font-size="12">ECE '
               f'{metrics["ece"]:.3f}</text></svg>')
    rows = [[_cell(f"{b['low']:.1f}-{b['high']:.1f}"), _cell(b["count"], True),
             _cell("" if b["confidence"] is None else f"{b['confidence']:.2f}", True),
             _cell("" if b["accuracy"] is None else f"{b['accuracy']:.2f}", True)]
            for b in bins if b["count"]]
    return ('<section id="reliability"><h2>Reliability</h2>'
            f'<p class="muted">Bars: how often the best span is right (F1 &ge; 0.5) among the '
            "questions in each confidence bin (numbers: questions; dots: their mean "
            "confidence; dashed: perfect calibration). ECE "
            f'{metrics["ece"]:.3f} is the gap between the two, weighted by bin size.</p>'
            + "".join(svg) + _table(["confidence", "questions", "mean confidence", "accuracy"],
                                    rows) + "</section>")


def _tradeoff(curve: dict | None, earlier: dict | None) -> str:
    """F1 on answerable questions against the share of unanswerable ones refused, over the
    threshold, as inline SVG: this run's curve with its operating point, and the earlier run's
    (dashed) when compared."""
    if not curve or curve["operating_point"]["no_answer_accuracy"] is None or \
            curve["operating_point"]["has_answer_f1"] is None:
        return ('<section id="tradeoff"><h2>Trade-off</h2><p class="muted">The gold set needs '
                "answerable and unanswerable questions for this curve.</p></section>")
    svg, x, y = _unit_square("trade-off curve")

    def line(c: dict, style: str) -> str:
        pts = [(p["no_answer_accuracy"], p["has_answer_f1"]) for p in c["points"]
               if p["no_answer_accuracy"] is not None and p["has_answer_f1"] is not None]
        d = " ".join(f"{'M' if i == 0 else 'L'}{x(a):.1f} {y(b):.1f}"
                     for i, (a, b) in enumerate(pts))
        return f'<path d="{d}" fill="none" stroke-width="2" {style}/>'

    if earlier and earlier.get("points"):
        svg.append(line(earlier, 'stroke="#999" stroke-dasharray="5 3"'))
    svg.append(line(curve, 'stroke="#5b8fd6"'))
    op = curve["operating_point"]
    tip = (f"threshold {op['threshold']:.2f}: F1 on answerable {op['has_answer_f1']:.3f}, "
           f"unanswerable refused {op['no_answer_accuracy']:.3f}")
    svg.append(f'<circle cx="{x(op["no_answer_accuracy"]):.1f}" '
               f'cy="{y(op["has_answer_f1"]):.1f}" r="5" fill="#d0453b">'
               f"<title>{esc(tip)}</title></circle>")
    if earlier and earlier.get("operating_point", {}).get("has_answer_f1") is not None and \
            earlier["operating_point"].get("no_answer_accuracy") is not None:
        eop = earlier["operating_point"]
        svg.append(f'<circle cx="{x(eop["no_answer_accuracy"]):.1f}" '
                   f'cy="{y(eop["has_answer_f1"]):.1f}" r="4" fill="#999"/>')
    svg.append(f'<text x="{x(.5)}" y="{y(0) + 36}" font-size="12" text-anchor="middle">'
               "share of unanswerable questions refused</text>")
    svg.append(f'<text x="14" y="{y(.5)}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {y(.5)})">F1 on answerable questions</text></svg>')
    head = ["refused at least", "best F1 on answerable"] + (["earlier"] if earlier else [])
    old = (earlier or {}).get("best_f1_at_no_answer", {})
    rows = [[_cell(k), _cell("-" if v is None else f"{v:.3f}", True)] +
            ([_cell("-" if old.get(k) is None else f"{old[k]:.3f}", True)] if earlier else [])
            for k, v in curve["best_f1_at_no_answer"].items()]
    legend = ("Blue: this run over the threshold; red dot: its operating point "
              f"({esc(tip)})" + ("; grey dashed and grey dot: the earlier run" if earlier
                                 else "") + ".")
    return ('<section id="tradeoff"><h2>Trade-off</h2><p class="muted">' + legend +
            " A refusal by the constraint check stays a refusal at any threshold.</p>" +
            "".join(svg) + _table(head, rows) + "</section>")


def _outcome_table(counts: dict) -> str:
    total = sum(counts.values()) or 1
    rows = [[f'<td class="o-{key}"><a href="#outcome-{key}">{esc(label)}</a></td>',
             _cell(counts[key], True), _cell(f"{counts[key] / total:.1%}", True)]
            for key, label in OUTCOMES]
    return ('<section id="outcomes"><h2>Outcomes</h2>'
            + _table(["outcome", "questions", "share"], rows) + "</section>")


def _sections_table(results: list[dict]) -> str:
    groups: dict[str, list[dict]] = {}
    for row in results:
        groups.setdefault(row.get("section") or "(no section)", []).append(row)
    rows = []
    for name, rows_in in groups.items():
        counts = outcome_counts(rows_in)
        rows.append([_cell(name), _cell(len(rows_in), True)]
                    + [_cell(counts[key], True) for key, _ in OUTCOMES]
                    + [_cell(f"{np.mean([r['f1'] for r in rows_in]):.3f}", True)])
    return ('<section id="sections"><h2>Per section</h2>'
            '<p class="muted">The section of the gold evidence sentence, else of the cited '
            "sentence.</p>" + _table(["section", "questions"] + [label for _, label in OUTCOMES]
                                     + ["F1"], rows) + "</section>")


def _slowest(results: list[dict]) -> str:
    rows = [[_cell(r.get("id")), _cell(r["question"]), _cell(LABELS[outcome(r)]),
             _cell(f"{r['took_ms']:.1f}", True)]
            for r in sorted(results, key=lambda r: -r["took_ms"])[:SLOWEST]]
    return (f'<section id="slowest"><h2>The {min(SLOWEST, len(results))} slowest questions'
            "</h2>" + _table(["id", "question", "outcome", "ms"], rows) + "</section>")


def _ask_link(question: str, service_url: str) -> str:
    return f'<a href="{esc(service_url.rstrip("/"))}/?q={esc(quote_plus(question))}">ask</a>'


def _answer_cell(row: dict) -> str:
    if row["answered"] and row.get("answer"):
        caveat = row.get("caveat")
        return (f"<td>{esc(row['answer']['text'])}"
                + (f'<br><span class="muted">note: {esc(caveat)}</span>' if caveat else "")
                + "</td>")
    alt = row["alternatives"][0]["text"] if row.get("alternatives") else None
    return (f"<td><em>refused</em>: {esc(row.get('reason'))}"
            + (f'<br><span class="muted">best span: {esc(alt)}</span>' if alt else "") + "</td>")


def highlighted(row: dict) -> str:
    """The cited sentence, escaped, with the answer (or a refusal's best span) in <mark>."""
    if not row.get("evidence"):
        return ""
    cite = row["evidence"][0]
    span = row.get("answer") if row["answered"] else \
        (row["alternatives"][0] if row.get("alternatives") else None)
    text = cite["text"]
    if span and span["doc_id"] == cite["doc_id"] and \
            cite["start"] <= span["start"] <= span["end"] <= cite["end"]:
        a, b = span["start"] - cite["start"], span["end"] - cite["start"]
        body = f"{esc(text[:a])}<mark>{esc(text[a:b])}</mark>{esc(text[b:])}"
    else:
        body = esc(text)
    where = " · ".join(esc(v) for v in (cite.get("section"), cite["doc_id"]) if v)
    return f'{body}<br><span class="muted">{where}</span>'


def _question_row(row: dict, service_url: str) -> list[str]:
    return [_cell(row.get("id")),
            f"<td>{esc(row['question'])} {_ask_link(row['question'], service_url)}</td>",
            _cell(" | ".join(row["gold_answers"]) or "(none: unanswerable)"),
            _answer_cell(row), _cell(f"{row['f1']:.2f}", True),
            _cell(f"{row['confidence']:.2f}", True), f"<td>{highlighted(row)}</td>"]


QUESTION_HEAD = ["id", "question", "gold answers", "answer", "F1", "confidence",
                 "cited sentence"]


def _questions(results: list[dict], service_url: str) -> str:
    out = []
    for key, label in OUTCOMES:
        rows = [_question_row(r, service_url) for r in results if outcome(r) == key]
        out.append(f'<section id="outcome-{key}" class="o-{key}"><h2>{esc(label)}: '
                   f'{len(rows)} questions <a href="#outcomes" class="muted">(top)</a></h2>'
                   + (_table(QUESTION_HEAD, rows, ' class="q"') if rows else
                      '<p class="muted">none</p>') + "</section>")
    return "\n".join(out)


def _side(row: dict) -> str:
    """One run's answer to a question, for the side-by-side comparison."""
    return (f'<td>{esc(answer_text(row))}<br><span class="muted">{esc(LABELS[outcome(row)])}, '
            f"F1 {row['f1']:.2f}, confidence {row['confidence']:.2f}</span></td>")


def _changed(diff: dict, service_url: str) -> str:
    out = []
    for name in ("better", "worse"):
        rows = []
        for old, new in diff[name]:
            rows.append([_cell(new.get("id")),
                         f"<td>{esc(new['question'])} {_ask_link(new['question'], service_url)}"
                         "</td>", _cell(" | ".join(new["gold_answers"]) or "(none)"),
                         _side(old), _side(new)])
        out.append(f'<section id="{name}"><h2>{_questions_got(len(rows), name)}</h2>'
                   + (_table(["id", "question", "gold answers", "earlier answer",
                              "this answer"], rows) if rows else '<p class="muted">none</p>')
                   + "</section>")
    return "\n".join(out)
