"""Argo's own examples run locally end as Argo says they do (see scripts/argo_conformance.py).

The eligible examples are read from the Argo mirror (never copied here) and all started at
once, a few at a time, when the first of them is asked for; each test then waits for its own.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "argo_conformance.py"
JOBS = 6
TIMEOUT = 60.0

# The module's fixture starts every selected example at once: under pytest-xdist, one worker
# must run the whole module (`--dist loadfile` in pyproject.toml does).
pytestmark = pytest.mark.slow


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("argo_conformance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


conformance = _load()
REPO = conformance.argo_repo()
HAVE_MIRROR = (REPO / "HEAD").exists() or (REPO / ".git").exists()
ELIGIBLE = {e.file: e for e in conformance.examples(REPO) if e.skip is None} if HAVE_MIRROR else {}


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Any]]]:
    """Every selected example, started in the background; file name -> future outcome."""
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        yield {
            name: pool.submit(conformance.run_example, ELIGIBLE[name], TIMEOUT) for name in selected
        }


@pytest.mark.skipif(not HAVE_MIRROR, reason=f"no Argo clone at {REPO}")
def test_the_mirror_has_eligible_examples() -> None:
    # A guard against a filter gone wrong: today 81 of Argo's 191 Workflows qualify.
    assert len(ELIGIBLE) >= 60, sorted(ELIGIBLE)


@pytest.mark.skipif(not HAVE_MIRROR, reason=f"no Argo clone at {REPO}")
@pytest.mark.parametrize("name", sorted(ELIGIBLE) or ["none"])
def test_argo_example_ends_as_expected(name: str, outcomes: dict[str, Future[Any]]) -> None:
    outcome = outcomes[name].result()
    assert outcome.as_expected, (
        f"{name}: ended {outcome.outcome}, expected {' or '.join(outcome.expected)}: "
        f"{outcome.reason}; failed nodes: {outcome.failed_nodes}"
    )
