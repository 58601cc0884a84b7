"""`python -m qa train`: build the examples, fine-tune the reader, calibrate its confidence.

1. Examples (qa/training/examples.py), leaving out the held-out articles: for the SQuAD stage from
   ../shared/squad/train.jsonl.gz and ../shared/bench/train; for the abstention stage
   (`--stage abstention`, which continues from the SQuAD stage's weights) the real
   unanswerable near-misses of two thirds of ../shared/squad/v2-extra.jsonl.gz's articles with
   SQuAD v1.1 positives.
2. Fine-tuning (qa/training/fine_tune.py), resumable from checkpoints in --work.
3. Calibration on the held-out articles (qa/training/calibrate.py), the other third of v2-extra's
   among them: the confidence model and the caution levels' thresholds, written to
   qa/models/reader_calibration.json.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from ..config import Settings
from ..models.reader_model import READER_BASE_WEIGHTS, READER_WEIGHTS

# Each stage's defaults for the options left unset.
STAGE_DEFAULTS = {"squad": dict(epochs=3, learning_rate=8e-5, checkpoint_every=100,
                                batch_size=32),
                  "abstention": dict(epochs=1, learning_rate=3e-5, checkpoint_every=50,
                                     batch_size=16)}
SHARES = ("retrieved_share", "swapped_share", "opposite_share", "negated_share",
          "window_swap_share", "sentence_swap_share")


def run_training(args, settings: Settings) -> int:
    from .examples import (abstention_examples, bench_paragraphs, held_out, make_examples,
                           read_squad, v2_calibration)
    from .fine_tune import TrainConfig, fine_tune, log
    if getattr(args, "early_exit_only", False):
        if args.fine_tune_only:
            print("error: --early-exit-only keeps the weights: drop --fine-tune-only",
                  file=sys.stderr)
            return 2
        args.skip_fine_tune = True
    else:
        args.early_exit_only = False
    for key, value in STAGE_DEFAULTS[args.stage].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.stage == "abstention":
        # continue from the SQuAD stage's weights, then average with them (a model soup: it
        # kept the SQuAD stage's answers better at the same refusals on held-out articles)
        if args.init_from is None:
            args.init_from = READER_BASE_WEIGHTS
        if args.average_with is None and not args.skip_fine_tune:
            args.average_with = READER_BASE_WEIGHTS
    if not Path(args.squad).is_file():
        print(f"error: no SQuAD training file at {args.squad}: pass --squad PATH",
              file=sys.stderr)
        return 2
    if args.epochs < 1 or args.per_paragraph < 1 or args.checkpoint_every < 1:
        print("error: --epochs, --per-paragraph and --checkpoint-every must be at least 1",
              file=sys.stderr)
        return 2
    if not all(0 <= getattr(args, k) <= 1 for k in SHARES):
        print("error: --retrieved-share, --swapped-share, --opposite-share, --negated-share, "
              "--window-swap-share and --sentence-swap-share must be between 0 and 1",
              file=sys.stderr)
        return 2
    if not args.learning_rate > 0:
        print("error: --learning-rate must be above 0", file=sys.stderr)
        return 2
    out = Path(args.out or READER_WEIGHTS)
    for option in ("init_from", "average_with"):
        path, flag = getattr(args, option), "--" + option.replace("_", "-")
        if path is None:
            continue
        if not Path(path).is_file():
            print(f"error: no reader weights at {path}: pass {flag} PATH to an .npz file "
                  "written by `qa train`", file=sys.stderr)
            return 2
        if Path(path).resolve() == out.resolve():
            print(f"error: {flag} {path} is also the file written: pass --out OTHER.npz (the "
                  "weights started from must stay as they are)", file=sys.stderr)
            return 2
    if args.average_with is not None and args.skip_fine_tune:
        print("error: --average-with averages what fine-tuning writes: drop --skip-fine-tune",
              file=sys.stderr)
        return 2
    if args.skip_fine_tune and args.fine_tune_only:
        print("error: --skip-fine-tune and --fine-tune-only exclude each other: pass one",
              file=sys.stderr)
        return 2
    if args.device != "cpu":
        import torch
        if not (args.device.startswith("cuda") and torch.cuda.is_available()):
            print(f"error: --device {args.device!r} is not available here: use --device cpu",
                  file=sys.stderr)
            return 2
    if args.stage == "abstention" and not Path(args.v2_extra).is_file():
        print(f"error: no SQuAD 2.0 articles at {args.v2_extra}: the abstention stage learns "
              "from them; pass --v2-extra PATH", file=sys.stderr)
        return 2
    started = time.time()
    paragraphs = read_squad(Path(args.squad))
    train = [p for p in paragraphs if not held_out(p.title)]
    heldout = [p for p in paragraphs if held_out(p.title)]
    v2 = read_squad(Path(args.v2_extra)) if Path(args.v2_extra).is_file() else []
    heldout += [p for p in v2 if v2_calibration(p.title)]
    log(f"{len(paragraphs) + len(v2)} paragraphs read; {len({p.title for p in heldout})} "
        f"articles held out for calibration ({time.time() - started:.0f} s)")
    work = Path(args.work) / "abstention" if args.stage == "abstention" else Path(args.work)
    if args.early_exit_only:
        from .calibrate import choose_early_exit
        choose_early_exit(heldout, out, Path(args.work), settings)
        log(f"done in {(time.time() - started) / 60:.1f} min")
        return 0
    if not args.skip_fine_tune:
        if args.stage == "abstention":
            examples = abstention_examples([p for p in v2 if not v2_calibration(p.title)],
                                           train, seed=args.seed)
        else:
            if args.bench_train and str(args.bench_train) and \
                    (Path(args.bench_train) / "gold.jsonl").is_file():
                train += bench_paragraphs(Path(args.bench_train))
            examples = make_examples(train, seed=args.seed, per_paragraph=args.per_paragraph,
                                     **{k: getattr(args, k) for k in SHARES})
        if args.limit:
            examples = examples[:args.limit]
        log(f"{len(examples)} examples: " + ", ".join(
            f"{k} {v}" for k, v in sorted(Counter(e.kind for e in examples).items())) +
            f" ({time.time() - started:.0f} s)")
        config = TrainConfig(epochs=args.epochs, device=args.device,
                             checkpoint_every=args.checkpoint_every, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, seed=args.seed)
        summary = fine_tune(examples, out, work, config, fresh=args.fresh,
                            max_steps=args.max_steps, init=args.init_from)
        summary["kinds"] = dict(Counter(e.kind for e in examples))
        summary["options"] = {k: getattr(args, k) for k in (
            "stage", "epochs", "per_paragraph", *SHARES, "device", "learning_rate", "seed",
            "limit")}
        summary["options"].update({k: str(getattr(args, k)) if getattr(args, k) else None
                                   for k in ("init_from", "average_with")})
        work.mkdir(parents=True, exist_ok=True)
        (work / "fine_tune.json").write_text(json.dumps(summary, indent=1) + "\n")
        if not summary["finished"]:
            log(f"stopped at step {summary['steps']}/{summary['total_steps']}: run the same "
                "command again to resume")
            return 0
        if args.average_with is not None:
            from ..models.reader_model import average_weights
            average_weights(out, Path(args.average_with), out)
            log(f"averaged {out} with {args.average_with}")
    if args.fine_tune_only:
        log(f"fine-tuned in {(time.time() - started) / 60:.1f} min; calibrate with "
            "--skip-fine-tune")
        return 0
    from ..models.reader_model import CALIBRATION_PATH
    from .calibrate import calibrate
    # the abstention stage keeps the depth and precision the last calibration chose (read
    # from the file as it is: its features may be older than the code's)
    keep = None
    if args.stage == "abstention":
        try:
            shipped = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
            keep = (int(shipped["depth"]), bool(shipped["int8"]))
        except (OSError, ValueError, KeyError, TypeError):
            keep = None  # no calibration yet: choose them anew
    calibrate(heldout, out, Path(args.work), settings, keep)
    log(f"done in {(time.time() - started) / 60:.1f} min")
    return 0
