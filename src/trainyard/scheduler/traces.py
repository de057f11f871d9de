"""Job traces as text: the Philly CSV, the Tiresias CSV and trainyard's JSONL, read into Jobs."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from trainyard.core.errors import ParameterError
from trainyard.scheduler.sim import Job

_EPOCH = datetime(1970, 1, 1)
FORMATS = ("philly", "tiresias", "jsonl")


def detect(first_line: str) -> str:
    """The trace format a file's first line announces."""
    head = first_line.lstrip("\ufeff").strip()
    if head.startswith("{"):
        return "jsonl"
    columns = {c.strip() for c in head.split(",")}
    if {"timestamp", "duration", "num_gpus", "cluster"} <= columns:
        return "philly"
    if {"job_id", "num_gpu", "submit_time", "duration"} <= columns:
        return "tiresias"
    raise ParameterError(
        "unknown trace format: expected the Philly CSV (timestamp,duration,num_gpus,...,cluster),"
        " the Tiresias CSV (job_id,num_gpu,submit_time,...,duration) or JSONL"
        ' ({"id", "submit", "duration", "gpus", "tenant"} per line)'
    )


def read_trace(lines: Iterable[str], fmt: str | None = None) -> list[Job]:
    """Jobs of a trace, sorted by submit time (then id); submit times start at 0 for CSVs."""
    rows = iter(lines)
    first = next(rows, "")
    fmt = fmt or detect(first)
    if fmt == "jsonl":
        jobs = [_json_job(n, line) for n, line in enumerate([first, *rows], 1) if line.strip()]
    elif fmt in ("philly", "tiresias"):
        reader = csv.DictReader([first, *rows])
        jobs = [_csv_job(fmt, n, row) for n, row in enumerate(reader, 2)]
    else:
        raise ParameterError(f"unknown trace format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt != "jsonl" and jobs:
        start = min(j.submit for j in jobs)
        jobs = [Job(j.id, j.submit - start, j.duration, j.gpus, j.tenant) for j in jobs]
    jobs.sort(key=lambda j: (j.submit, j.id))
    return jobs


def _csv_job(fmt: str, line: int, row: dict[str, str]) -> Job:
    try:
        if fmt == "philly":
            submit = (datetime.fromisoformat(row["timestamp"]) - _EPOCH).total_seconds()
            return Job(
                f"philly-{line - 1}",
                submit,
                float(row["duration"]),
                int(row["num_gpus"]),
                row["cluster"],
            )
        return Job(
            f"job-{row['job_id']}",
            float(row["submit_time"]),
            float(row["duration"]),
            int(row["num_gpu"]),
            "default",
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ParameterError(f"trace line {line}: cannot read {fmt} row: {exc}") from None


def _json_job(line: int, text: str) -> Job:
    try:
        data: Any = json.loads(text)
        estimate = data.get("estimate")
        return Job(
            str(data["id"]),
            float(data["submit"]),
            float(data["duration"]),
            int(data["gpus"]),
            str(data.get("tenant", "default")),
            None if estimate is None else float(estimate),
            int(data.get("priority", 0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParameterError(f"trace line {line}: not a job object: {exc}") from None
