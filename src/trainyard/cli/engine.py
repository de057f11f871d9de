"""Who drives workflows: this process (holding the home's lock), or a background engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from trainyard.cli.services import Services
from trainyard.controller.loop import Controller
from trainyard.core.errors import TrainyardError
from trainyard.engine import operations
from trainyard.spec.models import Workflow

KIND = "Workflow"
UNFINISHED = ["", "Pending", "Running"]
WATCH_INTERVAL = 0.2


def spawn_background(services: Services) -> None:
    """Start a detached `trainyard engine --exit-when-idle` that finishes what is left."""
    home = services.settings.home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "engine.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "trainyard", "engine", "--exit-when-idle"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env={**os.environ, "TRAINYARD_HOME": str(home)},
        )


def ensure_engine(services: Services) -> None:
    """If unfinished workflows have nobody driving them, start a background engine."""
    if services.lock.held_elsewhere():
        return
    if services.store.list(KIND, phases=UNFINISHED):
        spawn_background(services)


def hand_off(services: Services, controller: Controller) -> None:
    """Before this process lets go of the home, leave unfinished work to a background engine."""
    services.lock.release()
    if controller.busy():
        spawn_background(services)


def _finished(wf: Workflow) -> bool:
    return wf.status is not None and wf.status.phase in ("Succeeded", "Failed", "Error")


class Driver:
    """Runs one workflow to its end, as the controller or by watching another one."""

    def __init__(self, services: Services, on_change: Callable[[Workflow], None]) -> None:
        self.services = services
        self.on_change = on_change
        self.controller: Controller | None = None
        self.latest: dict[tuple[str, str], Workflow] = {}

    def _changed(self, wf: Workflow) -> None:
        self.latest[(wf.metadata.namespace or "default", wf.metadata.name or "")] = wf

    def _take_over(self) -> bool:
        if self.controller is None and self.services.lock.acquire():
            self.controller = self.services.controller(on_change=self._changed)
            self.controller.recover()
        return self.controller is not None

    def submit(self, wf: Workflow) -> Workflow:
        """Store `wf`; take the controller role if nobody holds it."""
        if self._take_over():
            assert self.controller is not None
            return self.controller.submit(wf)
        return Workflow.model_validate(self.services.store.create(KIND, wf.dump()))

    def wait(
        self, namespace: str, name: str, interrupted: Callable[[], bool] | None = None
    ) -> Workflow:
        """Block until the workflow is finished; returns its final state.

        When `interrupted()` turns true, the workflow is asked to stop (once).
        """
        key = (namespace, name)
        current = self.get(namespace, name)
        self.on_change(current)
        stopping = False
        while not _finished(current):
            if interrupted is not None and not stopping and interrupted():
                stopping = True
                self._stop(current)
            if self._take_over():
                assert self.controller is not None
                self.controller.step(timeout=0.5)
                found = self.latest.pop(key, None)
            else:
                time.sleep(WATCH_INTERVAL)
                found = self.get(namespace, name)
                if found.metadata.resource_version == current.metadata.resource_version:
                    found = None
            if found is not None:
                current = found
                self.on_change(current)
        return current

    def get(self, namespace: str, name: str) -> Workflow:
        """The stored workflow."""
        return Workflow.model_validate(self.services.store.get(KIND, namespace, name))

    def _stop(self, wf: Workflow) -> None:
        """Ask the workflow to stop (its exit handler still runs)."""
        meta = wf.metadata
        try:
            fresh = self.get(meta.namespace or "default", meta.name or "")
            self.services.store.update(KIND, operations.stop(fresh).dump())
        except TrainyardError:
            return  # it finished in the meantime

    def close(self) -> None:
        """Leave unfinished work to a background engine and release the home."""
        if self.controller is not None:
            hand_off(self.services, self.controller)
