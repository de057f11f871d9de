"""L5 composition: turn Settings into the concrete store, executor and artifact repository."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from trainyard.artifacts.base import ArtifactRepository
from trainyard.artifacts.local import LocalArtifactRepository
from trainyard.controller.lock import HomeLock
from trainyard.controller.loop import Controller
from trainyard.core.settings import Settings
from trainyard.executors.base import Executor
from trainyard.executors.process import ProcessExecutor
from trainyard.spec.models import Workflow
from trainyard.store.base import Store
from trainyard.store.sql import SqlStore


class Instance:
    """The backends of one TRAINYARD_HOME, created on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = HomeLock(settings.home)
        self.volumes_dir = settings.home / "volumes"

    @cached_property
    def store(self) -> Store:
        """The workflow store (SQLite under the home, or TRAINYARD_DATABASE_URL)."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        return SqlStore(self.settings.database_url)

    @cached_property
    def executor(self) -> Executor:
        """Runs steps as supervised host processes."""
        return ProcessExecutor(self.settings.steps_dir, self.settings.isolation)

    @cached_property
    def repository(self) -> ArtifactRepository:
        """The default artifact repository (a directory under the home)."""
        return LocalArtifactRepository(self.settings.artifacts_dir)

    def controller(self, on_change: Callable[[Workflow], None] | None = None) -> Controller:
        """A controller over this home's backends."""
        return Controller(
            self.store,
            self.executor,
            self.repository,
            self.volumes_dir,
            on_change=on_change,
        )

    def close(self) -> None:
        """Release connections and the controller lock."""
        if "store" in self.__dict__:
            self.store.close()
        self.lock.release()
