"""Argo's own examples on the local engine end as Argo's CI expects (bench/argo_examples.py).

The examples are read from the Argo mirror (never copied here): extracted with `git archive`
into a temporary folder, then run all at once, a few at a time, by the benchmark's own code
when the first test asks; each test then checks its own example. The last test checks the
issue's bar: at least 95% of the examples that need only this machine end as expected.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "argo_examples.py"
REPO = Path(os.environ.get("TRAINYARD_ARGO_REPO", "/work/.mirror/argoproj+argo-workflows/repo"))
HAVE_MIRROR = (REPO / "HEAD").exists() or (REPO / ".git").exists()
JOBS = 6
TIMEOUT = 90.0

pytestmark = [
    pytest.mark.slow,
    # The first test waits for all the examples (a few minutes on a loaded 2-core machine).
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not HAVE_MIRROR, reason=f"no Argo clone at {REPO}"),
]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("argo_examples", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def _extract() -> Path | None:
    """Argo's examples/ folder from the mirror, in a temporary folder (None without one)."""
    if not HAVE_MIRROR:
        return None
    target = Path(tempfile.mkdtemp(prefix="argo-examples-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "HEAD", "examples"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "examples"


FOLDER = _extract()
TESTED = bench.tested(bench.documents(FOLDER)) if FOLDER else []
LABELS = [f"{index:03d}-{name}" for index, (name, _) in enumerate(TESTED)]


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, Any]]:
    """Every tested example's Result, by label (run once for the module)."""
    assert FOLDER is not None
    found = bench.run(FOLDER, TIMEOUT, JOBS)
    yield {f"{index:03d}-{r.example}": r for index, r in enumerate(found)}


def test_the_mirror_has_the_examples_argo_tests() -> None:
    # A guard against a reader gone wrong: Argo's CI runs about 100 of its examples.
    assert len(TESTED) >= 80, LABELS


@pytest.mark.parametrize("label", LABELS or ["none"])
def test_argo_example_ends_as_expected(label: str, results: dict[str, Any]) -> None:
    result = results[label]
    if result.kind == "needs-network" and result.phase not in (*result.expected, "Refused"):
        pytest.skip(f"{label} needs the network, which this machine lacks: {result.reason}")
    known = bench.catalog.KNOWN_FAILURES.get(Path(result.example).name)
    if known and not result.ok:
        pytest.xfail(f"{label}: {known}")
    wanted = "Refused at lint" if result.kind != "local" else " or ".join(result.expected)
    assert result.ok, f"{label} ({result.kind}): {result.phase}, wanted {wanted}: {result.reason}"


def test_at_least_95_percent_of_local_examples_end_as_expected(
    results: dict[str, Any],
) -> None:
    summary = bench.totals(list(results.values()))
    assert summary["local_share"] >= 0.95, summary
