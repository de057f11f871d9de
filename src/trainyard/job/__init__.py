"""trainyard.job: an optional helper for a step's own training code; stdlib only.

It reads what Argo (or trainyard's local engine) gives every step, the resolved template in
`ARGO_TEMPLATE` and `ARGO_*` variables, so code asks for things by the names the workflow
declares instead of repeating paths::

    from trainyard import job

    epochs = job.param("epochs", int, default=10)     # inputs.parameters
    weights = job.input("model")                      # inputs.artifacts[].path
    torch.save(state, job.output("model"))            # outputs.artifacts[].path, parent made
    job.metrics.log(step=epoch, loss=loss)            # metrics file + TensorBoard scalars
    job.output_parameter("accuracy", 0.97)            # outputs.parameters[].valueFrom.path

Metrics: the latest value of each goes, as a JSON object, to the file of the `metrics` output
parameter (`{name: metrics, valueFrom: {path: /tmp/outputs/metrics.json, default: "{}"}}`), and
every value becomes a TensorBoard scalar in `<tensorboard output artifact>/<template name>`
when a TensorBoard writer is installed; the `tensorboard` input artifact, if any, is copied in
first so the history of earlier steps carries on. Nothing in trainyard requires this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

from trainyard.job.metrics import Metrics, Number
from trainyard.job.step import MISSING, Job
from trainyard.job.template import TEMPLATE_ENV, JobError, StepTemplate

__all__ = [
    "Job",
    "JobError",
    "Metrics",
    "StepTemplate",
    "current",
    "input",
    "metrics",
    "output",
    "output_parameter",
    "param",
    "tensorboard_logdir",
]

T = TypeVar("T")
D = TypeVar("D")


class _Current:
    """The Job of this process, made again only if `ARGO_TEMPLATE` changes (as in tests)."""

    key: str | None = None
    job: Job | None = None


def current() -> Job:
    """The Job this process runs as, read from its environment."""
    key = os.environ.get(TEMPLATE_ENV)
    if _Current.job is None or key != _Current.key:
        _Current.job, _Current.key = Job.from_env(), key
    return _Current.job


@overload
def param(name: str) -> str: ...
@overload
def param(name: str, *, default: D) -> str | D: ...
@overload
def param(name: str, type: Callable[[str], T]) -> T: ...
@overload
def param(name: str, type: Callable[[str], T], *, default: D) -> T | D: ...


def param(name: str, type: Callable[[str], Any] = str, *, default: Any = MISSING) -> Any:
    """The input parameter `name`, converted with `type`; see `Job.param`."""
    return current().param(name, type, default=default)


def input(name: str) -> Path:
    """Where the input artifact `name` lies; see `Job.input`."""
    return current().input(name)


def output(name: str) -> Path:
    """Where to write the output artifact `name`; see `Job.output`."""
    return current().output(name)


def output_parameter(name: str, value: object) -> None:
    """Set the output parameter `name`; see `Job.output_parameter`."""
    current().output_parameter(name, value)


def tensorboard_logdir() -> Path | None:
    """This step's TensorBoard run directory, for a writer of your own; see `Job`."""
    return current().tensorboard_logdir()


class _CurrentMetrics:
    """`trainyard.job.metrics`: the Metrics of the current step."""

    @property
    def values(self) -> dict[str, Number]:
        """The latest value of each metric logged so far."""
        return current().metrics.values

    def log(self, step: int | None = None, **values: object) -> None:
        """Record metrics, e.g. `log(step=epoch, loss=0.31)`; see `Metrics.log`."""
        current().metrics.log(step, **values)

    def close(self) -> None:
        """Close the TensorBoard event file (done at exit anyway)."""
        current().metrics.close()


metrics = _CurrentMetrics()
