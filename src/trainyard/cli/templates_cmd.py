"""`trainyard template|cluster-template list|get|delete`: the templates `trainyard apply` stored."""

from __future__ import annotations

import typer
from rich.table import Table

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, is_structured, out
from trainyard.cli.services import State
from trainyard.core.clock import SystemClock, parse_time
from trainyard.core.durations import format_duration


def _group(kind: str, cluster: bool) -> typer.Typer:
    noun = "cluster template" if cluster else "template"
    group = typer.Typer(help=f"{kind}s stored with `trainyard apply -f FILE`.")

    def namespace_of(namespace: str | None) -> str:
        return "" if cluster else namespace or State.services().settings.namespace

    @group.command("list")
    def list_(
        namespace: str | None = typer.Option(None, "--namespace", "-n", hidden=cluster),
        output: Format = OUTPUT_OPTION,
    ) -> None:
        """List them, oldest first."""
        docs = State.services().store.list(kind, namespace=namespace_of(namespace))
        if is_structured(output):
            emit({"items": docs}, output)
            return
        if output == Format.name:
            for doc in docs:
                out.print(doc["metadata"]["name"])
            return
        table = Table(box=None, padding=(0, 2), pad_edge=False)
        for column in ("NAME", "AGE", "TEMPLATES"):
            table.add_column(column)
        now = SystemClock().now()
        for doc in docs:
            spec = doc.get("spec") or {}
            detail = ", ".join(t.get("name", "") for t in spec.get("templates") or [])
            created = parse_time(doc["metadata"]["creationTimestamp"])
            age = format_duration((now - created).total_seconds())
            table.add_row(doc["metadata"]["name"], age, detail)
        out.print(table)

    @group.command("get")
    def get(
        name: str,
        namespace: str | None = typer.Option(None, "--namespace", "-n", hidden=cluster),
        output: Format = typer.Option(Format.yaml, "--output", "-o", help="yaml or json."),
    ) -> None:
        """Print one as stored."""
        doc = State.services().store.get(kind, namespace_of(namespace), name)
        emit(doc, Format.json if output == Format.json else Format.yaml)

    @group.command("delete")
    def delete(
        names: list[str],
        namespace: str | None = typer.Option(None, "--namespace", "-n", hidden=cluster),
    ) -> None:
        """Delete them (workflows already made from them run on)."""
        store = State.services().store
        for name in names:
            store.delete(kind, namespace_of(namespace), name)
            out.print(f"{noun} {name} deleted", highlight=False)

    return group


template_app = _group("WorkflowTemplate", cluster=False)
cluster_template_app = _group("ClusterWorkflowTemplate", cluster=True)
