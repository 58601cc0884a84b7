"""Command line: `python -m qa build | ask | eval | serve | bench | train`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
import time
from pathlib import Path

from .config import CAUTION_LEVELS, Settings
from .errors import QAError
from .text import counted

EXIT_USAGE = 2       # the user can fix the command or its input
EXIT_THRESHOLD = 1   # eval ran but missed a --fail-under threshold


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p, corpus=True):
        if corpus:
            p.add_argument("--corpus", type=Path, help="corpus folder (default: corpus, $QA_CORPUS)")
        p.add_argument("--index", type=Path, help="index folder (default: index, $QA_INDEX)")
        p.add_argument("--model", help="sentence-transformers model folder ($QA_MODEL_PATH)")

    def caution(p):
        p.add_argument("--caution", choices=CAUTION_LEVELS,
                       help="how readily it refuses: strict, balanced (default) or lenient "
                            "($QA_CAUTION; see the README)")

    p = sub.add_parser("build", help="(re)build the index from the corpus folder")
    common(p)
    p.add_argument("--strict", action="store_true",
                   help="exit 2 without writing the index if any file cannot be indexed")
    p.add_argument("--max-file-mb", type=float,
                   help="skip corpus files larger than this (default 50, $QA_MAX_FILE_MB)")

    p = sub.add_parser("ask", help="answer one question from the index")
    p.add_argument("question")
    common(p, corpus=False)
    p.add_argument("--top-k", type=int, help="evidence passages to return (1-10, default 3)")
    p.add_argument("--json", action="store_true", help="print the answer record as JSON")
    caution(p)

    p = sub.add_parser("eval", help="score a gold question set")
    common(p, corpus=False)
    p.add_argument("--gold", type=Path, default=Path("corpus/gold.jsonl"))
    p.add_argument("--out", type=Path, help="write the report (metrics and results) as JSON")
    p.add_argument("--fail-under", help="thresholds, e.g. f1=0.8,evidence=0.9: exit 1 if missed")
    p.add_argument("--html", type=Path, metavar="PATH",
                   help="also write a self-contained HTML report (no scripts, opens from disk)")
    p.add_argument("--compare", type=Path, metavar="EARLIER.json",
                   help="an earlier --out report: show each metric's change and the questions "
                        "that got better or worse")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="questions asked side by side (default: one per core; 1 for latency "
                        "figures of an otherwise idle machine)")
    caution(p)

    p = sub.add_parser("serve", help="serve the web form and JSON API")
    common(p)
    p.add_argument("--host", help="address to bind (default 127.0.0.1, $QA_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000, $QA_PORT)")
    p.add_argument("--workers", type=int, help="worker processes (default 1, $QA_WORKERS)")
    p.add_argument("--threads", type=int,
                   help="request threads per worker (default: the cores shared out among the "
                        "workers, $QA_THREADS)")
    p.add_argument("--rebuild", action="store_true",
                   help="build the index first if it is missing or stale")
    caution(p)

    p = sub.add_parser("bench", help="measure latency, throughput, cold start and scale")
    common(p)
    p.add_argument("--out", type=Path, default=Path("bench-results.json"))
    p.add_argument("--quick", action="store_true", help="shorter runs (for a smoke check)")
    p.add_argument("--only", metavar="SECTIONS",
                   help="comma-separated sections to run: latency, onnx, reader_onnx, http, "
                        "cold, scale, rebuild, store (default: all)")
    p.add_argument("--store", choices=("files", "qdrant"),
                   help="the store backend the scale and store sections build and ask "
                        "($QA_STORE; qdrant: local mode in memory unless QA_QDRANT_URL or "
                        "QA_QDRANT_PATH is set)")

    p = sub.add_parser("train", help="relearn the reader from the SQuAD training data")
    p.add_argument("--squad", type=Path, default=Path("../shared/squad/train.jsonl.gz"),
                   help="SQuAD-format training paragraphs (.jsonl or .jsonl.gz)")
    p.add_argument("--bench-train", type=Path, default=Path("../shared/bench/train"),
                   help="extra training corpus with gold.jsonl ('' to skip)")
    p.add_argument("--out", type=Path,
                   help="weights file (default qa/models/reader_weights.npz)")
    p.add_argument("--work", type=Path, default=Path(".cache/reader-train"),
                   help="checkpoints and intermediate files (a run resumes from here)")
    p.add_argument("--fresh", action="store_true", help="ignore an earlier checkpoint")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (resume later)")
    p.add_argument("--limit", type=int, help="train on the first N examples only (a smoke run)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda where a GPU is lent")
    p.add_argument("--stage", choices=("squad", "abstention"), default="squad",
                   help="squad (default): fine-tune from the base model on SQuAD v1.1 and "
                        "../shared/bench/train; abstention: continue from "
                        "qa/reader_base_weights.npz on the real near-misses of --v2-extra and "
                        "SQuAD v1.1 positives (1 epoch, about an hour on 2 CPU cores)")
    p.add_argument("--v2-extra", type=Path, default=Path("../shared/squad/v2-extra.jsonl.gz"),
                   help="SQuAD 2.0 articles with real unanswerable questions: a third of them "
                        "calibrate the confidence, the abstention stage learns from the rest")
    p.add_argument("--epochs", type=int, help="passes over the examples (default 3; abstention 1)")
    p.add_argument("--per-paragraph", type=int, default=50,
                   help="answerable questions taken per paragraph at most (default 50: all)")
    p.add_argument("--retrieved-share", type=float, default=0.5,
                   help="share of questions also paired with a retrieved window lacking the "
                        "answer (default 0.5)")
    p.add_argument("--swapped-share", type=float, default=0.8,
                   help="share of questions also made into a near-miss (default 0.8)")
    p.add_argument("--opposite-share", type=float, default=1.0,
                   help="share of questions also made into an opposite-word near-miss, where "
                        "one applies (default 1)")
    p.add_argument("--negated-share", type=float, default=0.2,
                   help="share of questions also made into a negated near-miss (default 0.2)")
    p.add_argument("--window-swap-share", type=float, default=0.0,
                   help="share of questions also made into a near-miss within the window: a "
                        "specific of the answer's sentence swapped for one the window states "
                        "elsewhere (default 0: not yet trained on)")
    p.add_argument("--sentence-swap-share", type=float, default=0.0,
                   help="share of questions also made into a near-miss within the answer's "
                        "sentence: a specific swapped for another that sentence states, roles "
                        "swapped (default 0: not yet trained on)")
    p.add_argument("--init-from", type=Path,
                   help="start from these reader weights instead of the base model (a "
                        "refinement pass)")
    p.add_argument("--average-with", type=Path,
                   help="after fine-tuning, average the weights with these (a model soup; "
                        "with --init-from, the weights it started from)")
    p.add_argument("--learning-rate", type=float,
                   help="peak learning rate (default 8e-5; abstention 3e-5)")
    p.add_argument("--seed", type=int, default=0,
                   help="draws the examples and their order (default 0)")
    p.add_argument("--checkpoint-every", type=int,
                   help="steps between checkpoints (default 100; abstention 50)")
    p.add_argument("--skip-fine-tune", action="store_true",
                   help="keep the weights, redo only the calibration")
    p.add_argument("--fine-tune-only", action="store_true",
                   help="stop after writing the weights (calibrate later with --skip-fine-tune, "
                        "e.g. on the CPU after training on a GPU)")
    p.add_argument("--early-exit-only", action="store_true",
                   help="keep the weights and the calibration, choose only the early exit (the "
                        "confidence at which the best-retrieved window is answered from alone) "
                        "on the held-out articles (about 15 minutes on 2 cores)")
    return parser


def _settings(args) -> Settings:
    return Settings.from_env(
        corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None), model_path=getattr(args, "model", None),
        host=getattr(args, "host", None), port=getattr(args, "port", None),
        workers=getattr(args, "workers", None), threads=getattr(args, "threads", None),
        max_file_mb=getattr(args, "max_file_mb", None), caution=getattr(args, "caution", None))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValueError as exc:  # a bad QA_* environment variable
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args, settings)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output went away (`qa ask ... | head`)
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # 128 + SIGPIPE, as a shell reports it


def cmd_build(args, settings: Settings) -> int:
    from .models.embedding import Embedder
    from .progress import Progress
    from .store.indexing import build_index
    report = build_index(settings.corpus_dir, settings.index_dir, Embedder(settings.model_path),
                         max_file_bytes=settings.max_file_bytes, strict=args.strict,
                         progress=Progress(), int8=settings.reader_int8, settings=settings)
    print(f"indexed {counted(report.documents, 'document')}, "
          f"{counted(report.sentences, 'sentence')}, "
          f"{counted(report.passages, 'passage')} from {settings.corpus_dir} into {report.target} "
          f"(fingerprint {report.fingerprint}, {report.seconds:.1f} s; embedded "
          f"{report.embedded} of {report.texts} texts, the others cached or repeated"
          + (f"; {len(report.skipped)} file(s) skipped" if report.skipped else "") + ")")
    return 0


def cmd_ask(args, settings: Settings) -> int:
    from .pipeline import Pipeline
    pipeline = Pipeline.load(settings)
    answer = pipeline.ask(args.question, top_k=args.top_k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(format_answer(answer, pipeline))
    return 0


def format_answer(answer, pipeline) -> str:
    """The answer, the cited sentence with the answer marked, and the citation."""
    lines = []
    if answer.answered:
        span = answer.answer
        cite = answer.evidence[0]
        lines.append(f"Answer: {span.text}   ({answer.support}, confidence "
                     f"{100 * answer.confidence:.0f}%)")
        if answer.caveat:
            lines.append(f"  Note: {answer.caveat}.")
        a, b = span.start - cite.start, span.end - cite.start
        marked = f"{cite.text[:a]}[[{cite.text[a:b]}]]{cite.text[b:]}"
        lines.append(textwrap.fill(marked, 100, initial_indent="  “", subsequent_indent="   ")
                     + "”")
        lines.append(f"  — {cite.title}, section: {cite.section or '(none)'}, "
                     f"{_page(span)}{cite.doc_id} characters {span.start}-{span.end}")
        for alt in answer.alternatives:
            lines.append(f"  alternative: {alt.text} ({100 * alt.confidence:.0f}%, "
                         f"{alt.doc_id} {alt.start}-{alt.end})")
    else:
        lines.append(f"Not found in the documents: {answer.reason}")
        lines.append("Closest passages:")
        for cite in answer.evidence:
            lines.append(textwrap.fill(cite.text, 100, initial_indent="  - ",
                                       subsequent_indent="    "))
            lines.append(f"    ({cite.title}, {cite.section or '(no section)'}, "
                         f"{_page(cite)}{cite.doc_id} {cite.start}-{cite.end})")
    return "\n".join(lines)


def _page(item) -> str:
    """"p. 3, " for a span or citation of a paged document (PDF), else nothing."""
    return f"p. {item.page}, " if getattr(item, "page", None) else ""


def cmd_eval(args, settings: Settings) -> int:
    from . import report as html_report
    from .evaluation import parse_thresholds, run_evaluation
    thresholds = parse_thresholds(args.fail_under) if args.fail_under else {}
    if args.jobs is not None and not 1 <= args.jobs <= 64:
        print(f"error: --jobs {args.jobs}: give a number of questions to ask side by side, "
              "from 1 to 64", file=sys.stderr)
        return EXIT_USAGE
    earlier = html_report.load_earlier(args.compare) if args.compare else None
    if args.html and not args.html.resolve().parent.is_dir():
        raise html_report.ReportError(f"--html {str(args.html)!r}: its folder does not exist; "
                                      "create it or pass another path")
    report = run_evaluation(settings, args.gold, out=args.out, jobs=args.jobs)
    diff = html_report.compare(report.metrics, report.results, earlier) if earlier else None
    if diff is not None:
        print(html_report.format_comparison(diff))
        if earlier.get("tradeoff"):
            from .evaluation import format_tradeoff
            print("the earlier run's trade-off:\n" + format_tradeoff(earlier["tradeoff"]))
    if args.html:
        started = time.perf_counter()
        page = html_report.render_html(report.metrics, report.results, report.run, diff,
                                       service_url=f"http://{settings.host}:{settings.port}",
                                       curve=report.tradeoff,
                                       earlier_curve=(earlier or {}).get("tradeoff"))
        args.html.write_text(page, encoding="utf-8")
        print(f"HTML report written to {args.html} in {time.perf_counter() - started:.3f} s "
              f"(answering took {report.run['eval seconds']:.1f} s)")
    missed = {k: (report.metrics[k], v) for k, v in thresholds.items() if report.metrics[k] < v}
    for key, (value, floor) in missed.items():
        print(f"FAIL {key} = {value:.3f} < {floor}", file=sys.stderr)
    return EXIT_THRESHOLD if missed else 0


def cmd_serve(args, settings: Settings) -> int:
    from .web.server import exit_now, serve
    serve(settings, rebuild=args.rebuild)
    exit_now(0)


def cmd_bench(args, settings: Settings) -> int:
    from .bench import SECTIONS, run_bench
    sections = SECTIONS
    if args.only:
        sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            print(f"error: unknown bench section(s) {', '.join(unknown)}: choose from "
                  f"{', '.join(SECTIONS)}", file=sys.stderr)
            return EXIT_USAGE
    if args.store:
        settings = dataclasses.replace(settings, store=args.store)
    if settings.store == "qdrant" and not (settings.qdrant_url or settings.qdrant_path):
        settings = dataclasses.replace(settings, qdrant_path=":memory:")
    run_bench(settings, out=args.out, quick=args.quick, sections=sections)
    return 0


def cmd_train(args, settings: Settings) -> int:
    from .training.command import run_training
    return run_training(args, settings)


COMMANDS = {"build": cmd_build, "ask": cmd_ask, "eval": cmd_eval, "serve": cmd_serve,
            "bench": cmd_bench, "train": cmd_train}
