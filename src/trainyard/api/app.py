"""The FastAPI app: Argo Server's REST API (and trainyard's additions) over one ApiContext."""

from __future__ import annotations

from fastapi import FastAPI

from trainyard.api import errors
from trainyard.api.bodies import MAX_BODY, BodyLimit
from trainyard.api.context import ApiContext
from trainyard.api.routes import artifacts, info, streams, templates, workflows

DESCRIPTION = """\
Argo Server's REST API as trainyard serves it: workflows, templates, cron workflows, logs,
events and artifacts at Argo's paths with Argo's bodies, so Argo's CLI, Hera and the
`argo-workflows` SDK work unchanged. trainyard's own resources are under `/api/v1/trainyard/`.
Authenticate with `Authorization: Bearer <token>`. Errors are `{"code": N, "message": "..."}`.
"""


def create_app(context: ApiContext, max_body: int = MAX_BODY) -> FastAPI:
    """The app serving `context`; bodies over `max_body` bytes are refused (413)."""
    app = FastAPI(
        title="trainyard",
        version=context.version,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.context = context
    errors.install(app)
    for module in (workflows, streams, templates, artifacts, info):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=max_body)
    return app
