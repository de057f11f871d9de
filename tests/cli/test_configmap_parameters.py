"""Parameters from ConfigMaps (`valueFrom.configMapKeyRef`): read from the store when a
workflow starts, for workflow arguments, template inputs and step arguments alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Runner

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: training
  labels: {workflows.argoproj.io/configmap-type: Parameter}
data:
  lr: "0.01"
  epochs: "7"
"""

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: from-config}
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: lr
      valueFrom: {configMapKeyRef: {name: training, key: lr}}
  templates:
  - name: main
    steps:
    - - name: show
        template: show
        arguments:
          parameters:
          - name: batch
            valueFrom: {configMapKeyRef: {name: training, key: epochs}}
  - name: show
    inputs:
      parameters:
      - name: batch
      - name: epochs
        valueFrom: {configMapKeyRef: {name: training, key: epochs}}
    container:
      image: busybox
      command: [echo, "lr={{workflow.parameters.lr}} epochs={{inputs.parameters.epochs}}"]
"""


def test_parameters_come_from_the_stored_config_map(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    assert trainyard("apply", "-f", str(write("cm.yaml", CONFIG_MAP))).returncode == 0
    done = trainyard("run", str(write("wf.yaml", WORKFLOW)), "-o", "json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)["status"]
    assert status["phase"] == "Succeeded"
    (pod,) = [n for n in status["nodes"].values() if n["type"] == "Pod"]
    given = [(p["name"], p["value"]) for p in pod["inputs"]["parameters"]]
    assert given == [("batch", "7"), ("epochs", "7")]
    assert "lr=0.01 epochs=7" in trainyard("logs", "from-config").stdout


def test_a_missing_config_map_errors_the_workflow_saying_how_to_fix_it(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    done = trainyard("run", str(write("wf.yaml", WORKFLOW)), "-o", "json")
    status = json.loads(done.stdout)["status"]
    assert (done.returncode, status["phase"]) == (1, "Error")
    assert status["message"].startswith("ConfigMap 'training' not found in namespace 'default'")
    assert "`trainyard configmap create training --from-literal " in status["message"]
    assert "Traceback" not in done.stderr
