"""Bad input: one clear line on stderr naming file:line:col, exit 2, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Runner

GOOD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: train-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: batch_size
  templates:
  - name: main
    steps:
    - - name: train
        template: train
  - name: train
    container:
      image: python:3.11
      command: [echo, "{{workflow.parameters.batch_size}}"]
"""

CASES = {
    "bad-yaml": (
        GOOD.replace("  templates:\n", "  templates:\n   - oops: [\n"),
        "bad-yaml.yaml:",
        "invalid YAML",
    ),
    "unknown-template": (
        GOOD.replace("template: train", "template: trian"),
        "unknown-template.yaml:14:",
        "'trian'",
    ),
    "cycle": (
        GOOD.replace(
            "    steps:\n    - - name: train\n        template: train\n",
            "    dag:\n      tasks:\n      - {name: a, template: train, depends: b}\n"
            "      - {name: b, template: train, depends: a}\n",
        ),
        "cycle.yaml:",
        "cycle",
    ),
}


def _check_one_clear_line(stderr: str, location: str, words: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) >= 1
    assert lines[0].startswith(location), stderr
    assert words in lines[0], stderr


@pytest.mark.parametrize("command", ["lint", "run"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_documents_exit_2_with_location(
    trainyard: Runner, write: Callable[[str, str], Path], command: str, case: str
) -> None:
    text, location, words = CASES[case]
    path = write(f"{case}.yaml", text)
    args = [command, str(path), "-p", "batch_size=8"]
    result = trainyard(*args)
    assert result.returncode == 2, result.stderr
    _check_one_clear_line(result.stderr, str(path.parent / location), words)


@pytest.mark.parametrize("command", ["lint", "run"])
def test_missing_required_parameter(
    trainyard: Runner, write: Callable[[str, str], Path], command: str
) -> None:
    path = write("wf.yaml", GOOD)
    result = trainyard(command, str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "batch_size" in result.stderr and "-p batch_size=" in result.stderr
    assert result.stderr.startswith(f"{path}:9:")


def test_unknown_parameter_is_refused(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    result = trainyard("run", str(write("wf.yaml", GOOD)), "-p", "batchsize=8")
    assert result.returncode == 2
    assert "unknown workflow parameter 'batchsize'" in result.stderr
    assert "batch_size" in result.stderr


def test_bad_params_json(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    result = trainyard("run", str(write("wf.yaml", GOOD)), "--params", "{batch_size: 2}")
    assert result.returncode == 2
    assert "--params is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file(trainyard: Runner, tmp_path: Path) -> None:
    result = trainyard("run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_workflow(trainyard: Runner) -> None:
    result = trainyard("get", "no-such-workflow")
    assert result.returncode == 2
    assert "no-such-workflow" in result.stderr
    assert "Traceback" not in result.stderr


def test_lint_accepts_a_good_file(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    result = trainyard("lint", str(write("wf.yaml", GOOD)), "-p", "batch_size=8", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert '"errors": []' in result.stdout
