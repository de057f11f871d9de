"""The GPU queue on this machine: TRAINYARD_GPUS=2 and five one-GPU steps (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: gpus
spec:
  entrypoint: main
  volumes:
  - name: marks
    hostPath: {path: MARKS}
  templates:
  - name: main
    steps:
    - - name: train
        template: train
        withSequence: {count: "5"}
        arguments: {parameters: [{name: n, value: "{{item}}"}]}
  - name: train
    inputs: {parameters: [{name: n}]}
    container:
      image: pytorch/pytorch
      command: [sh, -c]
      args:
      - |
        echo "{{inputs.parameters.n}} start $(date +%s.%N) $CUDA_VISIBLE_DEVICES" >> /marks/log
        sleep 3  # long enough for the polls below to see steps wait, even on a busy machine
        echo "{{inputs.parameters.n}} end $(date +%s.%N) $CUDA_VISIBLE_DEVICES" >> /marks/log
      resources:
        limits: {nvidia.com/gpu: 1}
      volumeMounts: [{name: marks, mountPath: /marks}]
"""


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "TRAINYARD_HOME": str(home), "TRAINYARD_GPUS": "2", "COLUMNS": "200"}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainyard", *args],
        capture_output=True,
        text=True,
        env=_env(home),
        timeout=120,
        check=False,
    )


def test_two_gpus_run_at_most_two_steps_each_on_its_own_device(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marks = tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "gpus.yaml"
    path.write_text(WORKFLOW.replace("MARKS", str(marks)))
    with open(tmp_path / "run.out", "w") as stdout:
        run = subprocess.Popen(
            [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
            env=_env(home),
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
        reasons: set[str] = set()
        queued: list[dict[str, object]] = []
        while run.poll() is None:
            shown = _cli(home, "get", "gpus", "-o", "json")
            if shown.returncode == 0:
                status = json.loads(shown.stdout).get("status") or {}
                for node in (status.get("nodes") or {}).values():
                    if node["phase"] == "Pending" and node.get("message"):
                        reasons.add(node["message"])
            listed = _cli(home, "queue", "-o", "json")
            if listed.returncode == 0 and listed.stdout.strip():
                queued.extend(json.loads(listed.stdout)["waiting"])
            time.sleep(0.1)
    assert run.returncode == 0
    wf = json.loads((tmp_path / "run.out").read_text())
    assert wf["status"]["phase"] == "Succeeded"
    events = [line.split() for line in (marks / "log").read_text().splitlines()]
    spans = {}
    for n, kind, at, *device in events:
        spans.setdefault(n, {})[kind] = (float(at), device[0] if device else "")
    assert len(spans) == 5
    for n, span in spans.items():
        assert span["start"][1] in ("0", "1"), (n, span)
        others = [s for m, s in spans.items() if m != n]
        overlapping = [
            s for s in others if s["start"][0] < span["end"][0] and s["end"][0] > span["start"][0]
        ]
        assert all(s["start"][1] != span["start"][1] for s in overlapping)  # never the same GPU
    # Never more than two at once: at each start, count the steps that started and not ended.
    for span in spans.values():
        moment = span["start"][0]
        running = [s for s in spans.values() if s["start"][0] <= moment < s["end"][0]]
        assert len(running) <= 2, spans
    pods = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    assert sorted(len(p["devices"]) for p in pods) == [1] * 5
    assert all(p["resourcesDuration"]["nvidia.com/gpu"] >= 1 for p in pods)
    assert any(r.startswith("waiting for 1 GPU, 0 free; position ") for r in reasons), reasons
    assert queued and all(q["request"]["gpus"] == 1 for q in queued)


LOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: low}
spec:
  entrypoint: main
  volumes: [{name: marks, hostPath: {path: MARKS}}]
  templates:
  - name: main
    metadata:
      annotations: {trainyard.io/preemptible: "true"}
    container:
      image: busybox
      # Its first run sleeps until the high step preempts it (however slow a loaded machine
      # is to submit that one); the run after the high step ends at once.
      command:
      - sh
      - -c
      - echo start >> /marks/low; grep -q high /marks/low || exec sleep 60; echo end >> /marks/low
      resources: {limits: {nvidia.com/gpu: 1}}
      volumeMounts: [{name: marks, mountPath: /marks}]
"""
HIGH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: high}
spec:
  entrypoint: main
  priority: 10
  volumes: [{name: marks, hostPath: {path: MARKS}}]
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "echo high >> /marks/low"]
      resources: {limits: {nvidia.com/gpu: 1}}
      volumeMounts: [{name: marks, mountPath: /marks}]
"""


def test_a_preemptible_step_makes_room_and_runs_again_without_a_retry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("gpus: 1\nqueue: {policy: priority}\n")
    marks = tmp_path / "marks"
    marks.mkdir()
    for name, text in (("low", LOW), ("high", HIGH)):
        (tmp_path / f"{name}.yaml").write_text(text.replace("MARKS", str(marks)))
    env = {**_env(home), "TRAINYARD_GPUS": ""}
    low = subprocess.Popen(
        [sys.executable, "-m", "trainyard", "run", str(tmp_path / "low.yaml"), "-o", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (marks / "low").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    high = subprocess.run(
        [sys.executable, "-m", "trainyard", "submit", str(tmp_path / "high.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert high.returncode == 0, high.stderr
    out, _ = low.communicate(timeout=120)
    assert low.returncode == 0
    assert (marks / "low").read_text().split("\n") == ["start", "high", "start", "end", ""]
    node = json.loads(out)["status"]["nodes"]["low"]
    assert node["type"] == "Pod" and node["phase"] == "Succeeded"  # the same node, no retry


ONE_GPU = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: queued}
spec:
  entrypoint: main
  volumes: [{name: marks, hostPath: {path: MARKS}}]
  templates:
  - name: main
    steps:
    - - {name: first, template: gpu, arguments: {parameters: [{name: n, value: first}]}}
      - {name: second, template: gpu, arguments: {parameters: [{name: n, value: second}]}}
  - name: gpu
    inputs: {parameters: [{name: n}]}
    container:
      image: pytorch/pytorch
      command: [sh, -c, "echo {{inputs.parameters.n}} >> /marks/log; sleep 3"]
      resources: {limits: {nvidia.com/gpu: 1}}
      volumeMounts: [{name: marks, mountPath: /marks}]
"""


def test_a_step_decided_but_never_started_starts_after_a_kill_9(tmp_path: Path) -> None:
    """The engine dies while a step waits for a GPU (decided, never launched): the next
    engine starts it, and the running one is re-adopted; each runs once."""
    home, marks = tmp_path / "home", tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "queued.yaml"
    path.write_text(ONE_GPU.replace("MARKS", str(marks)))
    env = {**_env(home), "TRAINYARD_GPUS": "1"}
    run = subprocess.Popen(
        [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    waiting = False
    while not waiting:
        assert time.monotonic() < deadline, "no step ever waited for the GPU"
        shown = subprocess.run(
            [sys.executable, "-m", "trainyard", "get", "queued", "-o", "json"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        nodes = (json.loads(shown.stdout or "{}").get("status") or {}).get("nodes") or {}
        waiting = any(
            n["type"] == "Pod" and n["phase"] == "Pending" and "GPU" in (n.get("message") or "")
            for n in nodes.values()
        )
    run.kill()
    run.wait()
    done = subprocess.run(
        [sys.executable, "-m", "trainyard", "wait", "queued", "-o", "json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr
    assert json.loads(done.stdout)["status"]["phase"] == "Succeeded", done.stdout[-800:]
    assert sorted((marks / "log").read_text().split()) == ["first", "second"]
