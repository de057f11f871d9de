"""`trainyard run` with daemon steps, sidecars and init containers: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Runner

PY = sys.executable

DAEMON = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: daemon-test}
spec:
  entrypoint: main
  volumes:
  - name: marks
    hostPath: {path: MARKS}
  templates:
  - name: main
    steps:
    - - name: server
        template: server
    - - name: client
        template: client
        arguments: {parameters: [{name: ip, value: "{{steps.server.ip}}"}]}
  - name: server
    daemon: true
    container:
      image: python:3
      command: [sh, -c, "sleep 0.5; exec PY -m http.server PORT --bind 127.0.0.1"]
      readinessProbe:
        httpGet: {path: /, port: PORT}
        periodSeconds: 1
  - name: client
    inputs: {parameters: [{name: ip}]}
    container:
      image: python:3
      command: [sh, -c]
      args:
      - |
        WAIT
        PY -c "import urllib.request as u; print(u.urlopen('http://{{inputs.parameters.ip}}:PORT/').status)"
      volumeMounts: [{name: marks, mountPath: /marks}]
"""

POD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pod-test}
spec:
  entrypoint: main
  volumes:
  - {name: shared, emptyDir: {}}
  templates:
  - name: main
    initContainers:
    - name: fetch
      image: busybox
      command: [sh, -c, "echo fetched > /shared/data; echo fetching"]
      mirrorVolumeMounts: true
    - name: check
      image: busybox
      command: [sh, -c, "CHECK"]
    sidecars:
    - name: web
      image: python:3
      command: [PY, -m, http.server, "PORT", --bind, 127.0.0.1]
    container:
      image: python:3
      command: [sh, -c]
      args:
      - |
        cat /shared/data
        get="import urllib.request as u; print(u.urlopen('http://127.0.0.1:PORT/').status)"
        until PY -c "$get"; do sleep 0.1; done
      volumeMounts: [{name: shared, mountPath: /shared}]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def nodes(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["displayName"]: n for n in wf["status"]["nodes"].values()}


def daemon_workflow(tmp_path: Path, port: int, wait: str = "") -> str:
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    text = DAEMON.replace("MARKS", str(marks)).replace("WAIT", wait or "true")
    return text.replace("PORT", str(port)).replace("PY", PY)


def test_a_daemon_serves_later_steps_at_its_ip_and_is_stopped_at_the_scope_end(
    trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    port = free_port()
    path = write("daemon.yaml", daemon_workflow(tmp_path, port))
    result = trainyard("run", str(path), "-o", "json")
    assert result.returncode == 0, result.stderr
    by_name = nodes(json.loads(result.stdout))
    server = by_name["server"]
    assert (server["phase"], server.get("daemoned"), server["podIP"]) == (
        "Succeeded",
        None,
        "127.0.0.1",
    )
    assert by_name["client"]["phase"] == "Succeeded"
    assert trainyard("logs", "daemon-test", "client", "--no-prefix").stdout == "200\n"
    assert not listening(port)


def test_init_containers_then_sidecar_and_main_share_volumes_and_logs(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    port = free_port()
    text = POD.replace("PORT", str(port)).replace("PY", PY).replace("CHECK", "true")
    result = trainyard("run", str(write("pod.yaml", text)), "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["phase"] == "Succeeded"
    lines = trainyard("logs", "pod-test", "--no-prefix").stdout.splitlines()
    assert lines[:2] == ["[fetch] fetching", "fetched"]
    assert "200" in lines
    assert any(line.startswith("[web] ") and "GET / HTTP" in line for line in lines)
    assert not listening(port)  # the sidecar went with the main container


def test_a_failing_init_container_fails_the_node_and_the_main_never_runs(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    port = free_port()
    text = POD.replace("PORT", str(port)).replace("PY", PY).replace("CHECK", "exit 3")
    result = trainyard("run", str(write("pod.yaml", text)), "-o", "json")
    assert result.returncode == 1
    node = nodes(json.loads(result.stdout))["pod-test"]
    assert node["phase"] == "Failed"
    assert node["message"] == "init container 'check' failed with exit code 3"
    lines = trainyard("logs", "pod-test", "--no-prefix").stdout.splitlines()
    assert lines == ["[fetch] fetching"]


def test_the_container_executor_refuses_them_clearly(
    trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    path = write("daemon.yaml", daemon_workflow(tmp_path, free_port()))
    result = trainyard("run", "--executor", "container", str(path))
    assert result.returncode == 2
    assert "daemon.yaml:18:5: error: template 'server' uses daemon: true" in result.stderr
    assert "--executor container does not run yet" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_sidecar_without_a_command_is_refused_at_lint(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    text = POD.replace('      command: [PY, -m, http.server, "PORT", --bind, 127.0.0.1]\n', "")
    result = trainyard("lint", str(write("pod.yaml", text)))
    assert result.returncode == 2
    assert "sidecar 'web' of template 'main' has no command" in result.stderr


@pytest.mark.slow
def test_kill_9_while_a_daemon_runs_then_the_next_engine_finishes_and_stops_it(
    home: Path, trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    port = free_port()
    go = tmp_path / "marks" / "go"
    wait = "until [ -e /marks/go ]; do sleep 0.1; done"
    path = write("daemon.yaml", daemon_workflow(tmp_path, port, wait))
    env = {**os.environ, "TRAINYARD_HOME": str(home)}
    errors = tmp_path / "run.err"
    with open(errors, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trainyard", "run", str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 30
    while not listening(port):
        assert time.monotonic() < deadline, "the daemon never served"
        assert proc.poll() is None, errors.read_text()
        time.sleep(0.1)
    time.sleep(1.0)  # the client starts once the daemon is ready
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert listening(port)  # the daemon outlives the engine that launched it
    go.touch()
    finished = trainyard("wait", "daemon-test", "-o", "json")
    assert finished.returncode == 0, finished.stderr
    by_name = nodes(json.loads(finished.stdout))
    assert by_name["server"]["phase"] == "Succeeded"
    assert by_name["client"]["phase"] == "Succeeded"
    deadline = time.monotonic() + 15
    while listening(port):
        assert time.monotonic() < deadline, "the daemon was not stopped"
        time.sleep(0.1)
