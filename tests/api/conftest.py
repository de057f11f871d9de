"""A real `trainyard server` on a free port of 127.0.0.1, and in-process apps over memory stores."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from trainyard.api.app import create_app
from trainyard.api.context import ApiContext
from trainyard.auth.roles import Principal
from trainyard.core.errors import UnauthenticatedError
from trainyard.executors.process import ProcessExecutor
from trainyard.service.access import Authenticator, NoAuthentication
from trainyard.service.artifacts import ArtifactService
from trainyard.service.templates import TemplateService
from trainyard.service.workflows import WorkflowService
from trainyard.store.memory import MemoryStore

FINISHED = ("Succeeded", "Failed", "Error")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running server: its process, URL and home."""

    process: subprocess.Popen[bytes]
    url: str
    home: Path
    log: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(home: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """`trainyard server --auth none` on a free port, once it answers."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"server-{port}.log"
    environment = {**os.environ, "TRAINYARD_HOME": str(home), **(env or {})}
    command = [sys.executable, "-m", "trainyard", "server", "--port", str(port), *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
    server = Server(process, f"http://127.0.0.1:{port}", home, log)
    # Generous: it returns as soon as the server answers, and a loaded machine (a parallel
    # run, other jobs) can take many seconds just to import the server's packages.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {server.output()}")
        try:
            httpx.get(f"{server.url}/api/v1/version", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.stop()
    raise AssertionError(f"the server did not answer: {server.output()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server (auth none, keep-alives every 0.5 s) for the tests of a module."""
    running = start_server(
        tmp_path_factory.mktemp("server") / "home", "--auth", "none", "--keepalive", "0.5"
    )
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


def workflow(
    name: str | None = None, script: str = "print('hello')", **spec: Any
) -> dict[str, Any]:
    """A one-step workflow running `script` with python3."""
    meta: dict[str, Any] = {"name": name} if name else {"generateName": "t-"}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": meta,
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "script": {"image": "python:3", "command": ["python3"], "source": script},
                }
            ],
            **spec,
        },
    }


def create(http: httpx.Client, doc: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    response = http.post(f"/api/v1/workflows/{namespace}", json={"workflow": doc})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def wait(
    http: httpx.Client, name: str, namespace: str = "default", timeout: float = 60
) -> dict[str, Any]:
    """The workflow once it has finished."""
    deadline = time.monotonic() + timeout
    while True:
        got: dict[str, Any] = http.get(f"/api/v1/workflows/{namespace}/{name}").json()
        if (got.get("status") or {}).get("phase") in FINISHED:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"workflow {name} did not finish: {json.dumps(got)[:2000]}")
        time.sleep(0.1)


class TokenTable:
    """An Authenticator from a dict of token -> principal (what the auth service will do)."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self.principals = principals

    def authenticate(self, token: str | None) -> Principal:
        if token is None:
            raise UnauthenticatedError("no token: send Authorization: Bearer <token>")
        if token not in self.principals:
            raise UnauthenticatedError("the token is not valid")
        return self.principals[token]


MakeApp = Callable[..., TestClient]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    """`make_app(authenticator)`: a TestClient over a memory store (no engine runs)."""
    clients: list[TestClient] = []

    def make(authenticator: Authenticator | None = None, **settings: Any) -> TestClient:
        store = MemoryStore()
        executor = ProcessExecutor(tmp_path / "steps", "none")
        repositories: Any = None
        workflows = WorkflowService(store, executor, repositories, tmp_path / "volumes")
        context = ApiContext(
            store=store,
            executor=executor,
            repositories=repositories,
            authenticator=authenticator or NoAuthentication(),
            workflows=workflows,
            templates=TemplateService(store, workflows),
            artifacts=ArtifactService(store, repositories, tmp_path / "downloads"),
            queue_file=tmp_path / "queue.json",
            version="0.0.0",
            **settings,
        )
        test_client = TestClient(create_app(context), raise_server_exceptions=False)
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.close()
