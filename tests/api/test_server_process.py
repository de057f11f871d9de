"""`trainyard server` as a process: start-up time, auth modes, its engine child, artifacts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server, create, start_server, wait, workflow

ARTIFACTS = {
    "name": "main",
    "script": {
        "image": "python:3",
        "command": ["python3"],
        "source": "import os\nos.makedirs('/tmp/d', exist_ok=True)\n"
        "open('/tmp/d/a.txt', 'w').write('A')\nopen('/tmp/m.txt', 'w').write('M')\n"
        "open('/tmp/p.txt', 'w').write('M')",
    },
    "outputs": {
        "artifacts": [
            {"name": "dir", "path": "/tmp/d"},
            {"name": "model", "path": "/tmp/m.txt", "archive": {"none": {}}},
            {"name": "packed", "path": "/tmp/p.txt"},
        ]
    },
}


def engine_pid(home: Path) -> int:
    """The pid written in the home's lock by the engine that holds it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = (home / "controller.lock").read_text() if (home / "controller.lock").exists() else ""
        if text.strip():
            return int(text)
        time.sleep(0.05)
    raise AssertionError("no engine took the home's lock")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text().split()
    return stat[2] != "Z"


STARTUP_BOUND = 30.0
"""A loose bound for a loaded CI machine running the tests in parallel (pytest-xdist workers
start servers and subprocesses at once); bench/server_load.py measures the 2 s target."""


def test_the_api_answers_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    server = start_server(tmp_path / "home", "--auth", "none")
    try:
        assert time.monotonic() - started < STARTUP_BOUND, server.output()
        assert "auth none" in server.output()
    finally:
        server.stop()


def test_auth_none_only_on_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "TRAINYARD_HOME": str(tmp_path / "home")}
    refused = subprocess.run(
        [sys.executable, "-m", "trainyard", "server", "--host", "0.0.0.0", "--auth", "none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "--auth none" in refused.stderr and "127.0.0.1" in refused.stderr


def test_token_mode_writes_an_admin_token_and_wants_it(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home")
    try:
        token = (server.home / "admin.token").read_text().strip()
        assert "admin.token" in server.output() and token not in server.output()
        with server.client() as http:
            assert http.get("/api/v1/workflows/default").status_code == 401
            auth = {"Authorization": f"Bearer {token}"}
            assert http.get("/api/v1/workflows/default", headers=auth).status_code == 200
            assert http.get("/api/v1/userinfo", headers=auth).json()["name"] == "admin"
            http.get("/api/v1/version", params={"token": "query-secret"})
    finally:
        server.stop()
    assert token not in server.output(), "tokens never reach the log"
    assert "GET /api/v1/version HTTP" in server.output(), "the access log is on"
    assert "query-secret" not in server.output(), "query strings are left out of it"


def test_the_engine_child_stops_when_the_server_is_killed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home, "--auth", "none")
    with server.client() as http:
        name = create(http, workflow(script="import time; time.sleep(4); print('done')"))
        name = name["metadata"]["name"]
    child = engine_pid(home)
    assert child != server.process.pid and alive(child)
    time.sleep(1.5)  # the step is running now
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child), "the engine outlived its server"
    again = start_server(home, "--auth", "none")
    try:
        with again.client() as http:
            done = wait(http, name)
            assert done["status"]["phase"] == "Succeeded", "the step ran on and was re-adopted"
            log = http.get(f"/api/v1/workflows/default/{name}/log").text
            assert log.count('"done"') == 1, "the step ran once"
        assert engine_pid(home) != child
    finally:
        again.stop()


def chain(n: int, marks: Path) -> dict[str, Any]:
    """Workflow n: three steps in a row, each marking its start and end in marks/log."""
    step = (
        "import time\n"
        "def mark(s):\n"
        "    with open('/marks/log', 'a') as f: f.write(s + '\\n')\n"
        "mark('start {{inputs.parameters.s}}'); time.sleep(1.5); "
        "mark('end {{inputs.parameters.s}}')"
    )
    doc = workflow(f"crash-{n}", volumes=[{"name": "marks", "hostPath": {"path": str(marks)}}])
    doc["spec"]["templates"] = [
        {
            "name": "main",
            "steps": [
                [
                    {
                        "name": s,
                        "template": "step",
                        "arguments": {"parameters": [{"name": "s", "value": f"{n}.{s}"}]},
                    }
                ]
                for s in ("a", "b", "c")
            ],
        },
        {
            "name": "step",
            "inputs": {"parameters": [{"name": "s"}]},
            "script": {
                "image": "python:3",
                "command": ["python3"],
                "source": step,
                "volumeMounts": [{"name": "marks", "mountPath": "/marks"}],
            },
        },
    ]
    return doc


def test_kill_9_with_three_running_workflows_then_all_succeed_once(tmp_path: Path) -> None:
    home, marks = tmp_path / "home", tmp_path / "marks"
    marks.mkdir()
    log = marks / "log"
    server = start_server(home, "--auth", "none")
    with server.client() as http:
        for n in (1, 2, 3):
            create(http, chain(n, marks))
    deadline = time.monotonic() + 30
    while sum(f"start {n}.b" in (log.read_text() if log.exists() else "") for n in (1, 2, 3)) < 3:
        assert time.monotonic() < deadline, f"the second steps never started: {server.output()}"
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    started = time.monotonic()
    again = start_server(home, "--auth", "none")
    try:
        assert time.monotonic() - started < STARTUP_BOUND, "the API answers at once"
        with again.client() as http:
            phases = [wait(http, f"crash-{n}")["status"]["phase"] for n in (1, 2, 3)]
    finally:
        again.stop()
    assert phases == ["Succeeded"] * 3, again.output()
    lines = log.read_text().splitlines()
    for n in (1, 2, 3):
        for s in ("a", "b", "c"):
            assert lines.count(f"start {n}.{s}") == 1, lines
            assert lines.count(f"end {n}.{s}") == 1, lines


def test_stopping_the_server_stops_its_engine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home, "--auth", "none")
    child = engine_pid(home)
    server.stop()
    assert server.process.returncode is not None
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


