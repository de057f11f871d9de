"""`trainyard engine`: drive the home's workflows in the foreground (or until idle)."""

from __future__ import annotations

import time

import typer

from trainyard.cli.output import err
from trainyard.cli.services import State

app = typer.Typer()


@app.command()
def engine(
    exit_when_idle: bool = typer.Option(
        False, "--exit-when-idle", help="Stop once no workflow is left unfinished."
    ),
) -> None:
    """Run the local engine: take over unfinished workflows (re-adopting running steps)."""
    services = State.services()
    while not services.lock.acquire():
        if exit_when_idle and not services.store.list(
            "Workflow", phases=["", "Pending", "Running"]
        ):
            return
        time.sleep(0.5)
    controller = services.controller()
    controller.recover()
    err.print(f"engine: driving {len(controller.live)} workflow(s)", highlight=False)
    try:
        while True:
            controller.step(timeout=1.0)
            if exit_when_idle and not controller.busy():
                return
    except KeyboardInterrupt:
        err.print("engine: stopped; running steps go on and are re-adopted next time")
