"""`trainyard results` and `trainyard artifacts get` on the pipeline example (local repository)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.conftest import Runner

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples" / "pipeline" / "workflow.yaml"


def test_results_show_each_steps_parameters_metrics_and_artifacts(
    trainyard: Runner, home: Path
) -> None:
    ran = trainyard("run", str(PIPELINE), "--name", "p", "-p", "epochs=2")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(trainyard("results", "p", "-o", "json").stdout)
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["pretrain", "train", "prune", "test"]
    assert steps["train"]["parameters"]["epochs"] == "2"
    assert 0.0 < steps["test"]["metrics"]["accuracy"] <= 1.0
    model = next(a for a in steps["train"]["artifacts"] if a["name"] == "model")
    assert model["size"] > 0
    assert model["location"].startswith(str(home / "artifacts"))
    table = trainyard("results", "p")
    assert "accuracy=" in table.stdout and "train/model:" in table.stdout


def test_artifacts_get_downloads_one_artifact(trainyard: Runner, tmp_path: Path) -> None:
    assert trainyard("run", str(PIPELINE), "--name", "p2").returncode == 0
    got = trainyard("artifacts", "get", "p2", "train", "model", "-o", str(tmp_path / "dl"))
    assert got.returncode == 0, got.stderr
    path = Path(got.stdout.strip())
    assert path == tmp_path / "dl" / "model" and path.exists()
    again = trainyard("artifacts", "get", "p2", "train", "model", "-o", str(tmp_path / "dl"))
    assert again.returncode == 2 and "exists already" in again.stderr
    missing = trainyard("artifacts", "get", "p2", "train", "nope", "-o", str(tmp_path))
    assert missing.returncode == 2 and "has no artifact 'nope'" in missing.stderr
    assert "model" in missing.stderr


def test_unarchived_inputs_are_handed_over_without_a_copy(
    trainyard: Runner, write: object, tmp_path: Path, home: Path
) -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: handoff}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: use
        arguments: {artifacts: [{name: blob, from: "{{steps.make.outputs.artifacts.blob}}"}]}
  - name: make
    outputs:
      artifacts: [{name: blob, path: /out/blob.bin, archive: {none: {}}}]
    container:
      image: busybox
      command: [sh, -c, "mkdir -p /out && head -c 1000000 /dev/zero > /out/blob.bin"]
  - name: use
    inputs:
      artifacts: [{name: blob, path: /in/blob.bin}]
    container:
      image: busybox
      command: [sh, -c, "stat -c '%i %s' /in/blob.bin; if echo x >> /in/blob.bin; then exit 9; fi"]
"""
    path = tmp_path / "handoff.yaml"
    path.write_text(text)
    ran = trainyard("run", str(path), "-o", "json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    inode, size = trainyard("logs", "handoff", "use", "--no-prefix").stdout.split()[:2]
    stored = next((home / "artifacts").rglob("blob"))
    assert int(size) == 1_000_000 == stored.stat().st_size
    assert int(inode) == os.stat(stored).st_ino  # the step read the stored file itself
