"""The files shared by supervisors and the controller: atomic writes, pids, wake-ups."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from trainyard.executors.stepdir import (
    StepDir,
    SupervisorId,
    drain,
    is_alive,
    notify,
    open_notify_reader,
    proc_stat,
    read_json,
    read_pid,
    write_atomic,
    write_json,
    write_pid_record,
)


def test_atomic_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a", b"one")
    write_json(tmp_path / "a", {"x": 1})
    assert read_json(tmp_path / "a") == {"x": 1}
    assert os.listdir(tmp_path) == ["a"]
    assert read_json(tmp_path / "missing") is None
    (tmp_path / "list").write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        read_json(tmp_path / "list")


def test_a_pid_record_names_a_process_and_its_start(tmp_path: Path) -> None:
    step = StepDir(tmp_path)
    stat = proc_stat(os.getpid())
    assert stat is not None
    record = b'{"pid":%d,"start_time":%d,"started_at":"2024-01-01T00:00:00Z"}'
    write_pid_record(os.fsencode(step.pid), record % (os.getpid(), stat[1]))
    ident = read_pid(step)
    assert ident == SupervisorId(os.getpid(), stat[1], "2024-01-01T00:00:00Z")
    assert is_alive(ident)
    assert not is_alive(SupervisorId(os.getpid(), stat[1] + 1, ""))  # a reused pid
    assert read_pid(StepDir(tmp_path / "none")) is None


def test_dead_and_zombie_processes_are_not_alive() -> None:
    child = subprocess.Popen(["true"])
    while (stat := proc_stat(child.pid)) is not None and stat[0] != "Z":
        pass
    assert stat is not None
    assert not is_alive(SupervisorId(child.pid, stat[1], ""))  # a zombie
    child.wait()
    assert proc_stat(child.pid) is None
    assert not is_alive(SupervisorId(child.pid, stat[1], ""))


def test_notify_wakes_a_reader_and_never_fails_without_one(tmp_path: Path) -> None:
    notify(tmp_path)  # no FIFO yet
    read_fd, write_fd = open_notify_reader(tmp_path)
    again = open_notify_reader(tmp_path)  # the FIFO exists already
    notify(tmp_path)
    assert os.read(read_fd, 10) == b"!"
    drain(read_fd)
    for fd in (read_fd, write_fd, *again):
        os.close(fd)
    notify(tmp_path)  # FIFO without a reader
