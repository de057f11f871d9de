"""Synchronization: mutexes and semaphores (from a ConfigMap) for steps and whole workflows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Runner

STEPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: NAME}
spec:
  entrypoint: main
  WORKFLOW_SYNC
  volumes: [{name: marks, hostPath: {path: MARKS}}]
  templates:
  - name: main
    steps:
    - - {name: work, template: work, arguments: {parameters: [{name: n, value: "{{item}}"}]},
         withItems: ITEMS}
  - name: work
    TEMPLATE_SYNC
    inputs: {parameters: [{name: n}]}
    script:
      image: python:3
      command: [python3]
      source: |
        import time
        def mark(what):
            with open("/marks/log", "a") as f:
                f.write(f"NAME-{{inputs.parameters.n}} {what} {time.time()}\\n")
        mark("start"); time.sleep(0.8); mark("end")
      volumeMounts: [{name: marks, mountPath: /marks}]
"""


def spans(log: Path) -> dict[str, tuple[float, float]]:
    found: dict[str, dict[str, float]] = {}
    for line in log.read_text().splitlines():
        who, what, at = line.split()
        found.setdefault(who, {})[what] = float(at)
    return {who: (t["start"], t["end"]) for who, t in found.items()}


def most_at_once(found: dict[str, tuple[float, float]]) -> int:
    return max(sum(s <= start < e for s, e in found.values()) for start, _ in found.values())


def workflow(tmp_path: Path, name: str, items: str, template: str = "", whole: str = "") -> Path:
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    text = (
        STEPS.replace("NAME", name)
        .replace("MARKS", str(marks))
        .replace("ITEMS", items)
        .replace("TEMPLATE_SYNC", template)
        .replace("WORKFLOW_SYNC", whole)
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_a_mutex_runs_the_steps_one_at_a_time(trainyard: Runner, tmp_path: Path) -> None:
    path = workflow(tmp_path, "one", "[1, 2, 3]", "synchronization: {mutexes: [{name: gpu0}]}")
    done = trainyard("run", str(path), "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    found = spans(tmp_path / "marks" / "log")
    assert len(found) == 3 and most_at_once(found) == 1, found


def test_a_semaphore_admits_as_many_as_its_config_map_says(
    trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    limits = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits}\ndata: {gpus: '2'}\n"
    assert trainyard("apply", "-f", str(write("limits.yaml", limits))).returncode == 0
    sync = "synchronization: {semaphores: [{configMapKeyRef: {name: limits, key: gpus}}]}"
    path = workflow(tmp_path, "two", "[1, 2, 3, 4, 5]", sync)
    done = trainyard("run", str(path), "-o", "json")
    assert done.returncode == 0, done.stderr
    found = spans(tmp_path / "marks" / "log")
    assert len(found) == 5 and most_at_once(found) == 2, found
    messages = {
        n.get("message", "")
        for n in json.loads(done.stdout)["status"]["nodes"].values()
        if n["type"] == "Pod"
    }
    assert all("Waiting" not in m for m in messages), "the waits are over once it ends"


def test_workflows_with_one_mutex_take_turns(trainyard: Runner, tmp_path: Path) -> None:
    whole = "synchronization: {mutexes: [{name: only-one}]}"
    first = workflow(tmp_path, "first", "[1, 2]", whole=whole)
    second = workflow(tmp_path, "second", "[1, 2]", whole=whole)
    assert trainyard("submit", str(first)).returncode == 0
    assert trainyard("submit", str(second)).returncode == 0
    for name in ("first", "second"):
        done = trainyard("wait", name, "-o", "json")
        assert json.loads(done.stdout)["status"]["phase"] == "Succeeded", done.stdout[-500:]
    found = spans(tmp_path / "marks" / "log")
    by_workflow = {
        name: (min(s for w, (s, _) in found.items() if w.startswith(name)),
               max(e for w, (_, e) in found.items() if w.startswith(name)))
        for name in ("first", "second")
    }  # fmt: skip
    first_span, second_span = sorted(by_workflow.values())
    assert first_span[1] <= second_span[0], by_workflow


def test_a_semaphore_without_its_config_map_says_so(trainyard: Runner, tmp_path: Path) -> None:
    sync = "synchronization: {semaphores: [{configMapKeyRef: {name: nope, key: gpus}}]}"
    done = trainyard("run", str(workflow(tmp_path, "missing", "[1]", sync)), "-o", "json")
    assert done.returncode == 1
    wf = json.loads(done.stdout)
    messages = " ".join(n.get("message", "") for n in wf["status"]["nodes"].values())
    assert "ConfigMap 'nope' not found" in messages
