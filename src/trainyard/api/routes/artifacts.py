"""ArtifactService: a step's stored artifacts, downloaded by workflow name or uid."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from trainyard.api.context import ApiContext, caller, context, name_of, namespace_of
from trainyard.api.models import ERRORS
from trainyard.core.errors import NotFoundError
from trainyard.service.access import Caller
from trainyard.service.artifacts import Download
from trainyard.spec.models import Workflow

router = APIRouter(tags=["ArtifactService"], responses=ERRORS)
Ctx = Annotated[ApiContext, Depends(context)]
Who = Annotated[Caller, Depends(caller)]
FILE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The artifact's bytes.", "content": {"application/octet-stream": {}}}
}


def _send(found: Download) -> FileResponse:
    return FileResponse(
        found.path,
        filename=found.filename,
        media_type="application/octet-stream",
        background=BackgroundTask(found.discard),
    )


async def _download(
    ctx: ApiContext, wf: Workflow, node_id: str, artifact: str, inputs: bool, unpack: bool
) -> FileResponse:
    found = await run_in_threadpool(
        ctx.artifacts.download, wf, node_id, artifact, inputs=inputs, unpack=unpack
    )
    return _send(found)


async def _by_name(ctx: ApiContext, who: Caller, namespace: str, name: str) -> Workflow:
    return await run_in_threadpool(
        ctx.artifacts.workflow, who, namespace_of(namespace), name_of(name)
    )


@router.get("/artifacts/{namespace}/{name}/{node_id}/{artifact}", responses=FILE)
async def output_artifact(
    namespace: str, name: str, node_id: str, artifact: str, ctx: Ctx, who: Who
) -> FileResponse:
    """An output artifact as stored (a .tgz when it was archived)."""
    wf = await _by_name(ctx, who, namespace, name)
    return await _download(ctx, wf, node_id, artifact, inputs=False, unpack=False)


@router.get("/input-artifacts/{namespace}/{name}/{node_id}/{artifact}", responses=FILE)
async def input_artifact(
    namespace: str, name: str, node_id: str, artifact: str, ctx: Ctx, who: Who
) -> FileResponse:
    """An input artifact as stored."""
    wf = await _by_name(ctx, who, namespace, name)
    return await _download(ctx, wf, node_id, artifact, inputs=True, unpack=False)


@router.get("/artifacts-by-uid/{uid}/{node_id}/{artifact}", responses=FILE)
async def output_artifact_by_uid(
    uid: str, node_id: str, artifact: str, ctx: Ctx, who: Who
) -> FileResponse:
    """An output artifact of the workflow with this uid."""
    wf = await run_in_threadpool(ctx.artifacts.workflow_by_uid, who, uid)
    return await _download(ctx, wf, node_id, artifact, inputs=False, unpack=False)


@router.get("/input-artifacts-by-uid/{uid}/{node_id}/{artifact}", responses=FILE)
async def input_artifact_by_uid(
    uid: str, node_id: str, artifact: str, ctx: Ctx, who: Who
) -> FileResponse:
    """An input artifact of the workflow with this uid."""
    wf = await run_in_threadpool(ctx.artifacts.workflow_by_uid, who, uid)
    return await _download(ctx, wf, node_id, artifact, inputs=True, unpack=False)


@router.get(
    "/artifact-files/{namespace}/{id_discriminator}/{name}/{node_id}/{artifact_discriminator}/"
    "{artifact}",
    responses=FILE,
)
async def artifact_file(
    namespace: str,
    id_discriminator: str,
    name: str,
    node_id: str,
    artifact_discriminator: str,
    artifact: str,
    ctx: Ctx,
    who: Who,
) -> FileResponse:
    """An artifact's content (unpacked); a directory comes as a .tgz."""
    if id_discriminator != "workflow":
        raise NotFoundError("only live workflows are kept: use workflow/NAME, not archives")
    inputs = artifact_discriminator == "inputs"
    if artifact_discriminator not in ("outputs", "inputs"):
        raise NotFoundError(f"{artifact_discriminator!r} is neither outputs nor inputs")
    wf = await _by_name(ctx, who, namespace, name)
    return await _download(ctx, wf, node_id, artifact, inputs=inputs, unpack=True)
