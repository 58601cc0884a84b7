"""The neural span scorer: how likely each token of a sentence is to start or end the answer.

all-MiniLM-L6-v2 with a two-logit head on every token, fine-tuned for extractive question
answering by scripts/train_span_scorer.py on ../shared/bench/train only. The repository keeps
only what fine-tuning changed (the six transformer layers and the head, float16, in
SPAN_SCORER_WEIGHTS); the frozen word embeddings come from the bundled model package. Building
an index exports the assembled model to ONNX beside the index, and serving runs that file with
ONNX Runtime. The scorer never writes text: the reader uses its scores only to rank candidate
spans that are already exact slices of a sentence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import resolve_model_path
from .errors import ModelUnavailable

logger = logging.getLogger(__name__)

SPAN_SCORER_WEIGHTS = Path(__file__).with_name("span_scorer.npz")
SPAN_SCORER_FILE = "span_scorer.onnx"
MAX_TOKENS = 256  # question and sentence together; longer sentences are truncated
ONNX_MAX_DIFF = 1e-3
NO_SCORE = -20.0  # a candidate edge with no token of its own


@dataclass
class TokenScores:
    """Start and end logits of one sentence's tokens, and each token's character span in it."""

    start: np.ndarray  # (tokens,) float32
    end: np.ndarray
    spans: np.ndarray  # (tokens, 2) int, offsets into the sentence
    null: float = 0.0  # the [CLS] start+end logit: "no answer in this sentence"

    def candidate_scores(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, float]:
        """Per candidate [start, end) (character offsets): log P(start) + log P(end) over this
        sentence's tokens; and the best raw start+end logit of any candidate (comparable across
        sentences of the same question)."""
        if len(starts) == 0:
            return np.zeros(0, dtype=np.float32), NO_SCORE
        if len(self.start) == 0:
            return np.full(len(starts), 2 * NO_SCORE, dtype=np.float32), 2 * NO_SCORE
        log_start = self.start - np.logaddexp.reduce(self.start)
        log_end = self.end - np.logaddexp.reduce(self.end)
        # the token that begins at or after a candidate's start, the token that ends at or
        # before its end (candidates are word-aligned; word pieces sit inside words)
        first = np.searchsorted(self.spans[:, 0], starts, side="left")
        last = np.searchsorted(self.spans[:, 1], ends, side="right") - 1
        n = len(self.start)
        ok_first = first < n
        ok_last = last >= 0
        first_c, last_c = np.clip(first, 0, n - 1), np.clip(last, 0, n - 1)
        ok_first &= self.spans[first_c, 0] < ends
        ok_last &= self.spans[last_c, 1] > starts
        s_log = np.where(ok_first, log_start[first_c], NO_SCORE)
        e_log = np.where(ok_last, log_end[last_c], NO_SCORE)
        s_raw = np.where(ok_first, self.start[first_c], NO_SCORE)
        e_raw = np.where(ok_last, self.end[last_c], NO_SCORE)
        return (s_log + e_log).astype(np.float32), float((s_raw + e_raw).max())


def split_scores(start: np.ndarray, end: np.ndarray, sequence_ids: list, offsets) -> TokenScores:
    """The sentence's part (sequence 1) of one encoded question/sentence pair."""
    keep = [i for i, sid in enumerate(sequence_ids) if sid == 1]
    spans = np.asarray([offsets[i] for i in keep], dtype=np.int64).reshape(-1, 2)
    start, end = np.asarray(start, dtype=np.float32), np.asarray(end, dtype=np.float32)
    return TokenScores(start[keep], end[keep], spans, float(start[0] + end[0]))


# -- assembling the model (torch; used to train, to export and as a fallback) ------------------

