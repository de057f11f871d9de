"""Shared fixtures for the spec tests: Argo's example files, read where they are, never copied."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.shared import ARGO_SCHEMA as SHARED_SCHEMA

from trainyard.spec.check import CheckResult, check_text

ARGO_REPO = Path(
    os.environ.get("TRAINYARD_ARGO_REPO", "/work/.mirror/argoproj+argo-workflows/repo")
)
"""A checkout or a bare clone of argoproj/argo-workflows (its examples/ folder is read)."""

ARGO_SCHEMA = Path(os.environ.get("TRAINYARD_ARGO_SCHEMA", str(SHARED_SCHEMA)))
"""Argo's published JSON schema, from which src/trainyard/spec/data/argo-schema.json derives."""


def _read_examples() -> dict[str, str]:
    folder = ARGO_REPO / "examples"
    if folder.is_dir():
        return {str(p.relative_to(ARGO_REPO)): p.read_text() for p in folder.rglob("*.yaml")}
    if not ARGO_REPO.is_dir() or shutil.which("git") is None:
        return {}
    git = ["git", "--git-dir", str(ARGO_REPO)]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "--name-only", "HEAD", "examples"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    names = [name for name in listing if name.endswith(".yaml")]
    blobs = subprocess.run(
        [*git, "cat-file", "--batch"],
        input="".join(f"HEAD:{name}\n" for name in names).encode(),
        capture_output=True,
        check=True,
    ).stdout
    examples: dict[str, str] = {}
    for name in names:
        header, _, blobs = blobs.partition(b"\n")
        size = int(header.split()[2])
        examples[name] = blobs[:size].decode()
        blobs = blobs[size + 1 :]
    return examples


@pytest.fixture(scope="session")
def argo_examples() -> dict[str, str]:
    """Argo's examples/*.yaml by path (`examples/steps.yaml`); skips the test if unavailable."""
    examples = _read_examples()
    if not examples:
        pytest.skip(f"Argo's examples are not available at {ARGO_REPO}")
    return examples


@pytest.fixture
def check() -> Callable[..., CheckResult]:
    """`check(yaml_text, parameters=None, local=False)`: check_text of dedented text (`wf.yaml`)."""

    def run(
        text: str, parameters: Mapping[str, str] | None = None, local: bool = False
    ) -> CheckResult:
        return check_text(textwrap.dedent(text).lstrip("\n"), "wf.yaml", parameters, local=local)

    return run


@pytest.fixture
def errors(check: Callable[..., CheckResult]) -> Callable[..., list[str]]:
    """`errors(yaml_text, ...)`: the errors of the text as `line:col: message` strings."""

    def run(
        text: str, parameters: Mapping[str, str] | None = None, local: bool = False
    ) -> list[str]:
        result = check(text, parameters, local)
        return [f"{p.line}:{p.column}: {p.message}" for p in result.errors]

    return run


@pytest.fixture(scope="session")
def argo_schema_source() -> dict[str, Any]:
    """Argo's full published schema; skips the test where it is not available."""
    if not ARGO_SCHEMA.is_file():
        pytest.skip(f"Argo's schema is not available at {ARGO_SCHEMA}")
    schema: dict[str, Any] = json.loads(ARGO_SCHEMA.read_text(encoding="utf-8"))
    return schema
