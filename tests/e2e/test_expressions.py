"""`trainyard run` of a workflow written in the style of Argo's expression examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: expressions-
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: base-lr
        value: "0.25"
  templates:
    - name: main
      dag:
        tasks:
          - name: sizes
            template: emit
          - name: train
            depends: sizes
            template: train
            arguments:
              parameters:
                - name: size
                  value: "{{=item}}"
                - name: lr
                  value: "{{= asFloat(workflow.parameters['base-lr']) * 2 }}"
            withParam: "{{=toJson(filter(fromJSON(tasks.sizes.outputs.result), {# > 1}))}}"
          - name: report
            depends: train
            when: "{{= len(fromJSON(tasks.sizes.outputs.result)) == 3 }}"
            template: flaky
      outputs:
        parameters:
          - name: summary
            valueFrom:
              expression: >-
                sprig.upper(tasks.report.status) + ' ' +
                string(len(fromJSON(tasks.train.outputs.parameters.out)))
    - name: emit
      script:
        image: python:3.12-slim
        command: [python3]
        source: print("[1, 2, 3]")
    - name: train
      inputs:
        parameters:
          - name: size
          - name: lr
      container:
        image: busybox
        command: [sh, -c]
        args:
          - >-
            echo size={{=asInt(inputs.parameters.size) * 10}}
            lr={{inputs.parameters.lr}} > /tmp/out
      outputs:
        parameters:
          - name: out
            valueFrom:
              path: /tmp/out
    - name: flaky
      retryStrategy:
        limit: "5"
        expression: "asInt(lastRetry.exitCode) == 3"
      script:
        image: python:3.12-slim
        command: [python3]
        source: |
          import sys
          print("attempt {{retries}}")
          sys.exit(3 if {{retries}} == 0 else 0)
"""


def test_a_workflow_with_expressions_runs_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "expressions.yaml"
    path.write_text(WORKFLOW)
    env = {**os.environ, "TRAINYARD_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.stdout, done.stderr
    wf: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode, wf["status"]["phase"]) == (0, "Succeeded"), done.stderr
    name = wf["metadata"]["name"]
    nodes = {n["name"][len(name) :]: n for n in wf["status"]["nodes"].values()}
    outs = sorted(
        p["value"]
        for key, node in nodes.items()
        if key.startswith(".train(")
        for p in node["outputs"]["parameters"]
    )
    assert outs == ["size=20 lr=0.5", "size=30 lr=0.5"]
    assert [k for k in nodes if k.startswith(".report(")] == [".report(0)", ".report(1)"]
    assert nodes[".report"]["phase"] == "Succeeded"
    summary = {p["name"]: p["value"] for p in nodes[""]["outputs"]["parameters"]}
    assert summary == {"summary": "SUCCEEDED 2"}
