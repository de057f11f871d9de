"""How many pytest-xdist workers a run gets (`-n auto` in pyproject.toml asks this file).

Most of the suite waits on subprocesses and servers, not on the CPU, so a whole-suite run uses
WORKERS processes even on a 2-core machine. A run that names only files or single tests (what
a developer types while working) stays in one process: no worker start-up, prints with -s work.
TRAINYARD_TEST_WORKERS=N picks the count for any run (0: in this process); `-n N` on the
command line overrides both.
"""

from __future__ import annotations

import os

import pytest

WORKERS = 4
"""Measured on the 2-core dev machine (3, 4 and 6 tried): see `make test` in the README."""


def _names_only_files(config: pytest.Config) -> bool:
    """Whether every argument is a test file or a test id (no folder, no bare default run)."""
    here = config.invocation_params.dir
    args = [arg.split("::", 1)[0] for arg in config.args]
    return bool(args) and not any((here / arg).is_dir() for arg in args)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """TRAINYARD_TEST_WORKERS, else 0 for a run of named files, else WORKERS."""
    given = os.environ.get("TRAINYARD_TEST_WORKERS", "").strip()
    if given:
        return int(given)
    return 0 if _names_only_files(config) else WORKERS
