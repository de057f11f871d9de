"""From a file on disk to a Workflow ready to submit: check, bind parameters, name it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainyard.cli.output import err
from trainyard.core.clock import SystemClock, format_time
from trainyard.core.errors import Problem, SpecError, UserError
from trainyard.core.ids import generated_name, new_uid
from trainyard.spec.check import check_file
from trainyard.spec.models import Workflow
from trainyard.spec.params import bind, merge_cli, parse_pairs


def print_problems(problems: list[Problem]) -> None:
    """One line per problem on stderr (file:line:col: severity: message)."""
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        err.print(str(problem), style=style, markup=False, highlight=False)


def load_workflow(
    file: Path,
    pairs: list[str],
    params_json: str | None,
    entrypoint: str | None = None,
    name: str | None = None,
    namespace: str = "default",
    labels: list[str] | None = None,
) -> Workflow:
    """Check `file`, then build the Workflow to run; SpecError/UserError when it cannot run."""
    wf = checked_workflow(file, pairs, params_json, entrypoint, local=True)
    return stamp(wf, name, namespace, labels or [])


def remote_workflow(
    file: Path,
    pairs: list[str],
    params_json: str | None,
    entrypoint: str | None,
    name: str | None,
    namespace: str,
    labels: list[str],
) -> dict[str, Any]:
    """The document to post to a server: checked and bound; the server names and stamps it."""
    wf = checked_workflow(file, pairs, params_json, entrypoint, local=False)
    doc = wf.dump()
    meta = doc.setdefault("metadata", {})
    for server_side in ("uid", "resourceVersion", "creationTimestamp"):
        meta.pop(server_side, None)
    if name:
        meta["name"] = name
        meta.pop("generateName", None)
    meta["namespace"] = namespace
    extra = parse_pairs(labels, "label")
    if extra:
        meta["labels"] = {**(meta.get("labels") or {}), **extra}
    doc.pop("status", None)
    return doc


def checked_workflow(
    file: Path,
    pairs: list[str],
    params_json: str | None,
    entrypoint: str | None,
    *,
    local: bool,
) -> Workflow:
    """The one Workflow in `file`, checked (for the local engine when `local`) and bound."""
    values = merge_cli(pairs, params_json)
    result = check_file(file, values, local=local)
    workflows = [d.document for d in result.documents if isinstance(d.document, Workflow)]
    for wf in workflows:
        bind(wf.spec, values)  # an unknown -p name is the clearer message, so it goes first
    if result.errors:
        raise SpecError(result.errors)
    if len(workflows) != 1:
        kinds = ", ".join(type(d.document).__name__ for d in result.documents) or "nothing"
        raise UserError(f"{file}: expected exactly one Workflow document, found {kinds}")
    wf = workflows[0]
    spec = bind(wf.spec, values)
    if entrypoint:
        if spec.template(entrypoint) is None:
            known = ", ".join(t.name for t in spec.templates)
            raise UserError(f"--entrypoint {entrypoint!r} names no template; known: {known}")
        spec = spec.model_copy(update={"entrypoint": entrypoint})
    return wf.model_copy(update={"spec": spec})


def stamp(wf: Workflow, name: str | None, namespace: str, labels: list[str]) -> Workflow:
    """Give `wf` a name (from --name or generateName), namespace, uid, labels and a timestamp."""
    meta = wf.metadata
    final = name or meta.name
    if not final:
        final = generated_name(meta.generate_name or "workflow-")
    extra = parse_pairs(labels, "label")
    meta = meta.model_copy(
        update={
            "name": final,
            "namespace": meta.namespace or namespace,
            "uid": new_uid(),
            "creation_timestamp": format_time(SystemClock().now()),
            "labels": {**(meta.labels or {}), **extra} or None,
            "resource_version": None,
        }
    )
    return wf.model_copy(update={"metadata": meta, "status": None})
