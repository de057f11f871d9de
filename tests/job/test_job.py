"""trainyard.job finds what a step's template declares, and says how to declare what it lacks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trainyard import job
from trainyard.job import Job, JobError, Metrics, StepTemplate
from trainyard.job.tensorboard import import_scalar_writer


def template(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """A resolved `train` template as Argo passes it, with every path under `tmp_path`."""
    doc: dict[str, Any] = {
        "name": "train",
        "inputs": {
            "parameters": [
                {"name": "epochs", "value": "3"},
                {"name": "lr", "value": "0.01"},
                {"name": "shuffle", "value": "false"},
                {"name": "note"},
            ],
            "artifacts": [
                {"name": "model", "path": str(tmp_path / "in" / "model.pt")},
                {"name": "tensorboard", "path": str(tmp_path / "in" / "tensorboard")},
            ],
        },
        "outputs": {
            "parameters": [
                {"name": "accuracy", "valueFrom": {"path": str(tmp_path / "out" / "accuracy")}},
                {"name": "metrics", "valueFrom": {"path": str(tmp_path / "out" / "m.json")}},
                {"name": "best", "valueFrom": {"parameter": "{{steps.a.outputs.result}}"}},
            ],
            "artifacts": [
                {"name": "model", "path": str(tmp_path / "out" / "deep" / "model.pt")},
                {"name": "tensorboard", "path": str(tmp_path / "out" / "tensorboard")},
            ],
        },
        "container": {"image": "python:3.12", "command": ["python3", "train.py"]},
    }
    doc.update(extra)
    return doc


def env_for(doc: dict[str, Any]) -> dict[str, str]:
    return {
        "ARGO_TEMPLATE": json.dumps(doc),
        "ARGO_WORKFLOW_NAME": "wf-abc",
        "ARGO_NODE_ID": "wf-abc-123",
    }


@pytest.fixture
def step(tmp_path: Path) -> Job:
    return Job.from_env(env_for(template(tmp_path)))


class FakeWriter:
    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.scalars: list[tuple[str, float, int]] = []
        self.flushes = 0
        self.closed = False

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars.append((tag, value, step))

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True


def test_parameters_are_converted(step: Job) -> None:
    assert step.param("epochs") == "3"
    assert step.param("epochs", int) == 3
    assert step.param("lr", float) == 0.01
    assert step.param("shuffle", bool) is False
    assert step.param("batch_size", int, default=32) == 32
    assert step.param("batch_size", default=None) is None


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("Yes", True), ("1", True), ("off", False), ("0", False)]
)
def test_bool_parameters(tmp_path: Path, text: str, value: bool) -> None:
    doc = template(tmp_path, inputs={"parameters": [{"name": "flag", "value": text}]})
    assert Job.from_env(env_for(doc)).param("flag", bool) is value


def test_a_declared_parameter_wins_over_the_default(step: Job) -> None:
    assert step.param("epochs", int, default=10) == 3


def test_an_undeclared_parameter_says_how_to_declare_it(step: Job) -> None:
    with pytest.raises(JobError) as caught:
        step.param("batch_size", int)
    message = str(caught.value)
    assert "input parameter 'batch_size' is not declared by template 'train'" in message
    assert "{name: batch_size, value: ...}" in message and "inputs.parameters" in message


def test_a_parameter_without_value(step: Job) -> None:
    with pytest.raises(JobError, match="input parameter 'note' of template 'train' has no value"):
        step.param("note")


def test_a_malformed_parameter(step: Job) -> None:
    with pytest.raises(JobError, match=r"input parameter 'lr' is '0.01', not a valid int"):
        step.param("lr", int)
    with pytest.raises(JobError, match="not a valid bool"):
        step.param("epochs", bool)


def test_outside_argo_the_error_says_so() -> None:
    outside = Job.from_env({})
    assert not outside.template.present
    assert outside.param("epochs", int, default=5) == 5
    with pytest.raises(JobError) as caught:
        outside.input("model")
    assert "ARGO_TEMPLATE is not set" in str(caught.value)
    assert "{name: model, path: /tmp/inputs/model}" in str(caught.value)


def test_artifact_paths(step: Job, tmp_path: Path) -> None:
    assert step.input("model") == tmp_path / "in" / "model.pt"
    out = step.output("model")
    assert out == tmp_path / "out" / "deep" / "model.pt"
    assert out.parent.is_dir() and not out.exists()


def test_undeclared_artifacts(step: Job) -> None:
    with pytest.raises(JobError, match="input artifact 'data' is not declared by template"):
        step.input("data")
    with pytest.raises(JobError, match=r"outputs\.artifacts"):
        step.output("metrics")


def test_output_parameters_are_written(step: Job, tmp_path: Path) -> None:
    step.output_parameter("accuracy", 0.93)
    assert (tmp_path / "out" / "accuracy").read_text() == "0.93"
    step.output_parameter("accuracy", True)
    assert (tmp_path / "out" / "accuracy").read_text() == "true"
    assert os.stat(tmp_path / "out" / "accuracy").st_mode & 0o777 == 0o644


def test_output_parameters_need_a_path(step: Job) -> None:
    with pytest.raises(JobError, match="output parameter 'best' of template 'train' has no "):
        step.output_parameter("best", 1)
    with pytest.raises(JobError, match=r"\{name: loss, valueFrom: \{path: /tmp/outputs/loss\}\}"):
        step.output_parameter("loss", 1)


def test_context_from_argo_variables(step: Job) -> None:
    assert (step.name, step.workflow_name, step.node_id) == ("train", "wf-abc", "wf-abc-123")


def test_a_broken_template_variable() -> None:
    with pytest.raises(JobError, match="ARGO_TEMPLATE is not valid JSON"):
        StepTemplate.from_env({"ARGO_TEMPLATE": "{"})
    with pytest.raises(JobError, match="must be a JSON object"):
        StepTemplate.from_env({"ARGO_TEMPLATE": "[]"})


def test_metrics_go_to_the_declared_file(tmp_path: Path) -> None:
    doc = template(tmp_path)
    doc["outputs"]["artifacts"] = []  # no tensorboard output: the JSON file only
    metrics = Job.from_env(env_for(doc)).metrics
    metrics.log(step=1, loss=0.5, accuracy=0.7)
    metrics.log(step=2, loss=0.25, samples=100)
    written = json.loads((tmp_path / "out" / "m.json").read_text())
    assert written == {"accuracy": 0.7, "loss": 0.25, "samples": 100}
    assert isinstance(written["samples"], int)
    assert metrics.values == written
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["m.json"]  # no staging left


def test_metrics_default_to_tmp_outputs() -> None:
    assert Job.from_env({}).metrics.path == Path("/tmp/outputs/metrics.json")


def test_metric_values_must_be_numbers(tmp_path: Path) -> None:
    metrics = Metrics(tmp_path / "m.json", lambda: None)
    for bad in ("0.5", True, None, [1.0]):
        with pytest.raises(JobError, match=r"metric 'loss' is .*, not a number"):
            metrics.log(loss=bad)


def test_non_finite_values_stay_out_of_the_file(tmp_path: Path) -> None:
    writers: list[FakeWriter] = []
    metrics = Metrics(tmp_path / "m.json", lambda: tmp_path / "tb", _keep(writers))
    metrics.log(loss=math.nan, accuracy=0.5)
    assert json.loads((tmp_path / "m.json").read_text()) == {"accuracy": 0.5}
    assert math.isnan(writers[0].scalars[0][1])


def _keep(writers: list[FakeWriter]) -> Any:
    def open_writer(logdir: Path) -> FakeWriter:
        writers.append(FakeWriter(logdir))
        return writers[-1]

    return open_writer


def test_metrics_become_scalars(tmp_path: Path) -> None:
    writers: list[FakeWriter] = []
    metrics = Metrics(tmp_path / "m.json", lambda: tmp_path / "tb", _keep(writers))
    metrics.log(loss=1.0)
    metrics.log(loss=0.5, accuracy=0.75)
    metrics.log(step=10, loss=0.25)
    assert len(writers) == 1 and writers[0].logdir == tmp_path / "tb"
    assert writers[0].scalars == [
        ("loss", 1.0, 0),
        ("loss", 0.5, 1),
        ("accuracy", 0.75, 1),
        ("loss", 0.25, 10),
    ]
    assert writers[0].flushes == 3
    metrics.close()
    assert writers[0].closed
    metrics.close()  # twice is fine


def test_without_a_writer_library_it_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = Metrics(tmp_path / "m.json", lambda: tmp_path / "tb", lambda _: None)
    metrics.log(loss=1.0)
    metrics.log(loss=0.5)
    assert capsys.readouterr().err.count("no TensorBoard writer installed") == 1
    assert json.loads((tmp_path / "m.json").read_text()) == {"loss": 0.5}


def test_the_tensorboard_run_carries_the_earlier_runs(step: Job, tmp_path: Path) -> None:
    earlier = tmp_path / "in" / "tensorboard" / "pretrain"
    earlier.mkdir(parents=True)
    (earlier / "events.out.tfevents.1").write_bytes(b"x")
    logdir = step.tensorboard_logdir()
    assert logdir == tmp_path / "out" / "tensorboard" / "train"
    assert logdir.is_dir()
    copied = tmp_path / "out" / "tensorboard" / "pretrain" / "events.out.tfevents.1"
    assert copied.read_bytes() == b"x"
    copied.unlink()
    assert step.tensorboard_logdir() == logdir
    assert not copied.exists()  # copied once only


def test_no_tensorboard_output_no_run(tmp_path: Path) -> None:
    doc = template(tmp_path)
    doc["outputs"]["artifacts"] = []
    assert Job.from_env(env_for(doc)).tensorboard_logdir() is None


def test_real_event_files(step: Job, tmp_path: Path) -> None:
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="TensorBoard is not installed (pip install -e '.[examples]')",
    )
    probe = import_scalar_writer(tmp_path / "probe")
    if probe is None:
        pytest.skip("no TensorBoard writer library installed")
    probe.close()
    step.metrics.log(step=1, loss=0.5)
    step.metrics.log(step=2, loss=0.25)
    step.metrics.close()
    events = accumulator.EventAccumulator(str(tmp_path / "out" / "tensorboard" / "train"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(1, 0.5), (2, 0.25)]


def test_the_module_functions_follow_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = template(tmp_path)
    doc["outputs"]["artifacts"] = [{"name": "model", "path": str(tmp_path / "o" / "m.pt")}]
    monkeypatch.setenv("ARGO_TEMPLATE", json.dumps(doc))
    assert job.param("epochs", int) == 3
    assert job.input("model") == tmp_path / "in" / "model.pt"
    assert job.output("model") == tmp_path / "o" / "m.pt"
    assert job.tensorboard_logdir() is None
    job.output_parameter("accuracy", "0.9")
    job.metrics.log(loss=0.1)
    assert job.metrics.values == {"loss": 0.1}
    assert job.current() is job.current()
    job.metrics.close()
    monkeypatch.setenv("ARGO_TEMPLATE", json.dumps(template(tmp_path, name="test")))
    assert job.current().name == "test"
    assert job.metrics.values == {}


def test_importing_it_loads_only_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import trainyard.job; "
        "print(*sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] not in sys.stdlib_module_names))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    own = {"trainyard", "trainyard.core", "trainyard.core.errors"}
    assert {m for m in done.stdout.split() if not m.startswith("trainyard.job")} == own
