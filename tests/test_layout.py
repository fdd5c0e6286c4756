"""The house reads as its data flow: imports run one way, `ui -> ingest, evals -> assistant`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each package may import of ours: the library imports none of its users, and ingest and evals
# never reach into the user interfaces.
ALLOWED = {"assistant": {"assistant"}, "ingest": {"assistant", "ingest"}, "evals": {"assistant", "evals"},
           "ui": {"assistant", "ingest", "evals", "ui"}}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return {(name, line) for name, line in found if name in ALLOWED}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package: str) -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for path in sorted((ROOT / package).rglob("*.py"))
             for name, line in sorted(imported_packages(path)) if name not in ALLOWED[package]]
    assert not wrong, "\n".join(wrong)


def test_the_console_script_points_into_ui() -> None:
    assert 'ray-advisor = "ui.cli:app"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
