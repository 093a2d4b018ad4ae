"""Dependencies point one way: ``api → detect → (provenance, watermark)``, and inside ``api/`` the
adapters (HTTP, CLI, batch scans) import the core, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# package -> the packages it must never import
FORBIDDEN = {
    "watermark": ("api", "detect", "provenance"),
    "provenance": ("api", "detect"),
    "detect": ("api",),
    "api/core": ("api.http", "api.cli", "api.scan"),
    "api/scan": ("api.http", "api.cli"),
    "api/http": ("api.cli", "api.scan"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute module a file imports (function-level imports included), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package: str) -> None:
    wrong = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, module in imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[package])
    ]
    assert not wrong, "\n".join(wrong)


def test_the_forbidden_import_is_seen(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from api.cli.common import read_bounded\n")
    assert imported_modules(source) == [(2, "api.cli.common")]
