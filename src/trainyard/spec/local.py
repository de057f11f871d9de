"""What the local engine cannot run (yet): found before anything starts, never half-run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from trainyard.core.errors import Problem
from trainyard.spec.load import LoadedDocument
from trainyard.spec.programs import started_programs
from trainyard.spec.source import JsonPath

CLUSTER = "it needs a Kubernetes cluster; submit the workflow to an Argo server"
PLUGIN = (
    "it needs a Kubernetes cluster (executor plugin): Argo runs plugins as sidecars of its "
    "agent; submit the workflow to an Argo server"
)
LATER = "the local engine does not run it yet; submit the workflow to an Argo server"

TEMPLATE_KINDS = {
    "resource": f"a resource template: {CLUSTER}",
    "plugin": f"a plugin template: {PLUGIN}",
}
# What --executor container (one container per step) does not run.
NOT_IN_CONTAINERS = {
    "sidecars": "sidecars",
    "initContainers": "initContainers",
    "daemon": "daemon: true",
}
SIDE_KINDS = {"initContainers": "init container", "sidecars": "sidecar"}
# Argo's test image: the local engine brings its own `argosay` (its entrypoint).
ARGOSAY_IMAGE = "argoproj/argosay"
# Part of the message for a container without a command, which containers may have.
ENTRYPOINT_PROBLEM = "cannot use the entrypoint of image"
# With `--executor container`: a containerSet's containers share one pod, which the container
# executor does not build.
CONTAINER_SET_IN_CONTAINERS = (
    "a containerSet template: the container executor does not run it; run the workflow "
    "with --executor process (its containers then run as host processes sharing one step)"
)
# s3 is missing: key-only artifacts are in the workflow's repository, and other buckets are
# reached with the configured (or AWS's usual) credentials, checked when the step starts;
# plugins have their own message.
LOCATIONS = ("gcs", "git", "http", "hdfs", "oss", "azure", "artifactory")


def local_engine_problems(
    doc: LoadedDocument,
    *,
    containers: bool = False,
    installed: Callable[[str], bool] | None = None,
) -> list[Problem]:
    """Errors for everything in `doc` the local engine would not run as Argo does; with
    `containers` (steps run in podman/docker), a container may use its image's entrypoint.
    With `installed` (whether this machine has a program), host steps that start a program
    it lacks are errors too."""
    findings = list(_findings(doc.data, ()))
    if containers:
        findings += _container_findings(doc.data)
        findings += [
            (f"template '{name}' is {CONTAINER_SET_IN_CONTAINERS}", path)
            for name, path in _container_sets(doc.data)
        ]
    elif installed is not None:
        findings += _missing_programs(doc.data, installed)
    problems = [
        doc.problem(message, path)
        for message, path in findings
        if not (containers and ENTRYPOINT_PROBLEM in message)
    ]
    return sorted(problems, key=lambda p: (p.line, p.column))


def _findings(value: Any, path: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    if isinstance(value, dict):
        yield from _in_mapping(value, path)
        for key, child in value.items():
            yield from _findings(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _findings(child, (*path, index))


def _in_mapping(node: dict[str, Any], path: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    parent = path[-2] if len(path) >= 2 else None
    if parent == "templates" or (path and path[-1] == "inline"):
        yield from _in_template(node, path)
    if path and path[-1] == "hooks":
        for event, hook in node.items():
            if event != "exit" and isinstance(hook, dict) and not hook.get("expression"):
                yield (
                    f"lifecycle hook {event!r} has no expression: a hook other than 'exit' "
                    'runs when its expression becomes true (e.g. workflow.status == "Running")',
                    (*path, event),
                )
    if parent in ("artifacts",) and "name" in node:
        if "plugin" in node:
            yield (f"artifact {node['name']!r} is stored by a plugin: {PLUGIN}", (*path, "plugin"))
        for location in LOCATIONS:
            if location in node:
                yield (
                    f"artifact {node['name']!r} is stored in {location}: {LATER}",
                    (*path, location),
                )


def _in_template(tmpl: dict[str, Any], path: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    name = tmpl.get("name", "")
    for key, what in TEMPLATE_KINDS.items():
        if key in tmpl:
            yield (f"template '{name}' is {what}", (*path, key))
    for key, what in SIDE_KINDS.items():
        items = tmpl.get(key)
        for index, body in enumerate(items if isinstance(items, list) else []):
            if isinstance(body, dict) and not body.get("command") and not _is_argosay(body):
                side = f"{what} '{body.get('name') or index}' of template '{name}'"
                yield (_no_side_command(side, body), (*path, key, index))
    for kind in ("container", "script"):
        body = tmpl.get(kind)
        if isinstance(body, dict) and not body.get("command") and not _is_argosay(body):
            yield (_no_command(name, kind, body), (*path, kind))
    data = tmpl.get("data")
    if isinstance(data, dict):
        yield from _data_source(name, data, path)
    cset = tmpl.get("containerSet")
    members = cset.get("containers") if isinstance(cset, dict) else None
    for i, body in enumerate(members if isinstance(members, list) else []):
        if isinstance(body, dict) and not body.get("command") and not _is_argosay(body):
            where = f"{name}' container '{body.get('name') or i}"
            yield (_no_command(where, "container", body), (*path, "containerSet", "containers", i))


def _data_source(name: str, data: dict[str, Any], path: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    """A data template lists an s3 location, or the workflow's repository (no location)."""
    source = data.get("source")
    paths = source.get("artifactPaths") if isinstance(source, dict) else None
    if not isinstance(paths, dict):
        return
    for location in LOCATIONS:
        if location != "s3" and location in paths:
            yield (
                f"data template '{name}' lists a {location} location: {LATER} (it lists s3, "
                "or the workflow's artifact repository when artifactPaths has no location)",
                (*path, "data", "source", "artifactPaths", location),
            )


