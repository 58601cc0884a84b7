"""The span reader's network: all-MiniLM-L6-v2 with a start/end head on every token.

It reads a question with a window of document text and gives each token a start and an end
logit; the [CLS] token's pair means "no answer in this window". The repository keeps only what
fine-tuning changed (the six transformer layers and the head, float16, in READER_WEIGHTS); the
frozen embeddings come from the bundled model package. Building an index exports the assembled
network to ONNX beside the index, and serving runs that file with ONNX Runtime.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import cores, resolve_model_path
from ..errors import ModelUnavailable

logger = logging.getLogger(__name__)

READER_WEIGHTS = Path(__file__).with_name("reader_weights.npz")
# The confidence model fitted to these weights (qa/reader/confidence.py reads it)
CALIBRATION_PATH = Path(__file__).with_name("reader_calibration.json")
# The reader after its SQuAD stage (`make train`), which the abstention stage continues from
# (`make train-abstention` writes READER_WEIGHTS).
READER_BASE_WEIGHTS = Path(__file__).with_name("reader_base_weights.npz")
READER_ONNX = "reader.onnx"
MAX_TOKENS = 256  # question and window together; a longer window is cut at the end
ONNX_MAX_DIFF = 2e-3  # largest acceptable |onnx - torch| logit difference


def base_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 folder: the reader's weights are a delta over it, whatever
    embedding model the index uses."""
    return resolve_model_path(None)


def load_tokenizer(max_tokens: int = MAX_TOKENS):
    """The base model's fast tokenizer, set to cut only the window (the second text)."""
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(Path(base_model_path()) / "tokenizer.json"))
    tokenizer.enable_truncation(max_tokens, strategy="only_second")
    tokenizer.no_padding()
    return tokenizer


def trainable_names(model) -> list[str]:
    """What fine-tuning changes: everything but the word, position and type embeddings."""
    return [n for n, _ in model.named_parameters() if ".embeddings." not in n]


def load_torch_model(weights: Path | None = READER_WEIGHTS):
    """BertForQuestionAnswering: the base model with the fine-tuned delta applied (or, with
    `weights=None`, an untrained head, to fine-tune)."""
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as transformers_logging
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    model = AutoModelForQuestionAnswering.from_pretrained(base_model_path())
    if weights is not None:
        state = load_delta(weights, model)
        model.load_state_dict({k: torch.from_numpy(v.astype(np.float32))
                               for k, v in state.items()}, strict=False)
    return model.eval()


def load_delta(weights: Path, model) -> dict[str, np.ndarray]:
    """The fine-tuned parameters in `weights`, checked against the model's."""
    if not Path(weights).is_file():
        raise ModelUnavailable(f"reader weights {weights} are missing: run `make train`")
    try:
        with np.load(weights) as delta:
            state = {k: delta[k] for k in delta.files}
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"reader weights {weights} are unreadable ({exc}): "
                               "restore them with git or run `make train`") from exc
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for name in trainable_names(model):
        if name not in state or tuple(state[name].shape) != shapes[name]:
            raise ModelUnavailable(f"reader weights {weights} do not fit the base model "
                                   f"({name}): run `make train`")
    unknown = sorted(set(state) - set(shapes))
    if unknown:
        raise ModelUnavailable(f"reader weights {weights} hold an unknown tensor {unknown[0]}")
    return state


def save_delta(model, path: Path) -> None:
    """The fine-tuned parameters, float16, as a .npz file (written atomically)."""
    state = model.state_dict()
    tmp = Path(path).with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{n: state[n].detach().float().cpu().numpy().astype(np.float16)
                                for n in trainable_names(model)})
    tmp.replace(path)


def average_weights(a: Path, b: Path, out: Path) -> None:
    """The elementwise mean of two weights files of the same reader (a "model soup"), float16,
    written atomically to `out` (which may be `a` or `b`)."""
    with np.load(a) as first, np.load(b) as second:
        if sorted(first.files) != sorted(second.files) or any(
                first[k].shape != second[k].shape for k in first.files):
            raise ModelUnavailable(f"reader weights {a} and {b} hold different tensors: "
                                   "only weights of the same reader can be averaged")
        mean = {k: ((first[k].astype(np.float32) + second[k].astype(np.float32)) / 2)
                .astype(np.float16) for k in first.files}
    tmp = Path(out).with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **mean)
    tmp.replace(out)


@dataclass
class WindowLogits:
    """Start and end logits of one window's tokens, with each token's character span in the
    window, and the window's "no answer" logit (the [CLS] start + end)."""

    start: np.ndarray  # (tokens,) float32
    end: np.ndarray
    spans: np.ndarray  # (tokens, 2) int64
    null: float


def split_logits(start, end, sequence_ids, offsets) -> WindowLogits:
    """The window's part (sequence 1) of one encoded question/window pair."""
    keep = [i for i, sid in enumerate(sequence_ids) if sid == 1]
    spans = np.asarray([offsets[i] for i in keep], dtype=np.int64).reshape(-1, 2)
    start, end = np.asarray(start, dtype=np.float32), np.asarray(end, dtype=np.float32)
    return WindowLogits(start[keep], end[keep], spans, float(start[0] + end[0]))


