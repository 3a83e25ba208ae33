"""The notebooks in ``notebooks/``: committed without outputs, importing only public names, and each
executed top to bottom on ``../shared/data`` by a kernel of this very interpreter.

The kernel spec is written to a temporary Jupyter path (``JUPYTER_PATH``), naming ``sys.executable``,
so the run never depends on a kernel registered on the machine; the runtime and IPython folders are
temporary too. Each executed copy, with its outputs, is kept under ``test-artifacts/notebooks/``.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
KERNEL = "moderation-desk-tests"
CELL_TIMEOUT_S = 600  # one cell; the whole notebook is meant to take under three minutes on 2 CPU cores


def _load(path: Path) -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return notebook


def _code_cells(path: Path) -> list[str]:
    return ["".join(cell["source"]) for cell in _load(path)["cells"] if cell["cell_type"] == "code"]


def test_the_three_notebooks_are_there() -> None:
    assert [path.name for path in NOTEBOOKS] == [
        "01_explore_a_thread.ipynb",
        "02_model_evaluation.ipynb",
        "03_policy_tuning.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = _load(path)
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {index} has outputs: clear them before committing"
            assert cell["execution_count"] is None, f"cell {index} has an execution count"
        assert "execution" not in cell["metadata"], f"cell {index} has execution timings"
        assert "attachments" not in cell, f"cell {index} has attachments"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_imports_only_public_names(path: Path) -> None:
    for source in _code_cells(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("moderation"):
                module = node.module or ""
                assert not any(part.startswith("_") for part in module.split(".")), module
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{module}: private names {private}"


@pytest.fixture
def kernel(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A kernel spec that runs ipykernel on this interpreter, and the environment the notebooks read."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel_json = {"argv": argv, "display_name": "moderation desk (tests)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel_json), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("MODERATION_DATA_DIR", str(shared_data))
    # Half of each notebook's samples: every cell still runs, in about half the time (the suite's budget).
    monkeypatch.setenv("MODERATION_NOTEBOOK_SCALE", "0.5")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the reports and policies the notebooks write
    yield KERNEL


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path: Path, kernel: str) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, ARTIFACTS / path.name)
    seconds = time.perf_counter() - start
    (ARTIFACTS / f"{path.stem}.seconds").write_text(f"{seconds:.1f}\n", encoding="utf-8")
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