def _container_sets(value: Any) -> Iterator[tuple[str, JsonPath]]:
    """(template name, path) of every containerSet of a document."""
    for tmpl, path in _templates(value, ()):
        if "containerSet" in tmpl:
            yield str(tmpl.get("name", "")), (*path, "containerSet")


def _templates(value: Any, path: JsonPath) -> Iterator[tuple[dict[str, Any], JsonPath]]:
    """Every template mapping of a document (inline ones included), with its path."""
    if isinstance(value, dict):
        parent = path[-2] if len(path) >= 2 else None
        if parent == "templates" or (path and path[-1] == "inline"):
            yield value, path
        for key, child in value.items():
            yield from _templates(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _templates(child, (*path, index))


def _container_findings(value: Any) -> Iterator[tuple[str, JsonPath]]:
    """What --executor container cannot run: templates with more than one container."""
    for tmpl, path in _templates(value, ()):
        for key, what in NOT_IN_CONTAINERS.items():
            if tmpl.get(key):
                yield (
                    f"template '{tmpl.get('name', '')}' uses {what}, which --executor "
                    "container does not run yet; use --executor process",
                    (*path, key),
                )


def _no_side_command(side: str, body: dict[str, Any]) -> str:
    return (
        f"{side} has no command: the local engine runs host processes and cannot use the "
        f"entrypoint of image '{body.get('image') or '?'}'; add `command:`"
    )


def _no_command(name: str, kind: str, body: dict[str, Any]) -> str:
    if kind == "script":
        return (
            f"script template '{name}' has no command: add the interpreter, "
            "e.g. command: [python3] or command: [sh]"
        )
    return (
        f"template '{name}' has no command: the local engine runs host processes and cannot "
        f"use the entrypoint of image '{body.get('image') or '?'}'; add `command:` "
        "(e.g. command: [python3])"
    )


def _is_argosay(body: dict[str, Any]) -> bool:
    """Whether a container runs Argo's test image (any registry, any tag)."""
    image = str(body.get("image") or "").split("@")[0].rsplit(":", 1)[0]
    return image == ARGOSAY_IMAGE or image.endswith("/" + ARGOSAY_IMAGE)


def _missing_programs(
    data: Any, installed: Callable[[str], bool]
) -> Iterator[tuple[str, JsonPath]]:
    """Programs host steps would start that this machine does not have."""
    for tmpl, path in _templates(data, ()):
        for body, where, script in _bodies(tmpl, path):
            provided = {"argosay"} if _is_argosay(body) else set()
            for program in started_programs(body, script):
                if program not in provided and not installed(program):
                    yield (
                        f"template '{tmpl.get('name', '')}' runs '{program}', which is not "
                        "installed on this machine: install it, run the steps in containers "
                        "(--executor container), or submit the workflow to an Argo server",
                        (*where, "command"),
                    )


def _bodies(
    tmpl: dict[str, Any], path: JsonPath
) -> Iterator[tuple[dict[str, Any], JsonPath, bool]]:
    """(body, path, is a script) of every container a template runs."""
    for kind in ("container", "script"):
        body = tmpl.get(kind)
        if isinstance(body, dict):
            yield body, (*path, kind), kind == "script"
    cset = tmpl.get("containerSet")
    lists: list[tuple[Any, JsonPath]] = [
        (tmpl.get("initContainers"), (*path, "initContainers")),
        (tmpl.get("sidecars"), (*path, "sidecars")),
        (
            cset.get("containers") if isinstance(cset, dict) else None,
            (*path, "containerSet", "containers"),
        ),
    ]
    for items, where in lists:
        for index, body in enumerate(items if isinstance(items, list) else []):
            if isinstance(body, dict):
                yield body, (*where, index), False
