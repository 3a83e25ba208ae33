"""The README's layout table names every module and folder of the package, so a newcomer finds each room."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _layout_row(folder: str) -> str:
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith(f"| `{folder}/` |")]
    assert len(rows) == 1, f"README's layout table has no single row for {folder}/"
    return rows[0]


@pytest.mark.parametrize("package_name", ["moderation", "service"])
def test_every_module_and_folder_of_the_package_is_named_in_the_readme_layout(package_name: str) -> None:
    row = _layout_row(package_name)
    package = ROOT / package_name
    names = [
        f"{path.name}/" if path.is_dir() else path.name
        for path in sorted(package.iterdir())
        if (path.is_dir() and (path / "__init__.py").exists()) or (path.suffix == ".py" and path.name != "__init__.py")
    ]
    missing = [name for name in names if f"`{name}`" not in row]
    assert not missing, f"README's layout table does not name {missing}"
