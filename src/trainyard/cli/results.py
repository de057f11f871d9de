"""`trainyard results` and `trainyard artifacts get`: what each step produced, and where it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, is_structured, out
from trainyard.cli.services import Services, State
from trainyard.controller.stepio import location_of
from trainyard.core.errors import UserError
from trainyard.service.results import find_artifact, report
from trainyard.spec.models import Workflow

app = typer.Typer()
artifacts_app = typer.Typer(help="Artifacts the steps of a workflow stored.")
KIND = "Workflow"


def _human(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _pairs(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={_short(v)}" for k, v in values.items())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    for column in ("STEP", "PHASE", "DURATION", "PARAMETERS", "METRICS", "ARTIFACTS"):
        table.add_column(column, overflow="fold")
    for row in rows:
        arts = ", ".join(f"{a['name']} ({_human(a.get('size'))})" for a in row["artifacts"])
        table.add_row(
            row["step"],
            row["phase"],
            row["duration"],
            _pairs(row["parameters"]),
            _pairs(row["metrics"]),
            arts,
        )
    return table


@app.command()
def results(
    name: str = typer.Argument(..., help="Workflow name."),
    namespace: str | None = typer.Option(None, "--namespace", "-n"),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Each step's parameters, metrics and artifacts (with sizes and where they are)."""
    services = State.services()
    wf = _load(services, namespace, name)
    found = report(services.repositories, wf)
    rows = found["steps"]
    if is_structured(output):
        emit(found, output)
        return
    out.print(_table(rows))
    located = [(r["step"], a) for r in rows for a in r["artifacts"] if a.get("location")]
    if located:
        out.print("")
        for step, art in located:
            out.print(f"{step}/{art['name']}: {art['location']}", highlight=False)


def _load(services: Services, namespace: str | None, name: str) -> Workflow:
    ns = namespace or services.settings.namespace
    return Workflow.model_validate(services.store.get(KIND, ns, name))


@artifacts_app.command("get")
def get(
    name: str = typer.Argument(..., help="Workflow name."),
    step: str = typer.Argument(..., help="Step (display name, node name or id)."),
    artifact: str = typer.Argument(..., help="Output artifact name."),
    directory: Path = typer.Option(Path("."), "--output-dir", "-o", help="Where to put it."),
    namespace: str | None = typer.Option(None, "--namespace", "-n"),
) -> None:
    """Download one artifact (unpacked if it was archived); prints where it went."""
    services = State.services()
    art = find_artifact(_load(services, namespace, name), step, artifact)
    location = location_of(art)
    if location is None:
        raise UserError(f"artifact {artifact!r} of step {step!r} was not stored")
    dest = directory / artifact
    if dest.exists():
        raise UserError(f"{dest} exists already: remove it or choose another --output-dir")
    directory.mkdir(parents=True, exist_ok=True)
    archived = None if art.archive is None else art.archive.none is None
    services.repositories.for_location(location).load(location, dest, archive=archived)
    out.print(str(dest), highlight=False)