def encode_batch(tokenizer, question: str, windows: list[str]):
    """Encodings and padded int64 feeds for (question, window) pairs (dynamic padding: to the
    longest pair of this batch)."""
    encodings = tokenizer.encode_batch([(question, w) for w in windows])
    return encodings, padded_feeds(encodings)


def padded_feeds(encodings) -> dict[str, np.ndarray]:
    """The model's int64 inputs for some encodings, padded to the longest of them."""
    width = max(len(e.ids) for e in encodings)
    feeds = {name: np.zeros((len(encodings), width), dtype=np.int64)
             for name in ("input_ids", "attention_mask", "token_type_ids")}
    for i, e in enumerate(encodings):
        n = len(e.ids)
        feeds["input_ids"][i, :n] = e.ids
        feeds["attention_mask"][i, :n] = 1
        feeds["token_type_ids"][i, :n] = e.type_ids
    return feeds


class TorchReaderModel:
    """Window logits from the torch model (training checks, export, and a fallback)."""

    def __init__(self, model=None, weights: Path = READER_WEIGHTS):
        self.model = model if model is not None else load_torch_model(weights)
        self.tokenizer = load_tokenizer()

    def logits(self, question: str, windows: list[str]) -> list[WindowLogits]:
        import torch
        if not windows:
            return []
        encodings, feeds = encode_batch(self.tokenizer, question, windows)
        with torch.no_grad():
            out = self.model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        start, end = out.start_logits.float().numpy(), out.end_logits.float().numpy()
        return [split_logits(start[i], end[i], e.sequence_ids, e.offsets)
                for i, e in enumerate(encodings)]


class OnnxReaderModel:
    """Window logits from the exported model with ONNX Runtime."""

    def __init__(self, onnx_path: Path, threads: int = 1, concurrent_runs: int | None = None):
        """`threads`: intra-op threads (0: ONNX Runtime's default, all physical cores).
        `concurrent_runs`: how many requests' windows run at once (default: one per CPU core).
        More would not be faster on the cores there are, and each running window holds its own
        activations, so a server with many request threads would grow its memory with them."""
        import threading
        import onnxruntime
        self._slots = threading.BoundedSemaphore(max(1, concurrent_runs or cores()))
        self.tokenizer = load_tokenizer()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(onnx_path), options,
                                                    providers=["CPUExecutionProvider"])

    def logits(self, question: str, windows: list[str]) -> list[WindowLogits]:
        """Each window is run on its own: no padding is computed (at 3 retrieved sentences'
        windows, a sixth less time than one padded batch; at 5, over a quarter), and the int8
        reader's logits of a window do not depend on the windows read beside it (its dynamic
        quantization scales activations over the whole batch, padding included)."""
        if not windows:
            return []
        encodings = self.tokenizer.encode_batch([(question, w) for w in windows])
        out = []
        with self._slots:
            for e in encodings:
                start, end = self.session.run(None, padded_feeds([e]))
                out.append(split_logits(start[0], end[0], e.sequence_ids, e.offsets))
        return out


# -- ONNX export ---------------------------------------------------------------------------------

def weights_digest(weights: Path = READER_WEIGHTS) -> str:
    """sha256 of the weights file: an index's exported reader records the weights it came from."""
    from ..hashing import file_sha256
    return file_sha256(Path(weights))


def max_logit_difference(a, b, question: str, windows: list[str]) -> float:
    """Largest |start or end logit| difference of two reader models over some windows."""
    diff = 0.0
    for x, y in zip(a.logits(question, windows), b.logits(question, windows)):
        diff = max(diff, float(np.abs(x.start - y.start).max(initial=0.0)),
                   float(np.abs(x.end - y.end).max(initial=0.0)), abs(x.null - y.null))
    return diff


def _check_windows(windows: list[str]) -> list[str]:
    """Up to 8 non-blank windows to compare two reader models on."""
    return [w for w in windows if w.strip()][:8] or ["a check window."]


def export_reader(path: Path, check_windows: list[str], weights: Path = READER_WEIGHTS,
                  torch_model: "TorchReaderModel | None" = None) -> float:
    """Export the assembled reader (`torch_model`, else loaded from `weights`) to ONNX at
    `path`; returns its largest logit difference from torch over a few windows (refused above
    ONNX_MAX_DIFF)."""
    import torch
    from .embedding import export_transformer
    torch_model = torch_model or TorchReaderModel(weights=weights)
    _, feeds = encode_batch(torch_model.tokenizer, "a question",
                            ["a window of text to trace the graph with"])
    sample = {k: torch.from_numpy(v) for k, v in feeds.items()}
    export_transformer(torch_model.model, lambda out: (out.start_logits, out.end_logits),
                       sample, path, ["start", "end"])
    diff = max_logit_difference(OnnxReaderModel(path), torch_model, "what is checked?",
                                _check_windows(check_windows))
    if diff > ONNX_MAX_DIFF:
        raise ModelUnavailable(f"the ONNX reader differs from torch by {diff:.2g}")
    return diff


