"""WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow services: CRUD and lint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from trainyard.api.context import ApiContext, caller, context, name_of, namespace_of
from trainyard.api.encoding import json_response
from trainyard.api.models import (
    ERRORS,
    CronWorkflowRequest,
    Empty,
    NamedRequest,
    Object,
    ObjectList,
    TemplateRequest,
)
from trainyard.service.access import Caller

router = APIRouter(responses=ERRORS)
Ctx = Annotated[ApiContext, Depends(context)]
Who = Annotated[Caller, Depends(caller)]
Selector = Annotated[str | None, Query(alias="listOptions.labelSelector")]
Limit = Annotated[int | None, Query(alias="listOptions.limit")]
Continue = Annotated[str | None, Query(alias="listOptions.continue")]
WT, CWT, CRON = "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"
WT_PATH = "/api/v1/workflow-templates/{namespace}"
CWT_PATH = "/api/v1/cluster-workflow-templates"
CRON_PATH = "/api/v1/cron-workflows/{namespace}"
NO_NAME = NamedRequest()


def _ns(namespace: str) -> str:
    return namespace_of(namespace)


def _document(body: TemplateRequest | CronWorkflowRequest) -> Any:
    return body.cron_workflow if isinstance(body, CronWorkflowRequest) else body.template


# -- WorkflowTemplates ------------------------------------------------------------------------
@router.get(WT_PATH, response_model=ObjectList, tags=["WorkflowTemplateService"])
def list_workflow_templates(
    namespace: str,
    ctx: Ctx,
    who: Who,
    selector: Selector = None,
    name_pattern: Annotated[str | None, Query(alias="namePattern")] = None,
    limit: Limit = None,
    token: Continue = None,
) -> Response:
    """WorkflowTemplates of a namespace, newest first."""
    found = ctx.templates.page(who, WT, _ns(namespace), selector, name_pattern, limit, token)
    return json_response(found)


@router.post(WT_PATH, response_model=Object, tags=["WorkflowTemplateService"])
def create_workflow_template(namespace: str, body: TemplateRequest, ctx: Ctx, who: Who) -> Response:
    """Check and store a WorkflowTemplate."""
    return json_response(ctx.templates.create(who, WT, _ns(namespace), body.template))


@router.post(f"{WT_PATH}/lint", response_model=Object, tags=["WorkflowTemplateService"])
def lint_workflow_template(namespace: str, body: TemplateRequest, ctx: Ctx, who: Who) -> Response:
    """The template as it would be stored, or 400 with `trainyard lint`'s messages."""
    return json_response(ctx.templates.lint(who, WT, _ns(namespace), body.template))


@router.get(f"{WT_PATH}/{{name}}", response_model=Object, tags=["WorkflowTemplateService"])
def get_workflow_template(namespace: str, name: str, ctx: Ctx, who: Who) -> Response:
    """One WorkflowTemplate."""
    return json_response(ctx.templates.get(who, WT, _ns(namespace), name_of(name)))


@router.put(f"{WT_PATH}/{{name}}", response_model=Object, tags=["WorkflowTemplateService"])
def update_workflow_template(
    namespace: str, name: str, body: TemplateRequest, ctx: Ctx, who: Who
) -> Response:
    """Replace a WorkflowTemplate."""
    updated = ctx.templates.update(who, WT, _ns(namespace), name_of(name), body.template)
    return json_response(updated)


@router.delete(f"{WT_PATH}/{{name}}", response_model=Empty, tags=["WorkflowTemplateService"])
def delete_workflow_template(namespace: str, name: str, ctx: Ctx, who: Who) -> Response:
    """Delete a WorkflowTemplate."""
    ctx.templates.delete(who, WT, _ns(namespace), name_of(name))
    return json_response({})


# -- ClusterWorkflowTemplates ---------------------------------------------------------------
@router.get(CWT_PATH, response_model=ObjectList, tags=["ClusterWorkflowTemplateService"])
def list_cluster_workflow_templates(
    ctx: Ctx, who: Who, selector: Selector = None, limit: Limit = None, token: Continue = None
) -> Response:
    """ClusterWorkflowTemplates, newest first."""
    return json_response(ctx.templates.page(who, CWT, None, selector, None, limit, token))


@router.post(CWT_PATH, response_model=Object, tags=["ClusterWorkflowTemplateService"])
def create_cluster_workflow_template(body: TemplateRequest, ctx: Ctx, who: Who) -> Response:
    """Check and store a ClusterWorkflowTemplate (cluster admins only)."""
    return json_response(ctx.templates.create(who, CWT, None, body.template))


