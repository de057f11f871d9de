"""`trainyard queue`: the steps waiting for GPUs (in order, and why) and those holding them."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from trainyard.cli.engine import ensure_engine
from trainyard.cli.output import OUTPUT_OPTION, Format, emit, err, is_structured, out
from trainyard.cli.render import duration
from trainyard.cli.services import State

app = typer.Typer()


def _request(request: dict[str, Any]) -> str:
    parts = []
    if request.get("gpus"):
        parts.append(f"{request['gpus']} GPU")
    if request.get("cpu"):
        parts.append(f"{request['cpu']:g} CPU")
    if request.get("memory"):
        parts.append(f"{request['memory'] / 2**30:.1f} GiB")
    return ", ".join(parts) or "-"


@app.command()
def queue(output: Format = OUTPUT_OPTION) -> None:
    """Steps waiting for resources, in the order they will start, and why; and running ones."""
    services = State.services()
    ensure_engine(services)
    path = services.settings.home / "queue.json"
    snapshot: dict[str, Any] = {"waiting": [], "running": []}
    if services.lock.held_elsewhere() and path.exists():
        snapshot = json.loads(path.read_text())
    if is_structured(output):
        emit(snapshot, output)
        return
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    for column in ("POS", "WORKFLOW", "STEP", "TENANT", "REQUEST", "WAITING", "REASON"):
        table.add_column(column, overflow="fold")
    for item in snapshot["waiting"]:
        table.add_row(
            f"{item['position']}/{item['of']}",
            item["workflow"],
            item["step"],
            item["tenant"],
            _request(item["request"]),
            duration(item["since"], None),
            item["reason"],
        )
    out.print(table)
    running = [r for r in snapshot["running"] if r["gpus"]]
    if running:
        out.print("")
        for item in running:
            gpus = ",".join(str(g) for g in item["gpus"])
            out.print(
                f"running {item['workflow']}/{item['step']} ({item['tenant']}) on GPU {gpus}",
                highlight=False,
            )
    if not snapshot["waiting"] and not running:
        err.print("nothing is waiting for resources", highlight=False)
