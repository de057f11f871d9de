"""WorkflowService: create, get, list, lint, submit, delete and the edits (stop, retry, ...)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from trainyard.api.context import ApiContext, caller, context, name_of, namespace_of
from trainyard.api.encoding import json_response
from trainyard.api.models import (
    ERRORS,
    Empty,
    NamedRequest,
    Object,
    ObjectList,
    WorkflowCreateRequest,
    WorkflowLintRequest,
    WorkflowResubmitRequest,
    WorkflowResumeRequest,
    WorkflowRetryRequest,
    WorkflowSetRequest,
    WorkflowStopRequest,
    WorkflowSubmitRequest,
)
from trainyard.auth.roles import ALL_NAMESPACES
from trainyard.core.errors import ConflictError, UserError
from trainyard.service.access import Caller
from trainyard.service.templates import SubmitOptions
from trainyard.service.workflows import ListQuery

router = APIRouter(tags=["WorkflowService"], responses=ERRORS)
Ctx = Annotated[ApiContext, Depends(context)]
Who = Annotated[Caller, Depends(caller)]
Fields = Annotated[
    str | None, Query(description="Fields to keep (`a.b,c`) or, after `-`, to leave out.")
]
PATH = "/api/v1/workflows/{namespace}"
# Bodies of the edits are optional: Argo's clients send the name and namespace again, or nothing.
NO_STOP = WorkflowStopRequest()
NO_NAME = NamedRequest()
NO_RESUME = WorkflowResumeRequest()
NO_RETRY = WorkflowRetryRequest()
NO_RESUBMIT = WorkflowResubmitRequest()
NO_SET = WorkflowSetRequest()


async def _list_query(
    label_selector: Annotated[str | None, Query(alias="listOptions.labelSelector")] = None,
    field_selector: Annotated[str | None, Query(alias="listOptions.fieldSelector")] = None,
    limit: Annotated[int | None, Query(alias="listOptions.limit")] = None,
    continue_token: Annotated[str | None, Query(alias="listOptions.continue")] = None,
    fields: Fields = None,
) -> ListQuery:
    return ListQuery(label_selector, field_selector, limit, continue_token, fields)


Listing = Annotated[ListQuery, Depends(_list_query)]


@router.get(PATH, response_model=ObjectList, operation_id="ListWorkflows")
def list_workflows(namespace: str, query: Listing, ctx: Ctx, who: Who) -> Response:
    """Workflows of a namespace, newest first, a page at a time."""
    who.require("read", namespace_of(namespace))
    return json_response(ctx.workflows.page(namespace, query))


@router.get("/api/v1/workflows/", response_model=ObjectList, operation_id="ListAllWorkflows")
def list_all_workflows(query: Listing, ctx: Ctx, who: Who) -> Response:
    """Workflows of every namespace (for those who may read them all)."""
    who.require("read", ALL_NAMESPACES)
    return json_response(ctx.workflows.page(None, query))


@router.post(PATH, response_model=Object, operation_id="CreateWorkflow")
def create_workflow(namespace: str, body: WorkflowCreateRequest, ctx: Ctx, who: Who) -> Response:
    """Check, stamp and store a workflow; the engine starts it within a second."""
    options = body.create_options
    dry_run = bool(body.server_dry_run or (options and options.dry_run))
    created = ctx.workflows.create(who, namespace_of(namespace), body.workflow, dry_run=dry_run)
    return json_response(created)


@router.post(f"{PATH}/lint", response_model=Object, operation_id="LintWorkflow")
def lint_workflow(namespace: str, body: WorkflowLintRequest, ctx: Ctx, who: Who) -> Response:
    """The workflow as it would be stored, or 400 with `trainyard lint`'s messages."""
    return json_response(ctx.workflows.lint(who, namespace_of(namespace), body.workflow))


@router.post(f"{PATH}/submit", response_model=Object, operation_id="SubmitWorkflow")
def submit_workflow(namespace: str, body: WorkflowSubmitRequest, ctx: Ctx, who: Who) -> Response:
    """Run a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow as a new workflow."""
    opts = body.submit_options
    options = SubmitOptions(
        name=opts.name if opts else None,
        generate_name=opts.generate_name if opts else None,
        entry_point=opts.entry_point if opts else None,
        parameters=list(opts.parameters or []) if opts else [],
        labels=opts.labels if opts else None,
        annotations=opts.annotations if opts else None,
        dry_run=bool(opts and (opts.dry_run or opts.server_dry_run)),
    )
    if not body.resource_kind or not body.resource_name:
        raise UserError("give resourceKind and resourceName: the template to submit")
    submitted = ctx.templates.submit(
        who, namespace_of(namespace), body.resource_kind, body.resource_name, options
    )
    return json_response(submitted)


