"""The package's shape, read from its imports with `ast` (nothing is imported or run).

Every import in qa/, at module level or inside a function, relative or `qa.`-absolute, is an
edge from one qa module to another. Three rules hold for those edges:

1. No import circles.
2. The wings (qa/training/ and qa/bench/) are imported only from inside themselves and by
   qa/cli.py, the entry point that dispatches `qa train` and `qa bench`: nothing that answers a
   question reaches into training or benchmarking.
3. A module imports only from its own stage or a lower one (STAGES, lowest first), so the file
   list reads as the product: documents -> models -> store -> retrieval -> reader -> pipeline ->
   web / evaluation.

The checks run on a folder given as an argument, so the last tests build small packages that
break each rule and see it reported.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Stages, lowest first: a module may import from its own stage or a lower one. A module's place
# is its first name under qa/ (a top-level module, or a folder with everything in it); "__init__"
# is qa/__init__.py itself. A new top-level module or folder must be added here.
STAGES: list[tuple[str, frozenset[str]]] = [
    ("base", frozenset({"__init__", "config", "errors", "types", "text", "progress", "hashing",
                       "nltk_parts"})),
    ("documents", frozenset({"documents"})),
    ("models", frozenset({"models"})),
    ("store", frozenset({"store"})),
    ("retrieval", frozenset({"retrieval"})),
    ("reader", frozenset({"reader"})),
    ("pipeline", frozenset({"pipeline"})),
    ("serving and evaluation", frozenset({"web", "evaluation", "report"})),
    ("wings", frozenset({"training", "bench"})),
    ("entry point", frozenset({"cli", "__main__"})),
]
WINGS = ("training", "bench")  # imported only by themselves and ENTRY_POINT
ENTRY_POINT = "cli"


@dataclass(frozen=True)
class Import:
    """One import of one qa module by another: where it is written, and what it reads."""

    importer: str   # dotted module name, e.g. qa.store.indexing
    target: str     # dotted module name, e.g. qa.documents.loading
    path: str       # the importing file, relative to the root, e.g. qa/store/indexing.py
    line: int
    text: str       # the import statement as written (unparsed)

    def where(self) -> str:
        return f"{self.path}:{self.line} `{self.text}`"


def modules_of(root: Path, package: str = "qa") -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, whether it is a package's __init__.py) of each .py in root/package."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def imports_of(root: Path, package: str = "qa") -> tuple[list[Import], list[str]]:
    """Every import of a qa module by a qa module, and the imports naming no module of qa."""
    modules = modules_of(root, package)
    edges, unknown = [], []
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        here = name if is_package else name.rpartition(".")[0]
        relative_path = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names
                           if a.name == package or a.name.startswith(package + ".")]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    if node.level > len(base):
                        unknown.append(f"{relative_path}:{node.lineno} `{ast.unparse(node)}` "
                                       f"climbs out of the {package} package")
                        continue
                    base = base[:len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                elif node.module == package or (node.module or "").startswith(package + "."):
                    module = node.module
                else:
                    continue
                # `from . import api` imports the module qa.web.api; `from . import x`, a name
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module
                           for a in node.names]
            else:
                continue
            for target in dict.fromkeys(targets):
                if target not in modules:
                    unknown.append(f"{relative_path}:{node.lineno} `{ast.unparse(node)}` imports "
                                   f"{target}, which is no module of {package}/")
                elif target != name:
                    edges.append(Import(name, target, relative_path, node.lineno,
                                        ast.unparse(node)))
    return edges, unknown


def place(module: str) -> str:
    """The first name under the package: qa.store.indexing -> store, qa -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def stage_of(module: str) -> int | None:
    return next((i for i, (_, places) in enumerate(STAGES) if place(module) in places), None)


def cycles(edges: list[Import]) -> list[list[Import]]:
    """One import circle (as its edges, in order) per strongly connected group of modules."""
    graph: dict[str, dict[str, Import]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, {}).setdefault(edge.target, edge)
        graph.setdefault(edge.target, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    found = []
    for group in groups:  # the shortest way round from the group's first module back to it
        start = min(group)
        paths = {start: []}
        queue = [start]
        circle = None
        while queue and circle is None:
            node = queue.pop(0)
            for nxt, edge in sorted(graph[node].items()):
                if nxt == start:
                    circle = paths[node] + [edge]
                    break
                if nxt in group and nxt not in paths:
                    paths[nxt] = paths[node] + [edge]
                    queue.append(nxt)
        found.append(circle)
    return found


def circle_problems(edges: list[Import]) -> list[str]:
    return ["import circle " + " -> ".join([c[0].importer] + [e.target for e in c]) + ":\n"
            + "\n".join(f"    {e.where()}" for e in c) for c in cycles(edges)]


def wing_problems(edges: list[Import]) -> list[str]:
    return [f"{e.where()}: only qa/{place(e.target)}/ itself and qa/{ENTRY_POINT}.py may import "
            f"qa/{place(e.target)}/ (a wing: nothing that answers a question imports it)"
            for e in edges if place(e.target) in WINGS
            and place(e.importer) not in (place(e.target), ENTRY_POINT)]


def stage_problems(edges: list[Import], root: Path) -> list[str]:
    problems = []
    for name, (path, _) in modules_of(root).items():
        if stage_of(name) is None:
            problems.append(f"{path.relative_to(root).as_posix()} ({name}) is in no stage: add "
                            f"{place(name)!r} to STAGES in tests/test_architecture.py at the "
                            "stage where it belongs")
    for e in edges:
        mine, theirs = stage_of(e.importer), stage_of(e.target)
        if mine is not None and theirs is not None and theirs > mine:
            allowed = ", ".join(n for n, _ in STAGES[:mine + 1])
            problems.append(f"{e.where()}: the {STAGES[mine][0]} stage imports from the later "
                            f"{STAGES[theirs][0]} stage ({e.target}); it may import only from "
                            f"{allowed}")
    return problems


def report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s):\n" + "\n".join(problems)