@router.post(f"{CWT_PATH}/lint", response_model=Object, tags=["ClusterWorkflowTemplateService"])
def lint_cluster_workflow_template(body: TemplateRequest, ctx: Ctx, who: Who) -> Response:
    """The template as it would be stored, or 400 with `trainyard lint`'s messages."""
    return json_response(ctx.templates.lint(who, CWT, None, body.template))


@router.get(f"{CWT_PATH}/{{name}}", response_model=Object, tags=["ClusterWorkflowTemplateService"])
def get_cluster_workflow_template(name: str, ctx: Ctx, who: Who) -> Response:
    """One ClusterWorkflowTemplate."""
    return json_response(ctx.templates.get(who, CWT, None, name_of(name)))


@router.put(f"{CWT_PATH}/{{name}}", response_model=Object, tags=["ClusterWorkflowTemplateService"])
def update_cluster_workflow_template(
    name: str, body: TemplateRequest, ctx: Ctx, who: Who
) -> Response:
    """Replace a ClusterWorkflowTemplate."""
    return json_response(ctx.templates.update(who, CWT, None, name_of(name), body.template))


@router.delete(
    f"{CWT_PATH}/{{name}}", response_model=Empty, tags=["ClusterWorkflowTemplateService"]
)
def delete_cluster_workflow_template(name: str, ctx: Ctx, who: Who) -> Response:
    """Delete a ClusterWorkflowTemplate."""
    ctx.templates.delete(who, CWT, None, name_of(name))
    return json_response({})


# -- CronWorkflows ----------------------------------------------------------------------------
@router.get(CRON_PATH, response_model=ObjectList, tags=["CronWorkflowService"])
def list_cron_workflows(
    namespace: str,
    ctx: Ctx,
    who: Who,
    selector: Selector = None,
    limit: Limit = None,
    token: Continue = None,
) -> Response:
    """CronWorkflows of a namespace, newest first."""
    return json_response(
        ctx.templates.page(who, CRON, _ns(namespace), selector, None, limit, token)
    )


@router.post(CRON_PATH, response_model=Object, tags=["CronWorkflowService"])
def create_cron_workflow(namespace: str, body: CronWorkflowRequest, ctx: Ctx, who: Who) -> Response:
    """Check and store a CronWorkflow (the local engine does not schedule it yet)."""
    return json_response(ctx.templates.create(who, CRON, _ns(namespace), body.cron_workflow))


@router.post(f"{CRON_PATH}/lint", response_model=Object, tags=["CronWorkflowService"])
def lint_cron_workflow(namespace: str, body: CronWorkflowRequest, ctx: Ctx, who: Who) -> Response:
    """The CronWorkflow as it would be stored, or 400 with `trainyard lint`'s messages."""
    return json_response(ctx.templates.lint(who, CRON, _ns(namespace), body.cron_workflow))


@router.get(f"{CRON_PATH}/{{name}}", response_model=Object, tags=["CronWorkflowService"])
def get_cron_workflow(namespace: str, name: str, ctx: Ctx, who: Who) -> Response:
    """One CronWorkflow."""
    return json_response(ctx.templates.get(who, CRON, _ns(namespace), name_of(name)))


@router.put(f"{CRON_PATH}/{{name}}", response_model=Object, tags=["CronWorkflowService"])
def update_cron_workflow(
    namespace: str, name: str, body: CronWorkflowRequest, ctx: Ctx, who: Who
) -> Response:
    """Replace a CronWorkflow."""
    updated = ctx.templates.update(who, CRON, _ns(namespace), name_of(name), _document(body))
    return json_response(updated)


@router.delete(f"{CRON_PATH}/{{name}}", response_model=Empty, tags=["CronWorkflowService"])
def delete_cron_workflow(namespace: str, name: str, ctx: Ctx, who: Who) -> Response:
    """Delete a CronWorkflow."""
    ctx.templates.delete(who, CRON, _ns(namespace), name_of(name))
    return json_response({})


@router.put(f"{CRON_PATH}/{{name}}/suspend", response_model=Object, tags=["CronWorkflowService"])
def suspend_cron_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: NamedRequest = NO_NAME
) -> Response:
    """Set `spec.suspend`."""
    done = ctx.templates.set_suspended(who, _ns(namespace), name_of(name), True)
    return json_response(done)


@router.put(f"{CRON_PATH}/{{name}}/resume", response_model=Object, tags=["CronWorkflowService"])
def resume_cron_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: NamedRequest = NO_NAME
) -> Response:
    """Clear `spec.suspend`."""
    done = ctx.templates.set_suspended(who, _ns(namespace), name_of(name), False)
    return json_response(done)
