"""trainyard's `argosay` (Argo's test image command): each verb, and Argo-style workflows of image
argoproj/argosay:v2 run by the process executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Runner
from trainyard.executors.argosay import HELLO, main, parse_duration


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh TRAINYARD_HOME."""
    return tmp_path / "home"


@pytest.fixture
def trainyard(home: Path) -> Runner:
    """`trainyard(*args)`: the real CLI in a subprocess, over the test's home."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TRAINYARD_HOME": str(home), "COLUMNS": "200"}
        command = [sys.executable, "-m", "trainyard", *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=env, check=False
        )

    return run


def test_no_verb_and_echo_print_hello_argo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert main(["echo"]) == 0
    assert main(["echo", "hi there"]) == 0
    assert capsys.readouterr().out == f"{HELLO}\n{HELLO}\nhi there\n"


def test_echo_to_a_file_makes_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "out.txt"
    assert main(["echo", "saved", str(target)]) == 0
    assert target.read_text() == "saved\n"
    assert main(["echo", "a", "b", "c"]) == 1


def test_cat_prints_a_file_and_fails_on_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_text("line one\nline two\n")
    assert main(["cat", str(tmp_path / "f")]) == 0
    assert capsys.readouterr().out == "line one\nline two\n"
    assert main(["cat", str(tmp_path / "missing")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_exit_returns_the_code() -> None:
    assert main(["exit"]) == 0
    assert main(["exit", "3"]) == 3
    assert main(["exit", "x"]) == 1


def test_sleep_takes_seconds_and_go_style_suffixes() -> None:
    started = time.monotonic()
    assert main(["sleep", "0.2s"]) == 0
    assert 0.2 <= time.monotonic() - started < 2
    assert parse_duration("2m") == 120.0
    assert parse_duration("1h") == 3600.0
    assert parse_duration("5") == 5.0
    assert main(["sleep", "soon"]) == 1


def test_assert_contains_and_assert_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "log").write_text("epoch 1\nloss 0.5\n")
    assert main(["assert_contains", str(tmp_path / "log"), "loss"]) == 0
    assert capsys.readouterr().out == "loss 0.5\n"
    assert main(["assert_contains", str(tmp_path / "log"), "accuracy"]) == 1
    assert main(["assert_exist", str(tmp_path / "log")]) == 0
    assert main(["assert_exist", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_sh_runs_a_file_and_unknown_verbs_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "s.sh"
    script.write_text("exit 4\n")
    assert main(["sh", str(script)]) == 4
    assert main(["dance"]) == 1
    assert "unknown verb 'dance'" in capsys.readouterr().err


def test_it_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trainyard.executors.argosay", "echo", "from a process"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "from a process\n")


WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: say
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: hello, template: hello}
      - {name: write, template: write}
      - name: check
        template: check
        dependencies: [write]
        arguments:
          artifacts: [{name: msg, from: "{{tasks.write.outputs.artifacts.msg}}"}]
      - {name: fail, template: fail, dependencies: [check]}
  - name: hello
    container:
      image: argoproj/argosay:v2
  - name: write
    container:
      image: argoproj/argosay:v2
      args: [echo, "a message", /tmp/out/msg.txt]
    outputs:
      parameters: [{name: text, valueFrom: {path: /tmp/out/msg.txt}}]
      artifacts: [{name: msg, path: /tmp/out/msg.txt}]
  - name: check
    inputs:
      artifacts: [{name: msg, path: /tmp/in.txt}]
    container:
      image: docker.io/argoproj/argosay:v2
      command: [/argosay]
      args: [assert_contains, /tmp/in.txt, message]
  - name: fail
    container:
      image: argoproj/argosay:v2
      args: [exit, "1"]
"""


def test_a_workflow_of_argosay_steps_runs_locally(trainyard: Runner, tmp_path: Path) -> None:
    path = tmp_path / "say.yaml"
    path.write_text(WORKFLOW)
    done = trainyard("run", str(path), "-o", "json")
    assert done.returncode == 1, done.stderr  # the last step exits 1, as asked
    nodes = {n["displayName"]: n for n in json.loads(done.stdout)["status"]["nodes"].values()}
    assert nodes["hello"]["phase"] == "Succeeded"
    assert nodes["write"]["outputs"]["parameters"][0]["value"] == "a message"
    assert nodes["check"]["phase"] == "Succeeded"
    assert nodes["fail"]["phase"] == "Failed"
    assert nodes["fail"]["message"] == "Error (exit code 1)"
    assert trainyard("logs", "say", "hello", "--no-prefix").stdout == f"{HELLO}\n"
    assert "a message" in trainyard("logs", "say", "check").stdout  # what grep -F printed
