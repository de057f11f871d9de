"""WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows: stored, and run as Workflows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainyard.auth.roles import CREATOR_LABEL
from trainyard.core.errors import UserError
from trainyard.core.names import check, name_problem
from trainyard.core.selectors import parse_selector
from trainyard.service.access import Caller
from trainyard.service.fields import project
from trainyard.service.stamping import creator_value, parse_pairs, stamp
from trainyard.service.validation import DocumentChecker
from trainyard.service.workflows import WorkflowService, page_size
from trainyard.spec.models import CronWorkflow, ObjectMeta, Workflow, WorkflowSpec
from trainyard.spec.params import bind
from trainyard.store.base import Store

CLUSTER = "ClusterWorkflowTemplate"
TEMPLATE_KINDS = ("WorkflowTemplate", CLUSTER, "CronWorkflow")
ORIGIN_LABELS = {
    "WorkflowTemplate": "workflows.argoproj.io/workflow-template",
    CLUSTER: "workflows.argoproj.io/cluster-workflow-template",
    "CronWorkflow": "workflows.argoproj.io/cron-workflow",
}
"""The label Argo puts on a workflow submitted from each kind, naming its origin."""


@dataclass(frozen=True)
class SubmitOptions:
    """Argo's SubmitOpts that the local engine honours."""

    name: str | None = None
    generate_name: str | None = None
    entry_point: str | None = None
    parameters: list[str] = field(default_factory=list)
    labels: str | None = None
    annotations: str | None = None
    dry_run: bool = False


