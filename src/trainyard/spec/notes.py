"""What the local engine records but ignores, and what it cannot run at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainyard.core.errors import Problem
from trainyard.spec.cron import cron_notes
from trainyard.spec.load import LoadedDocument
from trainyard.spec.source import JsonPath
from trainyard.spec.view import SpecView

KUBERNETES_ONLY = (
    "podSpecPatch",
    "nodeSelector",
    "tolerations",
    "affinity",
    "serviceAccountName",
    "securityContext",
    "imagePullSecrets",
    "priorityClassName",
    "podPriorityClassName",
    "schedulerName",
    "hostAliases",
    "dnsPolicy",
    "dnsConfig",
    "automountServiceAccountToken",
    "podGC",
    "volumeClaimGC",
    "ttlStrategy",
    "podDisruptionBudget",
    "executor",
    "metrics",
)
"""Fields of a workflow spec or template that only mean something to Kubernetes."""


ARTIFACT_GC = (
    "artifactGC is recorded; the local engine does not delete artifacts by strategy: they go "
    "with their workflow (`trainyard delete`)"
)


def _artifact_gc(doc: LoadedDocument, value: Any, path: JsonPath) -> Iterator[Problem]:
    """A note for each `artifactGC` (the whole workflow's, or one artifact's)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "artifactGC":
                yield doc.problem(ARTIFACT_GC, (*path, key), "note")
            else:
                yield from _artifact_gc(doc, child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _artifact_gc(doc, child, (*path, index))


def lint_notes(doc: LoadedDocument) -> list[Problem]:
    """Notes on Kubernetes-only fields and on references resolved only at run time."""
    view = SpecView.of(doc)
    notes: list[Problem] = []
    places: list[JsonPath] = [view.base]
    if view.spec.template_defaults is not None:
        places.append(view.path("templateDefaults"))
    places.extend(path for _, path in view.indexed_templates())
    for place in places:
        fields: Any = doc.at(place)
        for key in fields:
            if key in KUBERNETES_ONLY:
                notes.append(
                    view.problem(
                        f"'{key}' is a Kubernetes setting: recorded; has no effect on the "
                        "local engine",
                        (*place, key),
                        "note",
                    )
                )
    notes.extend(_artifact_gc(doc, doc.data, ()))
    ref = view.spec.workflow_template_ref
    if ref is not None:
        notes.append(
            view.problem(
                f"workflowTemplateRef '{ref.name}' is not checked here: the stored template "
                "is read when the workflow is submitted",
                view.path("workflowTemplateRef"),
                "note",
            )
        )
    for call in view.calls():
        node = call.invocation
        if node is not None and node.template_ref is not None:
            tref = node.template_ref
            notes.append(
                view.problem(
                    f"templateRef '{tref.name}/{tref.template}' of {call.what} is not checked "
                    "here: it is resolved from the stored template when the workflow runs",
                    (*call.path, "templateRef"),
                    "note",
                )
            )
    notes.extend(cron_notes(doc))
    return sorted(notes, key=lambda p: (p.line, p.column))
