"""The CLI's remote mode against a real `trainyard server` with tokens: submit, watch, logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, free_port, start_server

TRAIN = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: remote-
spec:
  entrypoint: main
  arguments:
    parameters: [{name: batch_size, value: "1"}, {name: seconds, value: "0"}]
  templates:
  - name: main
    steps:
    - - {name: train, template: train}
    - - {name: test, template: test}
  - name: train
    script:
      image: python:3
      command: [python3]
      source: |
        import time
        time.sleep({{workflow.parameters.seconds}})
        print("training with batch_size={{workflow.parameters.batch_size}}")
  - name: test
    script:
      image: python:3
      command: [python3]
      source: print("tested")
"""


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("remote") / "home")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin_token(token_server: Server) -> str:
    return (token_server.home / "admin.token").read_text().strip()


@pytest.fixture
def workflow_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(TRAIN)
    return path


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The trainyard CLI with an empty home of its own: everything it does goes to the server."""
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    environment.setdefault("TRAINYARD_HOME", "/nonexistent/trainyard-home")
    return subprocess.run(
        [sys.executable, "-m", "trainyard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def test_submit_wait_prints_the_final_workflow_like_run(
    token_server: Server, admin_token: str, workflow_file: Path
) -> None:
    done = cli(
        "submit", str(workflow_file), "--server", token_server.url, "--token", admin_token,
        "--params", '{"batch_size": 2}', "--wait", "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    assert wf["metadata"]["name"].startswith("remote-")
    assert wf["metadata"]["labels"]["workflows.argoproj.io/creator"] == "admin"
    assert admin_token not in done.stdout + done.stderr
    name = wf["metadata"]["name"]
    env = {"TRAINYARD_SERVER": token_server.url, "TRAINYARD_TOKEN": admin_token}
    logs = cli("logs", name, env=env)
    assert logs.returncode == 0, logs.stderr
    assert "training with batch_size=2" in logs.stdout and "tested" in logs.stdout
    one = cli("logs", name, "train", env=env)  # a node's display name, sent as its pod name
    assert "training with batch_size=2" in one.stdout and "tested" not in one.stdout
    only = cli("logs", name, "--grep", "batch", "--no-prefix", env=env)
    assert only.stdout.strip() == "training with batch_size=2"
    listed = cli("list", "-o", "json", env=env)
    assert name in [w["metadata"]["name"] for w in json.loads(listed.stdout)["items"]]
    completed = cli("list", "--completed", "-o", "name", env=env)
    assert name in completed.stdout.split()
    assert name not in cli("list", "--running", "-o", "name", env=env).stdout.split()
    shown = cli("get", name, env=env)
    assert shown.returncode == 0 and "Succeeded" in shown.stdout and "train" in shown.stdout


def test_follow_logs_then_stop_resubmit_and_delete(
    token_server: Server, admin_token: str, workflow_file: Path
) -> None:
    env = {"TRAINYARD_SERVER": token_server.url, "TRAINYARD_TOKEN": admin_token}
    submitted = cli("submit", str(workflow_file), "-p", "seconds=2", "-o", "name", env=env)
    assert submitted.returncode == 0, submitted.stderr
    name = submitted.stdout.strip()
    followed = cli("logs", name, "-f", env=env)
    assert followed.returncode == 0, followed.stderr
    assert "training with batch_size=1" in followed.stdout and "tested" in followed.stdout
    waited = cli("wait", name, "-o", "json", env=env)
    assert json.loads(waited.stdout)["status"]["phase"] == "Succeeded"

    long = cli("submit", str(workflow_file), "-p", "seconds=60", "-o", "name", env=env)
    slow = long.stdout.strip()
    time.sleep(1.0)
    assert cli("stop", slow, env=env).stdout.strip() == f"workflow {slow} stopped"
    stopped = cli("wait", slow, "-o", "json", env=env)
    assert stopped.returncode == 1 and json.loads(stopped.stdout)["status"]["phase"] == "Failed"
    again = cli("resubmit", name, "-p", "batch_size=9", "--wait", "-o", "json", env=env)
    assert again.returncode == 0, again.stderr
    copy = json.loads(again.stdout)["metadata"]["name"]
    assert "batch_size=9" in cli("logs", copy, env=env).stdout
    assert cli("delete", name, env=env).stdout.strip() == f"workflow {name} deleted"
    gone = cli("get", name, env=env)
    assert gone.returncode == 2 and "not found" in gone.stderr.lower()


def test_a_failing_workflow_exits_1(token_server: Server, admin_token: str, tmp_path: Path) -> None:
    failing = tmp_path / "fail.yaml"
    failing.write_text(TRAIN.replace('source: print("tested")', "source: raise SystemExit(3)"))
    done = cli(
        "--server", token_server.url, "--token", admin_token, "run", str(failing), "-o", "json"
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"]["phase"] == "Failed"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["list"], 1, "no token"),
        (["--token", "not-a-token", "list"], 1, "unknown or revoked token"),
        (["queue"], 2, "works on this machine only"),
        (["results", "x"], 2, "works on this machine only"),
    ],
)
def test_bad_remote_calls_say_what_to_fix(
    token_server: Server, args: list[str], code: int, message: str
) -> None:
    done = cli("--server", token_server.url, *args)
    assert done.returncode == code, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_no_server_there_and_bad_urls(tmp_path: Path) -> None:
    down = cli("--server", f"http://127.0.0.1:{free_port()}", "list")
    assert down.returncode == 3 and "cannot reach the server" in down.stderr
    assert "Traceback" not in down.stderr
    bad = cli("--server", "localhost:2746", "list")
    assert bad.returncode == 2 and "http://" in bad.stderr
    lonely = cli("--token", "abc", "list", env={"TRAINYARD_HOME": str(tmp_path)})
    assert lonely.returncode == 2 and "--server" in lonely.stderr
