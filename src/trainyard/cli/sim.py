"""`trainyard sim`: replay a job trace through the scheduler's policies on a virtual clock."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from trainyard.cli.output import Format, emit, out
from trainyard.core.durations import format_duration
from trainyard.core.errors import ConfigError, ParameterError
from trainyard.scheduler.metrics import summarize
from trainyard.scheduler.policies import DEFAULT, POLICIES, get_policy
from trainyard.scheduler.sim import cluster, replay, with_noise
from trainyard.scheduler.tenants import TenantPolicy
from trainyard.scheduler.traces import read_trace

app = typer.Typer()
SECONDS = (
    "avg_jct_s",
    "p50_jct_s",
    "p99_jct_s",
    "avg_wait_s",
    "p99_wait_s",
    "max_wait_s",
    "makespan_s",
)


class SimFormat(StrEnum):
    """How `trainyard sim` prints its figures."""

    table = "table"
    json = "json"
    yaml = "yaml"


def run_sim(
    trace: Path,
    gpus: int,
    gpus_per_node: int = 8,
    policy: str = DEFAULT.name,
    estimate_noise: float | None = None,
    seed: int = 0,
    tenants: TenantPolicy | None = None,
) -> dict[str, Any]:
    """Read `trace`, replay it and return the report, with `wall_s` for the whole run."""
    started = time.perf_counter()
    chosen = get_policy(policy)
    if gpus <= 0 or gpus_per_node <= 0:
        raise ParameterError("--gpus and --gpus-per-node must be positive")
    try:
        with trace.open(encoding="utf-8") as lines:
            jobs = read_trace(lines)
    except OSError as exc:
        raise ParameterError(f"{trace}: cannot read: {exc.strerror or exc}") from None
    if estimate_noise is not None:
        jobs = with_noise(jobs, estimate_noise, seed)
    outcome = replay(jobs, cluster(gpus, gpus_per_node), chosen, tenants)
    report = summarize(chosen.name, jobs, outcome)
    report["wall_s"] = time.perf_counter() - started
    return report


def _tenants(path: Path | None) -> TenantPolicy | None:
    if path is None:
        return None
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        return TenantPolicy.from_mapping(data.get("tenants") or data)
    except (OSError, yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"{path}: tenants must map names to {{weight, gpuQuota}}: {exc}"
        ) from None


def _table(report: dict[str, Any]) -> Table:
    table = Table(box=None, padding=(0, 2), pad_edge=False, show_header=False)
    for name, value in report.items():
        if name in SECONDS:
            shown = f"{value:,.0f}  ({format_duration(value)})"
        elif isinstance(value, float):
            shown = f"{value:.3f}"
        else:
            shown = f"{value:,}" if isinstance(value, int) else str(value)
        table.add_row(name, shown)
    return table


@app.command()
def sim(
    trace: Path = typer.Argument(..., help="Philly CSV, Tiresias CSV or trainyard JSONL."),
    gpus: int = typer.Option(..., "--gpus", help="GPUs in the simulated cluster."),
    gpus_per_node: int = typer.Option(8, "--gpus-per-node", help="GPUs per node."),
    policy: str = typer.Option(
        DEFAULT.name, "--policy", help=f"One of: {', '.join(sorted(POLICIES))}."
    ),
    estimate_noise: float | None = typer.Option(
        None,
        "--estimate-noise",
        help="Estimate = duration x exp(N(0, SIGMA)) (else the trace's own estimates).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the estimate noise."),
    tenants: Path | None = typer.Option(
        None, "--tenants", help="YAML file: {tenant: {weight: W, gpuQuota: Q}}."
    ),
    output: SimFormat = typer.Option(
        SimFormat.table, "--output", "-o", help="table, json or yaml."
    ),
) -> None:
    """Replay a job trace through a scheduling policy and report JCT, waits and utilization."""
    report = run_sim(trace, gpus, gpus_per_node, policy, estimate_noise, seed, _tenants(tenants))
    if output == SimFormat.table:
        out.print(_table(report))
    else:
        emit(report, Format(output.value))
