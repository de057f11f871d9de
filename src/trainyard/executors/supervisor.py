"""The detached supervisor of one step: it runs the step's process and writes what became of it.

`spawn` forks twice: the grandchild, in a session of its own and reparented to init, is the
supervisor. It is a copy of the launching process (no new interpreter starts), so it runs
only code imported already, replaces every inherited descriptor with /dev/null (it must not
share the controller's database connections, sockets or lock files) and leaves with
`os._exit`. It needs nothing from the controller while the step runs.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from trainyard.core.clock import format_time_precise
from trainyard.core.errors import EnvironmentError_, ExecutionError
from trainyard.executors.base import SideContainer, StepLaunch
from trainyard.executors.capture import STDERR, STDOUT, OutputCapture
from trainyard.executors.container import (
    ContainerPlan,
    describe_run_failure,
    engine_args,
    find_engine,
    plan_container,
    stop_container,
)
from trainyard.executors.readiness import ReadinessWatch
from trainyard.executors.sandbox import (
    SandboxOptions,
    SandboxPlan,
    plan_sandbox,
    plan_unisolated,
)
from trainyard.executors.sidecars import SideProcess, run_init, start_sidecars, stop_sidecars
from trainyard.executors.stepdir import (
    StepDir,
    notify,
    start_time,
    write_atomic,
    write_json,
    write_pid_record,
)

DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
# After the step's main process ended, wait this long for its pipes to close.
_DRAIN_S = 2.0
# Wake up at least this often, in case a signal's wake-up was lost.
_MAX_SLEEP_S = 5.0
_CHUNK = 65536
_WAKE = 0
_STATUS = 3
_DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


@dataclass(frozen=True)
class SupervisorJob:
    """What a supervisor needs: the step, where its files go and how to isolate it."""

    launch: StepLaunch
    step_dir: StepDir
    steps_dir: Path
    sandbox: SandboxOptions | None
    kill_grace: float
    env: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """How the step ended, before it is written to result.json."""

    state: str
    exit_code: int | None = None
    message: str | None = None
    outputs: dict[str, Any] | None = None


def now_text() -> str:
    """The current time in RFC 3339 with microseconds."""
    return format_time_precise(datetime.now(UTC))


def spawn(job: SupervisorJob) -> int:
    """Start the supervisor of `job` in a session of its own; returns its pid once recorded.

    One fork, no wait: the supervisor is this process's child only while this process
    lives (the caller reaps it with `reap`); when the controller dies it is re-parented to
    init and carries on. Its pid file is written here, before this returns, so an early
    kill() always finds it.
    """
    started_at = now_text()
    pid_file = os.fsencode(job.step_dir.pid)
    record = b'{"pid":%d,"start_time":%d,"started_at":"' + started_at.encode() + b'"}'
    # Blocked until the supervisor's handler is in place, so an early kill() is not lost.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        pid = os.fork()
        if pid == 0:
            _supervisor_main(job, started_at)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    try:
        write_pid_record(pid_file, record % (pid, start_time(pid)))
    except BaseException as exc:
        os.kill(pid, signal.SIGKILL)
        reap(pid, block=True)
        raise ExecutionError(
            f"could not start the supervisor of step {job.launch.key!r}: {exc}"
        ) from exc
    return pid


def reap(pid: int, block: bool = False) -> bool:
    """Collect the exit status of a supervisor this process started; True once it is gone."""
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _supervisor_main(job: SupervisorJob, started_at: str) -> NoReturn:
    """The supervisor process: run the step, never return into the controller's code."""
    code = 0
    try:
        os.setsid()
        _release_inherited_fds()
        gc.disable()  # never finalize the controller's objects (connections) in this copy
        Supervisor(job, started_at).run()
    except BaseException as exc:
        code = 1
        # If even this fails, the controller reports a supervisor that left no result.
        with contextlib.suppress(BaseException):
            _write_result(job, started_at, Outcome("error", message=f"supervisor failed: {exc!r}"))
    finally:
        os._exit(code)


