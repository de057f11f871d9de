"""Helpers for executor tests: wait for results, find processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from trainyard.executors.base import StepResult
from trainyard.executors.process import ProcessExecutor

MakeExecutor = Callable[..., ProcessExecutor]


def wait_for(executor: ProcessExecutor, *keys: str, timeout: float = 20.0) -> dict[str, StepResult]:
    """Poll until every key has a final result; fail after `timeout` seconds."""
    results: dict[str, StepResult] = {}
    give_up = time.monotonic() + timeout
    while set(keys) - set(results):
        if time.monotonic() > give_up:
            pytest.fail(f"steps {sorted(set(keys) - set(results))} did not end in {timeout}s")
        for result in executor.poll(0.5):
            results[result.key] = result
    return results


def processes_with(marker: str, command: str | None = None) -> list[int]:
    """Pids of live processes whose command line contains `marker` (and that run `command`)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            state = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if command is not None and not cmdline.startswith(command.encode() + b"\0"):
            continue
        if marker.encode() in cmdline and state != b"Z":
            found.append(int(name))
    return found
