"""How a containerSet pod becomes one step: the runner's plan, the mounts all its containers
share, what the queue reserves for it, and the containers' records taken out of its outputs."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trainyard.artifacts.registry import ConfiguredRepositories
from trainyard.controller.containerset import (
    CONTAINERS_KEY,
    PACKAGE_ROOT,
    build_container_set_launch,
    container_states,
)
from trainyard.controller.launch import EXECUTOR_ANNOTATION, LaunchError
from trainyard.controller.queue import request_of
from trainyard.controller.secrets import SecretSource
from trainyard.core.config import Config
from trainyard.engine.actions import ContainerState, PodRequest, StartPod
from trainyard.engine.workflow import decide
from trainyard.executors.base import StepLaunch
from trainyard.executors.containerset import PLAN_ENV
from trainyard.scheduler import Request
from trainyard.spec.load import load_text
from trainyard.spec.models import Workflow
from trainyard.store.sql import SqlStore

TEXT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, uid: uid-1, namespace: default}
spec:
  entrypoint: main
  templates:
  - name: main
    volumes: [{name: ws, emptyDir: {}}, {name: cache, emptyDir: {}}]
    containerSet:
      volumeMounts: [{name: ws, mountPath: /ws}]
      retryStrategy: {retries: "3", duration: 2s}
      containers:
      - name: a
        image: argoproj/argosay:v2
        args: [echo, hi, /ws/out]
        env: [{name: WHO, value: a}]
        volumeMounts: [{name: cache, mountPath: /cache}]
        resources: {limits: {nvidia.com/gpu: 1, memory: 1Gi}}
      - name: main
        image: python:3
        command: [python3, -c, "print(1)"]
        workingDir: /work/here
        dependencies: [a]
        resources: {requests: {cpu: 500m}, limits: {nvidia.com/gpu: 2}}
"""


def pod_of(text: str, annotations: dict[str, str] | None = None) -> PodRequest:
    doc = load_text(text)[0].document
    assert isinstance(doc, Workflow)
    if annotations:
        meta = doc.metadata.model_copy(update={"annotations": annotations})
        doc = doc.model_copy(update={"metadata": meta})
    actions = decide(doc, [], datetime(2026, 1, 1, tzinfo=UTC)).actions
    (start,) = [a for a in actions if isinstance(a, StartPod)]
    return start.pod


def launch_of(tmp_path: Path, pod: PodRequest) -> StepLaunch:
    repositories = ConfiguredRepositories(Config(), tmp_path / "home", lambda ref: "")
    secrets = SecretSource(SqlStore("sqlite://"))
    return build_container_set_launch(pod, repositories, secrets, tmp_path / "volumes")


def test_the_step_runs_the_runner_with_each_container_in_its_plan(tmp_path: Path) -> None:
    launch = launch_of(tmp_path, pod_of(TEXT))
    assert launch.command == [sys.executable, "-m", "trainyard.executors.containerset"]
    assert launch.env["PYTHONPATH"].split(":")[0] == PACKAGE_ROOT
    plan: dict[str, Any] = json.loads(launch.env[PLAN_ENV])
    assert (plan["attempts"], plan["pause"]) == (3, 2.0)
    a, main = plan["containers"]
    assert a["command"][-3:] == ["echo", "hi", "/ws/out"]  # argosay: trainyard's own
    assert a["env"]["WHO"] == "a" and a["env"]["ARGO_CONTAINER_NAME"] == "a"
    assert (a["workingDir"], a["dependencies"]) == (None, [])
    assert main["command"] == ["python3", "-c", "print(1)"]
    assert (main["workingDir"], main["dependencies"]) == ("/work/here", ["a"])
    assert "/work/here" in launch.private_paths
    # every container sees every volume of the set
    assert {m.target for m in launch.mounts} >= {"/ws", "/cache"}


def test_the_collected_outputs_carry_the_containers_records(tmp_path: Path) -> None:
    states = [
        {"name": "a", "phase": "Succeeded", "exitCode": 0, "startedAt": "t0", "cause": False},
        {"name": "main", "phase": "Failed", "exitCode": 2, "message": "m", "cause": True},
        {"name": "never", "phase": "Pending"},
    ]
    outputs, found = container_states({"exitCode": "2", CONTAINERS_KEY: states})
    assert outputs == {"exitCode": "2"}
    assert found == (
        ContainerState("a", "Succeeded", 0, None, "t0"),
        ContainerState("main", "Failed", 2, "m", cause=True),
    )
    assert container_states({"result": "x"}) == ({"result": "x"}, ())


def test_two_volumes_at_one_path_are_refused(tmp_path: Path) -> None:
    text = TEXT.replace("mountPath: /cache", "mountPath: /ws")
    with pytest.raises(LaunchError, match="containers mount different volumes at /ws"):
        launch_of(tmp_path, pod_of(text))


def test_the_container_executor_refuses_a_set(tmp_path: Path) -> None:
    pod = pod_of(TEXT, {EXECUTOR_ANNOTATION: "container"})
    with pytest.raises(LaunchError, match="the container executor does not run it"):
        launch_of(tmp_path, pod)


def test_a_bad_retry_strategy_is_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match=r"retryStrategy\.duration '2 parsecs' is not a"):
        launch_of(tmp_path, pod_of(TEXT.replace("duration: 2s", "duration: 2 parsecs")))


def test_the_queue_reserves_what_all_the_containers_ask_for() -> None:
    assert request_of(pod_of(TEXT)) == Request(gpus=3, cpu=0.5, memory=1 << 30)
