"""Workflows that use stored templates, made whole before they run.

`spec.workflowTemplateRef` takes the spec of a stored WorkflowTemplate (or, with
`clusterScope`, ClusterWorkflowTemplate) with the workflow's own fields on top (arguments and
templates merged by name), as Argo does. Each `templateRef` (in steps, DAG tasks and hooks) is
replaced by a copy of the referenced template, and of every template that one calls in its own
WorkflowTemplate, under the name `<workflowtemplate>-<template>`: the engine then runs one
self-contained workflow, and a template deleted or changed later does not change a running one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from trainyard.core.errors import NotFoundError, UserError
from trainyard.store.base import Store

TEMPLATE = "WorkflowTemplate"
CLUSTER_TEMPLATE = "ClusterWorkflowTemplate"
TEMPLATE_LABEL = "workflows.argoproj.io/workflow-template"
CLUSTER_TEMPLATE_LABEL = "workflows.argoproj.io/cluster-workflow-template"
_MERGED_BY_NAME = ("templates",)


def uses_references(doc: dict[str, Any]) -> bool:
    """Whether the workflow names a stored template anywhere."""
    spec = doc.get("spec") or {}
    return "workflowTemplateRef" in spec or any(_refs(spec))


def resolve(doc: dict[str, Any], store: Store) -> dict[str, Any]:
    """A copy of the workflow `doc` with no reference to a stored template left.

    UserError (saying which template is missing and how to store it) when one cannot be found.
    """
    if not uses_references(doc):
        return doc
    out = copy.deepcopy(doc)
    meta = out.setdefault("metadata", {})
    namespace = meta.get("namespace") or "default"
    spec = out.get("spec") or {}
    ref = spec.pop("workflowTemplateRef", None)
    if ref is not None:
        cluster = bool(ref.get("clusterScope"))
        source = _fetch(store, str(ref.get("name") or ""), cluster, namespace)
        spec = merge_specs(source.get("spec") or {}, spec)
        label = CLUSTER_TEMPLATE_LABEL if cluster else TEMPLATE_LABEL
        meta["labels"] = {**(meta.get("labels") or {}), label: str(ref.get("name"))}
    inliner = _Inliner(store, namespace, {str(t.get("name")) for t in spec.get("templates") or []})
    own = [inliner.rewrite(t, None) for t in spec.get("templates") or []]
    for hook in (spec.get("hooks") or {}).values():
        inliner.call(hook, None)
    spec["templates"] = own + inliner.added
    out["spec"] = spec
    return out


def merge_specs(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """`own` on top of `base`: fields replaced, arguments and templates merged by name."""
    merged = {**copy.deepcopy(base), **{k: v for k, v in own.items() if k != "arguments"}}
    for key in _MERGED_BY_NAME:
        if key in base and key in own:
            merged[key] = _by_name(base[key], own[key])
    base_args, own_args = base.get("arguments") or {}, own.get("arguments") or {}
    if base_args or own_args:
        merged["arguments"] = {
            kind: _by_name(base_args.get(kind) or [], own_args.get(kind) or [])
            for kind in ("parameters", "artifacts")
            if base_args.get(kind) or own_args.get(kind)
        }
    return merged


def _by_name(base: list[dict[str, Any]], own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    mine = {item.get("name"): item for item in own}
    kept = [{**item, **mine.pop(item.get("name"), {})} for item in base]
    return kept + list(mine.values())


def _fetch(store: Store, name: str, cluster: bool, namespace: str) -> dict[str, Any]:
    kind = CLUSTER_TEMPLATE if cluster else TEMPLATE
    try:
        return store.get(kind, "" if cluster else namespace, name)
    except NotFoundError:
        where = "" if cluster else f" in namespace {namespace!r}"
        raise UserError(
            f"no {kind} {name!r}{where}: store it first with `trainyard apply -f FILE`"
        ) from None


def _refs(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("templateRef"), dict):
            yield value["templateRef"]
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


class _Inliner:
    """Copies referenced templates into the workflow, once each, under fresh names."""

    def __init__(self, store: Store, namespace: str, taken: set[str]) -> None:
        self.store = store
        self.namespace = namespace
        self.taken = taken
        self.added: list[dict[str, Any]] = []
        self.names: dict[tuple[str, bool, str], str] = {}
        self.sources: dict[tuple[str, bool], dict[str, Any]] = {}

    def rewrite(self, template: dict[str, Any], origin: tuple[str, bool] | None) -> dict[str, Any]:
        """`template` with its calls pointing at inlined copies (`origin`: whose it is)."""
        out = copy.deepcopy(template)
        for group in out.get("steps") or []:
            for step in group if isinstance(group, list) else []:
                self.call(step, origin)
        for task in (out.get("dag") or {}).get("tasks") or []:
            self.call(task, origin)
        return out

    def call(self, call: dict[str, Any], origin: tuple[str, bool] | None) -> None:
        """Point one step, task or hook at a template of this workflow."""
        ref = call.pop("templateRef", None)
        if isinstance(ref, dict):
            call["template"] = self.inline(
                str(ref.get("name") or ""), bool(ref.get("clusterScope")), str(ref.get("template"))
            )
        elif origin is not None and isinstance(call.get("template"), str):
            call["template"] = self.inline(origin[0], origin[1], call["template"])
        if isinstance(call.get("inline"), dict):
            call["inline"] = self.rewrite(call["inline"], origin)
        for hook in (call.get("hooks") or {}).values():
            if isinstance(hook, dict):
                self.call(hook, origin)

    def inline(self, source: str, cluster: bool, name: str) -> str:
        """The local name of template `name` of stored template `source` (copied on first use)."""
        key = (source, cluster, name)
        if key in self.names:
            return self.names[key]
        if (source, cluster) not in self.sources:
            self.sources[(source, cluster)] = _fetch(self.store, source, cluster, self.namespace)
        templates = (self.sources[(source, cluster)].get("spec") or {}).get("templates") or []
        found = next((t for t in templates if t.get("name") == name), None)
        if found is None:
            kind = CLUSTER_TEMPLATE if cluster else TEMPLATE
            known = ", ".join(str(t.get("name")) for t in templates) or "none"
            raise UserError(f"{kind} {source!r} has no template {name!r} (it has: {known})")
        local = self._fresh(f"{source}-{name}")
        self.names[key] = local
        inlined = self.rewrite(found, (source, cluster))
        inlined["name"] = local
        self.added.append(inlined)
        return local

    def _fresh(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.taken:
            name, n = f"{wanted}-{n}", n + 1
        self.taken.add(name)
        return name
