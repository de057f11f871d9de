"""`trainyard cron create|list|get|suspend|resume|delete`: CronWorkflows of this machine's home."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, err, is_structured, out
from trainyard.cli.remote import Remote
from trainyard.cli.render import duration
from trainyard.cli.services import State
from trainyard.controller.cron import CRON_LABEL, local_zone
from trainyard.core.clock import format_time, parse_time
from trainyard.core.crontab import Schedules, zone
from trainyard.core.errors import ConflictError, SpecError, UserError
from trainyard.service.stamping import stamp
from trainyard.spec.check import check_file
from trainyard.spec.models import CronWorkflow

KIND = "CronWorkflow"
EDIT_ATTEMPTS = 5
"""How often suspend/resume is reapplied when the engine updated the status in between."""
NAMESPACE_OPTION = typer.Option(None, "--namespace", "-n", help="Namespace (default: default).")
app = typer.Typer(
    help="CronWorkflows: workflows started on a schedule while `trainyard engine` or "
    "`trainyard server` runs.",
    no_args_is_help=True,
)


def _local(namespace: str | None) -> str:
    if Remote.active():
        raise UserError(
            "`trainyard cron` works on this machine only: drop --server/--context "
            "(unset TRAINYARD_SERVER, or `trainyard context clear`)"
        )
    return namespace or State.services().settings.namespace


def checked_cron(file: Path, namespace: str) -> dict[str, Any]:
    """The one CronWorkflow in `file`, checked as `trainyard lint` does, ready to store."""
    result = check_file(file, local=True)
    if result.errors:
        raise SpecError(result.errors)
    crons = [d for d in result.documents if isinstance(d.document, CronWorkflow)]
    if len(result.documents) != 1 or not crons:
        kinds = ", ".join(type(d.document).__name__ for d in result.documents) or "nothing"
        raise UserError(f"{file}: expected exactly one CronWorkflow document, found {kinds}")
    cron = CronWorkflow.model_validate(crons[0].document)  # schedules checked with the rest
    return stamp(cron.dump(), namespace)


def _next_run(cron: CronWorkflow, now: datetime) -> datetime | None:
    texts = cron.spec.schedule_texts()
    stamp_ = cron.metadata.creation_timestamp
    try:
        where = zone(cron.spec.timezone, local_zone())
        return Schedules(texts, where, parse_time(stamp_) if stamp_ else now).next_after(now)
    except UserError:
        return None


def summary(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What `cron list` shows of one CronWorkflow."""
    cron = CronWorkflow.model_validate(doc)
    status = doc.get("status") or {}
    following = _next_run(cron, now)
    return {
        "name": cron.metadata.name,
        "namespace": cron.metadata.namespace,
        "schedules": cron.spec.schedule_texts(),
        "timezone": cron.spec.timezone or "",
        "suspended": bool(cron.spec.suspend),
        "concurrencyPolicy": cron.spec.concurrency_policy or "Allow",
        "created": cron.metadata.creation_timestamp,
        "lastScheduledTime": status.get("lastScheduledTime"),
        "nextScheduledTime": format_time(following) if following else None,
        "active": [ref.get("name") for ref in status.get("active") or []],
        "succeeded": int(status.get("succeeded") or 0),
        "failed": int(status.get("failed") or 0),
    }


def _when(stamp_: str | None, now: datetime) -> str:
    if not stamp_:
        return "N/A"
    moment = parse_time(stamp_)
    if moment > now:
        return f"in {duration(format_time(now), stamp_)}"
    return f"{duration(stamp_, format_time(now))} ago"