# -- the rules, on qa/ -----------------------------------------------------------------------------

def test_every_qa_import_names_a_module_of_qa():
    _, unknown = imports_of(ROOT)
    assert not unknown, report(unknown)


def test_no_import_circles():
    edges, _ = imports_of(ROOT)
    problems = circle_problems(edges)
    assert not problems, report(problems)


def test_only_the_entry_point_imports_the_training_and_bench_wings():
    edges, _ = imports_of(ROOT)
    problems = wing_problems(edges)
    assert not problems, report(problems)


def test_modules_import_only_from_their_own_stage_or_a_lower_one():
    edges, _ = imports_of(ROOT)
    problems = stage_problems(edges, ROOT)
    assert not problems, report(problems)


def test_every_stage_is_there():
    """The table names no folder or module that is gone (a rename must update it)."""
    present = {place(name) for name in modules_of(ROOT)}
    missing = sorted(p for _, places in STAGES for p in places if p not in present)
    assert not missing, f"STAGES names {missing}, which qa/ does not have: update the table"


# -- each rule can fail ----------------------------------------------------------------------------

def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    base = {"qa/__init__.py": "", "qa/config.py": "", "qa/errors.py": "", "qa/types.py": "",
            "qa/text.py": "", "qa/progress.py": "", "qa/hashing.py": "", "qa/retrieval.py": "",
            "qa/pipeline.py": "", "qa/evaluation.py": "", "qa/report.py": "", "qa/cli.py": "",
            "qa/__main__.py": ""}
    for folder in ("documents", "models", "store", "reader", "web", "training", "bench"):
        base[f"qa/{folder}/__init__.py"] = ""
    for name, text in {**base, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_a_circle_is_reported_with_its_imports(tmp_path):
    root = _package(tmp_path, {
        "qa/documents/loading.py": "from .segmentation import split\n",
        "qa/documents/segmentation.py": "def split():\n    from .loading import load\n"})
    edges, unknown = imports_of(root)
    problems = circle_problems(edges)
    assert not unknown and len(problems) == 1, problems
    assert "qa.documents.loading -> qa.documents.segmentation -> qa.documents.loading" \
        in problems[0]
    assert "qa/documents/segmentation.py:2 `from .loading import load`" in problems[0]


def test_a_wing_import_is_reported_unless_from_the_entry_point(tmp_path):
    root = _package(tmp_path, {
        "qa/pipeline.py": "import qa.training.command\n",
        "qa/bench/latency.py": "from ..training import examples\n",
        "qa/training/command.py": "from .examples import read\n",
        "qa/training/examples.py": "",
        "qa/cli.py": "def main():\n    from .training.command import run\n"
                     "    from . import bench\n"})
    problems = wing_problems(imports_of(root)[0])
    assert len(problems) == 2, problems
    assert problems[0].startswith("qa/bench/latency.py:1 `from ..training import examples`")
    assert problems[1].startswith("qa/pipeline.py:1 `import qa.training.command`")
    assert "only qa/training/ itself and qa/cli.py may import qa/training/" in problems[1]


def test_an_upward_import_and_an_unplaced_module_are_reported(tmp_path):
    root = _package(tmp_path, {
        "qa/store/indexing.py": "def build():\n    from ..reader.confidence import served\n",
        "qa/reader/confidence.py": "from ..store import indexing\nfrom .. import errors\n",
        "qa/helpers.py": ""})
    edges, unknown = imports_of(root)
    problems = stage_problems(edges, root)
    assert not unknown
    assert len(problems) == 2, problems
    assert problems[0].startswith("qa/helpers.py (qa.helpers) is in no stage: add 'helpers'")
    assert problems[1].startswith("qa/store/indexing.py:2 `from ..reader.confidence import "
                                  "served`: the store stage imports from the later reader stage")


def test_an_import_of_no_module_is_reported(tmp_path):
    root = _package(tmp_path, {"qa/pipeline.py": "from .reading import Reader\n"})
    _, unknown = imports_of(root)
    assert unknown == ["qa/pipeline.py:1 `from .reading import Reader` imports qa.reading, "
                       "which is no module of qa/"]


def test_the_real_package_has_imports_to_check():
    """The rules pass because qa/ keeps them, not because no import was found."""
    edges, _ = imports_of(ROOT)
    assert len(edges) > 100
    assert any(e.importer == "qa.store.indexing" and e.target == "qa.documents.loading"
               for e in edges)
