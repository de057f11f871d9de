"""The Executor protocol: launch a step, learn when it ended, stop it, re-adopt it after a crash.

Contracts every implementation keeps:
- `launch` is idempotent per `StepLaunch.key`: a key that was launched before (by this
  process or an earlier one) is not started again.
- A step's process never depends on the process that launched it: killing the controller
  (even with SIGKILL) leaves running steps running, and their results are kept on disk.
- `poll` returns each step's final `StepResult` once per executor instance (and, for a
  daemon, a "ready" one once its main command is ready); `adopt` lets a new instance take
  over keys that an earlier (dead) controller launched.
- `kill` and `release` are idempotent; a key with no running supervisor is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


class PathMap(Protocol):
    """Turns an absolute path as the step sees it into the host path that holds it."""

    def host(self, path: str) -> Path:
        """The host path behind `path` (an absolute path in the step's view)."""
        ...


@dataclass(frozen=True)
class Mount:
    """A host directory or file shown to the step at `target`."""

    target: str
    source: Path
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """Run the step in a container of `image` (podman or docker) rather than as a host process.

    With `entrypoint`, the step's command is only the arguments of the image's entrypoint.
    `gpus` are the host's device indices the queue gave the step.
    """

    image: str
    name: str
    entrypoint: bool = False
    engine: str = "podman"
    extra_args: tuple[str, ...] = ()
    cpus: float | None = None
    memory: int | None = None
    gpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class SideContainer:
    """An init container or sidecar: another command in the step's view of the filesystem.

    `env` holds its own variables (as `StepLaunch.env` does for the main command).
    """

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    """A readinessProbe: `exec` a command, GET `http://127.0.0.1:port/path`, or connect to
    `127.0.0.1:port` (kind "exec", "http" or "tcp"); ready after `success_threshold`
    successes in a row."""

    kind: str
    command: tuple[str, ...] = ()
    port: int = 0
    path: str = "/"
    scheme: str = "http"
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1


@dataclass
class StepLaunch:
    """Everything needed to run one attempt of a pod-like node.

    `private_paths` are absolute paths the step owns (artifact and output parameter paths,
    the script staging dir): when steps are isolated each step sees its own copy, created
    under its step directory, and `/tmp` is always private. `prepare` and `collect` run in
    the step's supervisor, a forked copy of the launching process: they reach the step's
    files through the PathMap and must open their own connections (inherited descriptors
    are closed there).
    """

    key: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    private_paths: list[str] = field(default_factory=list)
    deadline_seconds: float | None = None
    # Run inside the supervisor before the command starts (stage inputs, write the script).
    prepare: Callable[[PathMap], None] | None = None
    # Run inside the supervisor after the command ended; returns JSON-able outputs.
    collect: Callable[[PathMap, int], dict[str, Any]] | None = None
    # Run inside the supervisor once the step's log is complete (even when it failed): stores
    # the log given and returns the artifact to add to the outputs (Argo's `main-logs`).
    archive_log: Callable[[Path], dict[str, Any]] | None = None
    # Run in a container; `env` then holds only the step's own variables.
    container: ContainerSpec | None = None
    # Run one after another before the command; the first that fails ends the step.
    init_containers: list[SideContainer] = field(default_factory=list)
    # Started before the command, stopped when it ends; their exit codes do not count.
    sidecars: list[SideContainer] = field(default_factory=list)
    # A daemon: `poll` reports "ready" once the command started and `readiness` passed.
    daemon: bool = False
    readiness: Probe | None = None
    # When the command fails, its last stderr line is the node's message (as a pod's
    # termination message is in Kubernetes): how the http step says why it failed.
    stderr_message: bool = False


@dataclass(frozen=True)
class StepResult:
    """How a step ended (or that it started), as read from the supervisor's files."""

    key: str
    state: str  # "running" | "ready" (a daemon) | "exited" | "error"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    message: str | None = None
    outputs: dict[str, Any] | None = None
    # What the step wrote to stdout (Argo's `outputs.result`), at most 256 KiB of it.
    stdout: str | None = None
    stdout_truncated: bool = False


class Executor(Protocol):
    """Runs steps as detached, supervised processes."""

    def launch(self, step: StepLaunch) -> None:
        """Start `step` unless its key was launched already (then it is only tracked again).

        Raises EnvironmentError_ when this machine cannot isolate steps as configured, and
        ExecutionError when the supervisor cannot be started. Problems of the step itself
        (a failing `prepare`, a missing command) are not raised: they end in its StepResult.
        """
        ...

    def adopt(self, keys: list[str]) -> list[StepResult]:
        """Take over steps launched earlier; returns the current state of each key.

        A running step is returned with state "running" and is reported by `poll` when it
        ends; a finished one is returned with its result and is not reported again. A key
        that was never launched (no trace on disk) is left out: the caller starts it.
        """
        ...

    def poll(self, timeout: float) -> list[StepResult]:
        """Wait up to `timeout` seconds for steps to end; return those that ended since last poll.

        Final states ("exited", "error") are returned once each, and so is "ready" for a
        daemon whose command is ready.
        """
        ...

    def kill(self, key: str, message: str) -> None:
        """Stop the step's process group (SIGTERM, then SIGKILL after the grace period).

        `message` becomes the message of its result. Does nothing if the step has ended.
        """
        ...

    def supervisor_pids(self) -> set[int]:
        """Process ids of the supervisors of running steps (their steps run below them)."""
        ...

    def log_path(self, key: str) -> Path:
        """The step's log file: one line per output line, prefixed with an RFC 3339 timestamp."""
        ...

    def forget(self, key: str) -> None:
        """Delete everything of a finished step, its log and result included.

        Raises ConflictError if the step is still running.
        """
        ...

    def release(self, key: str) -> None:
        """Forget a finished step's private files (its log and result are kept).

        Raises ConflictError if the step is still running.
        """
        ...
