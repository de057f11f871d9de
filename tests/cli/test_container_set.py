"""containerSet templates through the real CLI and engine, containers run as real processes:
a graph, parallel and sequential containers, a shared workspace volume, main's result, a
failing container, retries in place, and a step that outlives a killed engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Runner

SHAPES = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: shapes}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: graph, template: graph}
      - {name: parallel, template: parallel}
      - {name: sequence, template: sequence}
      - {name: workspace, template: workspace}
      - {name: result, template: result}
      - name: check
        template: check
        dependencies: [result, workspace]
        arguments:
          parameters:
          - {name: result, value: "{{tasks.result.outputs.result}}"}
          - {name: out, value: "{{tasks.workspace.outputs.parameters.out}}"}
  - name: graph
    containerSet:
      containers:
      - {name: a, image: argoproj/argosay:v2}
      - {name: b, image: argoproj/argosay:v2, dependencies: [a]}
      - {name: c, image: argoproj/argosay:v2, dependencies: [a]}
      - {name: d, image: argoproj/argosay:v2, dependencies: [b, c]}
  - name: parallel
    containerSet:
      containers:
      - {name: a, image: argoproj/argosay:v2}
      - {name: b, image: argoproj/argosay:v2}
  - name: sequence
    volumes: [{name: ws, emptyDir: {}}]
    containerSet:
      volumeMounts: [{name: ws, mountPath: /ws}]
      containers:
      - {name: a, image: alpine, command: [sh, -c, "echo a >> /ws/order"]}
      - {name: b, image: alpine, command: [sh, -c, "echo b >> /ws/order"], dependencies: [a]}
      - name: main
        image: alpine
        command: [sh, -c, "echo main >> /ws/order; cat /ws/order"]
        dependencies: [b]
  - name: workspace
    volumes: [{name: workspace, emptyDir: {}}]
    containerSet:
      volumeMounts: [{name: workspace, mountPath: /workspace}]
      containers:
      - {name: a, image: argoproj/argosay:v2, args: [echo, hi, /workspace/out]}
      - {name: main, image: argoproj/argosay:v2, dependencies: [a]}
    outputs:
      parameters: [{name: out, valueFrom: {path: /workspace/out}}]
      artifacts: [{name: out, path: /workspace/out}]
  - name: result
    containerSet:
      containers:
      - {name: noise, image: alpine, command: [echo, not-the-result]}
      - {name: main, image: python:3, command: [python3, -c, "print('hi')"]}
  - name: check
    inputs: {parameters: [{name: result}, {name: out}]}
    container:
      image: alpine
      command: [sh, -c, 'test "{{inputs.parameters.result}}/{{inputs.parameters.out}}" = hi/hi']
"""

FAILING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: failing}
spec:
  entrypoint: group
  templates:
  - name: group
    volumes: [{name: ws, emptyDir: {}}]
    containerSet:
      volumeMounts: [{name: ws, mountPath: /ws}]
      retryStrategy: {retries: "3", duration: 100ms}
      containers:
      - name: flaky
        image: alpine
        command: [sh, -c, "echo x >> /ws/tries; test $(wc -l < /ws/tries) -ge 2"]
      - name: slow
        image: alpine
        command: [sleep, "60"]
      - name: main
        image: alpine
        command: [sh, -c, "echo broken >&2; exit 3"]
        dependencies: [flaky]
      - {name: never, image: alpine, command: ["true"], dependencies: [main]}
"""


def nodes(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in wf["status"]["nodes"].values()}


def run_json(trainyard: Runner, path: Path) -> tuple[int, dict[str, Any], str]:
    done = trainyard("run", str(path), "-o", "json", timeout=90)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_every_shape_succeeds(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    code, wf, err = run_json(trainyard, write("shapes.yaml", SHAPES))
    assert (code, wf["status"]["phase"]) == (0, "Succeeded"), err
    by_name = nodes(wf)
    graph = by_name["shapes.graph"]
    assert graph["type"] == "Pod"
    ids = {name: n["id"] for name, n in by_name.items()}
    assert graph["children"] == [ids["shapes.graph.a"]]
    assert by_name["shapes.graph.a"]["children"] == [ids["shapes.graph.b"], ids["shapes.graph.c"]]
    containers = [n for n in by_name.values() if n["type"] == "Container"]
    assert len(containers) == 4 + 2 + 3 + 2 + 2
    assert {n["phase"] for n in containers} == {"Succeeded"}
    assert by_name["shapes.sequence"]["outputs"]["exitCode"] == "0"
    workspace = by_name["shapes.workspace"]["outputs"]
    assert workspace["parameters"] == [{"name": "out", "value": "hi"}]
    assert workspace["artifacts"][0]["name"] == "out"
    assert by_name["shapes.result"]["outputs"]["result"] == "hi"
    # the sequence ran in order: its main container printed the file they shared
    assert by_name["shapes.sequence"]["outputs"]["result"] == "a\nb\nmain"
    tree = trainyard("get", "shapes")
    assert "├─ ✔ b" in tree.stdout and "└─ ✔ d" in tree.stdout, tree.stdout


def test_a_failing_container_fails_the_pod_after_its_retries(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    began = time.monotonic()
    code, wf, _ = run_json(trainyard, write("failing.yaml", FAILING))
    assert time.monotonic() - began < 60  # `slow` was stopped, not waited for
    assert code != 0 and wf["status"]["phase"] == "Failed"
    by_name = nodes(wf)
    pod = by_name["failing"]
    assert (pod["phase"], pod["message"]) == ("Failed", "main: Error (exit code 3)")
    assert pod["outputs"]["exitCode"] == "3"
    assert by_name["failing.flaky"]["phase"] == "Succeeded"  # failed once, then retried
    assert by_name["failing.main"]["phase"] == "Failed"
    assert by_name["failing.slow"]["message"] == (
        "slow: Error (exit code 143): stopped because container 'main' failed"
    )
    assert by_name["failing.never"]["phase"] == "Error"
    logs = trainyard("logs", "failing")
    assert logs.stdout.count("broken") == 3, logs.stdout  # main ran three times


CRASH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: crash-set}
spec:
  entrypoint: group
  volumes: [{name: marks, hostPath: {path: MARKS}}]
  templates:
  - name: group
    containerSet:
      volumeMounts: [{name: marks, mountPath: /marks}]
      containers:
      - {name: a, image: alpine, command: [sh, -c, "echo a >> /marks/log; sleep 2"]}
      - name: main
        image: alpine
        command: [sh, -c, "echo main >> /marks/log; echo done"]
        dependencies: [a]
"""


def test_the_set_outlives_a_killed_engine(
    home: Path, write: Callable[[str, str], Path], tmp_path: Path, trainyard: Runner
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = write("crash.yaml", CRASH.replace("MARKS", str(marks)))
    env = {**os.environ, "TRAINYARD_HOME": str(home)}
    with subprocess.Popen(
        [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as proc:
        log = marks / "log"
        deadline = time.monotonic() + 30
        while "a" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline and proc.poll() is None, "the set never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finished = trainyard("wait", "crash-set", "-o", "json")
    assert finished.returncode == 0, finished.stderr
    wf = json.loads(finished.stdout)
    by_name = nodes(wf)
    assert by_name["crash-set"]["outputs"]["exitCode"] == "0"
    assert [by_name[f"crash-set.{n}"]["phase"] for n in ("a", "main")] == ["Succeeded"] * 2
    assert log.read_text().split() == ["a", "main"]
