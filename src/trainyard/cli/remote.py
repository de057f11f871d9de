"""Remote mode: the workflow commands against an Argo-API server (trainyard server or Argo).

`--server URL` (or TRAINYARD_SERVER), or a context (`--context`, `trainyard context use`)
turns it on; `--token` (or TRAINYARD_TOKEN, or the context's token) and `--namespace` go with
it. Every request goes through trainyard.client's ArgoClient, so the same commands work against
a `trainyard server` and a real Argo server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.live import Live

from trainyard.cli import contexts
from trainyard.cli.output import Format, emit, err, is_structured, out
from trainyard.cli.render import list_table, show_workflow, workflow_view
from trainyard.core.config import Config
from trainyard.core.errors import NotFoundError, UserError
from trainyard.service.logs import pod_nodes, pod_of
from trainyard.spec.models import Workflow

if TYPE_CHECKING:
    from trainyard.client.argo import ArgoClient

FINISHED = ("Succeeded", "Failed", "Error")
PHASE_LABEL = "workflows.argoproj.io/phase"
COMPLETED_LABEL = "workflows.argoproj.io/completed"


@dataclass
class Target:
    """Where remote commands go: a server URL, a token, a default namespace, TLS checks."""

    server: str | None = None
    token: str | None = None
    namespace: str | None = None
    verify: bool | str = True
    context: str | None = None
    read_token: Callable[[], str | None] | None = None


class Remote:
    """The target chosen on the command line (or from the environment), and its client."""

    target = Target()
    _client: ArgoClient | None = None

    @classmethod
    def configure(
        cls,
        server: str | None,
        token: str | None,
        namespace: str | None,
        insecure: bool,
        context: str | None = None,
        load: Callable[[], tuple[Path, Config]] | None = None,
    ) -> None:
        """Set the target: --server, else --context, else TRAINYARD_SERVER (with
        TRAINYARD_TOKEN), else the current context (`load` gives the home and config)."""
        server = server or (None if context else os.environ.get("TRAINYARD_SERVER")) or None
        if server:
            token = token or os.environ.get("TRAINYARD_TOKEN") or None
            if not server.startswith(("http://", "https://")):
                raise UserError(f"--server {server!r} must start with http:// or https://")
            cls.target = Target(server, token, namespace, not insecure)
            return
        name = context
        config: Config | None = None
        if load is not None:
            home, config = load()
            name = name or contexts.current_name(home, config)
        if name is None or config is None:
            if token:
                raise UserError("--token needs --server URL (or TRAINYARD_SERVER, or a context)")
            cls.target = Target()
            return
        found = contexts.resolve(config, name)
        verify: bool | str = False if insecure else found.verify
        cls.target = Target(
            found.server,
            token,
            namespace or found.namespace,
            verify,
            name,
            None if token else found.token,
        )

    @classmethod
    def active(cls) -> bool:
        """Whether commands go to a server instead of this machine's engine."""
        return cls.target.server is not None

    @classmethod
    def client(cls) -> ArgoClient:
        """The client for the target (made on first use; httpx loads only then)."""
        from trainyard.client.argo import ArgoClient

        if cls._client is None:
            target = cls.target
            assert target.server is not None, "remote mode without --server"
            token = target.token or (target.read_token() if target.read_token else None)
            cls._client = ArgoClient(
                target.server,
                token,
                namespace=target.namespace or "default",
                verify=target.verify,
            )
        return cls._client

    @classmethod
    def namespace(cls, given: str | None) -> str:
        """The command's -n, else the global --namespace, else `default`."""
        return given or cls.target.namespace or "default"

    @classmethod
    def close(cls) -> None:
        """Close the client and forget the target."""
        if cls._client is not None:
            cls._client.close()
        cls._client = None
        cls.target = Target()


def _finished(doc: dict[str, Any]) -> bool:
    return (doc.get("status") or {}).get("phase") in FINISHED


def _exit_code(doc: dict[str, Any]) -> int:
    return 0 if (doc.get("status") or {}).get("phase") == "Succeeded" else 1


def _model(doc: dict[str, Any]) -> Workflow:
    return Workflow.model_validate(doc)


def submit(doc: dict[str, Any], namespace: str, wait: bool, output: Format) -> int:
    """Create the workflow on the server; with `wait`, watch it to its end like `run`."""
    created = Remote.client().create_workflow(doc, namespace)
    name = created["metadata"]["name"]
    if not wait:
        show_workflow(_model(created), output, brief=True)
        return 0
    if not is_structured(output):
        err.print(f"Workflow {name} submitted to {Remote.target.server}", highlight=False)
    return wait_for(name, namespace, output)


