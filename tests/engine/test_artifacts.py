"""Artifacts passed with `from:`: step and task outputs, subPath, workflow global artifacts."""

from __future__ import annotations

from tests.engine.conftest import PodRun
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: a-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: train, template: train}
    - - name: evaluate
        template: evaluate
        arguments:
          artifacts:
          - {name: model, from: "{{steps.train.outputs.artifacts.model}}"}
          - {name: weights, from: "{{steps.train.outputs.artifacts.model}}", subPath: w.json}
  - name: train
    container: {image: busybox, command: [sh, -c, "mkdir /tmp/m"]}
    outputs:
      artifacts:
      - {name: model, path: /tmp/m, archive: {none: {}}}
  - name: evaluate
    inputs:
      artifacts:
      - {name: model, path: /in/model}
      - {name: weights, path: /in/w.json}
    container: {image: busybox, command: [ls, /in]}
"""

MODEL = {"name": "model", "path": "/tmp/m", "archive": {"none": {}}, "local": {"key": "wf/m"}}


def _train_saves_model(pod: PodRequest) -> PodRun:
    return PodRun(artifacts=[MODEL] if pod.node_name.endswith("train") else [])


def test_from_step_output_artifact_reaches_the_next_step() -> None:
    # Argo's strict substitution leaves `...outputs.artifacts...` for `from:` to resolve.
    sim = drive(STEPS, _train_saves_model)
    assert sim.phase == "Succeeded"
    inputs = sim.node("wf[1].evaluate").inputs
    assert inputs is not None
    by_name = {a.name: a for a in inputs.artifacts}
    assert by_name["model"].local is not None and by_name["model"].local.key == "wf/m"
    assert by_name["model"].path == "/in/model"


def test_sub_path_is_joined_to_the_stored_key() -> None:
    sim = drive(STEPS, _train_saves_model)
    inputs = sim.node("wf[1].evaluate").inputs
    assert inputs is not None
    weights = next(a for a in inputs.artifacts if a.name == "weights")
    assert weights.local is not None and weights.local.key == "wf/m/w.json"


def test_sub_path_of_an_s3_directory_is_joined_to_its_key() -> None:
    stored = {**MODEL, "local": None, "s3": {"bucket": "b", "key": "wf/m"}}
    sim = drive(STEPS, lambda pod: PodRun(artifacts=[stored] if "train" in pod.node_name else []))
    inputs = sim.node("wf[1].evaluate").inputs
    assert inputs is not None
    weights = next(a for a in inputs.artifacts if a.name == "weights")
    assert weights.s3 == {"bucket": "b", "key": "wf/m/w.json"} and weights.sub_path is None


def test_sub_path_inside_an_archive_is_left_for_staging() -> None:
    # an archive's key cannot be extended: the step's inputs take the part out when staged
    archived = {"name": "model", "path": "/tmp/m", "local": {"key": "wf/m.tgz"}}
    sim = drive(STEPS, lambda pod: PodRun(artifacts=[archived] if "train" in pod.node_name else []))
    inputs = sim.node("wf[1].evaluate").inputs
    assert inputs is not None
    weights = next(a for a in inputs.artifacts if a.name == "weights")
    assert weights.local is not None and weights.local.key == "wf/m.tgz"
    assert weights.sub_path == "w.json"


DAG = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: a-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: train, template: train}
      - name: evaluate
        depends: train
        template: evaluate
        arguments:
          artifacts:
          - {name: model, from: "{{tasks.train.outputs.artifacts.model}}"}
  - name: train
    container: {image: busybox, command: [sh, -c, "mkdir /tmp/m"]}
    outputs:
      artifacts:
      - {name: model, path: /tmp/m, archive: {none: {}}}
  - name: evaluate
    inputs:
      artifacts:
      - {name: model, path: /in/model}
    container: {image: busybox, command: [ls, /in]}
"""


def test_from_task_output_artifact_reaches_the_next_task() -> None:
    sim = drive(DAG, _train_saves_model)
    assert sim.phase == "Succeeded"
    inputs = sim.node("wf.evaluate").inputs
    assert inputs is not None and inputs.artifacts[0].local is not None


GLOBAL = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: g-}
spec:
  entrypoint: main
  onExit: report
  templates:
  - name: main
    steps:
    - - {name: train, template: train}
    - - {name: wait, template: wait}
    - - name: use
        template: use
        arguments: {artifacts: [{name: m, from: "{{workflow.outputs.artifacts.best}}"}]}
  - name: train
    container: {image: busybox, command: [sh, -c, "mkdir /tmp/m"]}
    outputs:
      artifacts:
      - {name: model, path: /tmp/m, globalName: best}
  - name: wait
    container: {image: busybox, command: [sleep, "1"]}
  - name: use
    inputs: {artifacts: [{name: m, path: /in/m}]}
    container: {image: busybox, command: [ls, /in/m]}
  - name: report
    steps:
    - - name: use
        template: use
        arguments: {artifacts: [{name: m, from: "{{workflow.outputs.artifacts.best}}"}]}
"""


def test_workflow_output_artifacts_resolve_in_later_ticks_and_exit_handlers() -> None:
    def rule(pod: PodRequest) -> PodRun:
        saved = {"name": "model", "path": "/tmp/m", "globalName": "best", "local": {"key": "k"}}
        return PodRun(artifacts=[saved] if pod.node_name.endswith("train") else [])

    sim = drive(GLOBAL, rule)
    assert sim.phase == "Succeeded", sim.workflow.status
    for name in ("wf[2].use", "wf.onExit[0].use"):
        inputs = sim.node(name).inputs
        assert inputs is not None and inputs.artifacts[0].local is not None
        assert inputs.artifacts[0].local.key == "k"
    status = sim.workflow.status
    assert status is not None and status.outputs is not None
    assert [a.name for a in status.outputs.artifacts] == ["best"]
