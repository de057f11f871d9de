"""What the command line needs from the composition root, as a Protocol (no concrete classes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from trainyard.artifacts.base import Repositories
from trainyard.controller.lock import HomeLock
from trainyard.controller.loop import Controller
from trainyard.core.settings import Settings
from trainyard.executors.base import Executor
from trainyard.spec.models import Workflow
from trainyard.store.base import Store


class Services(Protocol):
    """The backends of one TRAINYARD_HOME."""

    settings: Settings
    lock: HomeLock
    volumes_dir: Path

    @property
    def store(self) -> Store:
        """The workflow store."""
        ...

    @property
    def executor(self) -> Executor:
        """The step executor."""
        ...

    @property
    def repositories(self) -> Repositories:
        """The configured artifact repositories."""
        ...

    def controller(self, on_change: Callable[[Workflow], None] | None = None) -> Controller:
        """A controller over these backends."""
        ...

    def close(self) -> None:
        """Release connections and the lock."""
        ...


class State:
    """Holds the factory the entry point gives the app, and the Services once built."""

    factory: Callable[[], Services] | None = None
    _services: Services | None = None

    @classmethod
    def services(cls) -> Services:
        """The Services for this invocation (built on first use)."""
        if cls._services is None:
            assert cls.factory is not None, "the CLI was started without a services factory"
            cls._services = cls.factory()
        return cls._services

    @classmethod
    def close(cls) -> None:
        """Close the Services if they were built."""
        if cls._services is not None:
            cls._services.close()
            cls._services = None
