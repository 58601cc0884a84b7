"""Evaluation of a gold question set: SQuAD-style EM/F1, evidence accuracy, abstention, calibration."""

from __future__ import annotations

import bisect
import collections
import dataclasses
import json
import re
import string
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Settings, cores
from .errors import QAError

METRIC_ALIASES = {"f1": "f1", "em": "em", "evidence": "evidence_at_1",
                  "evidence_at_1": "evidence_at_1", "evidence_recall_at_3": "evidence_recall_at_3",
                  "no_answer": "no_answer_accuracy", "no_answer_accuracy": "no_answer_accuracy",
                  "precision": "answered_precision", "verbatim": "verbatim",
                  "has_answer_f1": "has_answer_f1"}


class GoldError(QAError):
    code = "gold_error"


@dataclass
class EvalReport:
    metrics: dict
    results: list[dict]
    run: dict = field(default_factory=dict)  # settings, index and timing (the HTML report's header)
    tradeoff: dict = field(default_factory=dict)  # see tradeoff()


# -- SQuAD answer normalisation and scores ------------------------------------------------------
def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, squeeze spaces (the SQuAD convention)."""
    text = text.lower().replace("’", "'")
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"“", "”", "‘"})
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = collections.Counter(pred) & collections.Counter(ref)
    same = sum(common.values())
    if not pred or not ref:
        return float(pred == ref)
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_score(metric, prediction: str, golds: list[str]) -> float:
    return max(metric(prediction, g) for g in golds)


# -- gold set ---------------------------------------------------------------------------------
def load_gold(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise GoldError(f"gold file {str(path)!r} does not exist: pass --gold with a .jsonl file")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            assert isinstance(item, dict) and isinstance(item["question"], str)
            assert isinstance(item.get("answers", []), list)
        except (ValueError, KeyError, AssertionError) as exc:
            raise GoldError(f"{path}:{n} is not a gold item "
                            '({"id", "question", "answers": [...], "evidence"})') from exc
        item.setdefault("id", str(n))
        item.setdefault("answers", [])
        item.setdefault("evidence", "")
        items.append(item)
    if not items:
        raise GoldError(f"gold file {str(path)!r} holds no questions")
    return items


def parse_thresholds(spec: str) -> dict[str, float]:
    """'f1=0.8,evidence=0.9' -> {'f1': 0.8, 'evidence_at_1': 0.9}."""
    out = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        key = METRIC_ALIASES.get(name.strip().lower())
        try:
            if key is None:
                raise ValueError
            out[key] = float(value)
        except ValueError:
            raise GoldError(f"bad --fail-under item {part!r}: use name=value with names "
                            f"{', '.join(sorted(set(METRIC_ALIASES)))}") from None
    return out


# -- scoring one record -----------------------------------------------------------------------
def evidence_hit(citation: dict, item: dict, documents: dict) -> bool:
    """Whether a cited sentence is the gold supporting sentence (or, lacking one, bears an answer)."""
    gold_evidence = (item.get("evidence") or "").strip()
    text = documents[citation["doc_id"]].text
    if gold_evidence:
        pos = text.find(gold_evidence)
        if pos >= 0:
            return citation["start"] < pos + len(gold_evidence) and pos < citation["end"]
    cited = normalize_answer(citation["text"])
    return any(normalize_answer(a) and f" {normalize_answer(a)} " in f" {cited} "
               for a in item["answers"])


def verbatim(record: dict, documents: dict) -> bool:
    spans = ([record["answer"]] if record["answer"] else []) + record["alternatives"] + \
        record["evidence"]
    for span in spans:
        document = documents.get(span["doc_id"])
        if document is None or document.text[span["start"]:span["end"]] != span["text"]:
            return False
    return True


def score(record: dict, item: dict, documents: dict) -> dict:
    golds = item["answers"]
    answerable = bool(golds)
    answered = record["answered"]
    top = record["answer"] or (record["alternatives"][0] if record["alternatives"] else None)
    if answerable:
        em = best_score(exact_match, record["answer"]["text"], golds) if answered else 0.0
        f1 = best_score(f1_score, record["answer"]["text"], golds) if answered else 0.0
        top_f1 = best_score(f1_score, top["text"], golds) if top else 0.0
    else:
        em = f1 = float(not answered)
        top_f1 = 0.0
    ev = record["evidence"]
    return {
        "id": item["id"], "question": item["question"], "gold_answers": golds,
        "em": em, "f1": f1,
        "evidence_hit": bool(answerable and ev and evidence_hit(ev[0], item, documents)),
        "evidence_hit_at_3": bool(answerable and any(evidence_hit(c, item, documents)
                                                     for c in ev[:3])),
        # the event `confidence` predicts: its best span is right (F1 >= 0.5)
        "top_correct": bool(answerable and top_f1 >= 0.5),
        "top_f1": top_f1,  # what answering with the best span would score (the trade-off)
        "verbatim": verbatim(record, documents),
        **record,
    }


def summarize(results: list[dict]) -> dict:
    answerable = [r for r in results if r["gold_answers"]]
    unanswerable = [r for r in results if not r["gold_answers"]]
    answered = [r for r in results if r["answered"]]
    mean = lambda xs: float(np.mean(xs)) if xs else 0.0  # noqa: E731
    conf = np.array([r["confidence"] for r in results])
    correct = np.array([r["top_correct"] for r in results], dtype=float)
    latency = np.array([r["took_ms"] for r in results])
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "em": mean([r["em"] for r in results]),
        "f1": mean([r["f1"] for r in results]),
        "has_answer_f1": mean([r["f1"] for r in answerable]),
        "evidence_at_1": mean([r["evidence_hit"] for r in answerable]),
        "evidence_recall_at_3": mean([r["evidence_hit_at_3"] for r in answerable]),
        "no_answer_accuracy": mean([float(not r["answered"]) for r in unanswerable]),
        "answered_precision": mean([float(bool(r["gold_answers"]) and r["f1"] >= 0.5)
                                    for r in answered]),
        "answer_rate": len(answered) / len(results) if results else 0.0,
        "ece": expected_calibration_error(conf, correct),
        "verbatim": mean([float(r["verbatim"]) for r in results]),
        "latency_p50_ms": float(np.percentile(latency, 50)) if len(latency) else 0.0,
        "latency_p95_ms": float(np.percentile(latency, 95)) if len(latency) else 0.0,
    }


NO_ANSWER_TARGETS = (0.5, 0.6, 0.7, 0.85)


def tradeoff(results: list[dict], threshold: float, step: float = 0.01) -> dict:
    """The run's trade-off between answering and refusing, over the threshold: at each one, the
    F1 on answerable questions (a refusal scores 0) and the share of unanswerable questions
    refused, answering with each question's best span when its confidence reaches the
    threshold (a refusal by the constraint check, or for want of passages, stays one). Also
    the run's own point, and the best F1 at each share of NO_ANSWER_TARGETS refused."""
    if not results:
        return {}
    conf = np.array([r["confidence"] for r in results])
    top_f1 = np.array([r.get("top_f1", 0.0) for r in results])
    held = np.array([r.get("refused_by") in ("constraint", "no_passage") for r in results])
    answerable = np.array([bool(r["gold_answers"]) for r in results])

    def point(answered, t):
        return {"threshold": round(float(t), 4),
                "has_answer_f1": float(np.where(answered, top_f1, 0.0)[answerable].mean())
                if answerable.any() else None,
                "no_answer_accuracy": float((~answered)[~answerable].mean())
                if (~answerable).any() else None}

    grid = np.round(np.arange(0.0, 1.0 + step / 2, step), 4)
    points = [point((conf >= t) & ~held, t) for t in grid]
    served = np.array([r["answered"] for r in results])
    best = {}
    for target in NO_ANSWER_TARGETS:
        ok = [p["has_answer_f1"] for p in points if p["no_answer_accuracy"] is not None and
              p["has_answer_f1"] is not None and p["no_answer_accuracy"] >= target - 1e-9]
        best[f"{target:g}"] = max(ok) if ok else None
    return {"points": points, "operating_point": point(served, threshold),
            "best_f1_at_no_answer": best}


