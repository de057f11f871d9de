"""`trainyard resume NAME [--node N]` and `trainyard set NAME --node N ...`: approvals and
values for suspend steps that wait for a person (Argo's `resume` and `node set`)."""

from __future__ import annotations

import json

import typer

from trainyard.cli.output import OUTPUT_OPTION, Format
from trainyard.cli.workflows import NAMESPACE_OPTION, edit_workflow
from trainyard.core.clock import SystemClock
from trainyard.core.errors import UserError
from trainyard.engine import operations
from trainyard.service.nodes import select_nodes
from trainyard.spec.models import Workflow
from trainyard.spec.params import parse_pairs

app = typer.Typer()
NODE_HELP = "A node's display name, or a field selector such as templateName=approve."


def selector(node: str) -> str:
    """`--node` as Argo's node field selector (a bare name means its display name)."""
    return node if "=" in node else f"displayName={node}"


@app.command()
def resume(
    name: str = typer.Argument(..., help="Workflow name."),
    node: str | None = typer.Option(None, "--node", help=f"Only this suspend step. {NODE_HELP}"),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Resume a suspended workflow, and end its waiting suspend steps (or only --node's)."""
    if node is None:
        edit_workflow(name, namespace, "resume", output)
        return

    def change(wf: Workflow) -> Workflow:
        now = SystemClock().now()
        for chosen in select_nodes(wf, selector(node)):
            wf = operations.resume(wf, now, chosen.name)
        return wf

    edit_workflow(name, namespace, "resume", output, change, nodeFieldSelector=selector(node))


@app.command(name="set")
def set_(
    name: str = typer.Argument(..., help="Workflow name."),
    node: str = typer.Option(..., "--node", help=f"The waiting suspend step. {NODE_HELP}"),
    output_parameter: list[str] = typer.Option(
        [], "--output-parameter", "-p", help="An output parameter of the step: NAME=VALUE."
    ),
    phase: str | None = typer.Option(None, "--phase", help="Succeeded, Failed or Error."),
    message: str | None = typer.Option(None, "--message", help="The step's message."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Give a waiting suspend step output parameters, a message, or a phase that ends it."""
    values = parse_pairs(output_parameter, "output parameter")
    if not values and phase is None and message is None:
        raise UserError("say what to set: --output-parameter NAME=VALUE, --phase or --message")

    def change(wf: Workflow) -> Workflow:
        ids = [n.id for n in select_nodes(wf, selector(node))]
        return operations.set_nodes(wf, ids, SystemClock().now(), phase, message, values)

    body = {"nodeFieldSelector": selector(node)}
    if phase:
        body["phase"] = phase
    if message is not None:
        body["message"] = message
    if values:
        body["outputParameters"] = json.dumps(values)
    edit_workflow(name, namespace, "set", output, change, **body)