def wait_for(name: str, namespace: str, output: Format) -> int:
    """Watch a workflow over the server's event stream until it ends; 0 if it Succeeded."""
    live_view = sys.stdout.isatty() and not is_structured(output)
    live = Live(console=out, auto_refresh=False) if live_view else None

    def changed(doc: dict[str, Any]) -> None:
        if live is not None:
            live.update(workflow_view(_model(doc)), refresh=True)

    if live is not None:
        live.start()
    try:
        final = _watch(name, namespace, changed)
    except KeyboardInterrupt:
        err.print(f"Left workflow {name} running on the server.")
        raise typer.Exit(130) from None
    finally:
        if live is not None:
            live.stop()
    if live is None:
        show_workflow(_model(final), output)
    return _exit_code(final)


def _watch(name: str, namespace: str, changed: Any) -> dict[str, Any]:
    client = Remote.client()
    current = client.get_workflow(name, namespace)
    changed(current)
    while not _finished(current):
        for event in client.watch_workflow(name, namespace):
            if event.get("type") == "DELETED":
                raise NotFoundError(f"workflow {name} was deleted while waiting for it")
            obj = event.get("object")
            if isinstance(obj, dict) and obj.get("metadata", {}).get("name") == name:
                current = obj
                changed(current)
                if _finished(current):
                    return current
        current = client.get_workflow(name, namespace)  # the stream ended: look, then again
    return current


def get(name: str, namespace: str, output: Format) -> None:
    """Show one workflow from the server."""
    show_workflow(_model(Remote.client().get_workflow(name, namespace)), output)


def list_workflows(namespace: str | None, selector: str | None, output: Format) -> None:
    """Every workflow the server lists (all pages), newest first."""
    client = Remote.client()
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = client.list_workflows(
            namespace or "", label_selector=selector, limit=500, continue_token=token
        )
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            break
    if is_structured(output):
        emit({"items": items}, output)
        return
    workflows = [_model(doc) for doc in items]
    if output == Format.name:
        for wf in workflows:
            out.print(wf.metadata.name or "")
    else:
        out.print(list_table(workflows, wide=output == Format.wide))


def phase_selector(status: list[str], running: bool, completed: bool) -> str | None:
    """The label selector for `list --status/--running/--completed`, as Argo's CLI sends it."""
    if running:
        return f"{COMPLETED_LABEL}!=true"
    if completed:
        return f"{COMPLETED_LABEL}=true"
    if status:
        return f"{PHASE_LABEL} in ({','.join(status)})"
    return None


def edit(verb: str, done: str, name: str, namespace: str, output: Format, **body: Any) -> None:
    """stop, terminate, suspend, resume, retry or set on the server (`body`: the request's
    other fields, e.g. nodeFieldSelector)."""
    changed = Remote.client().act(verb, name, namespace, **body)
    if is_structured(output):
        emit(changed, output)
    else:
        out.print(f"workflow {name} {done}", highlight=False)


def resubmit(
    name: str,
    namespace: str,
    parameters: list[str],
    wait: bool,
    output: Format,
    memoized: bool = False,
) -> int:
    """A copy of the workflow, made by the server (with other parameters; memoized: keeping
    what succeeded)."""
    extra: dict[str, Any] = {"memoized": True} if memoized else {}
    created = Remote.client().act("resubmit", name, namespace, parameters=parameters, **extra)
    if wait:
        return wait_for(created["metadata"]["name"], namespace, output)
    show_workflow(_model(created), output, brief=True)
    return 0


def delete(names: list[str], namespace: str) -> None:
    """Delete workflows on the server."""
    for name in names:
        Remote.client().delete_workflow(name, namespace)
        out.print(f"workflow {name} deleted", highlight=False)


def logs(
    name: str,
    node: str | None,
    namespace: str,
    follow: bool,
    timestamps: bool,
    tail: int | None,
    grep: str | None,
    prefix: bool,
) -> None:
    """Print (and with `follow`, keep printing) the workflow's pod logs from the server.

    `node` (an id, name, display name or pod name) is sent as the pod name Argo knows.
    """
    client = Remote.client()
    pods: list[str | None] = [None]
    if node is not None:
        wf = _model(client.get_workflow(name, namespace))
        pods = [pod_of(wf, chosen) for chosen in pod_nodes(wf, node)]
    for pod_name in pods:
        entries = client.logs(
            name, namespace, pod_name=pod_name, follow=follow, grep=grep, tail_lines=tail,
            timestamps=timestamps,
        )  # fmt: skip
        for entry in entries:
            content = str(entry.get("content", ""))
            pod = entry.get("podName")
            sys.stdout.write(f"{pod}: {content}\n" if prefix and pod else f"{content}\n")
            sys.stdout.flush()