def format_tradeoff(curve: dict) -> str:
    """The trade-off's headline for the terminal: the run's point and the best F1 on answerable
    questions at each share of unanswerable ones refused."""
    if not curve or curve["operating_point"]["no_answer_accuracy"] is None:
        return ""
    op = curve["operating_point"]
    best = ", ".join(f"{k}: {'-' if v is None else f'{v:.3f}'}"
                     for k, v in curve["best_f1_at_no_answer"].items())
    return (f"  trade-off (over the threshold): at {op['threshold']:.2f} F1 on answerable "
            f"{op['has_answer_f1']:.3f} with {op['no_answer_accuracy']:.3f} of unanswerable "
            "refused;\n  best F1 on answerable with at least this share refused: " + best)


def confidence_bin(confidence: np.ndarray, bins: int = 10) -> np.ndarray:
    """The equal-width bin (0 .. bins-1) of each confidence (also the report's diagram)."""
    return np.clip(np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 10) -> float:
    """Weighted mean gap between confidence and accuracy over equal-width confidence bins."""
    if not len(confidence):
        return 0.0
    which = confidence_bin(confidence, bins)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total / len(confidence))


# -- running ----------------------------------------------------------------------------------
def gold_section(item: dict, record: dict, documents: dict, sentences: dict) -> str | None:
    """The section of the gold evidence sentence when it is found in the documents, else the
    section of the cited sentence. `sentences`: doc_id -> its sentences in text order."""
    gold_evidence = (item.get("evidence") or "").strip()
    for doc_id, document in (documents.items() if gold_evidence else ()):
        pos = document.text.find(gold_evidence)
        in_doc = sentences.get(doc_id, [])
        i = bisect.bisect_right([s.start for s in in_doc], pos) - 1 if pos >= 0 else -1
        if i >= 0:
            return in_doc[i].section
    return record["evidence"][0]["section"] if record["evidence"] else None