class TemplateService:
    """Stored specs by kind; cluster templates have no namespace and need cluster rights."""

    def __init__(
        self, store: Store, workflows: WorkflowService, checker: DocumentChecker | None = None
    ) -> None:
        self.store = store
        self.workflows = workflows
        self.checker = checker or workflows.checker

    def create(
        self, caller: Caller, kind: str, namespace: str | None, document: Any
    ) -> dict[str, Any]:
        """Check and store a new template (the caller becomes its creator)."""
        self._require(caller, kind, namespace, "create")
        return self.store.create(kind, self._prepare(caller, kind, namespace, document))

    def lint(
        self, caller: Caller, kind: str, namespace: str | None, document: Any
    ) -> dict[str, Any]:
        """The template normalized, if it passes `trainyard lint`'s checks; SpecError if not."""
        self._require(caller, kind, namespace, "read")
        if isinstance(document, dict) and not (document.get("metadata") or {}).get("name"):
            meta = document.get("metadata") or {}
            document = {**document, "metadata": {**meta, "name": meta.get("name") or "lint"}}
        return self._prepare(caller, kind, namespace, document)

    def get(self, caller: Caller, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        """The stored template."""
        self._require(caller, kind, namespace, "read")
        return self.store.get(kind, namespace or "", name)

    def page(
        self,
        caller: Caller,
        kind: str,
        namespace: str | None,
        label_selector: str | None = None,
        name_pattern: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        """A list page of templates, newest first."""
        self._require(caller, kind, namespace, "read")
        page = self.store.list_page(
            kind,
            namespace or "",
            selector=parse_selector(label_selector),
            name_contains=name_pattern or None,
            limit=page_size(limit),
            continue_token=continue_token or None,
        )
        meta = {"continue": page.continue_token} if page.continue_token else {}
        return {"metadata": meta, "items": page.items}

    def update(
        self, caller: Caller, kind: str, namespace: str | None, name: str, document: Any
    ) -> dict[str, Any]:
        """Replace a template (optimistically, when the document carries a resourceVersion)."""
        self._require(caller, kind, namespace, "create")
        current = self.store.get(kind, namespace or "", name)
        if not isinstance(document, dict):
            raise UserError(f"the request has no {kind} object")
        given = (document.get("metadata") or {}).get("name")
        if given and given != name:
            raise UserError(f"metadata.name {given!r} does not match {name!r} in the path")
        meta = current["metadata"]
        doc = {**document, "metadata": {**(document.get("metadata") or {}), "name": name}}
        prepared = self._prepare(caller, kind, namespace, doc, creator=_creator(current))
        version = (document.get("metadata") or {}).get("resourceVersion")
        prepared["metadata"] = {
            **prepared["metadata"],
            "uid": meta["uid"],
            "creationTimestamp": meta["creationTimestamp"],
            **({"resourceVersion": version} if version else {}),
        }
        return self.store.update(kind, prepared)

    def delete(self, caller: Caller, kind: str, namespace: str | None, name: str) -> None:
        """Remove a template (a runner may remove those it created)."""
        current = self.store.get(kind, namespace or "", name)
        owner = _creator(current)
        mine = owner is not None and owner == creator_value(caller.name)
        self._require(caller, kind, namespace, "modify", caller.name if mine else owner)
        self.store.delete(kind, namespace or "", name)

    def set_suspended(
        self, caller: Caller, namespace: str, name: str, suspend: bool
    ) -> dict[str, Any]:
        """Suspend or resume a CronWorkflow (its `spec.suspend`)."""
        current = self.store.get("CronWorkflow", namespace, name)
        owner = _creator(current)
        mine = owner is not None and owner == creator_value(caller.name)
        caller.require("modify", namespace, caller.name if mine else owner)
        spec = {**current.get("spec", {}), "suspend": suspend}
        return self.store.update("CronWorkflow", {**current, "spec": spec})

    def submit(
        self,
        caller: Caller,
        namespace: str,
        kind: str,
        name: str,
        options: SubmitOptions,
        fields: str | None = None,
    ) -> dict[str, Any]:
        """A new Workflow running the template's spec with the given options."""
        if kind not in TEMPLATE_KINDS:
            raise UserError(f"resourceKind {kind!r} is not one of {', '.join(TEMPLATE_KINDS)}")
        check(name_problem(name, "resourceName"))
        caller.require("create", namespace)
        source = self.store.get(kind, "" if kind == CLUSTER else namespace, name)
        spec, meta = _spec_of(kind, source)
        values = parse_pairs(options.parameters, "parameter")
        spec = bind(spec, values)
        if options.entry_point:
            spec = spec.model_copy(update={"entrypoint": options.entry_point})
        metadata = ObjectMeta(
            generate_name=options.generate_name or meta.generate_name or f"{name}-",
            labels={**(meta.labels or {}), ORIGIN_LABELS[kind]: name},
            annotations={
                **(meta.annotations or {}),
                **parse_pairs(options.annotations, "annotation"),
            }
            or None,
        )
        wf = Workflow(metadata=metadata, spec=spec).dump()
        doc = self.workflows.prepare(
            wf,
            namespace,
            caller=caller,
            name=options.name,
            labels=parse_pairs(options.labels, "label"),
        )
        stored = doc if options.dry_run else self.store.create("Workflow", doc)
        return project(stored, fields)

    def _prepare(
        self,
        caller: Caller,
        kind: str,
        namespace: str | None,
        document: Any,
        creator: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise UserError(f"the request has no {kind} object")
        scope = None if kind == CLUSTER else namespace
        checked = self.checker.check(kind, document, source=kind[0].lower() + kind[1:])
        return stamp(checked, scope, creator=creator or caller.name)

    @staticmethod
    def _require(
        caller: Caller, kind: str, namespace: str | None, verb: str, owner: str | None = None
    ) -> None:
        if kind == CLUSTER:
            caller.require_cluster("read" if verb == "read" else "admin")
        else:
            caller.require(verb, namespace or "", owner)


def _spec_of(kind: str, source: dict[str, Any]) -> tuple[WorkflowSpec, ObjectMeta]:
    """The workflow spec a template or cron workflow runs, and the metadata it gives runs."""
    if kind == "CronWorkflow":
        cron = CronWorkflow.model_validate(source)
        return cron.spec.workflow_spec, cron.spec.workflow_metadata or ObjectMeta()
    spec = WorkflowSpec.model_validate(source.get("spec") or {})
    extra = (source.get("spec") or {}).get("workflowMetadata")
    meta = ObjectMeta.model_validate(extra) if isinstance(extra, dict) else ObjectMeta()
    return spec, meta


def _creator(obj: dict[str, Any]) -> str | None:
    labels = obj.get("metadata", {}).get("labels") or {}
    value = labels.get(CREATOR_LABEL)
    return value if isinstance(value, str) else None
