"""Per-step overhead of ProcessExecutor: launch and wait for N sequential `true` steps.

Prints JSON: milliseconds per step with bubblewrap (plain, and with a private path that
shadows `/`) and without isolation. Run: `.venv/bin/python bench/executor_overhead.py [N]`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from trainyard.core.errors import EnvironmentError_
from trainyard.executors.base import StepLaunch
from trainyard.executors.process import ProcessExecutor


def per_step_ms(isolation: str, count: int, private_paths: list[str]) -> dict[str, float]:
    """Launch `count` steps one after the other, waiting for each; ms per step."""
    with tempfile.TemporaryDirectory() as tmp, ProcessExecutor(Path(tmp), isolation) as executor:
        executor.launch(StepLaunch(key="warmup", command=["true"]))  # probes bubblewrap
        while not executor.poll(5.0):
            pass
        launch_s = 0.0
        start = time.perf_counter()
        for index in range(count):
            before = time.perf_counter()
            executor.launch(StepLaunch(f"s{index}", ["true"], private_paths=private_paths))
            launch_s += time.perf_counter() - before
            results: list[object] = []
            while not results:
                results = list(executor.poll(5.0))
        total_s = time.perf_counter() - start
    return {
        "ms_per_step": round(total_s / count * 1000, 2),
        "launch_ms_per_step": round(launch_s / count * 1000, 2),
    }


def main() -> None:
    """Run the three cases and print them as JSON."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    cases = {
        "bwrap": ("bwrap", []),
        "bwrap_private_path_shadowing_root": ("bwrap", ["/trainyard-bench-missing/out.json"]),
        "none": ("none", []),
    }
    report: dict[str, object] = {"steps": count}
    for name, (isolation, private_paths) in cases.items():
        try:
            report[name] = per_step_ms(isolation, count, private_paths)
        except EnvironmentError_ as exc:
            report[name] = {"skipped": str(exc)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
