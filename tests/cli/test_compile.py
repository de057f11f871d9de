"""`trainyard compile`: what submit would send, valid against Argo's own published schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.cli.conftest import Runner
from tests.shared import ARGO_SCHEMA, ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*/workflow.yaml"))


@cache
def workflow_validator() -> Draft202012Validator:
    """Argo's schema (../shared/argo/schema.json, not trainyard's relaxed copy) for a Workflow."""
    schema = json.loads(ARGO_SCHEMA.read_text())
    root = {
        "$schema": schema["$schema"],
        "definitions": schema["definitions"],
        "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow",
    }
    return Draft202012Validator(root)


def argo_errors(doc: dict[str, Any]) -> list[str]:
    found = workflow_validator().iter_errors(doc)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_compiles_to_a_valid_argo_workflow(trainyard: Runner, example: Path) -> None:
    done = trainyard("compile", str(example), "-o", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert argo_errors(doc) == []
    meta = doc["metadata"]
    assert meta.get("generateName") or meta.get("name")
    assert {"trainyard.io/user", "trainyard.io/version"} <= set(meta["labels"])
    assert len(meta["labels"]["trainyard.io/git-commit"]) >= 40, "examples/ is in a git checkout"
    assert "uid" not in meta and "status" not in doc


def test_scalars_become_strings_and_parameters_bind(trainyard: Runner, tmp_path: Path) -> None:
    path = tmp_path / "numbers.yaml"
    path.write_text(
        """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: numbers-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: batch_size, value: 32}, {name: debug, value: false}]
  templates:
  - name: main
    container:
      image: python:3
      command: [python3, -c, "print(1)"]
      resources: {limits: {cpu: 1, memory: 2Gi, nvidia.com/gpu: 1}}
"""
    )
    done = trainyard(
        "compile", str(path), "--params", '{"batch_size": 64}', "-l", "team=vision",
        "-n", "team-a", "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert argo_errors(doc) == []
    parameters = {p["name"]: p["value"] for p in doc["spec"]["arguments"]["parameters"]}
    assert parameters == {"batch_size": "64", "debug": "false"}
    limits = doc["spec"]["templates"][0]["container"]["resources"]["limits"]
    assert limits == {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"}
    assert doc["metadata"]["namespace"] == "team-a"
    assert doc["metadata"]["labels"]["team"] == "vision"
    assert "trainyard.io/git-commit" not in doc["metadata"]["labels"], "not in a git checkout"


def test_compile_refuses_what_is_wrong(trainyard: Runner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {entrypoint: x}\n")
    done = trainyard("compile", str(broken))
    assert done.returncode == 2 and "broken.yaml:" in done.stderr
    assert "Traceback" not in done.stderr
    example = str(EXAMPLES[0])
    assert trainyard("compile", example, "-p", "nope").returncode == 2
    wide = trainyard("compile", example, "-o", "wide")
    assert wide.returncode == 2 and "yaml or json" in wide.stderr


IMAGE_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: img-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: image, value: "python:3"}]}
  templates:
  - name: main
    container: {image: "{{workflow.parameters.image}}", command: [python3, -c, "print(1)"]}
"""


def test_the_image_parameter_gets_the_deployed_image(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "wf.yaml").write_text(IMAGE_WORKFLOW)
    (project / "Dockerfile.train").write_text("FROM scratch\n")
    (project / "trainyard.yaml").write_text(
        "deploy: {image: team/train}\nregistries: {company: registry.example.com/ml}\n"
        'contexts: {abacus: {server: "https://argo.example.com:2746", registry: company}}\n'
    )
    git = ["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    wf = str(project / "wf.yaml")

    def image(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "trainyard", "compile", wf, *args, "-o", "json"],
            capture_output=True,
            text=True,
            cwd=project,  # run in the project: its trainyard.yaml counts
            env={**os.environ, "TRAINYARD_HOME": str(tmp_path / "home")},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        [parameter] = json.loads(done.stdout)["spec"]["arguments"]["parameters"]
        return str(parameter["value"])

    assert image("--context", "abacus") == f"registry.example.com/ml/team/train:{commit}"
    assert image() == f"team/train:{commit}", "no context: the image stays local"
    assert image("-p", "image=mine:1") == "mine:1", "what the user gives wins"
    (project / "wf.yaml").write_text(IMAGE_WORKFLOW + "\n# changed\n")
    assert image().endswith(f"{commit}-dirty")