def _release_inherited_fds() -> None:
    """Point every inherited descriptor at /dev/null; the numbers stay taken, so stale
    objects of the controller can never write into the step's files."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd != devnull:
            with contextlib.suppress(OSError):  # the one that listed the directory is gone
                os.dup2(devnull, fd, inheritable=fd <= 2)
    if devnull > 2:
        os.close(devnull)


def _write_result(
    job: SupervisorJob, started_at: str, outcome: Outcome, truncated: bool = False
) -> None:
    """Write result.json atomically, then wake the controller."""
    value: dict[str, Any] = {
        "key": job.launch.key,
        "state": outcome.state,
        "started_at": started_at,
        "finished_at": now_text(),
        "exit_code": outcome.exit_code,
        "message": outcome.message,
        "outputs": outcome.outputs,
        "stdout_truncated": truncated,
    }
    try:
        json.dumps(outcome.outputs)
    except (TypeError, ValueError) as exc:
        value.update(state="error", outputs=None, message=f"the step's outputs are not JSON: {exc}")
    write_json(job.step_dir.result, value)
    notify(job.steps_dir)


def describe(exc: BaseException) -> str:
    """An exception as a one-line message."""
    return str(exc) or type(exc).__name__


class Supervisor:
    """Runs one step's command, captures its output, enforces its deadline, records its end."""

    def __init__(self, job: SupervisorJob, started_at: str) -> None:
        self._job = job
        self._launch = job.launch
        self._dir = job.step_dir
        self._started_at = started_at
        self._terminated = False
        self._stop_message: str | None = None
        self._kill_at: float | None = None
        self._group: int | None = None
        self._reported_exit: int | None = None
        self._status_text = ""
        self._container: tuple[str, str] | None = None  # (engine, name) of a running container
        self._deadline_at: float | None = None
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def run(self) -> None:
        """Supervise the step from start to result.json."""
        self._install_signals()
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
        log_fd = os.open(self._dir.log, flags | os.O_APPEND, 0o644)
        stdout_fd = os.open(self._dir.stdout, flags | os.O_TRUNC, 0o644)
        capture = OutputCapture(log_fd, stdout_fd)
        outcome = self._prepare_and_run(capture)
        capture.close()
        if outcome.state == "error" and outcome.message:
            capture.note(f"error: {outcome.message}")
        outcome = self._archive_log(outcome)
        _write_result(self._job, self._started_at, outcome, capture.stdout_truncated)

    def _archive_log(self, outcome: Outcome) -> Outcome:
        """Add the stored log to the outputs of a step that has outputs, when it is asked."""
        if self._launch.archive_log is None or outcome.outputs is None:
            return outcome
        try:
            artifact = self._launch.archive_log(self._dir.log)
        except Exception as exc:
            message = "; ".join(
                m for m in (outcome.message, f"archiving the log: {describe(exc)}") if m
            )
            return Outcome("error", outcome.exit_code, message)
        outputs = dict(outcome.outputs)
        outputs["artifacts"] = [*outputs.get("artifacts", []), artifact]
        return replace(outcome, outputs=outputs)

    def _install_signals(self) -> None:
        """SIGTERM asks to stop the step; SIGCHLD wakes the loop; others act as by default."""
        for signum in _DEFAULT_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGCHLD, _ignore_signal)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())

    def _on_sigterm(self, signum: int, frame: object) -> None:
        """Remember that `kill()` (or someone) asked the step to stop."""
        self._terminated = True

    def _prepare_and_run(self, capture: OutputCapture) -> Outcome:
        """Lay out the step's files, stage its inputs, run it and collect its outputs."""
        try:
            plan = self._plan()
        except Exception as exc:
            return Outcome("error", message=f"setting up the step's paths failed: {describe(exc)}")
        try:
            if self._launch.prepare is not None:
                self._launch.prepare(plan.pathmap)
        except Exception as exc:
            return Outcome("error", message=describe(exc))
        if self._terminated or self._dir.stop_message.exists():
            return Outcome("exited", 128 + signal.SIGTERM, self._read_stop_message())
        deadline = self._launch.deadline_seconds
        self._deadline_at = time.monotonic() + deadline if deadline is not None else None
        if isinstance(plan, SandboxPlan):
            failed = self._run_init_containers(plan)
            if failed is not None:
                return failed
        outcome = self._run(plan, capture)
        if outcome.state == "error" or self._launch.collect is None:
            return outcome
        try:
            outputs = self._launch.collect(plan.pathmap, outcome.exit_code or 0)
        except Exception as exc:
            message = "; ".join(m for m in (outcome.message, describe(exc)) if m)
            return Outcome("error", outcome.exit_code, message)
        return replace(outcome, outputs=outputs)

    def _plan(self) -> SandboxPlan | ContainerPlan:
        """Plan the step's view and create its private directories and symlinks."""
        launch = self._launch
        plan: SandboxPlan | ContainerPlan
        if launch.container is not None:
            plan = plan_container(self._dir, launch)
        elif self._job.sandbox is None:
            plan = plan_unisolated(self._dir, launch.working_dir)
        else:
            plan = plan_sandbox(
                self._dir,
                launch.private_paths,
                launch.mounts,
                launch.working_dir or "/",
                options=self._job.sandbox,
                own_root=not launch.working_dir,
            )
        for directory in plan.directories:
            directory.mkdir(parents=True, exist_ok=True)
        for link, target in plan.symlinks:
            _symlink(link, target)
        return plan

    def _run_init_containers(self, plan: SandboxPlan) -> Outcome | None:
        """Run the init containers in order; the outcome of the first that fails, if one does."""
        for side in self._launch.init_containers:
            code, problem = run_init(
                side,
                plan,
                str(self._dir.log),
                self._stop_reason,
                self._job.kill_grace,
                self._launch.working_dir,
            )
            if problem is not None:
                return Outcome("exited", code or 1, problem)
        return None

    def _stop_reason(self) -> str | None:
        """Why the step must stop now (killed, or past its deadline), if it must."""
        if self._terminated:
            return self._read_stop_message()
        if self._deadline_at is not None and time.monotonic() >= self._deadline_at:
            return DEADLINE_MESSAGE
        return None

    def _run(self, plan: SandboxPlan | ContainerPlan, capture: OutputCapture) -> Outcome:
        """Start the sidecars and the command, watch it to its end, stop the sidecars."""
        if isinstance(plan, ContainerPlan):
            return self._run_container(plan, capture)
        if not self._launch.command:
            return Outcome("error", message="the step has no command")
        sidecars, problem = start_sidecars(
            self._launch.sidecars, plan, str(self._dir.log), self._launch.working_dir
        )
        if problem is not None:
            return Outcome("error", message=problem)
        try:
            return self._run_main(plan, capture)
        finally:
            stop_sidecars(sidecars, self._job.kill_grace, capture.note)

    def _run_main(self, plan: SandboxPlan, capture: OutputCapture) -> Outcome:
        """Start the main command and watch it to its end."""
        command = self._launch.command
        status_r, status_w = os.pipe2(os.O_CLOEXEC) if plan.argv is not None else (-1, -1)
        try:
            proc = subprocess.Popen(
                plan.command(command, status_w if status_w >= 0 else None),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._job.env,
                cwd=(self._launch.working_dir or self._dir.tmp) if plan.argv is None else None,
                process_group=0,
                pass_fds=(status_w,) if status_w >= 0 else (),
            )
        except OSError as exc:
            return _start_failure(exc, command[0], plan.argv is None)
        finally:
            if status_w >= 0:
                os.close(status_w)
        watch = self._readiness(plan)
        try:
            code = self._watch(proc, status_r, capture)
        finally:
            if watch is not None:
                watch.stop()
        if self._stop_message is not None:
            return Outcome("exited", code, self._stop_message)
        if plan.argv is not None and self._reported_exit is None:
            return _sandbox_failure(code, capture.last_stderr_line)
        if code != 0 and self._launch.stderr_message and capture.last_stderr_line.strip():
            return Outcome(
                "exited", code, capture.last_stderr_line.decode(errors="replace").strip()
            )
        return Outcome("exited", code)

    def _readiness(self, plan: SandboxPlan) -> ReadinessWatch | None:
        """For a daemon: watch until its command is ready, then tell the controller."""
        if not self._launch.daemon:
            return None

        def ready() -> None:
            write_atomic(self._dir.ready, now_text().encode())
            notify(self._job.steps_dir)

        def run_exec(command: list[str], timeout: float) -> bool:
            side = SideProcess(
                SideContainer("readinessProbe", command, self._job.env),
                plan,
                os.devnull,
                self._launch.working_dir,
            )
            deadline = time.monotonic() + timeout
            while (code := side.poll()) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if code is None:
                side.stop(0.0)
            side.close()
            return code == 0

        watch = ReadinessWatch(self._launch.readiness, ready, run_exec)
        watch.start()
        return watch

    def _run_container(self, plan: ContainerPlan, capture: OutputCapture) -> Outcome:
        """Run the step as `ENGINE run --rm ...` and watch it to its end."""
        try:
            engine = find_engine(plan.spec.engine)
            args = engine_args(engine, plan.spec.image)
        except EnvironmentError_ as exc:
            return Outcome("error", message=str(exc))
        try:
            proc = subprocess.Popen(
                plan.command(engine, args, self._launch.command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._job.env,
                process_group=0,
            )
        except OSError as exc:
            return _start_failure(exc, engine, False)
        self._container = (engine, plan.spec.name)
        code = self._watch(proc, -1, capture)
        if self._stop_message is not None:
            return Outcome("exited", code, self._stop_message)
        failure = describe_run_failure(code, capture.last_stderr_line.decode(errors="replace"))
        return Outcome("error", code, failure) if failure else Outcome("exited", code)

    def _watch(self, proc: subprocess.Popen[bytes], status_fd: int, capture: OutputCapture) -> int:
        """Copy output until the step ended and its pipes closed; enforce the deadline."""
        assert proc.stdout is not None and proc.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        streams = {proc.stdout.fileno(): STDOUT, proc.stderr.fileno(): STDERR}
        if status_fd >= 0:
            streams[status_fd] = _STATUS
        for fd, stream in streams.items():
            selector.register(fd, selectors.EVENT_READ, stream)
        deadline_at = self._deadline_at
        exited_at: float | None = None
        while True:
            for key, _ in selector.select(self._sleep(deadline_at, exited_at)):
                self._on_ready(selector, key.fd, key.data, capture)
            now = time.monotonic()
            if self._terminated and self._stop_message is None:
                self._stop(proc, self._read_stop_message())
            if deadline_at is not None and now >= deadline_at and self._stop_message is None:
                self._stop(proc, DEADLINE_MESSAGE)
            if self._kill_at is not None and now >= self._kill_at:
                self._kill_at = None
                self._signal(proc, signal.SIGKILL)
            if exited_at is None and proc.poll() is not None:
                exited_at = now
                self._signal(proc, signal.SIGKILL)  # what the step left behind goes with it
            if exited_at is not None and (
                len(selector.get_map()) == 1 or now - exited_at >= _DRAIN_S
            ):
                break
        selector.close()
        code = proc.wait()
        return 128 - code if code < 0 else code

    def _sleep(self, deadline_at: float | None, exited_at: float | None) -> float:
        """How long the loop may wait for output or a signal."""
        now = time.monotonic()
        times = [deadline_at, self._kill_at, exited_at + _DRAIN_S if exited_at else None]
        return max(0.0, min([_MAX_SLEEP_S] + [t - now for t in times if t is not None]))

    def _on_ready(
        self, selector: selectors.BaseSelector, fd: int, stream: int, capture: OutputCapture
    ) -> None:
        """Handle one readable descriptor: output, bwrap's status or a signal's wake-up."""
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        if stream == _WAKE:
            return
        if not data:
            selector.unregister(fd)
            if stream == _STATUS:
                os.close(fd)
            return
        if stream == _STATUS:
            self._on_status(data.decode())
        else:
            capture.feed(stream, data)

    def _on_status(self, text: str) -> None:
        """Read bwrap's JSON documents: the sandbox's pid, then the command's exit code."""
        self._status_text += text
        decoder = json.JSONDecoder()
        while self._status_text.strip():
            try:
                doc, end = decoder.raw_decode(self._status_text.lstrip())
            except ValueError:
                return  # the rest of the document is still on its way
            self._status_text = self._status_text.lstrip()[end:]
            if "child-pid" in doc:
                self._group = int(doc["child-pid"])
            if "exit-code" in doc:
                self._reported_exit = int(doc["exit-code"])

    def _stop(self, proc: subprocess.Popen[bytes], message: str) -> None:
        """Ask the step to stop; it is killed when the grace period is over."""
        self._stop_message = message
        self._kill_at = time.monotonic() + self._job.kill_grace
        self._signal(proc, signal.SIGTERM)

    def _signal(self, proc: subprocess.Popen[bytes], signum: int) -> None:
        """Send `signum` to the step's process group (inside the sandbox, if any)."""
        if self._container is not None and proc.returncode is None:
            stop_container(*self._container, signum)
        group = proc.pid if self._job.sandbox is None else self._group
        if group is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signum)
        if (group is None or signum == signal.SIGKILL) and proc.returncode is None:
            # Before bwrap reported its sandbox, or to be sure: its end ends the sandbox.
            proc.send_signal(signum)

    def _read_stop_message(self) -> str:
        """The message `kill()` left for this step."""
        try:
            return self._dir.stop_message.read_text().strip() or "Stopped"
        except FileNotFoundError:
            return "the step's supervisor received SIGTERM"


