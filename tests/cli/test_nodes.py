"""Approvals: a suspend step that waits for a person, ended by `resume --node` or `set`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Runner

APPROVAL = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: NAME}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - name: deploy
        template: deploy
        arguments:
          parameters: [{name: ok, value: "{{steps.approve.outputs.parameters.ok}}"}]
  - name: approve
    suspend: {}
    outputs:
      parameters:
      - name: ok
        valueFrom: {supplied: {}, default: "by default"}
  - name: deploy
    inputs: {parameters: [{name: ok}]}
    script:
      image: python:3
      command: [python3]
      source: "print('deploying: {{inputs.parameters.ok}}')"
"""


def waiting(trainyard: Runner, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = trainyard("get", name, "-o", "json")
        nodes = (json.loads(shown.stdout).get("status") or {}).get("nodes") or {}
        if any(n["type"] == "Suspend" and n["phase"] == "Running" for n in nodes.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} never reached its suspend step")


def test_set_gives_the_approval_a_value_and_ends_it(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    path = write("approval.yaml", APPROVAL.replace("NAME", "approval"))
    assert trainyard("submit", str(path)).returncode == 0
    waiting(trainyard, "approval")
    nothing = trainyard("set", "approval", "--node", "approve")
    assert nothing.returncode == 2 and "say what to set" in nothing.stderr
    done = trainyard(
        "set", "approval", "--node", "approve", "-p", "ok=yes by ana", "--phase", "Succeeded"
    )
    assert done.returncode == 0, done.stderr
    final = json.loads(trainyard("wait", "approval", "-o", "json").stdout)
    assert final["status"]["phase"] == "Succeeded"
    assert "deploying: yes by ana" in trainyard("logs", "approval").stdout


def test_resume_one_node_by_name(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    path = write("approval.yaml", APPROVAL.replace("NAME", "second"))
    assert trainyard("submit", str(path)).returncode == 0
    waiting(trainyard, "second")
    wrong = trainyard("resume", "second", "--node", "nope")
    assert wrong.returncode == 2 and "no node" in wrong.stderr
    assert trainyard("resume", "second", "--node", "approve").returncode == 0
    final = json.loads(trainyard("wait", "second", "-o", "json").stdout)
    assert final["status"]["phase"] == "Succeeded"
    assert "deploying: by default" in trainyard("logs", "second").stdout
