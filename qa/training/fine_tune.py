"""Fine-tune the span reader: examples in, READER_WEIGHTS out, resumable from checkpoints.

One pass (or more) over the examples of qa/training/examples.py in length-grouped batches with
dynamic padding; AdamW with linear warm-up and decay; bfloat16 autocast where the CPU has it.
Every `checkpoint_every` steps the model, optimiser and step are saved, so an interrupted run
continues where it stopped as if it had not (the batch order is fixed by the seed; the random
state of dropout is saved with the rest).
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..models.reader_model import (MAX_TOKENS, load_tokenizer, load_torch_model, save_delta,
                                   weights_digest)
from .examples import Example


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1
    learning_rate: float = 8e-5
    batch_size: int = 32
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0
    checkpoint_every: int = 100  # steps
    precision: str = "auto"  # "auto" (bfloat16 where the device supports it) | "bf16" | "fp32"
    device: str = "cpu"  # or "cuda" where a GPU is lent (then check the weights on the CPU)


def token_positions(encoding, answer: tuple[int, int] | None) -> tuple[int, int] | None:
    """The answer's first and last token in an encoded (question, window) pair; (0, 0), the
    [CLS] token, for "no answer"; None when the answer was cut off."""
    if answer is None:
        return 0, 0
    start, end = answer
    first = last = None
    for i, ((a, b), sid) in enumerate(zip(encoding.offsets, encoding.sequence_ids)):
        if sid != 1 or a == b:
            continue
        if first is None and b > start:
            first = i
        if a < end:
            last = i
    if first is None or last is None or last < first:
        return None
    return first, last


def encode_examples(examples: list[Example], max_tokens: int = MAX_TOKENS) -> list[tuple]:
    """(ids, type_ids, first, last) per example; examples whose answer was cut off are left out."""
    tokenizer = load_tokenizer(max_tokens)
    out = []
    step = 2048
    for k in range(0, len(examples), step):
        chunk = examples[k:k + step]
        for ex, enc in zip(chunk, tokenizer.encode_batch([(e.question, e.window) for e in chunk])):
            positions = token_positions(enc, ex.answer)
            if positions is not None:
                out.append((enc.ids, enc.type_ids, positions[0], positions[1]))
    return out


def batch_order(lengths: list[int], batch_size: int, seed: int, epochs: int) -> list[list[int]]:
    """Batches of example indexes: shuffled, grouped by length within chunks of 50 batches (less
    padding), then the batches shuffled. Fixed by the seed, so a resumed run sees the same."""
    rng = random.Random(seed)
    out = []
    for _ in range(epochs):
        order = list(range(len(lengths)))
        rng.shuffle(order)
        chunk = batch_size * 50
        batches = []
        for c in range(0, len(order), chunk):
            part = sorted(order[c:c + chunk], key=lambda i: lengths[i])
            batches += [part[b:b + batch_size] for b in range(0, len(part), batch_size)]
        rng.shuffle(batches)
        out += batches
    return out


def fingerprint(encoded: list[tuple], config: TrainConfig, init: Path | None = None) -> str:
    h = hashlib.sha1(repr(config).encode())
    if init is not None:  # a refinement resumes only from the same starting weights
        h.update(weights_digest(Path(init)).encode())
    for ids, _, first, last in encoded:
        h.update(f"{len(ids)}:{ids[1] if len(ids) > 1 else 0}:{first}:{last};".encode())
    return h.hexdigest()[:16]


def use_bf16(precision: str, device: str = "cpu") -> bool:
    import torch
    if precision == "bf16":
        return True
    if precision == "fp32":
        return False
    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.backends.cpu.get_cpu_capability() in ("AVX512", "AMX")
                    and torch.cpu._is_avx512_bf16_supported())
    except AttributeError:
        return False


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fine_tune(examples: list[Example], out: Path, checkpoint_dir: Path,
              config: TrainConfig = TrainConfig(), fresh: bool = False,
              max_steps: int | None = None, init: Path | None = None) -> dict:
    """Fine-tune the reader on `examples` and write its weights to `out`; resumes from
    `checkpoint_dir` unless `fresh`. `max_steps` stops early (the schedule still spans the whole
    run), leaving a checkpoint to resume from. `init`: weights to start from (a refinement pass)
    instead of the base model with a new head. Returns a summary of the run."""
    import torch
    torch.manual_seed(config.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    encoded = encode_examples(examples)
    batches = batch_order([len(e[0]) for e in encoded], config.batch_size, config.seed,
                          config.epochs)
    key = fingerprint(encoded, config, init)
    # float32 master weights whatever the base file holds (a float16 copy travels to a GPU)
    model = load_torch_model(weights=init).float().to(config.device)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = ".embeddings." not in name
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    total = len(batches)
    warm = max(1, int(config.warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / total))
    checkpoint = Path(checkpoint_dir) / "checkpoint.pt"
    device_type = config.device.split(":")[0]
    step, seen, loss_sum = 0, 0, 0.0
    if checkpoint.is_file() and not fresh:
        state = torch.load(checkpoint, weights_only=False, map_location=config.device)
        if state["fingerprint"] != key:
            raise ValueError(f"{checkpoint} belongs to other data or settings: "
                             "pass --fresh to start over")
        model.load_state_dict(state["model"], strict=False)
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step, seen, loss_sum = state["step"], state["seen"], state["loss_sum"]
        if "rng" in state:  # dropout continues as in an uninterrupted run
            torch.set_rng_state(state["rng"].cpu())
            if "cuda_rng" in state and device_type == "cuda":
                torch.cuda.set_rng_state(state["cuda_rng"].cpu(), config.device)
        log(f"resumed at step {step}/{total} from {checkpoint}")
    bf16 = use_bf16(config.precision, config.device)
    log(f"{len(encoded)} examples, {total} steps of {config.batch_size}, "
        f"{'bfloat16' if bf16 else 'float32'}, {torch.get_num_threads()} threads")
    model.train()
    started, start_step, window_loss, window_n = time.time(), step, 0.0, 0
    stop = total if max_steps is None else min(total, step + max_steps)
    pending: list = []
    while step < stop:
        batch = [encoded[i] for i in batches[step]]
        width = max(len(e[0]) for e in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for r, (tok, typ, _, _) in enumerate(batch):
            ids[r, :len(tok)] = torch.tensor(tok)
            types[r, :len(typ)] = torch.tensor(typ)
            mask[r, :len(tok)] = 1
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            output = model(input_ids=ids.to(config.device), attention_mask=mask.to(config.device),
                           token_type_ids=types.to(config.device),
                           start_positions=torch.tensor([e[2] for e in batch]).to(config.device),
                           end_positions=torch.tensor([e[3] for e in batch]).to(config.device))
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        step += 1
        seen += len(batch)
        # the losses stay on the device until a log line or a checkpoint needs them: reading one
        # each step would make the loop wait for the device every step
        pending.append((output.loss.detach(), len(batch)))
        if step % 20 == 0 or step == stop or step % config.checkpoint_every == 0:
            values = torch.stack([v for v, _ in pending]).float().tolist()
            loss_sum += sum(v * n for v, (_, n) in zip(values, pending))
            window_loss, window_n = window_loss + sum(values), window_n + len(values)
            pending = []
        if step % 20 == 0 or step == stop:
            rate = (step - start_step) / max(time.time() - started, 1e-9)
            eta = (stop - step) / max(rate, 1e-9)
            log(f"step {step}/{total}  loss {window_loss / window_n:.3f}  "
                f"{rate * config.batch_size:.1f} examples/s  eta {eta / 60:.0f} min")
            window_loss, window_n = 0.0, 0
        if step % config.checkpoint_every == 0 or step == stop:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"fingerprint": key, "step": step, "seen": seen, "loss_sum": loss_sum,
                        "model": {n: p for n, p in model.state_dict().items()
                                  if ".embeddings." not in n},
                        "optimiser": optimiser.state_dict(),
                        "schedule": schedule.state_dict(), "rng": torch.get_rng_state(),
                        **({"cuda_rng": torch.cuda.get_rng_state(config.device)}
                           if device_type == "cuda" else {})}, tmp)
            tmp.replace(checkpoint)
    model.eval().cpu()
    finished = step >= total
    if finished:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        save_delta(model, Path(out))
        log(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")
    return {"examples": len(encoded), "steps": step, "total_steps": total, "finished": finished,
            "mean_loss": loss_sum / max(seen, 1), "seconds": time.time() - started,
            "fingerprint": key, "bf16": bf16}
