"""Accounts and roles end to end: users and tokens made with `trainyard auth` in a running
server's home, then used over HTTP against that server (tokens checked on every request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import Server, start_server, wait, workflow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("rbac") / "home")
    yield running
    running.stop()


def auth(server: Server, *args: str) -> str:
    """`trainyard auth ...` on the server's home (the same database, while it runs)."""
    env = {**os.environ, "TRAINYARD_HOME": str(server.home)}
    done = subprocess.run(
        [sys.executable, "-m", "trainyard", "auth", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def user(server: Server, name: str, namespace: str, role: str) -> dict[str, str]:
    """A new user with `role` in `namespace`, and the made token (json of create-token)."""
    auth(server, "create-user", name)
    auth(server, "grant", name, namespace, role)
    made: dict[str, str] = json.loads(auth(server, "create-token", name, "-o", "json"))
    return made


def as_(made: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {made['token']}"}


W = "/api/v1/workflows"


def test_roles_tokens_and_the_log(server: Server) -> None:
    viewer = user(server, "vera", "team-a", "viewer")
    runner_a = user(server, "rita", "team-a", "runner")
    runner_b = user(server, "bob", "team-b", "runner")
    body = {"workflow": workflow(script="import time; time.sleep(30)")}
    with server.client() as http:
        refused = http.post(f"{W}/team-a", json=body, headers=as_(viewer))
        assert refused.status_code == 403 and refused.json()["code"] == 7
        assert "vera" in refused.json()["message"]

        theirs = http.post(f"{W}/team-b", json=body, headers=as_(runner_b))
        assert theirs.status_code == 200, theirs.text
        name = theirs.json()["metadata"]["name"]
        # team-a's runner can neither read nor stop team-b's workflow, nor list team-b.
        assert http.get(f"{W}/team-b/{name}", headers=as_(runner_a)).status_code == 403
        assert http.get(f"{W}/team-b", headers=as_(runner_a)).status_code == 403
        stop = http.put(f"{W}/team-b/{name}/stop", headers=as_(runner_a))
        assert stop.status_code == 403
        assert http.get(f"{W}/team-b/{name}/log", headers=as_(runner_a)).status_code == 403
        assert http.get(f"{W}/team-b/{name}", headers=as_(runner_b)).status_code == 200
        assert http.put(f"{W}/team-b/{name}/stop", headers=as_(runner_b)).status_code == 200
        with server.client(headers=as_(runner_b)) as bob:
            assert wait(bob, name, "team-b")["status"]["phase"] == "Failed"

        missing = http.get(f"{W}/team-a")
        assert missing.status_code == 401 and missing.json()["code"] == 16
        forged = http.get(f"{W}/team-a", headers={"Authorization": "Bearer ty_forged"})
        assert forged.status_code == 401
        assert http.get(f"{W}/team-a", headers=as_(runner_a)).status_code == 200
        auth(server, "revoke", "--token-id", runner_a["id"])
        revoked = http.get(f"{W}/team-a", headers=as_(runner_a))
        assert revoked.status_code == 401, "a revoked token is refused at once"
        assert http.get(f"{W}/team-a", headers=as_(viewer)).status_code == 200
        auth(server, "revoke", "vera")  # the user, with its tokens
        assert http.get(f"{W}/team-a", headers=as_(viewer)).status_code == 401
    log = server.output()
    for made in (viewer, runner_a, runner_b):
        assert made["token"] not in log, "tokens never reach the server's log"
    assert "PUT /api/v1/workflows/team-b/" in log, "the access log was on"


def test_unauthenticated_streams_and_artifacts(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/api/v1/workflow-events/team-a").status_code == 401
        assert http.get(f"{W}/team-a/x/log").status_code == 401
        assert http.get("/artifacts/team-a/x/node/model").status_code == 401
        assert http.get("/api/v1/version").status_code == 200, "the version is public, as Argo's"
