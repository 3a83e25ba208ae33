"""What importing loads: scoring, serving and the CLI no training code; storage no model; the package no cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import moderation

TRAINING = ("moderation.training", "sklearn", "datasets")


def test_scoring_and_serving_never_import_training_code() -> None:
    program = f"""
import sys
import moderation.cli, service.app
from moderation.models.scorer import Scorer
Scorer.load(mode="fp32").predict(["good", "bad"], ["war", None])
print("\\n".join(sorted(m for m in sys.modules if m.split(".")[0] in {TRAINING!r} or m.startswith({TRAINING[0]!r}))))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


ROOT = Path(__file__).resolve().parents[1]
#: Layers that read and write scores but never compute them: they import nothing from the models package.
BELOW_MODELS = ("moderation.storage", "moderation.decisions", "moderation.reports")


def _modules() -> dict[str, Path]:
    """Every module of the package and the service by dotted name (a package by its ``__init__``)."""
    modules = {}
    for top in ("moderation", "service"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """The tree's nodes, less those under ``if TYPE_CHECKING:``, which never run."""
    skipped = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and ast.unparse(branch.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
        for statement in branch.body
        for node in ast.walk(statement)
    }
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def _imports(modules: dict[str, Path], *, runtime: bool) -> dict[str, set[str]]:
    """Which of ``modules`` each one imports, at module level or inside functions; with ``runtime``, leaving
    out imports only a type checker reads."""

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str | None] = set()
        for node in _runtime_nodes(tree) if runtime else list(ast.walk(tree)):
            if isinstance(node, ast.Import):
                targets |= {known(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets |= {known(f"{node.module}.{alias.name}") or known(node.module) for alias in node.names}
        graph[name] = {target for target in targets if target is not None and target != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycles() -> None:
    assert _cycles(_imports(_modules(), runtime=True)) == []


def test_storage_decisions_and_reports_import_nothing_from_the_models() -> None:
    """Scores are read and written through :mod:`moderation.scores`; only the service's startup loads a model."""
    graph = _imports(_modules(), runtime=False)
    below = {name for name in graph if name.startswith(BELOW_MODELS) or name.startswith("service")}
    arrows = sorted(
        f"{name} -> {target}"
        for name in below - {"service.app"}
        for target in graph[name]
        if target.startswith("moderation.models")
    )
    assert arrows == []


def test_the_public_surface_is_pinned() -> None:
    assert moderation.__all__ == [
        "Article",
        "Comment",
        "CommentScores",
        "ExtractionError",
        "InputError",
        "ModelError",
        "ModerationError",
        "Scorer",
        "Source",
        "Thread",
        "analyze",
        "extract",
    ]
    assert all(getattr(moderation, name) is not None for name in moderation.__all__)


def test_storage_loads_no_model_and_no_parser() -> None:
    program = """
import sys
import moderation.storage.repository
heavy = ("torch", "transformers", "lxml", "moderation.models", "moderation.extraction")
print("\\n".join(sorted(m for m in sys.modules if m.startswith(heavy))))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
