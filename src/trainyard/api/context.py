"""What the routes work with: the services of one home, and the caller of each request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from trainyard.artifacts.base import Repositories
from trainyard.core.errors import UserError
from trainyard.core.names import name_problem, namespace_problem
from trainyard.executors.base import Executor
from trainyard.service.access import Authenticator, Caller, NoAuthentication
from trainyard.service.artifacts import ArtifactService
from trainyard.service.templates import TemplateService
from trainyard.service.workflows import WorkflowService
from trainyard.store.base import Store


@dataclass
class ApiContext:
    """The services behind the API and how streams behave (intervals in seconds)."""

    store: Store
    executor: Executor
    repositories: Repositories
    authenticator: Authenticator
    workflows: WorkflowService
    templates: TemplateService
    artifacts: ArtifactService
    queue_file: Path
    version: str
    auth_mode: str = "token"
    keepalive: float = 15.0
    poll_interval: float = 0.5
    delete_timeout: float = 60.0


def app_context(request: Request) -> ApiContext:
    """The ApiContext the app was made with."""
    found = request.app.state.context
    assert isinstance(found, ApiContext)
    return found


async def context(request: Request) -> ApiContext:
    """The ApiContext, as a dependency (async: FastAPI runs it without a thread hop)."""
    return app_context(request)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (a bare token is taken too)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip() or None
    return None if rest else scheme


async def caller(request: Request) -> Caller:
    """The authenticated caller of this request; UnauthenticatedError (401) otherwise."""
    token = bearer_token(request.headers.get("authorization"))
    authenticator = app_context(request).authenticator
    if isinstance(authenticator, NoAuthentication):
        return Caller(authenticator.authenticate(token))  # no lookup: no thread needed
    return Caller(await run_in_threadpool(authenticator.authenticate, token))


def namespace_of(namespace: str) -> str:
    """A namespace from the path, checked as an RFC 1123 label (400 if it is not one)."""
    problem = namespace_problem(namespace)
    if problem:
        raise UserError(problem)
    return namespace


def name_of(name: str, what: str = "name") -> str:
    """An object name from the path, checked as an RFC 1123 subdomain (400 if it is not one)."""
    problem = name_problem(name, what)
    if problem:
        raise UserError(problem)
    return name
