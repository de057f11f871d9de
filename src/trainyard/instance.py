"""L5 composition: turn Settings into the concrete store, executor and artifact repositories."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from trainyard.artifacts.base import Repositories
from trainyard.artifacts.registry import ConfiguredRepositories
from trainyard.controller.lock import HomeLock
from trainyard.controller.loop import Controller
from trainyard.controller.queue import StepQueue
from trainyard.controller.secrets import SecretSource
from trainyard.core.clock import SystemClock
from trainyard.core.config import Config, SecretRef, load_config
from trainyard.core.errors import UserError
from trainyard.core.settings import Settings
from trainyard.executors.base import Executor
from trainyard.executors.gpus import GpuInfo, NvmlProbe, discover
from trainyard.executors.process import ProcessExecutor
from trainyard.scheduler import DEFAULT, NodeCapacity, Scheduler, TenantPolicy
from trainyard.service.access import Authenticator, NoAuthentication
from trainyard.service.auth import AuthService
from trainyard.spec.models import Workflow
from trainyard.spec.models.io import KeyRef
from trainyard.store.base import Store
from trainyard.store.sql import SqlStore


class Instance:
    """The backends of one TRAINYARD_HOME, created on first use."""

    def __init__(self, settings: Settings, project_dir: Path | None = None) -> None:
        self.settings = settings
        self.project_dir = project_dir
        self.lock = HomeLock(settings.home)
        self.volumes_dir = settings.home / "volumes"

    @cached_property
    def config(self) -> Config:
        """The home's config.yaml with the project's trainyard.yaml on top."""
        return load_config(self.settings.home, self.project_dir)

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
    def repositories(self) -> Repositories:
        """The artifact repositories of the config file (default: a directory in the home)."""
        return ConfiguredRepositories(self.config, self.settings.home, self._secret)

    def _secret(self, ref: SecretRef) -> str:
        """A credential from the local secret store (`trainyard secret create`)."""
        value = SecretSource(self.store).value(
            "Secret", self.settings.namespace, KeyRef(name=ref.name, key=ref.key)
        )
        if value is None:
            raise UserError(f"secret {ref.name!r} has no key {ref.key!r}")
        return value

    @cached_property
    def gpus(self) -> list[GpuInfo]:
        """The GPUs steps may be given (TRAINYARD_GPUS, config `gpus:`, else NVML)."""
        return discover(configured=self.config.gpus)

    def queue(self) -> StepQueue:
        """A queue over this machine's GPUs, CPU cores and memory, as the config file says."""
        node = NodeCapacity(
            "localhost",
            tuple(g.index for g in self.gpus),
            float(os.cpu_count() or 1),
            _memory_bytes(),
        )
        settings = self.config.queue
        tenants = TenantPolicy(
            weights={name: t.weight for name, t in settings.tenants.items()},
            gpu_quota={
                n: t.gpu_quota for n, t in settings.tenants.items() if t.gpu_quota is not None
            },
        )
        scheduler = Scheduler([node], settings.policy or DEFAULT, tenants)
        return StepQueue(scheduler, [g.index for g in self.gpus], node.name)

    def controller(self, on_change: Callable[[Workflow], None] | None = None) -> Controller:
        """A controller over this home's backends."""
        nvml_found = bool(self.gpus) and self.gpus[0].uuid.startswith("GPU-")
        probe = NvmlProbe() if nvml_found and self.config.queue.skip_busy_gpus else None
        return Controller(
            self.store,
            self.executor,
            self.repositories,
            self.volumes_dir,
            on_change=on_change,
            bind_inputs=self.settings.isolation != "none",
            queue=self.queue(),
            gpu_probe=probe,
            queue_file=self.settings.home / "queue.json",
        )

    def authenticator(self, mode: str) -> Authenticator:
        """Who callers are: from their API tokens, or (`none`) an anonymous admin."""
        return NoAuthentication() if mode == "none" else AuthService(self.store, SystemClock())

    def auth_notice(self, mode: str) -> str:
        """How to authenticate; on a first start in token mode, writes the admin token."""
        if mode == "none":
            return "authentication is off (--auth none): every caller is an admin"
        made = AuthService(self.store, SystemClock()).ensure_admin_token(self.settings.home)
        how = "send Authorization: Bearer <token> (more: `trainyard auth create-token USER`)"
        return f"{made}; {how}" if made else how

    def close(self) -> None:
        """Release connections and the controller lock."""
        if "store" in self.__dict__:
            self.store.close()
        self.lock.release()


def _memory_bytes() -> int:
    """This machine's memory, from /proc/meminfo (0 where it cannot be read)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
