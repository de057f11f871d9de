"""From a file on disk to a Workflow ready to submit: check, bind parameters, name it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from trainyard.cli.output import err
from trainyard.cli.provenance import provenance_labels, training_image
from trainyard.controller import references
from trainyard.core.clock import SystemClock, format_time
from trainyard.core.config import load_config
from trainyard.core.errors import Problem, SpecError, UserError
from trainyard.core.ids import generated_name, new_uid
from trainyard.core.programs import installed
from trainyard.core.settings import Settings
from trainyard.spec.check import check_file, check_text
from trainyard.spec.lower import as_argo
from trainyard.spec.models import Workflow
from trainyard.spec.params import bind, merge_cli, parse_pairs
from trainyard.store.base import Store

IMAGE_PARAMETER = "image"
"""The workflow parameter that names the training image, as users' workflows have it."""


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
    store: Store | None = None,
    text: str | None = None,
    containers: bool = False,
) -> Workflow:
    """Check `file`, then build the Workflow to run; SpecError/UserError when it cannot run.

    With `store`, templates it references (workflowTemplateRef, templateRef) come from there.
    """

    def resolver(doc: dict[str, Any]) -> dict[str, Any]:
        assert store is not None
        meta = doc.setdefault("metadata", {})
        meta["namespace"] = meta.get("namespace") or namespace
        return references.resolve(doc, store)

    wf = checked_workflow(
        file,
        pairs,
        params_json,
        entrypoint,
        local=True,
        resolver=resolver if store else None,
        text=text,
        containers=containers,
    )
    return stamp(wf, name, namespace, labels or [])


def remote_workflow(
    file: Path,
    pairs: list[str],
    params_json: str | None,
    entrypoint: str | None,
    name: str | None,
    namespace: str,
    labels: list[str],
    context: str | None = None,
) -> dict[str, Any]:
    """The document to post to a server, exactly: checked and bound, labelled with where it
    comes from (user, git commit, trainyard version), in Argo's schema's own spelling. A
    workflow parameter `image` not given on the command line gets the training image that
    `trainyard deploy` built from this commit. The server names (from generateName) and
    stamps it."""
    wf = checked_workflow(file, pairs, params_json, entrypoint, local=False)
    wf = _with_deployed_image(wf, file, merge_cli(pairs, params_json), context)
    doc = wf.dump()
    meta = doc.setdefault("metadata", {})
    for server_side in ("uid", "resourceVersion", "creationTimestamp"):
        meta.pop(server_side, None)
    if name:
        meta["name"] = name
        meta.pop("generateName", None)
    elif not meta.get("name") and not meta.get("generateName"):
        meta["generateName"] = f"{file.stem}-"
    meta["namespace"] = namespace
    given = parse_pairs(labels, "label")
    meta["labels"] = {
        **provenance_labels(file.resolve().parent),
        **(meta.get("labels") or {}),
        **given,
    }
    doc.pop("status", None)
    return as_argo("Workflow", doc)


def _with_deployed_image(
    wf: Workflow, file: Path, given: dict[str, str], context: str | None
) -> Workflow:
    declared = [p.name for p in (wf.spec.arguments.parameters if wf.spec.arguments else None) or []]
    if IMAGE_PARAMETER not in declared or IMAGE_PARAMETER in given:
        return wf
    folder = file.resolve().parent
    image = training_image(folder, load_config(Settings.from_env().home, folder), context)
    if image is None:
        return wf
    err.print(f"image: {image} (the one `trainyard deploy` builds of this commit)", highlight=False)
    return wf.model_copy(update={"spec": bind(wf.spec, {IMAGE_PARAMETER: image})})


def checked_workflow(
    file: Path,
    pairs: list[str],
    params_json: str | None,
    entrypoint: str | None,
    *,
    local: bool,
    resolver: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    text: str | None = None,
    containers: bool = False,
) -> Workflow:
    """The one Workflow in `file` (or in `text`, named `file` in messages), checked (for the
    local engine when `local`) and bound.

    `resolver` brings in the stored templates it references; the result is checked again.
    """
    values = merge_cli(pairs, params_json)
    have = installed if local and not containers else None
    if text is None:
        result = check_file(file, values, local=local, containers=containers, installed=have)
    else:
        result = check_text(
            text, str(file), values, local=local, containers=containers, installed=have
        )
    loaded = [d.document for d in result.documents if isinstance(d.document, Workflow)]
    if resolver is not None and not result.errors and len(loaded) == 1:
        doc = loaded[0].dump()
        if references.uses_references(doc):
            text = yaml.safe_dump(resolver(doc), sort_keys=False)
            result = check_text(
                text,
                f"{file} (with its stored templates)",
                values,
                local=local,
                containers=containers,
                installed=have,
            )
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
