"""Every example in examples/ runs with the real CLI and does what its comments say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.shared import ARGO_SCHEMA as SHARED_SCHEMA

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARGO_SCHEMA = Path(os.environ.get("TRAINYARD_ARGO_SCHEMA", str(SHARED_SCHEMA)))
TOPICS = sorted(p.parent.name for p in EXAMPLES.glob("*/workflow.yaml"))


@dataclass
class Ran:
    """A finished run: exit code, the workflow's final JSON, and how to read its logs."""

    code: int
    wf: dict[str, Any]
    home: Path

    @property
    def name(self) -> str:
        """The workflow's name."""
        return str(self.wf["metadata"]["name"])

    @property
    def phase(self) -> str:
        """The workflow's phase."""
        return str(self.wf["status"]["phase"])

    def node(self, suffix: str) -> dict[str, Any]:
        """The node named `<workflow name><suffix>`, e.g. `[0].train` or `.onExit`."""
        wanted = self.name + suffix
        for node in self.wf["status"]["nodes"].values():
            if node["name"] == wanted:
                return dict(node)
        names = sorted(n["name"] for n in self.wf["status"]["nodes"].values())
        raise AssertionError(f"no node {wanted!r} in {names}")

    def names(self) -> list[str]:
        """Node names without the workflow name in front, sorted."""
        return sorted(n["name"][len(self.name) :] for n in self.wf["status"]["nodes"].values())

    def params(self, suffix: str) -> dict[str, str]:
        """Output parameters of a node, by name."""
        outputs = self.node(suffix).get("outputs") or {}
        return {p["name"]: p.get("value") for p in outputs.get("parameters", [])}

    def logs(self, node: str | None = None) -> str:
        """`trainyard logs` of the workflow (or one node), without prefixes."""
        args = ["logs", self.name, *([node] if node else []), "--no-prefix"]
        return _cli(self.home, self.home.parent, *args).stdout


