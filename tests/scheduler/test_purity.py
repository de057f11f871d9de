"""The scheduler is pure (DESIGN.md, L1): no clock, no files, no processes, no network."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "trainyard" / "scheduler"
MODULES = sorted(PACKAGE.glob("*.py"))
IMPURE = {"time", "os", "subprocess", "socket", "pathlib", "shutil", "io", "threading", "asyncio"}
CALLS = {"open", "input", "print"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_io_and_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        assert not names & IMPURE, f"{path.name}:{node.lineno} imports {names & IMPURE}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in CALLS, f"{path.name}:{node.lineno} calls {node.func.id}()"
        if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today"):
            pytest.fail(f"{path.name}:{node.lineno} reads the clock")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_are_small_and_say_what_they_own(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) < 400
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert doc and doc.split("\n")[0].endswith(".")
