"""`trainyard run` end to end with real processes: output, exit codes, crashes, commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.cli.conftest import Runner

PIPELINE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: pipeline-
spec:
  entrypoint: main
  arguments:
    parameters:
    - {name: batch_size, value: "4"}
    - {name: fail, value: "no"}
  templates:
  - name: main
    steps:
    - - name: train
        template: train
    - - name: test
        template: test
        arguments:
          parameters: [{name: size, value: "{{steps.train.outputs.parameters.size}}"}]
  - name: train
    outputs:
      parameters:
      - name: size
        valueFrom: {path: /tmp/size}
    script:
      image: python:3.11
      command: [python3]
      source: |
        import sys
        open("/tmp/size", "w").write("{{workflow.parameters.batch_size}}")
        print("trained with", "{{workflow.parameters.batch_size}}")
        if "{{workflow.parameters.fail}}" == "yes":
            sys.exit(7)
  - name: test
    inputs:
      parameters: [{name: size}]
    container:
      image: busybox
      command: [sh, -c, "echo tested {{inputs.parameters.size}}"]
"""


def test_run_json_prints_only_the_final_workflow(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    result = trainyard("run", str(write("wf.yaml", PIPELINE)), "-o", "json")
    assert result.returncode == 0, result.stderr
    wf = json.loads(result.stdout)
    assert wf["kind"] == "Workflow"
    assert wf["status"]["phase"] == "Succeeded"
    assert wf["status"]["progress"] == "2/2"
    nodes = {n["displayName"]: n for n in wf["status"]["nodes"].values()}
    assert nodes["train"]["outputs"]["parameters"] == [{"name": "size", "value": "4"}]
    assert nodes["train"]["outputs"]["result"] == "trained with 4"
    assert nodes["test"]["inputs"]["parameters"][0]["value"] == "4"


def test_params_json_sets_arguments(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    result = trainyard(
        "run", str(write("wf.yaml", PIPELINE)), "--params", '{"batch_size": 32}', "-o", "json"
    )
    assert result.returncode == 0, result.stderr
    wf = json.loads(result.stdout)
    params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert params["batch_size"] == "32"


def test_failing_step_exits_1_with_its_exit_code(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    result = trainyard("run", str(write("wf.yaml", PIPELINE)), "-p", "fail=yes", "-o", "json")
    assert result.returncode == 1
    wf = json.loads(result.stdout)
    assert wf["status"]["phase"] == "Failed"
    train = next(n for n in wf["status"]["nodes"].values() if n["displayName"] == "train")
    assert train["phase"] == "Failed"
    assert train["message"] == "Error (exit code 7)"
    assert train["outputs"]["exitCode"] == "7"


def test_get_list_and_logs(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    done = trainyard("run", str(write("wf.yaml", PIPELINE)), "--name", "my-run", "-o", "name")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "my-run"
    listed = trainyard("list", "-o", "json")
    assert [w["metadata"]["name"] for w in json.loads(listed.stdout)["items"]] == ["my-run"]
    shown = trainyard("get", "my-run")
    assert "Succeeded" in shown.stdout and "train" in shown.stdout and "test" in shown.stdout
    logs = trainyard("logs", "my-run")
    assert "train: trained with 4" in logs.stdout
    assert "test: tested 4" in logs.stdout
    one = trainyard("logs", "my-run", "test", "--timestamps")
    line = one.stdout.strip()
    assert line.endswith("tested 4") and line[:4].isdigit() and "T" in line.split()[0]


CRASH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: crash-test
spec:
  entrypoint: main
  volumes:
  - name: marks
    hostPath: {path: MARKS}
  templates:
  - name: main
    steps:
    - - {name: one, template: step, arguments: {parameters: [{name: n, value: "1"}]}}
    - - {name: two, template: step, arguments: {parameters: [{name: n, value: "2"}]}}
    - - {name: three, template: step, arguments: {parameters: [{name: n, value: "3"}]}}
  - name: step
    inputs:
      parameters: [{name: n}]
    container:
      image: busybox
      command: [sh, -c, "echo start {{inputs.parameters.n}} >> /marks/log; sleep 2;
                echo end {{inputs.parameters.n}} >> /marks/log"]
      volumeMounts: [{name: marks, mountPath: /marks}]
"""


def test_kill_9_mid_workflow_then_the_next_engine_finishes_it(
    home: Path, write: Callable[[str, str], Path], tmp_path: Path, trainyard: Runner
) -> None:
    marks = tmp_path / "marks"  # a hostPath volume: the same directory for every step
    marks.mkdir()
    path = write("crash.yaml", CRASH.replace("MARKS", str(marks)))
    env = {**os.environ, "TRAINYARD_HOME": str(home)}
    errors = tmp_path / "run.err"
    with open(errors, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    log = marks / "log"
    deadline = time.monotonic() + 30
    while "start 2" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "step two never started"
        assert proc.poll() is None, errors.read_text()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the step outlives the engine that launched it
    time.sleep(2.5)
    assert "end 2" in log.read_text()
    finished = trainyard("wait", "crash-test", "-o", "json")
    assert finished.returncode == 0, finished.stderr
    wf = json.loads(finished.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    lines = log.read_text().split("\n")
    for n in ("1", "2", "3"):
        assert lines.count(f"start {n}") == 1, lines
        assert lines.count(f"end {n}") == 1, lines


ENV = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: env-test
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: python:3.11
      command: [sh, -c, 'echo "$ARGO_NODE_ID|$ARGO_POD_NAME|$PASSWORD|$LR|$PLAIN"']
      env:
      - {name: PLAIN, value: "x{{workflow.name}}"}
      - name: PASSWORD
        valueFrom: {secretKeyRef: {name: db, key: password}}
      - name: LR
        valueFrom: {configMapKeyRef: {name: settings, key: lr}}
"""


def test_env_from_secrets_configmaps_and_argo_variables(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    assert trainyard("secret", "create", "db", "--from-literal", "password=s3cret").returncode == 0
    assert trainyard("configmap", "create", "settings", "--from-literal", "lr=0.1").returncode == 0
    listed = trainyard("secret", "list", "-o", "json")
    assert json.loads(listed.stdout) == [{"name": "db", "keys": ["password"]}]
    assert "s3cret" not in listed.stdout
    result = trainyard("run", str(write("env.yaml", ENV)), "-o", "json")
    assert result.returncode == 0, result.stderr
    wf = json.loads(result.stdout)
    node = wf["status"]["nodes"]["env-test"]
    logs = trainyard("logs", "env-test", "--no-prefix").stdout.strip()
    node_id, pod, password, lr, plain = logs.split("|")
    assert node_id == node["id"] and pod == "env-test"
    assert (password, lr, plain) == ("s3cret", "0.1", "xenv-test")


def test_missing_secret_is_a_clear_step_error(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    result = trainyard("run", str(write("env.yaml", ENV)), "-o", "json")
    assert result.returncode == 1
    node = json.loads(result.stdout)["status"]["nodes"]["env-test"]
    assert node["phase"] == "Error"
    assert "Secret 'db' not found" in node["message"]
    assert "trainyard secret create db" in node["message"]


def test_get_yaml_round_trips(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    assert trainyard("run", str(write("wf.yaml", PIPELINE)), "--name", "y").returncode == 0
    doc = yaml.safe_load(trainyard("get", "y", "-o", "yaml").stdout)
    assert doc["metadata"]["name"] == "y" and doc["status"]["phase"] == "Succeeded"


def test_delete_removes_logs_artifacts_and_the_record(
    trainyard: Runner, write: Callable[[str, str], Path], home: Path
) -> None:
    assert trainyard("run", str(write("wf.yaml", PIPELINE)), "--name", "gone").returncode == 0
    steps = home / "steps"
    assert any(steps.rglob("log"))
    deleted = trainyard("delete", "gone")
    assert deleted.returncode == 0, deleted.stderr
    assert not any(steps.rglob("log"))
    assert trainyard("get", "gone").returncode == 2


SLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: slow
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    container: {image: busybox, command: [sleep, "60"]}
  - name: bye
    container: {image: busybox, command: [echo, "exit handler saw {{workflow.status}}"]}
"""


def test_submit_runs_in_the_background_and_stop_ends_it(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    submitted = trainyard("submit", str(write("slow.yaml", SLOW)), "-o", "name")
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip() == "slow"
    deadline = time.monotonic() + 20
    while "Running" not in trainyard("get", "slow").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert trainyard("stop", "slow").returncode == 0
    started = time.monotonic()
    waited = trainyard("wait", "slow", "-o", "json")
    assert time.monotonic() - started < 30  # the sleep 60 was stopped
    assert waited.returncode == 1
    wf = json.loads(waited.stdout)
    assert wf["status"]["message"] == "Stopped with strategy 'Stop'"
    assert wf["status"]["nodes"]["slow"]["message"] == "Stopped with strategy 'Stop'"
    assert "exit handler saw Failed" in trainyard("logs", "slow").stdout


FLAKY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: flaky
spec:
  entrypoint: main
  volumes:
  - name: state
    hostPath: {path: STATE}
  templates:
  - name: main
    steps:
    - - {name: first, template: count}
    - - {name: second, template: fail-once}
  - name: count
    container:
      image: busybox
      command: [sh, -c, "echo ran >> /state/first"]
      volumeMounts: [{name: state, mountPath: /state}]
  - name: fail-once
    container:
      image: busybox
      command: [sh, -c, "if [ -e /state/seen ]; then echo ok; else touch /state/seen; exit 2; fi"]
      volumeMounts: [{name: state, mountPath: /state}]
"""


def test_retry_reruns_only_what_failed(
    trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    path = write("flaky.yaml", FLAKY.replace("STATE", str(state)))
    assert trainyard("run", str(path)).returncode == 1
    assert trainyard("retry", "flaky").returncode == 0
    waited = trainyard("wait", "flaky", "-o", "json")
    assert waited.returncode == 0, waited.stdout
    assert (state / "first").read_text() == "ran\n"  # the Succeeded step did not run again
    again = trainyard("resubmit", "flaky", "--wait", "-o", "json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["metadata"]["name"].startswith("flaky-")
