"""ProcessExecutor: each step runs as a host process under its own detached supervisor."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from trainyard.core.clock import parse_time
from trainyard.core.errors import ConfigError, ConflictError, ExecutionError
from trainyard.core.settings import ISOLATION_MODES
from trainyard.executors.base import SideContainer, StepLaunch, StepResult
from trainyard.executors.sandbox import SandboxOptions, probe_bwrap
from trainyard.executors.stepdir import (
    StepDir,
    SupervisorId,
    drain,
    is_alive,
    open_notify_reader,
    read_json,
    read_pid,
    write_atomic,
    write_json,
)
from trainyard.executors.supervisor import SupervisorJob, now_text, reap, spawn

log = logging.getLogger(__name__)

# Without a wake-up, look this often whether supervisors died without a result.
_LIVENESS_INTERVAL_S = 1.0


class ProcessExecutor:
    """Runs steps as host processes, each under a detached supervisor; see `Executor`.

    `isolation` is "auto" or "bwrap" (private paths through bubblewrap; an error if this
    machine cannot) or "none" (steps share the host's paths, knowingly).
    """

    def __init__(
        self, steps_dir: Path, isolation: str, kill_grace: float = 10.0, bwrap: str = "bwrap"
    ) -> None:
        if isolation not in ISOLATION_MODES:
            raise ConfigError(f"isolation {isolation!r} is not one of {', '.join(ISOLATION_MODES)}")
        steps_dir.mkdir(parents=True, exist_ok=True)
        self._steps_dir = steps_dir
        self._isolation = isolation
        self._kill_grace = kill_grace
        self._bwrap = bwrap
        self._sandbox: SandboxOptions | None = None
        self._warned = False
        # Keys launched or adopted and not reported yet; None: no supervisor was recorded.
        self._running: dict[str, SupervisorId | None] = {}
        self._reported: set[str] = set()
        self._recheck = False
        self._next_liveness = 0.0
        # Opened by the first `poll`: a process that only reads logs (the API server) must not
        # hold a reader of the FIFO, or it would swallow wake-ups meant for the engine.
        self._notify_r = self._notify_w = -1
        # Supervisors this process forked: reaped once they exit, so no zombies pile up.
        self._children: set[int] = set()
        # Daemons whose readiness was not reported yet.
        self._awaiting_ready: set[str] = set()

    def close(self) -> None:
        """Stop listening for supervisors (they keep running)."""
        for fd in (self._notify_r, self._notify_w):
            if fd >= 0:
                os.close(fd)
        self._notify_r = self._notify_w = -1

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def launch(self, step: StepLaunch) -> None:
        """Start `step` under a supervisor unless its key was launched already."""
        step_dir = self._step_dir(step.key)
        if step.key in self._running:
            return
        ident = read_pid(step_dir)
        if ident is not None or step_dir.result.exists():
            if step.key not in self._reported:
                if step.daemon:
                    self._awaiting_ready.add(step.key)
                self._track(step.key, ident, step_dir)
            return
        self._reported.discard(step.key)  # forgotten (e.g. by a retry): run it anew
        sandbox = self._sandbox_options() if step.container is None else None
        env = _step_env(step.env, step_dir, isolated=sandbox is not None)
        step = _with_side_envs(step, step_dir, isolated=sandbox is not None)
        job = SupervisorJob(step, step_dir, self._steps_dir, sandbox, self._kill_grace, env)
        try:
            step_dir.root.mkdir(parents=True, exist_ok=True)
            write_json(step_dir.launch, _launch_record(step, sandbox))
            self._children.add(spawn(job))
            ident = read_pid(step_dir)
        except OSError as exc:
            raise ExecutionError(f"could not launch step {step.key!r}: {exc}") from exc
        if step.daemon:
            self._awaiting_ready.add(step.key)
        self._track(step.key, ident, step_dir)

    def adopt(self, keys: list[str]) -> list[StepResult]:
        """Take over steps launched by an earlier controller; see `Executor.adopt`."""
        results = []
        for key in keys:
            step_dir = self._step_dir(key)
            if not step_dir.root.exists():
                # Never launched (the engine stopped between deciding and starting it): no
                # result, so the controller starts it now; it cannot have run before.
                continue
            ident = read_pid(step_dir)
            result = self._result(key, step_dir)
            if result is None and ident is not None and is_alive(ident):
                self._running[key] = ident
                result = StepResult(key, "running", started_at=parse_time(ident.started_at))
                if _is_daemon(step_dir):
                    self._awaiting_ready.add(key)  # the next poll says whether it is ready
                    self._recheck = True
            elif result is None:
                result = self._result(key, step_dir) or _lost(key, ident, self._steps_dir)
            if result.state != "running":
                self._running.pop(key, None)
                self._reported.add(key)
            results.append(result)
        return results

    def poll(self, timeout: float) -> list[StepResult]:
        """Wait up to `timeout` seconds for a supervisor's wake-up; return steps that ended."""
        wait = 0.0 if self._recheck else max(timeout, 0.0)
        if self._notify_r < 0:
            self._notify_r, self._notify_w = open_notify_reader(self._steps_dir)
        woke = bool(select.select([self._notify_r], [], [], wait)[0])
        if woke:
            drain(self._notify_r)
        self._children = {pid for pid in self._children if not reap(pid)}
        self._recheck = False
        now = time.monotonic()
        check_alive = now >= self._next_liveness
        if check_alive:
            self._next_liveness = now + _LIVENESS_INTERVAL_S
        ended = []
        for key, ident in list(self._running.items()):
            result = self._ended(key, ident, check_alive)
            if result is not None:
                del self._running[key]
                self._reported.add(key)
                self._awaiting_ready.discard(key)
                ended.append(result)
            elif key in self._awaiting_ready:
                ready = self._ready(key)
                if ready is not None:
                    self._awaiting_ready.discard(key)
                    ended.append(ready)
        return ended

    def _ready(self, key: str) -> StepResult | None:
        """The "ready" result of a daemon whose supervisor said so, else None."""
        try:
            text = self._step_dir(key).ready.read_text().strip()
        except FileNotFoundError:
            return None
        return StepResult(key, "ready", started_at=parse_time(text) if text else None)

    def kill(self, key: str, message: str) -> None:
        """Ask the step's supervisor to stop it; `message` goes into its result."""
        step_dir = self._step_dir(key)
        ident = read_pid(step_dir)
        if ident is None or step_dir.result.exists():
            return
        write_atomic(step_dir.stop_message, message.encode())
        if is_alive(ident):
            with contextlib.suppress(ProcessLookupError):
                os.kill(ident.pid, signal.SIGTERM)

    def supervisor_pids(self) -> set[int]:
        """Process ids of the supervisors of running steps (their steps run below them)."""
        return {ident.pid for ident in self._running.values() if ident is not None}

    def log_path(self, key: str) -> Path:
        """The step's node log."""
        return self._step_dir(key).log

    def release(self, key: str) -> None:
        """Delete a finished step's private /tmp and paths; keep its log and result."""
        step_dir = self._step_dir(key)
        ident = read_pid(step_dir)
        if not step_dir.result.exists() and ident is not None and is_alive(ident):
            raise ConflictError(f"step {key!r} is still running: kill it before releasing it")
        for private in (step_dir.fs, step_dir.tmp):
            _remove_tree(private)
        self._running.pop(key, None)
        self._reported.discard(key)

    def forget(self, key: str) -> None:
        """Delete the whole directory of a finished step (log and result too)."""
        self.release(key)
        _remove_tree(self._step_dir(key).root)

    def _step_dir(self, key: str) -> StepDir:
        """The directory of step `key` (a `/` in the key makes nested directories)."""
        parts = key.split("/")
        if any(not part or part.startswith(".") for part in parts):
            raise ValueError(f"step key {key!r} has an empty or hidden path component")
        return StepDir(self._steps_dir.joinpath(*parts))

    def _track(self, key: str, ident: SupervisorId | None, step_dir: StepDir) -> None:
        """Follow `key` until `poll` reports its end."""
        self._running[key] = ident
        self._recheck = self._recheck or step_dir.result.exists()

    def _ended(self, key: str, ident: SupervisorId | None, check_alive: bool) -> StepResult | None:
        """The step's result if it ended (a dead supervisor without a result is an error)."""
        step_dir = self._step_dir(key)
        result = self._result(key, step_dir)
        if result is not None or not check_alive or (ident is not None and is_alive(ident)):
            return result
        # Read again: the supervisor may have written its result just before it exited.
        return self._result(key, step_dir) or _lost(key, ident, self._steps_dir)

    def _result(self, key: str, step_dir: StepDir) -> StepResult | None:
        """The step's StepResult from its result.json, or None if it is still running."""
        try:
            value = read_json(step_dir.result)
        except ValueError as exc:
            return StepResult(key, "error", message=f"result of step {key!r} is unreadable: {exc}")
        if value is None:
            return None
        return _to_result(key, value, _read_stdout(step_dir))

    def _sandbox_options(self) -> SandboxOptions | None:
        """How to isolate steps; probes bubblewrap once. None means no isolation."""
        if self._isolation == "none":
            if not self._warned:
                self._warned = True
                log.warning(
                    "TRAINYARD_ISOLATION=none: steps run without private paths and share "
                    "/tmp and every declared path; volume mounts are not applied"
                )
            return None
        if self._sandbox is None:
            self._sandbox = probe_bwrap(self._bwrap)
            if not self._sandbox.pid_namespace:
                log.warning(
                    "bubblewrap cannot create a pid namespace here: stopping a step ends "
                    "only the processes that stay in its process group"
                )
        return self._sandbox


def _step_env(own: dict[str, str], step_dir: StepDir, *, isolated: bool) -> dict[str, str]:
    """A command's environment: this process's, then the step's own variables."""
    env = dict(os.environ)
    if not isolated:
        env["TMPDIR"] = str(step_dir.tmp)
    env.update(own)
    if isolated and env.get("TMPDIR", "/tmp").startswith("/tmp/"):
        del env["TMPDIR"]  # the step's /tmp is its own: a host directory there does not exist
    return env


def _with_side_envs(step: StepLaunch, step_dir: StepDir, *, isolated: bool) -> StepLaunch:
    """`step` with its init containers' and sidecars' whole environments."""
    if not step.init_containers and not step.sidecars:
        return step

    def whole(sides: list[SideContainer]) -> list[SideContainer]:
        return [replace(s, env=_step_env(s.env, step_dir, isolated=isolated)) for s in sides]

    return replace(step, init_containers=whole(step.init_containers), sidecars=whole(step.sidecars))


def _is_daemon(step_dir: StepDir) -> bool:
    """Whether launch.json says the step is a daemon."""
    try:
        record = read_json(step_dir.launch)
    except ValueError:
        return False
    return bool(record and record.get("daemon"))


def _launch_record(step: StepLaunch, sandbox: SandboxOptions | None) -> dict[str, Any]:
    """What launch.json keeps about a step (variable names only: values may be secrets)."""
    if step.container is not None:
        isolation = "container"
    elif sandbox is None:
        isolation = "none"
    else:
        isolation = "bwrap" if sandbox.pid_namespace else "bwrap-without-pid-namespace"
    return {
        "key": step.key,
        "command": step.command,
        "env": sorted(step.env),
        "working_dir": step.working_dir,
        "private_paths": step.private_paths,
        "mounts": [[m.target, str(m.source), m.read_only] for m in step.mounts],
        "deadline_seconds": step.deadline_seconds,
        "init_containers": [[side.name, *side.command] for side in step.init_containers],
        "sidecars": [[side.name, *side.command] for side in step.sidecars],
        "daemon": step.daemon,
        "isolation": isolation,
        "launched_at": now_text(),
    }


def _to_result(key: str, value: dict[str, Any], stdout: str | None) -> StepResult:
    """A StepResult from the contents of result.json."""
    started, finished = value.get("started_at"), value.get("finished_at")
    return StepResult(
        key=key,
        state=str(value["state"]),
        started_at=parse_time(started) if started else None,
        finished_at=parse_time(finished) if finished else None,
        exit_code=value.get("exit_code"),
        message=value.get("message"),
        outputs=value.get("outputs"),
        stdout=stdout,
        stdout_truncated=bool(value.get("stdout_truncated")),
    )


def _read_stdout(step_dir: StepDir) -> str | None:
    """What the step wrote to stdout, or None if it never ran."""
    try:
        return step_dir.stdout.read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return None


def _lost(key: str, ident: SupervisorId | None, steps_dir: Path) -> StepResult:
    """The result of a step whose supervisor is gone without a word."""
    if ident is None:
        return StepResult(key, "error", message=f"step {key!r} was never started in {steps_dir}")
    return StepResult(key, "error", message=f"supervisor of step {key!r} exited without a result")


def _remove_tree(path: Path) -> None:
    """Delete `path`, also where the step took away its own write permission."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except PermissionError:
        os.chmod(path, 0o700)
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                child = os.path.join(root, name)
                if not os.path.islink(child):  # never chmod through a link onto the host
                    os.chmod(child, 0o700)
        shutil.rmtree(path)