@pytest.fixture(scope="module")
def finished(server: Server) -> str:
    with server.client() as http:
        doc = workflow()
        doc["spec"]["templates"] = [ARTIFACTS]
        name = create(http, doc)["metadata"]["name"]
        assert wait(http, name)["status"]["phase"] == "Succeeded"
    return str(name)


def test_artifacts_download(client: httpx.Client, finished: str, tmp_path: Path) -> None:
    wf = client.get(f"/api/v1/workflows/default/{finished}").json()
    node = next(n for n in wf["status"]["nodes"].values() if n["type"] == "Pod")
    raw = client.get(f"/artifacts/default/{finished}/{node['id']}/model")
    assert raw.status_code == 200 and raw.content == b"M"
    packed = client.get(f"/artifacts/default/{finished}/{node['id']}/packed")
    assert packed.status_code == 200 and packed.content[:2] == b"\x1f\x8b", "as stored: a tgz"
    unpacked = client.get(
        f"/artifact-files/default/workflow/{finished}/{node['id']}/outputs/packed"
    )
    assert unpacked.content == b"M"
    folder = client.get(f"/artifact-files/default/workflow/{finished}/{node['id']}/outputs/dir")
    (tmp_path / "dir.tgz").write_bytes(folder.content)
    with tarfile.open(tmp_path / "dir.tgz") as archive:
        assert "dir/a.txt" in archive.getnames()
    by_uid = client.get(f"/artifacts-by-uid/{wf['metadata']['uid']}/{node['id']}/model")
    assert by_uid.content == b"M"
    assert client.get(f"/artifacts/default/{finished}/{node['id']}/nope").status_code == 404
    assert client.get(f"/artifacts/default/{finished}/nonode/model").status_code == 404


def test_results_of_a_workflow(client: httpx.Client, finished: str) -> None:
    report = client.get(f"/api/v1/trainyard/results/default/{finished}").json()
    assert report["phase"] == "Succeeded"
    assert {a["name"] for a in report["steps"][0]["artifacts"]} == {"dir", "model", "packed"}
