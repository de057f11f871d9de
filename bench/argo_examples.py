"""Argo's own examples on the local engine: how many run as Argo's CI expects them to.

Usage: python bench/argo_examples.py EXAMPLES_DIR [--timeout S] [--jobs N] [-o json]

EXAMPLES_DIR is the `examples/` folder of a checkout of argoproj/argo-workflows (never copied
into this repository), e.g. `git -C ARGO archive HEAD examples | tar -x -C /tmp/argo`. Under a
fresh TRAINYARD_HOME the script applies the ConfigMaps, Secrets and (Cluster)WorkflowTemplates
the folder holds (sub-folders too, as Argo's CI does), then takes every Workflow that Argo's CI
runs (no `workflows.argoproj.io/no-test` label), classified as bench/argo_catalog.py says.

`local` examples are run (`trainyard submit`, then `trainyard wait`) and should end Succeeded,
or as Argo designed them to end (argo_catalog.EXPECTED). The others are linted: trainyard should
refuse them with a reason, never half-run them; a `needs-binaries` example that lint accepts
(this machine has its programs, e.g. node) is run like a local one, and so is a
`needs-network` one (an http template: lint cannot know whether the URL is reachable).
Prints a table (example, class, phase, seconds, reason) and totals; `-o json` prints them
as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
NO_TEST = "workflows.argoproj.io/no-test"
STORED = ("ConfigMap", "Secret", "WorkflowTemplate", "ClusterWorkflowTemplate")


def _catalog() -> ModuleType:
    """bench/argo_catalog.py, loaded by path (this file also runs as a script and in tests)."""
    spec = importlib.util.spec_from_file_location("argo_catalog", HERE / "argo_catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


catalog = _catalog()


@dataclass
class Result:
    """How one example fared."""

    example: str
    kind: str
    phase: str
    seconds: float
    reason: str = ""
    expected: tuple[str, ...] = ("Succeeded",)

    @property
    def ok(self) -> bool:
        """Ran as expected (local), or refused at lint (the others, unless this machine has
        what they need: then they ran as expected)."""
        return self.phase in self.expected or (self.kind != "local" and self.phase == "Refused")


def documents(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """(path in the folder, document) of every YAML document under the folder (sub-folders
    too, as Argo's CI walks them), sorted by path."""
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError:
            continue
        found.extend((path.relative_to(folder).as_posix(), d) for d in docs)
    return found


def tested(docs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The Workflows Argo's CI runs: those without the no-test label."""
    return [
        (name, doc)
        for name, doc in docs
        if doc.get("kind") == "Workflow"
        and NO_TEST not in ((doc.get("metadata") or {}).get("labels") or {})
    ]


def run(folder: Path, timeout: float, jobs: int) -> list[Result]:
    """Apply the stored kinds, then run (or lint) every Workflow Argo's CI runs."""
    with tempfile.TemporaryDirectory(prefix="argo-examples-") as tmp:
        home, work = Path(tmp) / "home", Path(tmp) / "work"
        work.mkdir()
        env = {**os.environ, "TRAINYARD_HOME": str(home), "COLUMNS": "200"}
        docs = documents(folder)
        for _, doc in docs:  # one at a time: one bad document must not keep the others out
            if doc.get("kind") in STORED:
                one = work / "one.yaml"
                one.write_text(yaml.safe_dump(doc, sort_keys=False))
                _cli(env, "apply", "-f", str(one))
        chosen = tested(docs)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(_one, env, work, index, name, doc, timeout)
                for index, (name, doc) in enumerate(chosen)
            ]
            return [f.result() for f in futures]


def _one(
    env: dict[str, str], work: Path, index: int, name: str, doc: dict[str, Any], timeout: float
) -> Result:
    kind, why = catalog.classify(doc)
    label = name
    path = work / f"{index:03d}-{name.replace('/', '--')}"
    doc = {**doc, "metadata": {**(doc.get("metadata") or {}), "name": f"ex-{index:03d}"}}
    doc["metadata"].pop("generateName", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    expected = catalog.EXPECTED.get(Path(name).name, ("Succeeded",))
    began = time.monotonic()
    linted = _cli(env, "lint", str(path))
    if linted.returncode != 0:
        first = (linted.stderr.strip().splitlines() or ["?"])[0]
        reason = first.split(": error: ", 1)[-1]
        return Result(label, kind, "Refused", round(time.monotonic() - began, 1), reason, expected)
    if kind == "needs-cluster":
        return Result(label, kind, "Not refused", 0.0, why, expected)
    _cli(env, "submit", str(path))
    waited = _cli(env, "wait", f"ex-{index:03d}", "-o", "json", timeout=timeout)
    seconds = round(time.monotonic() - began, 1)
    if waited.returncode not in (0, 1) or not waited.stdout.strip():
        _cli(env, "terminate", f"ex-{index:03d}")
        return Result(label, kind, "Timeout", seconds, f"not done after {timeout:.0f} s", expected)
    status = json.loads(waited.stdout).get("status") or {}
    phase = str(status.get("phase"))
    reason = "" if phase == "Succeeded" else _why(status)
    return Result(label, kind, phase, seconds, reason, expected)


def _why(status: dict[str, Any]) -> str:
    failed = [
        f"{n.get('displayName')}: {n.get('message')}"
        for n in (status.get("nodes") or {}).values()
        if n.get("phase") in ("Failed", "Error") and n.get("type") in ("Pod", "Skipped", "Suspend")
    ]
    return (failed[0] if failed else str(status.get("message") or ""))[:160]


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "trainyard", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", "timed out")


def totals(results: list[Result]) -> dict[str, Any]:
    """Counts by class and outcome, and the share of local examples that ended as expected."""
    local = [r for r in results if r.kind == "local"]
    others = [r for r in results if r.kind != "local"]
    as_expected = sum(r.ok for r in local)
    return {
        "workflows": len(results),
        "local": len(local),
        "local_as_expected": as_expected,
        "local_succeeded": sum(r.phase == "Succeeded" for r in local),
        "local_share": round(as_expected / len(local), 3) if local else None,
        "local_refused": sum(r.phase == "Refused" for r in local),
        "not_local": len(others),
        "not_local_refused": sum(r.phase == "Refused" for r in others),
        "by_class": {
            k: sum(r.kind == k for r in results) for k in sorted({r.kind for r in results})
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", type=Path, help="The examples/ folder of an Argo checkout.")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("-o", "--output", choices=["table", "json"], default="table")
    args = parser.parse_args()
    if not args.examples.is_dir():
        raise SystemExit(f"{args.examples}: not a folder (give the examples/ of an Argo checkout)")
    console = Console(stderr=True)
    with console.status(f"running Argo's examples from {args.examples}"):
        results = run(args.examples, args.timeout, args.jobs)
    summary = totals(results)
    if args.output == "json":
        print(json.dumps({"totals": summary, "examples": [asdict(r) for r in results]}, indent=1))
        return
    table = Table("example", "class", "phase", "s", "reason", box=None, padding=(0, 1))
    for r in sorted(results, key=lambda r: (r.kind, r.ok, r.example)):
        style = "" if r.ok else "red"
        table.add_row(r.example, r.kind, r.phase, f"{r.seconds:.1f}", r.reason, style=style)
    out = Console(width=200)
    out.print(table)
    out.print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