def _ignore_signal(signum: int, frame: object) -> None:
    """A handler that does nothing, so that the signal still wakes the loop."""


def _symlink(link: Path, target: str) -> None:
    """Create `link` -> `target`, accepting one made earlier."""
    try:
        os.symlink(target, link)
    except FileExistsError:
        if os.readlink(link) != target:
            link.unlink()
            os.symlink(target, link)


def _start_failure(exc: OSError, name: str, direct: bool) -> Outcome:
    """The outcome of a command that could not be started."""
    if direct and isinstance(exc, FileNotFoundError):
        return Outcome("error", 127, f"command {name!r} not found")
    if direct and isinstance(exc, PermissionError):
        return Outcome("error", 126, f"command {name!r} is not executable")
    return Outcome("error", message=f"could not start the step: {describe(exc)}")


def _sandbox_failure(code: int, last_line: bytes) -> Outcome:
    """The outcome of a bwrap run whose command never started (bwrap says why on stderr)."""
    text = last_line.decode(errors="replace").strip()
    prefix = "bwrap: execvp "
    if text.startswith(prefix) and ": " in text[len(prefix) :]:
        name, reason = text[len(prefix) :].rsplit(": ", 1)
        if "ermission" in reason:
            return Outcome("error", 126, f"command {name!r} is not executable")
        return Outcome("error", 127, f"command {name!r} not found")
    return Outcome("error", code, f"the step's sandbox could not be set up: {text or code}")
