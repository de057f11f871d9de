"""The files a step's supervisor shares with the controller, and how both read and write them.

<steps dir>/.notify         FIFO: a supervisor writes one byte to it when its step ended
<steps dir>/<key>/
    launch.json             what was launched (written by the controller)
    pid                     the supervisor's pid and process start time (JSON)
    stop-message            why the step is being stopped (written by `kill`)
    log                     stdout and stderr, each line prefixed with a timestamp
    stdout                  stdout alone, at most 256 KiB (Argo's `outputs.result`)
    ready                   a daemon's command is ready (its readinessProbe passed)
    result.json             how the step ended; its presence means "finished"
    tmp/  fs/               the step's private /tmp and private paths
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOTIFY_NAME = ".notify"


@dataclass(frozen=True)
class StepDir:
    """The directory of one step and the names of the files in it."""

    root: Path

    @property
    def launch(self) -> Path:
        """What was launched."""
        return self.root / "launch.json"

    @property
    def pid(self) -> Path:
        """The supervisor's identity."""
        return self.root / "pid"

    @property
    def stop_message(self) -> Path:
        """Why `kill` stopped the step."""
        return self.root / "stop-message"

    @property
    def log(self) -> Path:
        """The node log."""
        return self.root / "log"

    @property
    def stdout(self) -> Path:
        """Stdout alone, capped."""
        return self.root / "stdout"

    @property
    def ready(self) -> Path:
        """Present once a daemon's command is ready."""
        return self.root / "ready"

    @property
    def result(self) -> Path:
        """How the step ended."""
        return self.root / "result.json"

    @property
    def tmp(self) -> Path:
        """The step's private /tmp."""
        return self.root / "tmp"

    @property
    def fs(self) -> Path:
        """The host side of the step's private paths."""
        return self.root / "fs"


@dataclass(frozen=True)
class SupervisorId:
    """A process as `pid` plus its start time, so a reused pid is not mistaken for it."""

    pid: int
    start_time: int
    started_at: str


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Write `value` as JSON atomically."""
    write_atomic(path, json.dumps(value, separators=(",", ":")).encode())


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None if the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return value


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of `pid` from /proc, or None if it is gone."""
    try:
        fd = os.open(b"/proc/%d/stat" % pid, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        text = os.read(fd, 4096)
    except ProcessLookupError:
        return None
    finally:
        os.close(fd)
    # The command name may hold spaces and parentheses: fields resume after the last ")".
    fields = text[text.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])


def start_time(pid: int) -> int:
    """The start time of `pid` in clock ticks since boot, or 0 if it is gone already."""
    info = proc_stat(pid)
    return info[1] if info else 0


def write_pid_record(pid_file: bytes, record: bytes) -> None:
    """Write the pid file atomically with few allocations (it runs in a freshly forked child)."""
    tmp = pid_file + b".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, record)
    finally:
        os.close(fd)
    os.rename(tmp, pid_file)


def read_pid(step_dir: StepDir) -> SupervisorId | None:
    """The supervisor recorded for this step, or None if none was started."""
    value = read_json(step_dir.pid)
    if value is None:
        return None
    return SupervisorId(int(value["pid"]), int(value["start_time"]), str(value["started_at"]))


def is_alive(ident: SupervisorId) -> bool:
    """Whether the recorded process still runs (not exited, not a zombie, pid not reused)."""
    info = proc_stat(ident.pid)
    if info is None:
        return False
    state, start = info
    return start == ident.start_time and state not in ("Z", "X", "x")


def open_notify_reader(steps_dir: Path) -> tuple[int, int]:
    """Create the notification FIFO if needed; return (read fd, keep-alive write fd).

    The write end held by the reader keeps the FIFO from reading as end-of-file while no
    supervisor has it open.
    """
    path = steps_dir / NOTIFY_NAME
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        if not stat.S_ISFIFO(os.lstat(path).st_mode):
            raise
    flags = os.O_NONBLOCK | os.O_CLOEXEC
    read_fd = os.open(path, os.O_RDONLY | flags)
    write_fd = os.open(path, os.O_WRONLY | flags)
    return read_fd, write_fd


def notify(steps_dir: Path) -> None:
    """Wake the controller, if one listens; never blocks and never fails."""
    try:
        fd = os.open(steps_dir / NOTIFY_NAME, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return  # ENXIO: no controller reads; ENOENT: nobody ever did
    try:
        os.write(fd, b"!")
    except OSError:
        pass  # EAGAIN: plenty of wake-ups are unread already; EPIPE: the reader just left
    finally:
        os.close(fd)


def drain(fd: int) -> None:
    """Read and drop everything pending on the non-blocking `fd`."""
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        return
