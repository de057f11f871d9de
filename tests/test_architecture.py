"""House rules that code review would otherwise have to remember (see STYLE.md, DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "trainyard"
MODULES = sorted(SRC.rglob("*.py"))
PURE = ("spec", "engine", "scheduler")
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("date", "today"),
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _name(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_module_says_what_it_owns(path: Path) -> None:
    doc = ast.get_docstring(_tree(path))
    assert doc, f"{_name(path)} needs a one-sentence module docstring"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= 600, f"{_name(path)} has {lines} lines: split it by concept"


def test_no_grab_bag_modules() -> None:
    assert not [p for p in MODULES if p.stem in ("utils", "helpers", "misc", "common")]


LAZY_IMPORTS = {
    "trainyard/__main__.py": "the web stack loads for `trainyard server` only",
    "trainyard/artifacts/registry.py": "boto3 loads only when an S3 repository is configured",
    "trainyard/store/migrate.py": "alembic loads only when the schema needs a migration",
    "trainyard/cli/remote.py": "httpx loads only with --server",
}
"""The modules allowed an import inside a function, and why: start-up time of the CLI."""


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_imports_inside_functions(path: Path) -> None:
    if str(path.relative_to(SRC.parent)) in LAZY_IMPORTS:
        return
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
            assert not inner, f"{_name(path)}:{inner[0].lineno}: import inside {node.name}()"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.relative_to(SRC).parts[0] in PURE], ids=_name
)
def test_domain_never_reads_the_wall_clock(path: Path) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in WALL_CLOCK, (
                f"{_name(path)}:{node.lineno}: {node.value.id}.{node.attr} - pass `now` in instead"
            )