def evaluate(pipeline, gold: list[dict], jobs: int = 1) -> EvalReport:
    """Ask every gold question and score the answers. `jobs` questions are asked side by side
    (the pipeline is thread-safe); the results keep the gold set's order."""
    store, started = pipeline.store, time.perf_counter()
    sentences = collections.defaultdict(list)
    for sentence in sorted(store.sentences, key=lambda s: (s.doc_id, s.start)):
        sentences[sentence.doc_id].append(sentence)

    def answer(item: dict) -> dict:
        return pipeline.ask(item["question"]).to_dict()

    if jobs > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            records = list(pool.map(answer, gold))
    else:
        records = [answer(item) for item in gold]
    results = [{**score(record, item, store.documents),
                "section": gold_section(item, record, store.documents, sentences)}
               for item, record in zip(gold, records)]
    manifest, reader = store.manifest, store.manifest.get("reader", {})
    run = {"index fingerprint": store.fingerprint, "index built at": manifest.get("built_at"),
           "model": manifest.get("model"),
           "reader": f"{reader.get('runtime')}{', int8' if reader.get('int8') else ''}",
           "caution": pipeline.settings.caution or "balanced (default)"
           if pipeline.settings.min_confidence is None else "QA_MIN_CONFIDENCE",
           "answer threshold": round(pipeline.reader.threshold, 4),
           "evidence top_k": pipeline.settings.top_k,
           "questions asked side by side": jobs,
           "evaluated at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "eval seconds": round(time.perf_counter() - started, 2)}
    return EvalReport(summarize(results), results, run,
                      tradeoff(results, pipeline.reader.threshold))


def run_evaluation(settings: Settings, gold_path: Path, out: Path | None = None,
                   stream=None, jobs: int | None = None) -> EvalReport:
    """Score the gold set at `gold_path` against the index of `settings`, `jobs` questions side
    by side (default: one per core, each model run on one core, as the service runs them: the
    answers are the same as one at a time, and a gold set of thousands is scored ~1.4x sooner
    on 2 cores; its latency figures are then those of a loaded machine)."""
    from .pipeline import Pipeline
    stream = stream or sys.stdout
    gold = load_gold(gold_path)
    jobs = cores() if jobs is None else jobs
    if jobs > 1 and settings.model_threads is None:
        settings = dataclasses.replace(settings, model_threads=1)
    pipeline = Pipeline.load(settings)
    report = evaluate(pipeline, gold, jobs=jobs)
    where = str(settings.index_dir) if settings.store != "qdrant" else \
        f"Qdrant collection {pipeline.store.manifest.get('collection')}"
    report.run = {"gold": str(gold_path), "index": where, **report.run}
    print(format_metrics(report.metrics, title=f"{gold_path} on {where}"),
          file=stream)
    if format_tradeoff(report.tradeoff):
        print(format_tradeoff(report.tradeoff), file=stream)
    if out:
        Path(out).write_text(json.dumps({"metrics": report.metrics, "tradeoff": report.tradeoff,
                                         "results": report.results},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"report written to {out}", file=stream)
    return report


def format_metrics(metrics: dict, title: str = "") -> str:
    rows = [("questions (answerable / unanswerable)",
             f"{metrics['questions']} ({metrics['answerable']} / {metrics['unanswerable']})"),
            ("exact match", f"{metrics['em']:.3f}"),
            ("F1", f"{metrics['f1']:.3f}"),
            ("F1 on answerable questions", f"{metrics['has_answer_f1']:.3f}"),
            ("evidence@1", f"{metrics['evidence_at_1']:.3f}"),
            ("evidence recall@3", f"{metrics['evidence_recall_at_3']:.3f}"),
            ("no-answer accuracy", f"{metrics['no_answer_accuracy']:.3f}"),
            ("precision when answering", f"{metrics['answered_precision']:.3f}"),
            ("answer rate", f"{metrics['answer_rate']:.3f}"),
            ("expected calibration error", f"{metrics['ece']:.3f}"),
            ("verbatim", f"{metrics['verbatim']:.3f}"),
            ("latency p50 / p95 (ms)",
             f"{metrics['latency_p50_ms']:.1f} / {metrics['latency_p95_ms']:.1f}")]
    width = max(len(k) for k, _ in rows)
    lines = [title] if title else []
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
