"""Schemathesis against the served OpenAPI document: generated requests never get a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import Server

# Generous bounds: under a full parallel suite on 2 cores one run takes minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def schemathesis(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`st run` in the server's scratch folder (it keeps an example database where it runs)."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    command = [
        st, "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
        "--request-timeout", "10", "--no-color", "--seed", "7", *args,
    ]  # fmt: skip
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
        cwd=server.home.parent,
    )


def test_workflow_endpoints_never_answer_5xx(server: Server) -> None:
    run = schemathesis(server, "--include-path-regex", "^/api/v1/workflows", "-n", "80")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in run.stdout


def test_every_other_endpoint_never_answers_5xx(server: Server) -> None:
    # The watch streams until its client leaves, so it is tested in test_streams instead.
    run = schemathesis(
        server, "--exclude-path-regex", "^/api/v1/workflows|workflow-events", "-n", "20"
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
