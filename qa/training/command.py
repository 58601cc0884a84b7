"""`python -m qa train`: build the examples, fine-tune the reader, calibrate its confidence.

1. Examples from ../shared/squad/train.jsonl.gz and ../shared/bench/train
   (qa/training/examples.py), leaving out the held-out articles.
2. Fine-tuning (qa/training/fine_tune.py), resumable from checkpoints in --work.
3. Calibration on the held-out articles (qa/training/calibrate.py): the confidence model and
   the answer threshold, written to qa/models/reader_calibration.json.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from ..config import Settings
from ..models.reader_model import READER_WEIGHTS

SHARES = ("retrieved_share", "swapped_share", "opposite_share", "negated_share",
          "window_swap_share", "sentence_swap_share")


def run_training(args, settings: Settings) -> int:
    from .examples import bench_paragraphs, held_out, make_examples, read_squad
    from .fine_tune import TrainConfig, fine_tune, log
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
    started = time.time()
    paragraphs = read_squad(Path(args.squad))
    train = [p for p in paragraphs if not held_out(p.title)]
    heldout = [p for p in paragraphs if held_out(p.title)]
    if args.bench_train and str(args.bench_train) and (Path(args.bench_train) / "gold.jsonl").is_file():
        train += bench_paragraphs(Path(args.bench_train))
    log(f"{len(paragraphs)} paragraphs read; {len({p.title for p in heldout})} articles held "
        f"out for calibration ({time.time() - started:.0f} s)")
    if not args.skip_fine_tune:
        examples = make_examples(train, seed=args.seed, per_paragraph=args.per_paragraph,
                                 **{k: getattr(args, k) for k in SHARES})
        if args.limit:
            examples = examples[:args.limit]
        log(f"{len(examples)} examples: " + ", ".join(
            f"{k} {v}" for k, v in sorted(Counter(e.kind for e in examples).items())) +
            f" ({time.time() - started:.0f} s)")
        config = TrainConfig(epochs=args.epochs, device=args.device,
                             checkpoint_every=args.checkpoint_every,
                             learning_rate=args.learning_rate, seed=args.seed)
        summary = fine_tune(examples, out, Path(args.work), config, fresh=args.fresh,
                            max_steps=args.max_steps, init=args.init_from)
        summary["kinds"] = dict(Counter(e.kind for e in examples))
        summary["options"] = {k: getattr(args, k) for k in (
            "epochs", "per_paragraph", *SHARES, "device", "learning_rate", "seed", "limit")}
        summary["options"].update({k: str(getattr(args, k)) if getattr(args, k) else None
                                   for k in ("init_from", "average_with")})
        Path(args.work).mkdir(parents=True, exist_ok=True)
        (Path(args.work) / "fine_tune.json").write_text(json.dumps(summary, indent=1) + "\n")
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
    from .calibrate import calibrate
    calibrate(heldout, out, Path(args.work), settings)
    log(f"done in {(time.time() - started) / 60:.1f} min")
    return 0
