"""The documents: Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from trainyard.spec.models.base import ArgoModel, IntOrStr
from trainyard.spec.models.io import Arguments
from trainyard.spec.models.status import WorkflowStatus
from trainyard.spec.models.template import LifecycleHook, RetryStrategy, Template

API_VERSION = "argoproj.io/v1alpha1"


class ObjectMeta(ArgoModel):
    """Kubernetes object metadata (the parts trainyard reads)."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    creation_timestamp: str | None = None
    resource_version: str | None = None


class WorkflowTemplateRef(ArgoModel):
    """Run a stored (Cluster)WorkflowTemplate as this workflow's spec."""

    name: str
    cluster_scope: bool | None = None


class WorkflowSpec(ArgoModel):
    """What a workflow runs: templates, entrypoint, arguments and workflow-wide limits."""

    entrypoint: str | None = None
    arguments: Arguments | None = None
    templates: list[Template] = Field(default_factory=list)
    on_exit: str | None = None
    hooks: dict[str, LifecycleHook] | None = None
    parallelism: int | None = None
    active_deadline_seconds: IntOrStr | None = None
    volumes: list[dict[str, Any]] | None = None
    volume_claim_templates: list[dict[str, Any]] | None = None
    template_defaults: Template | None = None
    workflow_template_ref: WorkflowTemplateRef | None = None
    retry_strategy: RetryStrategy | None = None
    shutdown: str | None = None
    suspend: bool | None = None
    priority: int | None = None
    archive_logs: bool | None = None
    artifact_repository_ref: dict[str, Any] | None = None

    def template(self, name: str) -> Template | None:
        """The template called `name`, if this spec has one."""
        for tmpl in self.templates:
            if tmpl.name == name:
                return tmpl
        return None


class Workflow(ArgoModel):
    """A workflow: spec to run, status of the run."""

    api_version: str = API_VERSION
    kind: Literal["Workflow"] = "Workflow"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: WorkflowSpec = Field(default_factory=WorkflowSpec)
    status: WorkflowStatus | None = None


class WorkflowTemplate(ArgoModel):
    """A stored, reusable workflow spec in a namespace."""

    api_version: str = API_VERSION
    kind: Literal["WorkflowTemplate"] = "WorkflowTemplate"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: WorkflowSpec = Field(default_factory=WorkflowSpec)


class ClusterWorkflowTemplate(ArgoModel):
    """A stored, reusable workflow spec for every namespace."""

    api_version: str = API_VERSION
    kind: Literal["ClusterWorkflowTemplate"] = "ClusterWorkflowTemplate"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: WorkflowSpec = Field(default_factory=WorkflowSpec)


class CronWorkflowSpec(ArgoModel):
    """When a CronWorkflow fires and the workflow spec it starts."""

    schedule: str | None = None
    schedules: list[str] | None = None
    timezone: str | None = None
    concurrency_policy: str | None = None
    starting_deadline_seconds: int | None = None
    successful_jobs_history_limit: int | None = None
    failed_jobs_history_limit: int | None = None
    suspend: bool | None = None
    workflow_spec: WorkflowSpec = Field(default_factory=WorkflowSpec)
    workflow_metadata: ObjectMeta | None = None

    def schedule_texts(self) -> list[str]:
        """Every cron expression it fires on: Argo v3's `schedule`, then `schedules`."""
        return [*([self.schedule] if self.schedule else []), *(self.schedules or [])]


class CronWorkflow(ArgoModel):
    """A workflow started on a schedule."""

    api_version: str = API_VERSION
    kind: Literal["CronWorkflow"] = "CronWorkflow"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: CronWorkflowSpec = Field(default_factory=CronWorkflowSpec)


Document = Workflow | WorkflowTemplate | ClusterWorkflowTemplate | CronWorkflow
"""Any document trainyard loads."""

KINDS: dict[str, type[ArgoModel]] = {
    "Workflow": Workflow,
    "WorkflowTemplate": WorkflowTemplate,
    "ClusterWorkflowTemplate": ClusterWorkflowTemplate,
    "CronWorkflow": CronWorkflow,
}