@app.command("create")
def create(
    file: Path = typer.Argument(..., help="A YAML or JSON file with one CronWorkflow."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Check and store a CronWorkflow; it fires while `trainyard engine`/`server` runs."""
    ns = _local(namespace)
    stored = State.services().store.create(KIND, checked_cron(file, ns))
    if is_structured(output):
        emit(stored, output)
        return
    name = stored["metadata"]["name"]
    out.print(f"cronworkflow {name} created", highlight=False)
    err.print("it fires while `trainyard engine` or `trainyard server` runs", highlight=False)


@app.command("list")
def list_cmd(
    namespace: str | None = NAMESPACE_OPTION,
    all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A"),
    output: Format = OUTPUT_OPTION,
) -> None:
    """NAME AGE LAST RUN NEXT RUN SCHEDULES TIMEZONE SUSPENDED ACTIVE."""
    ns = _local(namespace)
    now = datetime.now(UTC)
    docs = State.services().store.list(KIND, namespace=None if all_namespaces else ns)
    rows = [summary(doc, now) for doc in docs]
    if is_structured(output):
        emit(rows, output)
        return
    if output == Format.name:
        for row in rows:
            out.print(row["name"], highlight=False)
        return
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    columns = ["NAME", "AGE", "LAST RUN", "NEXT RUN", "SCHEDULES", "TIMEZONE", "SUSPENDED"]
    for column in [*columns, "ACTIVE"] + (["NAMESPACE"] if output == Format.wide else []):
        table.add_column(column, no_wrap=True)
    for row in rows:
        cells = [
            row["name"],
            duration(row["created"], format_time(now)),
            _when(row["lastScheduledTime"], now),
            _when(row["nextScheduledTime"], now),
            ",".join(row["schedules"]),
            row["timezone"],
            str(row["suspended"]).lower(),
            str(len(row["active"])),
        ]
        table.add_row(*cells, *([row["namespace"]] if output == Format.wide else []))
    out.print(table)


@app.command("get")
def get(
    name: str = typer.Argument(..., help="CronWorkflow name."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Show a CronWorkflow: its schedule, last and next run, and the runs still kept."""
    ns = _local(namespace)
    services = State.services()
    doc = services.store.get(KIND, ns, name)
    if is_structured(output):
        emit(doc, output)
        return
    now = datetime.now(UTC)
    row = summary(doc, now)
    runs = services.store.list("Workflow", namespace=ns, labels={CRON_LABEL: name})
    lines = [
        ("Name:", row["name"]),
        ("Namespace:", row["namespace"]),
        ("Created:", _when(row["created"], now)),
        ("Schedules:", ", ".join(row["schedules"])),
        ("Timezone:", row["timezone"] or "machine's local time"),
        ("Suspended:", str(row["suspended"]).lower()),
        ("ConcurrencyPolicy:", row["concurrencyPolicy"]),
        ("LastScheduledTime:", row["lastScheduledTime"] or "N/A"),
        ("NextScheduledTime:", row["nextScheduledTime"] or "N/A"),
        ("Active:", ", ".join(row["active"]) or "none"),
        ("Succeeded/Failed:", f"{row['succeeded']}/{row['failed']}"),
    ]
    for label, value in lines:
        out.print(f"{label:<20}{value}", highlight=False)
    for condition in doc.get("status", {}).get("conditions") or []:
        out.print(f"{'Condition:':<20}{condition.get('type')}: {condition.get('message')}")
    for run in runs:
        phase = (run.get("status") or {}).get("phase") or "Pending"
        out.print(f"  {run['metadata']['name']:<40}{phase}", highlight=False)


def _set_suspended(name: str, namespace: str | None, suspend: bool, output: Format) -> None:
    ns = _local(namespace)
    store = State.services().store
    for attempt in range(EDIT_ATTEMPTS):
        current = store.get(KIND, ns, name)
        spec = {**current.get("spec", {}), "suspend": suspend}
        try:
            updated = store.update(KIND, {**current, "spec": spec})
            break
        except ConflictError:
            if attempt == EDIT_ATTEMPTS - 1:
                raise  # the engine keeps writing the status: say so rather than loop
    if is_structured(output):
        emit(updated, output)
        return
    out.print(f"cronworkflow {name} {'suspended' if suspend else 'resumed'}", highlight=False)


@app.command("suspend")
def suspend(
    name: str = typer.Argument(..., help="CronWorkflow name."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Fire nothing until resumed (ticks meanwhile are skipped, as Argo skips them)."""
    _set_suspended(name, namespace, True, output)


@app.command("resume")
def resume(
    name: str = typer.Argument(..., help="CronWorkflow name."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Fire again from the next tick on."""
    _set_suspended(name, namespace, False, output)


@app.command("delete")
def delete(
    names: list[str] = typer.Argument(..., help="CronWorkflow names."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Delete CronWorkflows (the workflows they started stay)."""
    ns = _local(namespace)
    store = State.services().store
    for name in names:
        store.delete(KIND, ns, name)
    if is_structured(output):
        emit({"deleted": names}, output)
        return
    for name in names:
        out.print(f"cronworkflow {name} deleted", highlight=False)
    if not names:
        err.print("nothing to delete")
