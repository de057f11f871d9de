"""Engine overhead per step: a 40-step chain of `true` and a 200-task DAG at parallelism 4.

Per-step overhead = (wall time - the steps' own run time) / steps, where a step's own run
time is what running `true` directly costs (measured here, in the same run). Prints JSON.
Run: `python bench/engine_overhead.py [--isolation auto|none] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time

from trainyard.cli.prepare import stamp
from trainyard.core.settings import Settings
from trainyard.instance import Instance
from trainyard.spec.models import Workflow

TARGET_MS = 15.0


def chain(steps: int) -> Workflow:
    """`steps` sequential steps, each running `true`."""
    groups = [[{"name": f"s{i}", "template": "true"}] for i in range(steps)]
    return Workflow.model_validate(
        {
            "metadata": {"generateName": "chain-"},
            "spec": {
                "entrypoint": "main",
                "templates": [
                    {"name": "main", "steps": groups},
                    {"name": "true", "container": {"image": "busybox", "command": ["true"]}},
                ],
            },
        }
    )


def dag(tasks: int, parallelism: int) -> Workflow:
    """`tasks` tasks in layers of 10, each depending on one task of the layer before."""
    items = []
    for i in range(tasks):
        task: dict[str, object] = {"name": f"t{i}", "template": "true"}
        if i >= 10:
            task["depends"] = f"t{i - 10}"
        items.append(task)
    return Workflow.model_validate(
        {
            "metadata": {"generateName": "dag-"},
            "spec": {
                "entrypoint": "main",
                "parallelism": parallelism,
                "templates": [
                    {"name": "main", "dag": {"tasks": items}},
                    {"name": "true", "container": {"image": "busybox", "command": ["true"]}},
                ],
            },
        }
    )


def own_step_seconds(samples: int = 200) -> float:
    """What one `true` step costs by itself: fork, exec and wait."""
    start = time.perf_counter()
    for _ in range(samples):
        subprocess.run(["true"], check=True)
    return (time.perf_counter() - start) / samples


def run_once(wf: Workflow, isolation: str) -> tuple[float, str]:
    """Wall seconds from submission to a finished workflow, in a fresh home."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env({"TRAINYARD_HOME": home, "TRAINYARD_ISOLATION": isolation})
        instance = Instance(settings)
        try:
            controller = instance.controller()
            start = time.perf_counter()
            stored = controller.submit(stamp(wf, None, "default", []))
            uid = stored.metadata.uid or ""
            while uid in controller.live:
                controller.step(timeout=1.0)
            wall = time.perf_counter() - start
            final = controller.get("default", stored.metadata.name or "")
        finally:
            instance.close()
    phase = final.status.phase if final.status else "?"
    return wall, phase or "?"


def measure(
    name: str, wf: Workflow, steps: int, lanes: int, isolation: str, repeat: int
) -> dict[str, object]:
    """Median wall time and per-step overhead of `repeat` runs."""
    walls = []
    phase = ""
    for _ in range(repeat):
        wall, phase = run_once(wf, isolation)
        walls.append(wall)
    own = own_step_seconds()
    wall = statistics.median(walls)
    overhead = (wall - steps * own / lanes) / steps
    return {
        "workload": name,
        "steps": steps,
        "parallelism": lanes,
        "phase": phase,
        "wall_s": round(wall, 3),
        "own_step_ms": round(own * 1000, 3),
        "overhead_per_step_ms": round(overhead * 1000, 2),
        "target_ms": TARGET_MS,
        "runs": [round(w, 3) for w in walls],
    }


def main() -> None:
    """Measure both workloads and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "none"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = [
        measure("chain-40", chain(40), 40, 1, args.isolation, args.repeat),
        measure("dag-200-p4", dag(200, 4), 200, 4, args.isolation, args.repeat),
    ]
    print(json.dumps({"isolation": args.isolation, "results": results}, indent=2))


if __name__ == "__main__":
    main()
