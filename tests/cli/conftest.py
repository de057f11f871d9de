"""Run the real `trainyard` command in a fresh TRAINYARD_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh TRAINYARD_HOME."""
    return tmp_path / "home"


@pytest.fixture
def trainyard(home: Path) -> Runner:
    """`trainyard(*args)` runs the CLI as a subprocess and returns the completed process."""

    def run(
        *args: str, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TRAINYARD_HOME": str(home), "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "trainyard", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            input=input,
        )

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """`write(name, text)` -> path of a new file in the test's directory."""

    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return make
