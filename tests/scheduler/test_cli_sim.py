"""`trainyard sim`, through its Typer command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.shared import TRACES
from trainyard.cli.sim import app

TRACE = TRACES / "tiresias-60.csv"
needs_trace = pytest.mark.skipif(not TRACE.is_file(), reason=f"no trace at {TRACE}")
KEYS = [
    "policy",
    "jobs",
    "rejected",
    "avg_jct_s",
    "p50_jct_s",
    "p99_jct_s",
    "avg_wait_s",
    "p99_wait_s",
    "max_wait_s",
    "util_while_waiting",
    "utilization",
    "makespan_s",
    "fairness_jain",
    "wall_s",
]


@needs_trace
def test_json_report_has_the_documented_keys() -> None:
    args = [str(TRACE), "--gpus", "16", "--gpus-per-node", "8", "--policy", "fifo", "-o", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert list(report) == KEYS
    assert report["policy"] == "fifo" and report["jobs"] == 60


@needs_trace
def test_default_policy_noise_and_table(tmp_path: Path) -> None:
    trace = tmp_path / "jobs.jsonl"
    lines = [{"id": f"j{i}", "submit": i, "duration": 50 + i, "gpus": 1 + i % 2} for i in range(9)]
    trace.write_text("\n".join(json.dumps(line) for line in lines))
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text("tenants:\n  default: {weight: 2, gpuQuota: 4}\n")
    args = [str(trace), "--gpus", "4", "--estimate-noise", "0.5", "--seed", "1"]
    result = CliRunner().invoke(app, [*args, "--tenants", str(tenants)])
    assert result.exit_code == 0, result.output
    assert "balanced" in result.output and "avg_jct_s" in result.output


@needs_trace
def test_mistakes_are_user_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, [str(TRACE), "--gpus", "8", "--policy", "lottery"])
    assert "unknown policy 'lottery'" in str(result.exception)
    result = runner.invoke(app, [str(tmp_path / "missing.csv"), "--gpus", "8"])
    assert "cannot read" in str(result.exception)
