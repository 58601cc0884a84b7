"""Fine-tune the neural span scorer on ../shared/bench/train (and nothing else).

    .venv/bin/python scripts/train_span_scorer.py [--train ../shared/bench/train] [--folds 4]

Each answerable train question becomes one example: the question, its gold supporting sentence
(as our segmenter splits the corpus) and the answer's first occurrence in that sentence. Retrieved
sentences without the answer become examples whose answer is [CLS] ("no answer here"), for
answerable and unanswerable questions alike (SQuAD 2.0 style). all-MiniLM-L6-v2 gets a
start/end head and is fine-tuned with its embeddings frozen.

Writes:
- qa/span_scorer.npz: the model fine-tuned on every train question (what the service uses);
- .cache/span-scorer/fold<k>.npz: one model per fold, each trained without the questions of its
  fold. scripts/train_reader.py scores every train question with the model that never saw it,
  so that the reader's linear models learn how much to trust the scorer on unseen questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.evaluation import load_gold  # noqa: E402
from qa.indexing import segment_corpus  # noqa: E402
from qa.loading import load_corpus  # noqa: E402
from qa.span_scorer import (MAX_TOKENS, SPAN_SCORER_WEIGHTS, base_model_path,  # noqa: E402
                            load_torch_model, save_delta)

FOLD_DIR = ROOT / ".cache" / "span-scorer"
EPOCHS, LEARNING_RATE, BATCH, SEED = 8, 1e-4, 16, 0
NEGATIVES_ANSWERABLE, NEGATIVES_UNANSWERABLE = 1, 2


def fold_of(question_id: str, folds: int) -> int:
    """A question's fold: fixed by its id, so both training scripts agree."""
    return int(hashlib.sha1(question_id.encode("utf-8")).hexdigest(), 16) % folds


def fold_path(k: int, folds: int) -> Path:
    return FOLD_DIR / f"fold{k}of{folds}.npz"


def examples(train_dir: Path) -> list[dict]:
    """Training examples {id, question, sentence, start, end}.

    Positive: an answerable question, its gold supporting sentence and the answer in it.
    Negative (start = end = None: the model learns to point at [CLS], "no answer here"): the
    best retrieved sentence without an answer for each answerable question, and the best
    NEGATIVES_UNANSWERABLE retrieved sentences of each unanswerable one.
    """
    documents = load_corpus(train_dir / "corpus")
    texts = {d.doc_id: d.text for d in documents}
    sentences, _ = segment_corpus(documents)
    items = load_gold(train_dir / "gold.jsonl")
    out = negatives(train_dir, items)
    for item in items:
        evidence = (item.get("evidence") or "").strip()
        if not item["answers"] or not evidence:
            continue
        for sentence in sentences:
            pos = texts[sentence.doc_id].find(evidence)
            if pos >= 0 and sentence.start < pos + len(evidence) and pos < sentence.end:
                break
        else:
            continue
        for answer in item["answers"]:
            k = sentence.text.find(answer)
            if k >= 0:
                out.append({"id": item["id"], "question": item["question"],
                            "sentence": sentence.text, "start": k, "end": k + len(answer)})
                break
    return out


def negatives(train_dir: Path, items: list[dict]) -> list[dict]:
    """Retrieved sentences that do not hold the answer (see `examples`)."""
    import tempfile
    from qa.embedding import Embedder
    from qa.indexing import build_index
    from qa.retrieval import HybridRetriever
    from qa.store import DocumentStore
    from train_reader import bears_answer
    embedder = Embedder()
    index_dir = Path(tempfile.mkdtemp(prefix="span-scorer-index-")) / "index"
    build_index(train_dir / "corpus", index_dir, embedder, query_encoder=False)
    store = DocumentStore.load(index_dir)
    retriever = HybridRetriever(store)
    vectors = embedder.encode([it["question"] for it in items])
    out = []
    for item, vector in zip(items, vectors):
        wanted = NEGATIVES_ANSWERABLE if item["answers"] else NEGATIVES_UNANSWERABLE
        texts = [store.sentences[h.sentence_id].text
                 for h in retriever.retrieve(vector, item["question"], k=10)]
        out.extend({"id": item["id"], "question": item["question"], "sentence": text,
                    "start": None, "end": None}
                   for text in [t for t in texts if not bears_answer(t, item["answers"])][:wanted])
    return out


def encode(tokenizer, ex: dict):
    """Token ids and the answer's first and last token ([CLS], 0, for a negative), or None if
    the answer was cut off."""
    enc = tokenizer(ex["question"], ex["sentence"], truncation="only_second",
                    max_length=MAX_TOKENS, return_offsets_mapping=True)
    if ex["start"] is None:
        enc.pop("offset_mapping")
        return dict(enc), 0, 0
    first = last = None
    for i, ((a, b), sid) in enumerate(zip(enc["offset_mapping"], enc.sequence_ids())):
        if sid != 1:
            continue
        if first is None and a <= ex["start"] < b:
            first = i
        if a < ex["end"] <= b:
            last = i
    if first is None or last is None:
        return None
    enc.pop("offset_mapping")
    return dict(enc), first, last


def fine_tune(train: list[dict], log_prefix: str = ""):
    """A span scorer fine-tuned on `train` (deterministic for a given list)."""
    import torch
    from transformers import AutoTokenizer
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    tokenizer = AutoTokenizer.from_pretrained(base_model_path())
    model = load_torch_model(weights=None)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = ".embeddings." not in name
    data = [e for e in (encode(tokenizer, ex) for ex in train) if e is not None]
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=LEARNING_RATE, weight_decay=0.01)
    steps = EPOCHS * ((len(data) + BATCH - 1) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    model.train()
    started = time.time()
    for epoch in range(EPOCHS):
        rng.shuffle(data)
        total = 0.0
        for b in range(0, len(data), BATCH):
            batch = data[b:b + BATCH]
            inputs = tokenizer.pad([e for e, _, _ in batch], return_tensors="pt")
            out = model(**inputs, start_positions=torch.tensor([s for _, s, _ in batch]),
                        end_positions=torch.tensor([t for _, _, t in batch]))
            out.loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            total += out.loss.item() * len(batch)
        print(f"{log_prefix}epoch {epoch + 1}/{EPOCHS}: loss {total / len(data):.3f} "
              f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
    return model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/bench/train"))
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=SPAN_SCORER_WEIGHTS)
    args = parser.parse_args()
    if not (args.train / "gold.jsonl").is_file():
        print(f"error: no {args.train}/gold.jsonl: pass --train with the bench train folder",
              file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    data = examples(args.train)
    print(f"{len(data)} training examples ({sum(ex['start'] is None for ex in data)} without "
          f"an answer) from {args.train}", file=sys.stderr)
    FOLD_DIR.mkdir(parents=True, exist_ok=True)
    for k in range(args.folds):
        train = [ex for ex in data if fold_of(ex["id"], args.folds) != k]
        save_delta(fine_tune(train, f"fold {k + 1}/{args.folds} "), fold_path(k, args.folds))
    model = fine_tune(data, "all ")
    save_delta(model, args.out)
    (FOLD_DIR / "trained.json").write_text(json.dumps(
        {"train": str(args.train), "folds": args.folds, "examples": len(data),
         "negatives": sum(ex["start"] is None for ex in data),
         "epochs": EPOCHS, "learning_rate": LEARNING_RATE}) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
