"""Metrics: a step's scalar metrics, kept where trainyard (and Argo) can read them.

The latest value of each metric goes to a JSON object `{name: number}` in the file behind the
step's `metrics` output parameter, rewritten atomically on every `log`, so a step that dies
halfway still reports what it had. Every value also becomes a TensorBoard scalar when a
TensorBoard writer library is installed and the step declares a `tensorboard` output.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from trainyard.job.template import JobError
from trainyard.job.tensorboard import ScalarWriter, import_scalar_writer

Number = int | float


class Metrics:
    """The metrics of one step; see the module docstring for where they go."""

    def __init__(
        self,
        path: Path,
        logdir: Callable[[], Path | None],
        open_writer: Callable[[Path], ScalarWriter | None] = import_scalar_writer,
    ) -> None:
        """Metrics written to the JSON file `path` and, as TensorBoard scalars, into the
        directory `logdir()` returns (asked on the first `log`; None: no TensorBoard)."""
        self.path = path
        self._logdir = logdir
        self._open_writer = open_writer
        self._writer: ScalarWriter | None = None
        self._writer_tried = False
        self._latest: dict[str, Number] = {}
        self._calls = 0

    @property
    def values(self) -> dict[str, Number]:
        """The latest value of each metric logged so far."""
        return dict(self._latest)

    def log(self, step: int | None = None, **values: object) -> None:
        """Record metrics, e.g. `log(step=epoch, loss=0.31, accuracy=0.92)`.

        Values are numbers (Python, NumPy or 0-d tensor scalars). `step` is the x axis in
        TensorBoard (default: the number of earlier `log` calls). Non-finite values (NaN, inf)
        reach TensorBoard but not the JSON file, which holds only numbers.
        """
        numbers = {name: _number(name, value) for name, value in values.items()}
        at = self._calls if step is None else int(step)
        self._calls += 1
        self._latest.update(numbers)
        self._write_file()
        writer = self._writer_for_first_use()
        if writer is not None:
            for name, value in numbers.items():
                writer.add_scalar(name, float(value), at)
            writer.flush()

    def close(self) -> None:
        """Close the TensorBoard event file; called at exit if not before."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            atexit.unregister(self.close)

    def _write_file(self) -> None:
        finite = {k: v for k, v in self._latest.items() if math.isfinite(v)}
        write_atomically(self.path, json.dumps(finite, sort_keys=True))

    def _writer_for_first_use(self) -> ScalarWriter | None:
        if not self._writer_tried:
            self._writer_tried = True
            logdir = self._logdir()
            if logdir is not None:
                self._writer = self._open_writer(logdir)
                if self._writer is None:
                    print(
                        "trainyard.job: no TensorBoard writer installed (torch with "
                        "tensorboard, tensorboardX or tensorboard); metrics go to "
                        f"{self.path} only",
                        file=sys.stderr,
                    )
                else:
                    atexit.register(self.close)
        return self._writer


def _number(name: str, value: object) -> Number:
    if isinstance(value, bool | str | bytes):
        raise JobError(f"metric {name!r} is {value!r}, not a number")
    if isinstance(value, int):
        return value
    try:
        return float(value)  # type: ignore[arg-type]  # NumPy and torch scalars convert
    except (TypeError, ValueError) as exc:
        raise JobError(f"metric {name!r} is {value!r}, not a number") from exc


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: a reader sees the old file or the new one, whole (also used
    for output parameters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide it from a sidecar of another user
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
