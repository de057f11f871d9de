"""Streams of WorkflowService: step logs (`.../log`) and workflow events (`workflow-events`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from trainyard.api.context import ApiContext, caller, context, name_of, namespace_of
from trainyard.api.models import ERRORS
from trainyard.api.streams import stream
from trainyard.core.errors import UserError
from trainyard.core.selectors import parse_selector
from trainyard.service.access import Caller
from trainyard.service.events import WorkflowWatch
from trainyard.service.fields import project
from trainyard.service.logs import LogOptions, LogStream
from trainyard.service.workflows import field_name

router = APIRouter(tags=["WorkflowService"], responses=ERRORS)
Ctx = Annotated[ApiContext, Depends(context)]
Who = Annotated[Caller, Depends(caller)]
STREAMED: dict[int | str, dict[str, Any]] = {
    200: {"description": 'A stream of `{"result": ...}` objects (SSE or NDJSON).'}
}


async def _log_options(
    pod_name: Annotated[str | None, Query(alias="podName")] = None,
    container: Annotated[str | None, Query(alias="logOptions.container")] = None,
    follow: Annotated[bool, Query(alias="logOptions.follow")] = False,
    tail_lines: Annotated[int | None, Query(alias="logOptions.tailLines")] = None,
    since_seconds: Annotated[int | None, Query(alias="logOptions.sinceSeconds")] = None,
    since_time: Annotated[int | None, Query(alias="logOptions.sinceTime.seconds")] = None,
    timestamps: Annotated[bool, Query(alias="logOptions.timestamps")] = False,
    grep: str | None = None,
) -> LogOptions:
    since = None
    try:
        if since_seconds is not None:
            since = datetime.now(UTC) - timedelta(seconds=max(since_seconds, 0))
        elif since_time is not None:
            since = datetime.fromtimestamp(since_time, UTC)
    except (OverflowError, OSError, ValueError):
        raise UserError("logOptions.sinceSeconds/sinceTime is out of range") from None
    return LogOptions(pod_name, container or "main", follow, tail_lines, since, timestamps, grep)


Options = Annotated[LogOptions, Depends(_log_options)]


async def _logs(
    request: Request, ctx: ApiContext, who: Caller, namespace: str, name: str, options: LogOptions
) -> StreamingResponse:
    who.require("read", namespace_of(namespace))
    logs = await run_in_threadpool(
        LogStream, ctx.store, ctx.executor, namespace, name_of(name), options
    )
    return stream(
        request,
        logs.read,
        lambda: logs.done,
        interval=ctx.poll_interval,
        keepalive=ctx.keepalive,
    )


@router.get(
    "/api/v1/workflows/{namespace}/{name}/log", responses=STREAMED, operation_id="WorkflowLogs"
)
async def workflow_logs(
    request: Request, namespace: str, name: str, ctx: Ctx, who: Who, options: Options
) -> StreamingResponse:
    """Every step's log lines (or one pod's: podName); with follow, until the workflow ends."""
    return await _logs(request, ctx, who, namespace, name, options)


@router.get(
    "/api/v1/workflows/{namespace}/{name}/{podName}/log", responses=STREAMED, operation_id="PodLogs"
)
async def pod_logs(
    request: Request,
    namespace: str,
    name: str,
    ctx: Ctx,
    who: Who,
    options: Options,
    pod_name: Annotated[str, Path(alias="podName")],
) -> StreamingResponse:
    """One pod's log lines (by pod name or node id)."""
    options = LogOptions(
        pod_name, options.container, options.follow, options.tail_lines, options.since,
        options.timestamps, options.grep,
    )  # fmt: skip
    return await _logs(request, ctx, who, namespace, name, options)


@router.get(
    "/api/v1/workflow-events/{namespace}", responses=STREAMED, operation_id="WatchWorkflows"
)
async def watch_workflows(
    request: Request,
    namespace: str,
    ctx: Ctx,
    who: Who,
    label_selector: Annotated[str | None, Query(alias="listOptions.labelSelector")] = None,
    field_selector: Annotated[str | None, Query(alias="listOptions.fieldSelector")] = None,
    resource_version: Annotated[str | None, Query(alias="listOptions.resourceVersion")] = None,
    timeout_seconds: Annotated[int | None, Query(alias="listOptions.timeoutSeconds")] = None,
    fields: str | None = None,
) -> StreamingResponse:
    """ADDED, MODIFIED and DELETED events of the workflows selected, as they happen."""
    who.require("read", namespace_of(namespace))
    if timeout_seconds is not None and timeout_seconds < 0:
        raise UserError("listOptions.timeoutSeconds must not be negative")
    watch = WorkflowWatch(
        ctx.store,
        namespace,
        parse_selector(label_selector),
        field_name(field_selector, namespace),
        send_initial=not resource_version,
    )

    def shape(event: dict[str, Any]) -> dict[str, Any]:
        return project({"result": event}, fields)

    return stream(
        request,
        watch.poll,
        lambda: False,
        interval=ctx.poll_interval,
        keepalive=ctx.keepalive,
        timeout=float(timeout_seconds) if timeout_seconds else None,
        shape=shape,
    )
