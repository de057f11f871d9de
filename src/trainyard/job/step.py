"""Job: one running step as its own code sees it: parameters, artifact paths, output
parameters and metrics, all found through the template and variables Argo gives the step.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from trainyard.job.metrics import Metrics, write_atomically
from trainyard.job.template import JobError, StepTemplate

T = TypeVar("T")
D = TypeVar("D")

METRICS_PARAMETER = "metrics"
"""The output parameter whose file holds the step's metrics as a JSON object."""
DEFAULT_METRICS_PATH = "/tmp/outputs/metrics.json"
"""Where metrics go when the template declares no `metrics` output parameter."""
TENSORBOARD_ARTIFACT = "tensorboard"
"""The input and output artifacts that hold TensorBoard event files."""

MISSING: Any = object()
"""The default of `default`: none given."""
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}


class Job:
    """One running step: its resolved template and Argo's environment variables."""

    def __init__(self, template: StepTemplate, env: Mapping[str, str] | None = None) -> None:
        """The step declared by `template`, with Argo's variables in `env`."""
        self.template = template
        self.env = dict(env or {})
        metrics_path = template.output_parameters.get(METRICS_PARAMETER) or DEFAULT_METRICS_PATH
        self.metrics = Metrics(Path(metrics_path), self.tensorboard_logdir)
        self._carried = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Job:
        """The step described by `env` (default: this process's environment)."""
        env = os.environ if env is None else env
        return cls(StepTemplate.from_env(env), env)

    @property
    def name(self) -> str:
        """The template's name ("" outside Argo)."""
        return self.template.name

    @property
    def workflow_name(self) -> str:
        """The workflow's name (`ARGO_WORKFLOW_NAME`; "" outside Argo)."""
        return self.env.get("ARGO_WORKFLOW_NAME", "")

    @property
    def node_id(self) -> str:
        """The node's id (`ARGO_NODE_ID`; "" outside Argo)."""
        return self.env.get("ARGO_NODE_ID", "")

    @overload
    def param(self, name: str) -> str: ...
    @overload
    def param(self, name: str, *, default: D) -> str | D: ...
    @overload
    def param(self, name: str, type: Callable[[str], T]) -> T: ...
    @overload
    def param(self, name: str, type: Callable[[str], T], *, default: D) -> T | D: ...

    def param(self, name: str, type: Callable[[str], Any] = str, *, default: Any = MISSING) -> Any:
        """The input parameter `name` converted with `type` (str, int, float, bool, ...).

        `default` is returned when the template does not declare the parameter; without one,
        that is an error that says how to declare it. `bool` accepts true/false, yes/no, 1/0.
        """
        if name not in self.template.parameters and default is not MISSING:
            return default
        raw = self.template.parameter(name)
        try:
            return _bool(raw) if type is bool else type(raw)
        except (TypeError, ValueError) as exc:
            kind = getattr(type, "__name__", str(type))
            raise JobError(f"input parameter {name!r} is {raw!r}, not a valid {kind}") from exc

    def input(self, name: str) -> Path:
        """Where the input artifact `name` lies (a file or a directory, as it was saved)."""
        return self.template.input_path(name)

    def output(self, name: str) -> Path:
        """Where to write the output artifact `name`; its parent directory exists."""
        path = self.template.output_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def output_parameter(self, name: str, value: object) -> None:
        """Set the output parameter `name` (declared with `valueFrom.path`) to `value`."""
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        write_atomically(self.template.output_parameter_path(name), text)

    def tensorboard_logdir(self) -> Path | None:
        """This step's TensorBoard run directory: `<tensorboard output>/<template name>`.

        None when the template declares no `tensorboard` output artifact. On first use the
        event files of the `tensorboard` input artifact (the earlier steps' runs) are copied
        into the output, so each step's artifact holds the whole history so far.
        """
        if not self.template.output_artifacts.get(TENSORBOARD_ARTIFACT):
            return None
        root = self.output(TENSORBOARD_ARTIFACT)
        if not self._carried:
            self._carried = True
            previous = self.template.input_artifacts.get(TENSORBOARD_ARTIFACT)
            if previous and Path(previous).is_dir():
                shutil.copytree(previous, root, dirs_exist_ok=True)
        logdir = root / (self.name or "step")
        logdir.mkdir(parents=True, exist_ok=True)
        return logdir


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(text)
