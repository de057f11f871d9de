"""The main example, examples/multistep-training, trains, prunes and tests a real CNN with the
real CLI: accuracy, sparsity and every step's model and TensorBoard artifacts."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "multistep-training"
NEEDED = ("torch", "sklearn", "tensorboard")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]
STEPS = ("pretrain", "train", "prune", "test")
PRUNE_AMOUNT = 0.6

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"{', '.join(MISSING)} not installed: pip install -e '.[examples]'",
    ),
]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the example in a fresh home (shared by the tests of this module)."""
    home = tmp_path_factory.mktemp("multistep") / "home"
    # The steps run `python3`: the interpreter that runs trainyard, which has torch.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "TRAINYARD_HOME": str(home), "PATH": path}
    # `make install` installs the example's `digits` package; else the steps find it via `src`.
    source = [] if importlib.util.find_spec("digits") else ["-p", f"src={EXAMPLE / 'src'}"]
    args = [*source, "-p", f"prune_amount={PRUNE_AMOUNT}", "-o", "json"]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "trainyard", "run", str(EXAMPLE / "workflow.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=home.parent,
        check=False,
    )
    seconds = time.monotonic() - started
    assert done.stdout, done.stderr
    wf: dict[str, Any] = json.loads(done.stdout)
    print(f"multistep-training took {seconds:.1f} s")
    return {"code": done.returncode, "wf": wf, "home": home, "seconds": seconds}


def node(ran: dict[str, Any], step: str) -> dict[str, Any]:
    """The node of task `step`."""
    wanted = f"{ran['wf']['metadata']['name']}.{step}"
    return next(n for n in ran["wf"]["status"]["nodes"].values() if n["name"] == wanted)


def params(ran: dict[str, Any], step: str) -> dict[str, str]:
    """The output parameters of task `step`."""
    return {p["name"]: p["value"] for p in node(ran, step)["outputs"]["parameters"]}


def artifact(ran: dict[str, Any], step: str, name: str) -> Path:
    """Where the local repository keeps output artifact `name` of task `step`."""
    outputs = node(ran, step)["outputs"]["artifacts"]
    stored = next(a for a in outputs if a["name"] == name)
    return Path(ran["home"]) / "artifacts" / stored["local"]["key"]


def test_it_succeeds_in_time(ran: dict[str, Any]) -> None:
    assert (ran["code"], ran["wf"]["status"]["phase"]) == (0, "Succeeded")
    assert ran["seconds"] < 180


def test_accuracy_on_the_held_out_split(ran: dict[str, Any]) -> None:
    accuracy = params(ran, "test")["accuracy"]
    assert float(accuracy) >= 0.90
    assert ran["wf"]["status"]["outputs"]["parameters"] == [{"name": "accuracy", "value": accuracy}]
    assert json.loads(params(ran, "test")["metrics"])["accuracy"] == pytest.approx(
        float(accuracy), abs=1e-4
    )


def test_the_pruned_model_has_the_requested_share_of_zeros(ran: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    assert float(params(ran, "prune")["sparsity"]) == pytest.approx(PRUNE_AMOUNT, abs=0.02)
    checkpoint = torch.load(artifact(ran, "prune", "model"), weights_only=True)
    weights = [v for k, v in checkpoint["state_dict"].items() if k.endswith("weight")]
    assert not [k for k in checkpoint["state_dict"] if k.endswith(("_orig", "_mask"))]
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros / sum(w.numel() for w in weights) == pytest.approx(PRUNE_AMOUNT, abs=0.02)


@pytest.mark.parametrize("step", STEPS)
def test_each_step_keeps_its_model_and_the_tensorboard_history(
    ran: dict[str, Any], step: str, tmp_path: Path
) -> None:
    assert artifact(ran, step, "model").stat().st_size > 0
    home = Path(ran["home"])
    name = ran["wf"]["metadata"]["name"]
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainyard",
            "artifacts",
            "get",
            name,
            step,
            "tensorboard",
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TRAINYARD_HOME": str(home)},
        check=False,
    )
    assert got.returncode == 0, got.stderr
    events = list(Path(got.stdout.strip()).rglob("*tfevents*"))
    # each step's artifact holds its own run and every earlier step's
    assert {e.parent.name for e in events} == set(STEPS[: STEPS.index(step) + 1])
    assert json.loads(params(ran, step)["metrics"])


def test_every_step_reads_the_previous_steps_model(ran: dict[str, Any]) -> None:
    for earlier, later in itertools.pairwise(STEPS):
        inputs = {a["name"]: a for a in node(ran, later)["inputs"]["artifacts"]}
        produced = {a["name"]: a for a in node(ran, earlier)["outputs"]["artifacts"]}
        for name in ("model", "tensorboard"):
            assert inputs[name]["local"] == produced[name]["local"], (later, name)
