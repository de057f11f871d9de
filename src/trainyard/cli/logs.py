"""`trainyard logs`: each pod node's output, optionally followed while the workflow runs."""

from __future__ import annotations

import re
import sys
import time

import typer

from trainyard.cli import remote
from trainyard.cli.engine import ensure_engine
from trainyard.cli.remote import Remote
from trainyard.cli.services import Services, State
from trainyard.service.logs import Tail, pod_nodes
from trainyard.spec.models import Workflow

app = typer.Typer()
KIND = "Workflow"


def _format(line: str, prefix: str, timestamps: bool) -> str:
    stamp, _, text = line.partition(" ")
    body = f"{stamp} {text}" if timestamps else text
    return f"{prefix}: {body}" if prefix else body


def _emit(lines: list[str], prefix: str, timestamps: bool, grep: re.Pattern[str] | None) -> None:
    for line in lines:
        if grep is None or grep.search(line.partition(" ")[2]):
            sys.stdout.write(_format(line, prefix, timestamps) + "\n")
    sys.stdout.flush()


def _load(services: Services, namespace: str, name: str) -> Workflow:
    return Workflow.model_validate(services.store.get(KIND, namespace, name))


@app.command()
def logs(
    name: str = typer.Argument(..., help="Workflow name."),
    node: str | None = typer.Argument(None, help="Only this node (id, name or display name)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until it ends."),
    timestamps: bool = typer.Option(False, "--timestamps", help="Show each line's time."),
    tail: int | None = typer.Option(None, "--tail", help="Only the last N lines of each node."),
    grep: str | None = typer.Option(None, "--grep", help="Only lines matching this regex."),
    no_prefix: bool = typer.Option(False, "--no-prefix", help="Do not prefix node names."),
) -> None:
    """Print the logs of a workflow's steps (stdout and stderr, in order)."""
    if Remote.active():
        ns = Remote.namespace(namespace)
        remote.logs(name, node, ns, follow, timestamps, tail, grep, not no_prefix)
        return
    services = State.services()
    ns = namespace or services.settings.namespace
    ensure_engine(services)
    pattern = re.compile(grep) if grep else None
    tails: dict[str, Tail] = {}
    while True:
        wf = _load(services, ns, name)
        chosen = pod_nodes(wf, node)
        prefix_all = not no_prefix and (node is None) and len(chosen) > 0
        for pod in chosen:
            if pod.id not in tails:
                key = f"{wf.metadata.uid}/{pod.id}"
                tails[pod.id] = Tail(services.executor.log_path(key))
                lines = tails[pod.id].read()
                if tail is not None:
                    lines = lines[-tail:] if tail > 0 else []
            else:
                lines = tails[pod.id].read()
            _emit(lines, pod.display_name if prefix_all else "", timestamps, pattern)
        done = wf.status is not None and wf.status.phase in ("Succeeded", "Failed", "Error")
        if not follow or done:
            return
        time.sleep(0.2)
