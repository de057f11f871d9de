"""`archiveLogs`: a step's log kept as its `main-logs` artifact, as Argo keeps it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Runner

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: archive-location-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: kept, template: kept}
      - {name: plain, template: plain}
  - name: kept
    container:
      image: busybox
      command: [sh, -c, "echo hello world; echo to stderr >&2; printf 'no newline'"]
    archiveLocation: {archiveLogs: true}
  - name: plain
    container: {image: busybox, command: [echo, "not kept"]}
"""


def _outputs(trainyard: Runner, name: str) -> dict[str, Any]:
    got = trainyard("get", name, "-o", "json")
    assert got.returncode == 0, got.stderr
    nodes = json.loads(got.stdout)["status"]["nodes"].values()
    return {n["displayName"]: n.get("outputs") or {} for n in nodes if n["type"] == "Pod"}


def _artifacts(outputs: dict[str, Any]) -> list[str]:
    return [a["name"] for a in outputs.get("artifacts", [])]


def test_a_template_keeps_its_log_as_main_logs(
    trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    ran = trainyard("run", str(write("wf.yaml", WORKFLOW)), "--name", "logs")
    assert ran.returncode == 0, ran.stderr
    outputs = _outputs(trainyard, "logs")
    assert _artifacts(outputs["kept"]) == ["main-logs"]
    assert _artifacts(outputs["plain"]) == []
    location = outputs["kept"]["artifacts"][0]["local"]
    assert location["key"].startswith("logs/") and location["key"].endswith("/main.log")
    got = trainyard("artifacts", "get", "logs", "kept", "main-logs", "-o", str(tmp_path / "dl"))
    assert got.returncode == 0, got.stderr
    text = Path(got.stdout.strip()).read_text()
    assert text.splitlines() == ["hello world", "to stderr", "no newline"]


def test_the_workflow_and_the_repository_can_ask_for_every_log(
    trainyard: Runner, write: Callable[[str, str], Path], home: Path
) -> None:
    whole = WORKFLOW.replace("spec:\n", "spec:\n  archiveLogs: true\n", 1)
    assert trainyard("run", str(write("all.yaml", whole)), "--name", "all").returncode == 0
    outputs = _outputs(trainyard, "all")
    assert _artifacts(outputs["plain"]) == ["main-logs"]

    # the template's own `archiveLogs: false` wins over the workflow's...
    off = whole.replace(
        "archiveLocation: {archiveLogs: true}", "archiveLocation: {archiveLogs: false}"
    )
    assert trainyard("run", str(write("off.yaml", off)), "--name", "off").returncode == 0
    assert _artifacts(_outputs(trainyard, "off")["kept"]) == []

    # ...but not over the repository's (Argo: the controller's setting, when on, wins)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(
        "artifactRepository:\n  local: {path: artifacts}\n  archiveLogs: true\n"
    )
    assert trainyard("run", str(write("off2.yaml", off)), "--name", "repo").returncode == 0
    outputs = _outputs(trainyard, "repo")
    assert _artifacts(outputs["kept"]) == ["main-logs"]
    assert _artifacts(outputs["plain"]) == ["main-logs"]


def test_a_failed_step_keeps_its_log_too(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    failing = WORKFLOW.replace("printf 'no newline'", "exit 3")
    ran = trainyard("run", str(write("fail.yaml", failing)), "--name", "failing")
    assert ran.returncode != 0
    assert _artifacts(_outputs(trainyard, "failing")["kept"]) == ["main-logs"]
