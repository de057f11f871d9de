"""`trainyard compile`: print exactly the Workflow that `submit` would send to a server."""

from __future__ import annotations

from pathlib import Path

import typer

from trainyard.cli.output import Format, emit
from trainyard.cli.prepare import remote_workflow
from trainyard.cli.remote import Remote
from trainyard.core.errors import UserError

app = typer.Typer()


@app.command(name="compile")
def compile_(
    file: Path = typer.Argument(..., help="Workflow YAML or JSON file."),
    parameter: list[str] = typer.Option([], "--parameter", "-p", help="Parameter NAME=VALUE."),
    params: str | None = typer.Option(None, "--params", help="Parameters as JSON."),
    entrypoint: str | None = typer.Option(None, "--entrypoint", help="Template to start from."),
    name: str | None = typer.Option(None, "--name", help="Workflow name (default: generated)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Namespace."),
    label: list[str] = typer.Option([], "--label", "-l", help="Label KEY=VALUE."),
    output: Format = typer.Option(Format.yaml, "--output", "-o", help="yaml or json."),
) -> None:
    """Check, bind and label a workflow as `submit` does, and print it (Argo's schema holds)."""
    if output not in (Format.yaml, Format.json):
        raise UserError(f"-o {output.value}: compile prints yaml or json")
    ns = Remote.namespace(namespace)
    emit(
        remote_workflow(
            file, parameter, params, entrypoint, name, ns, label, Remote.target.context
        ),
        output,
    )
