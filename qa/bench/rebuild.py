"""6. rebuild: `python -m qa build` of a synthetic corpus from nothing against the rebuild after
one file changed (embedding cache, kept ONNX exports): their ratio; and the build of the web
page, PDF and DOCX fixtures."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config import Settings
from .common import ROOT, _env, _f, _generator

REBUILD_SENTENCES = 3_000      # synthetic corpus the rebuild is measured on (--quick: 300)
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
_EMBEDDED_RE = r"embedded (\d+) of (\d+) texts"


def _timed_build(corpus: Path, index: Path, model_path: str | None) -> dict:
    """`python -m qa build` in a fresh process: wall seconds, the build's own seconds and the
    texts it embedded."""
    import re
    command = [sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index",
               str(index)]
    if model_path:
        command += ["--model", str(model_path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=_env(), cwd=str(ROOT), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"`python -m qa build` failed ({done.returncode}): "
                           f"{done.stderr[-800:]}")
    summary = done.stdout.strip().splitlines()[-1]
    embedded = re.search(_EMBEDDED_RE, summary)
    build_s = re.search(r", ([0-9.]+) s;", summary)
    return {"wall_s": wall, "build_s": float(build_s.group(1)) if build_s else None,
            "embedded": int(embedded.group(1)) if embedded else None,
            "texts": int(embedded.group(2)) if embedded else None}


def bench_rebuild(settings: Settings, quick: bool) -> dict:
    """A full build of a synthetic corpus from nothing against the rebuild after one of its
    files changed (the embedding cache and the kept ONNX exports at work), each a fresh
    `python -m qa build`; and the build of the three format fixtures (web page, PDF, DOCX)."""
    sentences = 300 if quick else REBUILD_SENTENCES
    with tempfile.TemporaryDirectory(prefix="qa-bench-rebuild-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        _generator().generate(corpus, sentences)
        (corpus / "questions.jsonl").unlink()
        files = sorted(corpus.glob("*.txt"))
        full = _timed_build(corpus, index, settings.model_path)
        changed = files[len(files) // 2]
        text = changed.read_text(encoding="utf-8")
        changed.write_text(text.replace(". ", ". It was noted again. ", 1), encoding="utf-8")
        one = _timed_build(corpus, index, settings.model_path)
        fixtures = _timed_build(FIXTURES, Path(tmp) / "fixtures-index", settings.model_path)
    return {"sentences": sentences, "files": len(files), "full": full, "one_file_changed": one,
            "ratio_wall": one["wall_s"] / full["wall_s"],
            "ratio_build": (one["build_s"] / full["build_s"]) if full["build_s"] else None,
            "fixtures": {"files": sorted(p.name for p in FIXTURES.iterdir()), **fixtures}}


def table_lines(rebuild: dict | None) -> list[str]:
    """The rebuild section of the bench table."""
    if not rebuild:
        return []
    if "full" not in rebuild:
        return ["", f"rebuild: {rebuild.get('skipped')}"]
    full, one, fx = rebuild["full"], rebuild["one_file_changed"], rebuild["fixtures"]
    return ["", f"| `python -m qa build`, {rebuild['sentences']} sentences in "
                f"{rebuild['files']} files | wall s | build s | texts embedded |",
            "|---|---|---|---|",
            f"| full build (nothing cached) | {_f(full['wall_s'])} | {_f(full['build_s'])} | "
            f"{full['embedded']} of {full['texts']} |",
            f"| rebuild after one file changed | {_f(one['wall_s'])} | {_f(one['build_s'])} | "
            f"{one['embedded']} of {one['texts']} |",
            f"| **ratio one-file rebuild / full build** | **{_f(rebuild['ratio_wall'], 3)}** | "
            f"{_f(rebuild['ratio_build'], 3)} | |",
            f"| the three format fixtures ({', '.join(fx['files'])}), from nothing | "
            f"{_f(fx['wall_s'])} | {_f(fx['build_s'])} | {fx['embedded']} of {fx['texts']} |"]
