"""A step's other commands (init containers and sidecars) inside its supervisor.

Each runs in the step's view of the filesystem (the same bubblewrap plan as the main
command, so it shares /tmp, the private paths and the volumes) and in a process group of
its own; a thread copies its output into the node's log, each line prefixed `[name] `.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from trainyard.executors.base import SideContainer
from trainyard.executors.capture import STDERR, STDOUT, OutputCapture
from trainyard.executors.sandbox import SandboxPlan

_STATUS = 3
_CHUNK = 65536
_POLL_S = 0.1


class SideProcess:
    """One running init container or sidecar."""

    def __init__(
        self,
        side: SideContainer,
        plan: SandboxPlan,
        log: str,
        cwd: str | None = None,
    ) -> None:
        """Start `side` (in `cwd` when unsandboxed; `side.env` is its whole environment);
        raises OSError when its command (or bwrap) cannot be started."""
        self.name = side.name
        self._sandboxed = plan.argv is not None
        status_r, status_w = os.pipe2(os.O_CLOEXEC) if self._sandboxed else (-1, -1)
        try:
            self._proc = subprocess.Popen(
                plan.command(side.command, status_w if status_w >= 0 else None),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=side.env,
                cwd=cwd if plan.argv is None else None,
                process_group=0,
                pass_fds=(status_w,) if status_w >= 0 else (),
            )
        except OSError:
            if status_r >= 0:
                os.close(status_r)
            raise
        finally:
            if status_w >= 0:
                os.close(status_w)
        self._group: int | None = None if self._sandboxed else self._proc.pid
        self._reported_exit: int | None = None
        self._status_text = ""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
        self._log_fd = os.open(log, flags)
        self._null_fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        self._capture = OutputCapture(
            self._log_fd, self._null_fd, prefix=f"[{side.name}] ".encode()
        )
        self._thread = threading.Thread(target=self._pump, args=(status_r,), daemon=True)
        self._thread.start()

    def poll(self) -> int | None:
        """The exit code once the command ended (128+N for signal N), else None."""
        code = self._proc.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def never_started(self) -> bool:
        """Whether bubblewrap ended without starting the command (after it ended)."""
        self._thread.join(timeout=2.0)
        return self._sandboxed and self._reported_exit is None

    def last_error(self) -> str:
        """The last line the command (or bwrap) wrote to stderr."""
        return self._capture.last_stderr_line.decode(errors="replace").strip()

    def signal(self, signum: int) -> None:
        """Send `signum` to the command's process group."""
        if self._group is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._group, signum)
        if (self._group is None or signum == signal.SIGKILL) and self._proc.poll() is None:
            # bwrap before it reported its sandbox, or to be sure: its end ends the sandbox
            self._proc.send_signal(signum)

    def stop(self, grace: float) -> int:
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
        if self._proc.poll() is None:
            self.signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=grace)
        self.signal(signal.SIGKILL)  # what it left behind goes with it
        self._proc.wait()
        return self.poll() or 0

    def close(self) -> None:
        """Wait for the output to be copied (briefly) and close the log."""
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self._capture.close()
            os.close(self._log_fd)
            os.close(self._null_fd)

    def _pump(self, status_fd: int) -> None:
        """Copy output and read bwrap's status until every pipe is closed."""
        assert self._proc.stdout is not None and self._proc.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self._proc.stdout.fileno(), selectors.EVENT_READ, STDOUT)
        selector.register(self._proc.stderr.fileno(), selectors.EVENT_READ, STDERR)
        if status_fd >= 0:
            selector.register(status_fd, selectors.EVENT_READ, _STATUS)
        while selector.get_map():
            for key, _ in selector.select(1.0):
                data = os.read(key.fd, _CHUNK)
                if not data:
                    selector.unregister(key.fd)
                elif key.data == _STATUS:
                    self._on_status(data.decode())
                else:
                    self._capture.feed(key.data, data)
        selector.close()
        if status_fd >= 0:
            os.close(status_fd)

    def _on_status(self, text: str) -> None:
        """bwrap's JSON documents: the sandbox's pid, then the command's exit code."""
        self._status_text += text
        decoder = json.JSONDecoder()
        while self._status_text.strip():
            try:
                doc, end = decoder.raw_decode(self._status_text.lstrip())
            except ValueError:
                return
            self._status_text = self._status_text.lstrip()[end:]
            if "child-pid" in doc:
                self._group = int(doc["child-pid"])
            if "exit-code" in doc:
                self._reported_exit = int(doc["exit-code"])


def run_init(
    side: SideContainer,
    plan: SandboxPlan,
    log: str,
    stop_reason: Callable[[], str | None],
    grace: float,
    cwd: str | None = None,
) -> tuple[int, str | None]:
    """Run an init container to its end: (exit code, why it failed or was stopped, if so).

    `stop_reason` is asked while it runs: a reason stops it (the step was killed).
    """
    try:
        proc = SideProcess(side, plan, log, cwd)
    except OSError as exc:
        return 127, f"init container {side.name!r} could not start: {exc.strerror or exc}"
    try:
        while (code := proc.poll()) is None:
            reason = stop_reason()
            if reason is not None:
                return proc.stop(grace), reason
            time.sleep(_POLL_S)
        if proc.never_started():
            return code or 127, f"init container {side.name!r} could not start: {proc.last_error()}"
        if code != 0:
            return code, f"init container {side.name!r} failed with exit code {code}"
        return 0, None
    finally:
        proc.close()


def start_sidecars(
    sides: list[SideContainer],
    plan: SandboxPlan,
    log: str,
    cwd: str | None = None,
) -> tuple[list[SideProcess], str | None]:
    """Start every sidecar; on a failure, stop those started and say why."""
    started: list[SideProcess] = []
    for side in sides:
        try:
            started.append(SideProcess(side, plan, log, cwd))
        except OSError as exc:
            stop_sidecars(started, 0.0, lambda _: None)
            return [], f"sidecar {side.name!r} could not start: {exc.strerror or exc}"
    return started, None


def stop_sidecars(procs: list[SideProcess], grace: float, note: Callable[[str], None]) -> None:
    """Stop the sidecars (all asked at once, then each given the rest of `grace`)."""
    for proc in procs:
        if proc.poll() is None:
            proc.signal(signal.SIGTERM)
        else:
            note(f"sidecar {proc.name!r} exited with code {proc.poll()} before the main container")
    until = time.monotonic() + grace
    for proc in procs:
        proc.stop(max(0.0, until - time.monotonic()))
        proc.close()
