"""The one place trainyard.job touches TensorBoard: open a scalar writer if a library for it
is installed, imported only when a step first logs a metric (so `import trainyard.job` stays
stdlib-only and fast).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, cast

WRITERS = (
    ("torch.utils.tensorboard", "SummaryWriter"),
    ("tensorboardX", "SummaryWriter"),
    ("tensorboard.summary", "Writer"),
)
"""Libraries tried in order; each has `(logdir)`, `add_scalar(tag, value, step)`, `flush`,
`close`. PyTorch's comes first as training code that has TensorBoard usually has it loaded."""


class ScalarWriter(Protocol):
    """What trainyard.job needs of a TensorBoard writer."""

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        """Record `value` for `tag` at `step`."""
        ...

    def flush(self) -> None:
        """Write what is buffered to the event file."""
        ...

    def close(self) -> None:
        """Flush and close the event file."""
        ...


def import_scalar_writer(logdir: Path) -> ScalarWriter | None:
    """A writer of event files into `logdir` from the first library of WRITERS that imports,
    or None when none is installed."""
    for module_name, class_name in WRITERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        writer_class = getattr(module, class_name, None)
        if writer_class is not None:
            logdir.mkdir(parents=True, exist_ok=True)
            return cast(ScalarWriter, writer_class(str(logdir)))
    return None
