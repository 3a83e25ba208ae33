"""Rows stay in storage: the service reads stored objects from the repository and never imports the tables."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "service"
TABLES = "moderation.storage.tables"


def _imported(tree: ast.AST) -> set[str]:
    """Every module and ``module.name`` an import in ``tree`` names, at any depth."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_service_module_imports_the_tables_or_a_row_class() -> None:
    offenders = {
        f"{path.relative_to(SERVICE.parent)}: {name}"
        for path in sorted(SERVICE.rglob("*.py"))
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if name == TABLES or name.startswith(f"{TABLES}.") or name.endswith("Row")
    }
    assert not offenders, sorted(offenders)


def test_the_check_sees_every_way_of_importing_the_tables() -> None:
    for source in (
        "import moderation.storage.tables",
        "from moderation.storage import tables",
        "from moderation.storage.tables import CommentRow",
        "def f():\n    from moderation.storage.repository import ThreadRow",
    ):
        found = _imported(ast.parse(source))
        assert any(name == TABLES or name.endswith("Row") for name in found), source
