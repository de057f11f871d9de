"""Fixtures for executor tests: executors over a temporary steps directory, each isolation mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.executor_helpers import MakeExecutor
from trainyard.executors.process import ProcessExecutor


@pytest.fixture
def make_executor(tmp_path: Path) -> Iterator[MakeExecutor]:
    """Build ProcessExecutors over `tmp_path/steps`; closed after the test."""
    made: list[ProcessExecutor] = []

    def make(
        isolation: str = "bwrap", kill_grace: float = 10.0, bwrap: str = "bwrap"
    ) -> ProcessExecutor:
        executor = ProcessExecutor(tmp_path / "steps", isolation, kill_grace, bwrap)
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.close()


@pytest.fixture(params=["bwrap", "none"])
def isolation(request: pytest.FixtureRequest) -> str:
    """Each isolation mode."""
    return str(request.param)
