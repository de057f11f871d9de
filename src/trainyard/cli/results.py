"""`trainyard results` and `trainyard artifacts get`: what each step produced, and where it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, is_structured, out
from trainyard.cli.render import duration
from trainyard.cli.services import Services, State
from trainyard.controller.stepio import location_of
from trainyard.core.errors import NotFoundError, UserError
from trainyard.spec.models import Artifact, NodeStatus, Workflow

app = typer.Typer()
artifacts_app = typer.Typer(help="Artifacts the steps of a workflow stored.")
KIND = "Workflow"
METRICS = "metrics"


def metrics_of(node: NodeStatus) -> dict[str, float]:
    """A step's metrics: its numeric output parameters and its `metrics` JSON object."""
    found: dict[str, float] = {}
    for param in node.outputs.parameters if node.outputs else []:
        if param.value is None:
            continue
        if param.name == METRICS:
            found.update(_metrics_file(param.value))
            continue
        number = _number(param.value)
        if number is not None:
            found[param.name] = number
    return found


def _metrics_file(text: str) -> dict[str, float]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if _number(v) is not None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _steps(wf: Workflow) -> list[NodeStatus]:
    nodes = wf.status.nodes.values() if wf.status else []
    return [n for n in nodes if n.type == "Pod"]


def _artifact_row(services: Services, art: Artifact) -> dict[str, Any]:
    row: dict[str, Any] = {"name": art.name, "path": art.path}
    location = location_of(art)
    if location is None:
        return row
    repository = services.repositories.for_location(location)
    local = repository.local_path(location)
    key = next(iter(location.values())).get("key", "")
    row["repository"] = repository.describe
    row["location"] = str(local) if local is not None else f"{repository.describe} {key}"
    try:
        row["size"] = repository.size(location)
    except UserError:
        row["size"] = None
    return row


def step_results(services: Services, wf: Workflow) -> list[dict[str, Any]]:
    """One entry per step: parameters, outputs, metrics and artifacts."""
    rows = []
    for node in _steps(wf):
        outputs = node.outputs
        rows.append(
            {
                "step": node.display_name,
                "node": node.id,
                "template": node.template_name,
                "phase": node.phase,
                "duration": duration(node.started_at, node.finished_at),
                "parameters": {p.name: p.value for p in node.inputs.parameters}
                if node.inputs
                else {},
                "outputs": {
                    p.name: p.value
                    for p in (outputs.parameters if outputs else [])
                    if p.name != METRICS
                },
                "metrics": metrics_of(node),
                "artifacts": [
                    _artifact_row(services, a) for a in (outputs.artifacts if outputs else [])
                ],
            }
        )
    return rows


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
    rows = step_results(services, wf)
    if is_structured(output):
        emit(
            {"workflow": name, "phase": wf.status.phase if wf.status else None, "steps": rows},
            output,
        )
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


def find_artifact(wf: Workflow, step: str, artifact: str) -> Artifact:
    """The output artifact `artifact` of the step named `step` (display name, name or id)."""
    nodes = [n for n in _steps(wf) if step in (n.display_name, n.name, n.id)]
    if not nodes:
        names = ", ".join(n.display_name for n in _steps(wf)) or "none"
        raise NotFoundError(f"workflow {wf.metadata.name!r} has no step {step!r}; steps: {names}")
    outputs = nodes[-1].outputs
    found = [a for a in (outputs.artifacts if outputs else []) if a.name == artifact]
    if not found:
        names = ", ".join(a.name for a in (outputs.artifacts if outputs else [])) or "none"
        raise NotFoundError(f"step {step!r} has no artifact {artifact!r}; artifacts: {names}")
    return found[0]


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