# Kept in float32 by quantize_reader: the first transformer layer and the start/end head.
# Measured on 400 questions of the held-out training articles (paragraph given): quantizing
# every layer per tensor cost 2.2 F1 points (0.707 vs 0.729); per channel 1.5; per channel with
# layer 0 kept in float 0.3, at 1.75x float32's speed. Layer 0 was the one whose quantization
# cost the most; no other single layer or group of weights came close.
FLOAT_KEPT = ("/layer.0/", "qa_outputs")
INT8_RECIPE = "int8 per channel; float32: " + ", ".join(FLOAT_KEPT)  # recorded with an export


def quantize_reader(source: Path, target: Path) -> Path:
    """An int8 copy of an exported reader (ONNX Runtime dynamic quantization: int8 weights per
    output channel, activations quantized per batch) with the layers in FLOAT_KEPT left in
    float32: about 1.75x faster than float32 on a CPU."""
    import logging as std_logging
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    matmuls = [n.name for n in onnx.load(str(source), load_external_data=False).graph.node
               if n.op_type in ("MatMul", "Gemm")]
    quantized = [n for n in matmuls if not any(k in n for k in FLOAT_KEPT)]
    if len(quantized) == len(matmuls):
        logger.warning("quantize_reader: no node named like %s; quantizing all of them",
                       FLOAT_KEPT)
    root = std_logging.getLogger()
    level = root.level
    root.setLevel(std_logging.ERROR)  # quantize_dynamic logs advice on pre-processing
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         per_channel=True, nodes_to_quantize=quantized)
    finally:
        root.setLevel(level)
    return target


_EXPORTS: dict[tuple, dict] = {}  # (weights, digest, int8) -> the export's record


def reader_export(check_windows: list[str], weights: Path = READER_WEIGHTS,
                  int8: bool = False) -> dict:
    """The ONNX reader, exported and checked against torch once per process, weights file and
    precision: {"path", "weights_sha256", "max_abs_diff_vs_torch" (float32 export),
    "int8", and with int8 "int8_max_abs_diff_vs_torch" and "int8_recipe"}."""
    import atexit
    import shutil
    import tempfile
    if not Path(weights).is_file():
        raise ModelUnavailable(f"reader weights {weights} are missing: run `make train`")
    digest = weights_digest(weights)
    key = (str(weights), digest, int8)
    if key not in _EXPORTS:
        folder = Path(tempfile.mkdtemp(prefix="qa-reader-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / READER_ONNX
        torch_model = TorchReaderModel(weights=weights)
        record = {"path": path, "weights_sha256": digest, "int8": int8,
                  "max_abs_diff_vs_torch": export_reader(path, check_windows, weights,
                                                         torch_model)}
        if int8:
            quantized = quantize_reader(path, folder / "reader.int8.onnx")
            record["int8_max_abs_diff_vs_torch"] = max_logit_difference(
                OnnxReaderModel(quantized), torch_model, "what is checked?",
                _check_windows(check_windows))
            record["path"] = quantized
            record["int8_recipe"] = INT8_RECIPE
        _EXPORTS[key] = record
    return dict(_EXPORTS[key])


def reader_is_current(manifest: dict, weights: Path = READER_WEIGHTS,
                      int8: bool | None = None) -> bool:
    """Whether an index's exported reader comes from `weights` (and, if given, has the
    wanted precision)."""
    recorded = manifest.get("reader") or {}
    if not recorded.get("weights_sha256") or not Path(weights).is_file():
        return False
    if int8 is not None and bool(recorded.get("int8")) != int8:
        return False
    if recorded.get("int8") and recorded.get("int8_recipe") != INT8_RECIPE:
        return False  # quantized another way: export it again
    return recorded["weights_sha256"] == weights_digest(weights)


def served_int8(choice: bool | None = None, calibration: Path = CALIBRATION_PATH) -> bool:
    """Whether an index gets the int8 reader: `choice` (QA_READER_PRECISION), else what
    calibration chose (the "int8" of the calibration fitted to these weights)."""
    if choice is not None:
        return choice
    try:
        return json.loads(Path(calibration).read_text(encoding="utf-8")).get("int8", False)
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelUnavailable(f"reader calibration {calibration} is missing or unreadable "
                               f"({exc}): run `make train`") from exc


def load_reader_model(index_dir: Path, threads: int = 0, weights: Path = READER_WEIGHTS):
    """The index's ONNX reader (using `threads` cores, 0: all) when it was exported from the
    current weights, else the torch reader."""
    import json
    index_dir = Path(index_dir)
    path = index_dir / READER_ONNX
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if path.is_file() and reader_is_current(manifest, weights):
        try:
            return OnnxReaderModel(path, threads)
        except ImportError:
            pass
    elif path.is_file():
        logger.warning("the index's reader.onnx comes from other reader weights: reading with "
                       "torch until the index is rebuilt (`python -m qa build`)")
    return TorchReaderModel(weights=weights)