def base_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 folder: the span scorer's weights are a delta over it,
    whatever embedding model the index uses."""
    return resolve_model_path(None)


def load_torch_model(weights: Path | None = SPAN_SCORER_WEIGHTS, base: str | None = None):
    """BertForQuestionAnswering: the base model with the fine-tuned delta applied (or, with
    `weights=None`, an untrained head, for fine-tuning)."""
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as transformers_logging
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    model = AutoModelForQuestionAnswering.from_pretrained(base or base_model_path())
    if weights is not None:
        if not Path(weights).is_file():
            raise ModelUnavailable(f"span scorer weights {weights} are missing: "
                                   "run scripts/train_span_scorer.py")
        delta = np.load(weights)
        state = model.state_dict()
        unknown = [k for k in delta.files if k not in state]
        missing = [k for k in trainable_names(model) if k not in delta.files]
        if unknown or missing:
            raise ModelUnavailable("span scorer weights do not fit the base model "
                                   f"({(unknown or missing)[0]}): run "
                                   "scripts/train_span_scorer.py")
        model.load_state_dict({k: torch.from_numpy(delta[k].astype(np.float32))
                               for k in delta.files}, strict=False)
    return model.eval()


def trainable_names(model) -> list[str]:
    """What fine-tuning changes: everything but the word, position and type embeddings."""
    return [n for n, _ in model.named_parameters() if ".embeddings." not in n]


def save_delta(model, path: Path) -> None:
    """The fine-tuned parameters, float16, as a .npz file."""
    state = model.state_dict()
    np.savez_compressed(path, **{n: state[n].detach().numpy().astype(np.float16)
                                 for n in trainable_names(model)})


class TorchSpanScorer:
    """Token scores from a torch model (training and the fallback when ONNX is unavailable)."""

    def __init__(self, model=None, base: str | None = None):
        from transformers import AutoTokenizer
        self.model = model if model is not None else load_torch_model(base=base)
        self.tokenizer = AutoTokenizer.from_pretrained(base or base_model_path())

    def score(self, question: str, sentences: list[str]) -> list[TokenScores]:
        import torch
        if not sentences:
            return []
        enc = self.tokenizer([question] * len(sentences), sentences, truncation="only_second",
                             max_length=MAX_TOKENS, padding=True, return_offsets_mapping=True,
                             return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        with torch.no_grad():
            out = self.model(**enc)
        return [split_scores(out.start_logits[i].numpy(), out.end_logits[i].numpy(),
                             enc.sequence_ids(i), offsets[i]) for i in range(len(sentences))]


def export_span_scorer(path: Path, check_sentences: list[str]) -> float:
    """Export the assembled span scorer to ONNX at `path`; returns its largest logit
    difference from torch over a few sentences (refused above ONNX_MAX_DIFF)."""
    from .embedding import export_transformer
    torch_scorer = TorchSpanScorer()
    sample = torch_scorer.tokenizer(["a question"], ["a sentence to trace the graph"],
                                    return_tensors="pt")
    export_transformer(torch_scorer.model, lambda out: (out.start_logits, out.end_logits),
                       sample, path, ["start", "end"])
    return _max_diff(OnnxSpanScorer(path), torch_scorer, check_sentences)


_EXPORTS: dict[tuple, tuple[Path, float]] = {}  # (weights, mtime) -> (ONNX file, difference)


def span_scorer_export(check_sentences: list[str]) -> tuple[Path, float]:
    """The ONNX span scorer (exported and checked against torch once per process and weights
    file) and its largest logit difference from torch."""
    import atexit
    import shutil
    import tempfile
    if not SPAN_SCORER_WEIGHTS.is_file():
        raise ModelUnavailable(f"{SPAN_SCORER_WEIGHTS} is missing: run "
                               "scripts/train_span_scorer.py")
    key = (str(SPAN_SCORER_WEIGHTS), SPAN_SCORER_WEIGHTS.stat().st_mtime_ns)
    if key not in _EXPORTS:
        folder = Path(tempfile.mkdtemp(prefix="qa-span-scorer-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / SPAN_SCORER_FILE
        _EXPORTS[key] = (path, export_span_scorer(path, check_sentences))
    return _EXPORTS[key]


def _max_diff(onnx_scorer, torch_scorer, sentences: list[str]) -> float:
    check = sentences[:8] or ["a check sentence"]
    diff = max(float(np.abs(a.start - b.start).max(initial=0.0)) for a, b in
               zip(onnx_scorer.score("what is checked?", check),
                   torch_scorer.score("what is checked?", check)))
    if diff > ONNX_MAX_DIFF:
        raise ModelUnavailable(f"the ONNX span scorer differs from torch by {diff:.2g}")
    return diff


class OnnxSpanScorer:
    """Token scores from the exported model with ONNX Runtime."""

    def __init__(self, onnx_path: Path, threads: int = 1):
        """`threads`: intra-op threads (0: ONNX Runtime's default, all physical cores)."""
        import onnxruntime
        from tokenizers import Tokenizer
        self.tokenizer = Tokenizer.from_file(str(Path(base_model_path()) / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(onnx_path), options,
                                                    providers=["CPUExecutionProvider"])

    def score(self, question: str, sentences: list[str]) -> list[TokenScores]:
        if not sentences:
            return []
        encodings = self.tokenizer.encode_batch([(question, s) for s in sentences])
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        start, end = self.session.run(None, feeds)
        return [split_scores(start[i], end[i], e.sequence_ids, e.offsets)
                for i, e in enumerate(encodings)]


def load_span_scorer(index_dir: Path, threads: int = 0):
    """The index's ONNX span scorer (using `threads` cores, 0: all), else the torch one, else
    None (the reader then ranks candidates by its first stage alone) with a warning."""
    path = Path(index_dir) / SPAN_SCORER_FILE
    if path.is_file():
        try:
            return OnnxSpanScorer(path, threads)
        except ImportError:
            pass
    try:
        return TorchSpanScorer()
    except (ImportError, ModelUnavailable, OSError) as exc:
        logger.warning("no span scorer (%s): answers will be less accurate", exc)
        return None
