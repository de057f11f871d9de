"""Time loading and checking a workflow (YAML -> schema -> semantics), as `trainyard run` does.

Usage: python bench/spec_check.py [FILE.yaml] (default: a generated 40-task DAG workflow)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from trainyard.spec.check import check_text
from trainyard.spec.schema import schema_problems
from trainyard.spec.source import parse_text


def generated(tasks: int = 40) -> str:
    """A DAG workflow with `tasks` tasks, each depending on the two before it."""
    lines = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        "metadata: {generateName: bench-}",
        "spec:",
        "  entrypoint: main",
        "  arguments: {parameters: [{name: lr, value: '0.1'}]}",
        "  templates:",
        "  - name: train",
        "    inputs: {parameters: [{name: lr}, {name: seed, default: '0'}]}",
        "    retryStrategy: {limit: 2}",
        "    container:",
        "      image: python:3.12",
        "      command: [python, train.py, --lr, '{{inputs.parameters.lr}}']",
        "      resources: {limits: {nvidia.com/gpu: 1, memory: 8Gi}}",
        "  - name: main",
        "    dag:",
        "      tasks:",
    ]
    for i in range(tasks):
        depends = " && ".join(f"t{j}" for j in (i - 1, i - 2) if j >= 0)
        lines.append(f"      - name: t{i}")
        lines.append("        template: train")
        if depends:
            lines.append(f"        depends: {depends}")
        lines.append("        arguments:")
        lines.append("          parameters: [{name: lr, value: '{{workflow.parameters.lr}}'}]")
    return "\n".join(lines) + "\n"


def timed(label: str, action: Callable[[], object], rounds: int = 50) -> None:
    action()  # warm-up: compiles the validator, fills caches
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    print(f"{label:28} median {1000 * statistics.median(samples):7.2f} ms")


def main(argv: list[str]) -> int:
    """Print the median times of parsing, schema validation and the whole check."""
    text = Path(argv[0]).read_text() if argv else generated()
    (source, *_) = parse_text(text)
    print(f"{len(text)} bytes, {len(text.splitlines())} lines")
    timed("parse (YAML + positions)", lambda: parse_text(text))
    timed("schema validation", lambda: schema_problems(source))
    timed("check_text (everything)", lambda: check_text(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
