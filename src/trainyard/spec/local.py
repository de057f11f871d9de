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
    "containerSet": f"a containerSet template: {LATER}",
    "data": f"a data template: {LATER}",
    "http": f"an http template: {LATER}",
    "plugin": f"a plugin template: {LATER}",
}
TEMPLATE_FIELDS = {
    "sidecars": "sidecars",
    "initContainers": "initContainers",
}
# Argo's test image: the local engine brings its own `argosay` (its entrypoint).
ARGOSAY_IMAGE = "argoproj/argosay"
# Part of the message for a container without a command, which containers may have.
ENTRYPOINT_PROBLEM = "cannot use the entrypoint of image"
# s3 is missing: key-only artifacts are in the workflow's repository, and other buckets are
# reached with the configured (or AWS's usual) credentials, checked when the step starts.
LOCATIONS = ("gcs", "git", "http", "hdfs", "oss", "azure", "artifactory", "plugin")


def local_engine_problems(doc: LoadedDocument, *, containers: bool = False) -> list[Problem]:
    """Errors for everything in `doc` the local engine would not run as Argo does; with
    `containers` (steps run in podman/docker), a container may use its image's entrypoint."""
    findings = _findings(doc.data, ())
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