def _cli(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAINYARD_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "trainyard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def run(tmp_path: Path, topic: str, *args: str) -> Ran:
    """`trainyard run examples/<topic>/workflow.yaml ARGS -o json` in a fresh home."""
    home = tmp_path / "home"
    done = _cli(home, tmp_path, "run", str(EXAMPLES / topic / "workflow.yaml"), *args, "-o", "json")
    assert done.stdout, done.stderr
    return Ran(done.returncode, json.loads(done.stdout), home)


TOPIC_LIST = """
artifacts conditionals dag exit-handlers hello-world loops multistep-training output-parameters
parameters pipeline
recursion retries script-results steps timeouts volumes
"""


def test_there_is_one_example_per_topic() -> None:
    assert sorted(TOPIC_LIST.split()) == TOPICS


def test_every_example_is_valid_argo(tmp_path: Path) -> None:
    files = [str(EXAMPLES / topic / "workflow.yaml") for topic in TOPICS]
    done = _cli(tmp_path / "home", tmp_path, "lint", *files, "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [r["errors"] for r in report] == [[]] * len(TOPICS)
    assert all(r["documents"] == 1 for r in report)


@pytest.mark.skipif(not ARGO_SCHEMA.is_file(), reason=f"no Argo schema at {ARGO_SCHEMA}")
def test_every_example_is_valid_against_argos_published_schema() -> None:
    # Stricter than lint, which accepts integers for IntOrString fields as Argo does.
    definitions = json.loads(ARGO_SCHEMA.read_text())["definitions"]
    ref = "#/definitions/io.argoproj.workflow.v1alpha1.Workflow"
    validator = jsonschema.Draft7Validator({"$ref": ref, "definitions": definitions})
    for topic in TOPICS:
        doc = yaml.safe_load((EXAMPLES / topic / "workflow.yaml").read_text())
        assert [e.message for e in validator.iter_errors(doc)] == [], topic


def test_hello_world(tmp_path: Path) -> None:
    ran = run(tmp_path, "hello-world")
    assert (ran.code, ran.phase) == (0, "Succeeded")
    assert ran.node("")["type"] == "Pod"
    assert ran.logs().startswith(f"hello from {ran.name}: ready to train on ")


def test_parameters_from_the_command_line(tmp_path: Path) -> None:
    ran = run(tmp_path, "parameters", "-p", "lr=0.01", "--params", '{"batch_size": 64}')
    assert ran.phase == "Succeeded"
    assert "batch_size=64 lr=0.01 optimizer=adam epochs=2" in ran.logs()


def test_parameters_enum_rejects_unknown_values(tmp_path: Path) -> None:
    ran = _cli(
        tmp_path / "home",
        tmp_path,
        "run",
        str(EXAMPLES / "parameters" / "workflow.yaml"),
        "-p",
        "optimizer=rmsprop",
    )
    assert ran.returncode == 2, ran.stderr
    assert "rmsprop" in ran.stderr


def test_steps_run_in_groups(tmp_path: Path) -> None:
    ran = run(tmp_path, "steps")
    assert ran.phase == "Succeeded"
    assert ran.names() == [
        "",
        "[0]",
        "[0].prepare",
        "[1]",
        "[1].train-large",
        "[1].train-small",
        "[2]",
        "[2].compare",
    ]
    assert "trained a model with 256 hidden units: 2560 parameters" in ran.logs()


def test_dag_omits_the_failure_branch(tmp_path: Path) -> None:
    ran = run(tmp_path, "dag")
    assert ran.phase == "Succeeded"
    assert ran.node(".alert")["phase"] == "Omitted"
    assert ran.node(".pick-best")["phase"] == "Succeeded"
    # pick-best hangs under both of its dependencies (Argo's children links)
    pick = ran.node(".pick-best")["id"]
    assert pick in ran.node(".train-cnn")["children"]
    assert pick in ran.node(".train-mlp")["children"]


def test_artifacts_directory_file_and_raw(tmp_path: Path) -> None:
    ran = run(tmp_path, "artifacts")
    assert ran.phase == "Succeeded"
    saved = {a["name"]: a for a in ran.node("[0].make-dataset")["outputs"]["artifacts"]}
    assert saved["dataset"]["local"]["key"].endswith("/dataset.tgz")
    assert saved["stats"]["archive"] == {"none": {}}
    assert (tmp_path / "home" / "artifacts" / saved["stats"]["local"]["key"]).is_file()
    assert "files=train.csv,valid.csv train_rows=80 stats=80 batch_size=16 lr=0.01" in ran.logs()


def test_loops_name_their_nodes_like_argo(tmp_path: Path) -> None:
    ran = run(tmp_path, "loops")
    assert ran.phase == "Succeeded"
    pods = [n for n in ran.names() if "(" in n]
    assert pods == sorted(
        [
            "[0].seeds(0:seed-00)",
            "[0].seeds(1:seed-01)",
            "[0].seeds(2:seed-02)",
            "[0].sweep-grid(0:batch_size:16,lr:0.01)",
            "[0].sweep-grid(1:batch_size:64,lr:0.1)",
            "[0].sweep-lr(0:0.1)",
            "[0].sweep-lr(1:0.01)",
            "[0].sweep-lr(2:0.001)",
            "[1].from-param(0:epochs:2,model:resnet18)",
            "[1].from-param(1:epochs:1,model:vit-tiny)",
        ]
    )
    assert "training with model=vit-tiny epochs=1" in ran.logs(
        "from-param(1:epochs:1,model:vit-tiny)"
    )


@pytest.mark.parametrize(
    ("accuracy", "runs", "skipped"), [("0.93", "deploy", "retrain"), ("0.72", "retrain", "deploy")]
)
def test_conditionals_follow_the_result(
    tmp_path: Path, accuracy: str, runs: str, skipped: str
) -> None:
    ran = run(tmp_path, "conditionals", "-p", f"accuracy={accuracy}")
    assert ran.phase == "Succeeded"
    assert ran.node("[0].evaluate")["outputs"]["result"] == accuracy
    assert ran.node(f"[1].{runs}")["phase"] == "Succeeded"
    assert ran.node(f"[1].{skipped}")["phase"] == "Skipped"
    assert ran.node(f"[1].{skipped}")["message"].startswith(f"when '{accuracy} ")


def test_retries_fail_once_then_succeed(tmp_path: Path) -> None:
    ran = run(tmp_path, "retries")
    assert ran.phase == "Succeeded"
    retry = ran.node("[0].fetch-data")
    assert retry["type"] == "Retry" and retry["phase"] == "Succeeded"
    first, second = ran.node("[0].fetch-data(0)"), ran.node("[0].fetch-data(1)")
    assert (first["phase"], first["message"]) == ("Failed", "Error (exit code 1)")
    assert second["phase"] == "Succeeded"
    assert "attempt 1: downloaded 1000 samples" in ran.logs("fetch-data(1)")


def test_recursion_stops_at_the_target(tmp_path: Path) -> None:
    ran = run(tmp_path, "recursion")
    assert ran.phase == "Succeeded"
    epochs = [n for n in ran.names() if n.endswith(".epoch")]
    assert epochs == ["[0].epoch", "[1].next[0].epoch", "[1].next[1].next[0].epoch"]
    assert ran.params("[1].next[1].next[0].epoch")["accuracy"] == "0.91"
    last = ran.node("[1].next[1].next[1].next")
    assert last["phase"] == "Skipped" and last["message"] == "when '0.91 < 0.9' evaluated false"


@pytest.mark.parametrize(("fail", "phase"), [("false", "Succeeded"), ("true", "Failed")])
def test_exit_handlers_see_the_outcome(tmp_path: Path, fail: str, phase: str) -> None:
    ran = run(tmp_path, "exit-handlers", "-p", f"fail={fail}")
    assert (ran.code, ran.phase) == ((0, phase) if fail == "false" else (1, phase))
    hook = ran.node("[0].train.onExit")
    assert hook["inputs"]["parameters"] == [{"name": "status", "value": phase}]
    assert ran.node(".onExit")["phase"] == "Succeeded"
    assert f"ended {phase}" in ran.logs("notify")
    ran_branch, skipped = (
        ("celebrate", "page-on-call")
        if fail == "false"
        else (
            "page-on-call",
            "celebrate",
        )
    )
    assert ran.node(f".onExit[0].{ran_branch}")["phase"] == "Succeeded"
    assert ran.node(f".onExit[0].{skipped}")["phase"] == "Skipped"


def test_timeouts_kill_long_steps_and_the_workflow_goes_on(tmp_path: Path) -> None:
    ran = run(tmp_path, "timeouts")
    assert ran.phase == "Succeeded"
    for step in ("slow-epoch", "hung-eval"):
        node = ran.node(f"[0].{step}")
        assert node["phase"] == "Failed"
        assert node["message"] == "Pod was active on the node longer than the specified deadline"
    assert ran.node("[1].save-checkpoint")["phase"] == "Succeeded"
    assert "never printed" not in ran.logs()


def test_volumes_share_a_workspace_and_keep_scratch_private(tmp_path: Path) -> None:
    ran = run(tmp_path, "volumes")
    assert ran.phase == "Succeeded"
    assert "trained on 100 samples, cache holds ['0.txt']" in ran.logs("train")
    evaluate = ran.logs("evaluate")
    assert 'model: {"w": 50.5}' in evaluate
    assert "no cache here" in evaluate


def test_output_parameters(tmp_path: Path) -> None:
    ran = run(tmp_path, "output-parameters")
    assert ran.phase == "Succeeded"
    assert ran.params("[0].experiment[0].train") == {"accuracy": "0.87", "f1": "n/a", "lr": "0.01"}
    assert ran.params("[0].experiment") == {"accuracy": "0.87", "f1": "n/a"}
    assert ran.params("[1].evaluation") == {"grade": "good"}
    assert ran.wf["status"]["outputs"]["parameters"] == [{"name": "best_lr", "value": "0.01"}]
    assert "accuracy=0.87 f1=n/a grade=good best_lr=0.01" in ran.logs("summary")


def test_script_results(tmp_path: Path) -> None:
    ran = run(tmp_path, "script-results")
    assert ran.phase == "Succeeded"
    assert ran.node("[0].mean-loss")["outputs"]["result"] == "0.6"
    assert ran.node("[0].count-checkpoints")["outputs"]["result"].strip() == "3"
    report = ran.node("[1].report")["inputs"]["parameters"]
    assert {p["name"]: p["value"].strip() for p in report} == {"loss": "0.6", "checkpoints": "3"}


def test_pipeline_trains_prunes_and_reports_accuracy(tmp_path: Path) -> None:
    ran = run(tmp_path, "pipeline", "-p", "epochs=3", "-p", "prune_amount=0.5")
    assert (ran.code, ran.phase) == (0, "Succeeded")
    assert ran.names() == ["", ".pretrain", ".prune", ".test", ".train"]
    accuracy = ran.params(".test")["accuracy"]
    assert float(accuracy) > 0.8
    assert ran.params("")["accuracy"] == accuracy
    assert ran.wf["status"]["outputs"]["parameters"] == [{"name": "accuracy", "value": accuracy}]
    assert ran.params(".prune") == {"sparsity": "0.50"}
    train = ran.node(".train")
    metrics = next(a for a in train["outputs"]["artifacts"] if a["name"] == "metrics")
    stored = json.loads((ran.home / "artifacts" / metrics["local"]["key"]).read_text())
    assert len(stored["loss"]) == 3 and stored["loss"] == sorted(stored["loss"], reverse=True)
    test_inputs = {a["name"]: a for a in ran.node(".test")["inputs"]["artifacts"]}
    prune_model = next(
        a for a in ran.node(".prune")["outputs"]["artifacts"] if a["name"] == "model"
    )
    assert test_inputs["model"]["local"] == prune_model["local"]