@router.get(f"{PATH}/{{name}}", response_model=Object, operation_id="GetWorkflow")
def get_workflow(namespace: str, name: str, ctx: Ctx, who: Who, fields: Fields = None) -> Response:
    """One workflow (only the `fields` asked for)."""
    who.require("read", namespace_of(namespace))
    return json_response(ctx.workflows.get(namespace, name_of(name), fields))


@router.delete(f"{PATH}/{{name}}", response_model=Empty, operation_id="DeleteWorkflow")
async def delete_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, force: bool = False
) -> Response:
    """Delete a workflow; a running one is terminated first (its steps end), unless `force`."""
    namespace, name = namespace_of(namespace), name_of(name)
    deadline = time.monotonic() + ctx.delete_timeout
    while not await run_in_threadpool(ctx.workflows.delete, who, namespace, name, force):
        if time.monotonic() > deadline:
            raise ConflictError(
                f"workflow {name!r} is still terminating after {ctx.delete_timeout:.0f}s: "
                "delete it again later, or with force=true"
            )
        await asyncio.sleep(ctx.poll_interval)
    return json_response({})


def _named(namespace: str, name: str) -> tuple[str, str]:
    return namespace_of(namespace), name_of(name)


@router.put(f"{PATH}/{{name}}/stop", response_model=Object, operation_id="StopWorkflow")
def stop_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: WorkflowStopRequest = NO_STOP
) -> Response:
    """Stop: running steps end, exit handlers run."""
    return json_response(
        ctx.workflows.stop(who, *_named(namespace, name), body.node_field_selector)
    )


@router.put(f"{PATH}/{{name}}/terminate", response_model=Object, operation_id="TerminateWorkflow")
def terminate_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: NamedRequest = NO_NAME
) -> Response:
    """Terminate: running steps end at once, no exit handler runs."""
    return json_response(ctx.workflows.terminate(who, *_named(namespace, name)))


@router.put(f"{PATH}/{{name}}/suspend", response_model=Object, operation_id="SuspendWorkflow")
def suspend_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: NamedRequest = NO_NAME
) -> Response:
    """Start no new steps until resumed."""
    return json_response(ctx.workflows.suspend(who, *_named(namespace, name)))


@router.put(f"{PATH}/{{name}}/resume", response_model=Object, operation_id="ResumeWorkflow")
def resume_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: WorkflowResumeRequest = NO_RESUME
) -> Response:
    """Lift a suspension; end waiting suspend nodes (those nodeFieldSelector picks)."""
    resumed = ctx.workflows.resume(who, *_named(namespace, name), body.node_field_selector)
    return json_response(resumed)


@router.put(f"{PATH}/{{name}}/retry", response_model=Object, operation_id="RetryWorkflow")
def retry_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: WorkflowRetryRequest = NO_RETRY
) -> Response:
    """Run the failed parts of a Failed or Error workflow again."""
    retried = ctx.workflows.retry(
        who,
        *_named(namespace, name),
        body.parameters,
        bool(body.restart_successful),
        body.node_field_selector,
    )
    return json_response(retried)


@router.put(f"{PATH}/{{name}}/resubmit", response_model=Object, operation_id="ResubmitWorkflow")
def resubmit_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: WorkflowResubmitRequest = NO_RESUBMIT
) -> Response:
    """A new workflow with the same spec (and the parameters given)."""
    made = ctx.workflows.resubmit(
        who, *_named(namespace, name), body.parameters, bool(body.memoized)
    )
    return json_response(made)


@router.put(f"{PATH}/{{name}}/set", response_model=Object, operation_id="SetWorkflow")
def set_workflow(
    namespace: str, name: str, ctx: Ctx, who: Who, body: WorkflowSetRequest = NO_SET
) -> Response:
    """Give waiting suspend nodes a phase, a message or output parameters."""
    outputs = _output_parameters(body.output_parameters)
    done = ctx.workflows.set(
        who, *_named(namespace, name), body.node_field_selector, body.phase or None,
        body.message, outputs,
    )  # fmt: skip
    return json_response(done)


def _output_parameters(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise UserError(f"outputParameters is not a JSON object: {exc}") from None
    if not isinstance(values, dict):
        raise UserError('outputParameters must be a JSON object: {"name": "value"}')
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
