"""What the local engine cannot run (yet): found before anything starts, never half-run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainyard.core.errors import Problem
from trainyard.spec.load import LoadedDocument
from trainyard.spec.source import JsonPath

CLUSTER = "it needs a Kubernetes cluster; submit the workflow to an Argo server"
LATER = "the local engine does not run it yet; submit the workflow to an Argo server"

TEMPLATE_KINDS = {
    "resource": f"a resource template: {CLUSTER}",
    "http": f"an http template: {LATER}",
    "plugin": f"a plugin template: {LATER}",
}
TEMPLATE_FIELDS = {
    "sidecars": "sidecars",
    "initContainers": "initContainers",
    "memoize": "memoize",
}
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
LOCATIONS = ("s3", "gcs", "git", "http", "hdfs", "oss", "azure", "artifactory", "plugin")


def local_engine_problems(doc: LoadedDocument, *, containers: bool = False) -> list[Problem]:
    """Errors for everything in `doc` the local engine would not run as Argo does; with
    `containers` (steps run in podman/docker), a container may use its image's entrypoint."""
    findings = list(_findings(doc.data, ()))
    if containers:
        findings += [
            (f"template '{name}' is {CONTAINER_SET_IN_CONTAINERS}", path)
            for name, path in _container_sets(doc.data)
        ]
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
        for event in node:
            if event != "exit":
                yield (
                    f"lifecycle hook {event!r} (only 'exit' runs locally): {LATER}",
                    (*path, event),
                )
    if parent in ("artifacts",) and "name" in node:
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
    for key, what in TEMPLATE_FIELDS.items():
        if key in tmpl:
            yield (f"template '{name}' uses {what}: {LATER}", (*path, key))
    if tmpl.get("daemon"):
        yield (f"template '{name}' is a daemon: {LATER}", (*path, "daemon"))
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
