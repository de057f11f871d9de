"""How many pytest-xdist workers a run gets (`-n auto` in pyproject.toml asks this file).

Most of the suite waits on subprocesses and servers, not on the CPU, so a whole-suite run uses
WORKERS processes even on a 2-core machine. A run that names only files or single tests (what
a developer types while working) stays in one process: no worker start-up, prints with -s work.
TRAINYARD_TEST_WORKERS=N picks the count for any run (0: in this process); `-n N` on the
command line overrides both (`-n0`, not `-p no:xdist`, turns the plugin's options off).

`--dist loadfile` gives each file to one worker: a module-scoped fixture (a server, all of
Argo's examples started at once) runs once. `xdist_group` marks would do nothing: pytest-xdist
3.8 renames grouped tests through `item._nodeid`, which pytest 9.2 no longer reads.
"""

from __future__ import annotations

import os

import pytest

WORKERS = 4
"""Enough to overlap the waits of a 2-core machine without starving the servers tests start."""


def _names_only_files(config: pytest.Config) -> bool:
    """Whether every argument is a test file or a test id (no folder, no bare default run)."""
    here = config.invocation_params.dir
    args = [arg.split("::", 1)[0] for arg in config.args]
    return bool(args) and not any((here / arg).is_dir() for arg in args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker: the files with tests marked `slow` first, so that the
    longest files start at once instead of ending the run alone (with
    `--no-loadscope-reorder`, workers take files in this order). Every worker sorts alike."""
    if not hasattr(config, "workerinput"):
        return
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """TRAINYARD_TEST_WORKERS, else 0 for a run of named files, else WORKERS."""
    given = os.environ.get("TRAINYARD_TEST_WORKERS", "").strip()
    if given:
        return int(given)
    return 0 if _names_only_files(config) else WORKERS
