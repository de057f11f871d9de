"""InfoService (version, info, userinfo) and trainyard's own resources under /api/v1/trainyard."""

from __future__ import annotations

import json
import platform
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from trainyard.api.context import ApiContext, caller, context, name_of, namespace_of
from trainyard.api.encoding import json_response
from trainyard.api.models import ERRORS, Lenient
from trainyard.auth.roles import ALL_NAMESPACES
from trainyard.service.access import Caller
from trainyard.service.results import report
from trainyard.spec.models import Workflow

router = APIRouter(responses=ERRORS)
Ctx = Annotated[ApiContext, Depends(context)]
Who = Annotated[Caller, Depends(caller)]


@router.get("/api/v1/version", response_model=Lenient, tags=["InfoService"])
def version(ctx: Ctx) -> Response:
    """The server's version, in Argo's Version shape."""
    return json_response(
        {
            "version": f"v{ctx.version}",
            "buildDate": "",
            "gitCommit": "",
            "gitTag": f"v{ctx.version}",
            "gitTreeState": "",
            "goVersion": "",
            "compiler": "trainyard",
            "platform": f"{platform.system().lower()}/{platform.machine()}",
        }
    )


@router.get("/api/v1/info", response_model=Lenient, tags=["InfoService"])
def info(who: Who) -> Response:
    """What Argo's UI asks first: managed namespace, links, columns."""
    return json_response({"managedNamespace": "", "links": [], "columns": [], "modals": {}})


@router.get("/api/v1/userinfo", response_model=Lenient, tags=["InfoService"])
def user_info(who: Who) -> Response:
    """Who the token belongs to."""
    principal = who.principal
    roles = [f"{ns}:{role}" for ns, role in sorted(principal.roles.items())]
    groups = ["admin"] if principal.admin else roles
    return json_response({"subject": principal.name, "name": principal.name, "groups": groups})


@router.get("/api/v1/trainyard/queue", response_model=Lenient, tags=["trainyard"])
async def queue(ctx: Ctx, who: Who) -> Response:
    """The GPU queue as the engine last wrote it: waiting steps in order, and running ones."""
    who.require("read", ALL_NAMESPACES)
    return json_response(await run_in_threadpool(_read_queue, ctx))


def _read_queue(ctx: ApiContext) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(ctx.queue_file.read_text())
    except (OSError, ValueError):
        return {"waiting": [], "running": []}
    return found


@router.get(
    "/api/v1/trainyard/results/{namespace}/{name}", response_model=Lenient, tags=["trainyard"]
)
def results(namespace: str, name: str, ctx: Ctx, who: Who) -> Response:
    """Each step's parameters, metrics and artifacts (`trainyard results -o json`)."""
    who.require("read", namespace_of(namespace))
    wf = Workflow.model_validate(ctx.store.get("Workflow", namespace, name_of(name)))
    return json_response(report(ctx.repositories, wf))
