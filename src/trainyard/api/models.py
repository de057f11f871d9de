"""The request bodies of Argo's REST API (unknown fields refused) and lenient response shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Json = dict[str, Any]


class Request(BaseModel):
    """A request body: Argo's camelCase names; a field Argo does not define is an error."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Lenient(BaseModel):
    """A response shape, for the OpenAPI document: fields beyond those named are kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class CreateOptions(Request):
    """Kubernetes' CreateOptions; `dryRun: ["All"]` only checks."""

    dry_run: list[str] | None = None
    field_manager: str | None = None
    field_validation: str | None = None


class WorkflowCreateRequest(Request):
    """POST /api/v1/workflows/{namespace}."""

    namespace: str | None = None
    workflow: Json | None = None
    server_dry_run: bool | None = None
    create_options: CreateOptions | None = None
    instance_id: str | None = Field(default=None, alias="instanceID")


class WorkflowLintRequest(Request):
    """POST /api/v1/workflows/{namespace}/lint."""

    namespace: str | None = None
    workflow: Json | None = None


class SubmitOpts(Request):
    """Argo's submit options."""

    annotations: str | None = None
    artifacts: list[str] | None = None
    dry_run: bool | None = None
    entry_point: str | None = None
    generate_name: str | None = None
    labels: str | None = None
    name: str | None = None
    owner_reference: Json | None = None
    parameters: list[str] | None = None
    pod_priority_class_name: str | None = None
    priority: int | None = None
    server_dry_run: bool | None = None
    service_account: str | None = None


class WorkflowSubmitRequest(Request):
    """POST /api/v1/workflows/{namespace}/submit: run a stored template."""

    namespace: str | None = None
    resource_kind: str | None = None
    resource_name: str | None = None
    submit_options: SubmitOpts | None = None


class NamedRequest(Request):
    """The body of terminate and suspend: the name and namespace, both also in the path."""

    name: str | None = None
    namespace: str | None = None


class WorkflowStopRequest(NamedRequest):
    """PUT .../stop."""

    message: str | None = None
    node_field_selector: str | None = None


class WorkflowResumeRequest(NamedRequest):
    """PUT .../resume."""

    node_field_selector: str | None = None


class WorkflowRetryRequest(NamedRequest):
    """PUT .../retry."""

    node_field_selector: str | None = None
    parameters: list[str] | None = None
    restart_successful: bool | None = None


class WorkflowResubmitRequest(NamedRequest):
    """PUT .../resubmit."""

    memoized: bool | None = None
    parameters: list[str] | None = None


class WorkflowSetRequest(NamedRequest):
    """PUT .../set: phase, message or output parameters (a JSON object) of selected nodes."""

    message: str | None = None
    node_field_selector: str | None = None
    output_parameters: str | None = None
    phase: str | None = None


class TemplateRequest(Request):
    """Create, lint and update of WorkflowTemplates and ClusterWorkflowTemplates."""

    namespace: str | None = None
    name: str | None = None
    template: Json | None = None
    create_options: CreateOptions | None = None


class CronWorkflowRequest(Request):
    """Create, lint and update of CronWorkflows."""

    namespace: str | None = None
    name: str | None = None
    cron_workflow: Json | None = None
    create_options: CreateOptions | None = None


class Object(Lenient):
    """A Kubernetes-style object: a Workflow, a template or a CronWorkflow."""

    api_version: str | None = None
    kind: str | None = None
    metadata: Json
    spec: Json | None = None
    status: Json | None = None


class ObjectList(Lenient):
    """A list page; `metadata.continue` is the token of the next page."""

    metadata: Json = Field(default_factory=dict)
    items: list[Json] = Field(default_factory=list)


class Empty(Lenient):
    """An empty object (what delete answers)."""


class ErrorBody(Lenient):
    """grpc-gateway's error: a gRPC status code and a message."""

    code: int
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    "default": {"model": ErrorBody, "description": "An error, in grpc-gateway's shape."}
}
