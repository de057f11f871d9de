"""`trainyard engine`: drive the home's workflows in the foreground (or until idle)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import time
from types import FrameType

import typer

from trainyard.cli.output import err
from trainyard.cli.services import State

app = typer.Typer()
PR_SET_PDEATHSIG = 1


class _Stop:
    """Set by SIGTERM (or the parent's death): the loop ends between two rounds, never mid-write."""

    def __init__(self, parent_pid: int | None) -> None:
        self.parent_pid = parent_pid
        self.requested = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        return self.requested or (self.parent_pid is not None and os.getppid() != self.parent_pid)


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent process ends, even by SIGKILL."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the parent check in the loop still ends the engine within a second


@app.command()
def engine(
    exit_when_idle: bool = typer.Option(
        False, "--exit-when-idle", help="Stop once no workflow is left unfinished."
    ),
    parent_pid: int | None = typer.Option(
        None, "--parent-pid", hidden=True, help="Stop when this process (the server) is gone."
    ),
) -> None:
    """Run the local engine: take over unfinished workflows (re-adopting running steps)."""
    stop = _Stop(parent_pid)
    if parent_pid is not None:
        _die_with_parent()
        signal.signal(signal.SIGTERM, stop.handle)
    services = State.services()
    while not services.lock.acquire():
        if stop or (
            exit_when_idle
            and not services.store.list("Workflow", phases=["", "Pending", "Running"])
        ):
            return
        time.sleep(0.5)
    controller = services.controller()
    controller.recover()
    err.print(f"engine: driving {len(controller.live)} workflow(s)", highlight=False)
    try:
        while not stop:
            controller.step(timeout=1.0)
            if exit_when_idle and not controller.busy():
                return
    except KeyboardInterrupt:
        pass
    err.print("engine: stopped; running steps go on and are re-adopted next time")
