"""The command of a containerSet step: run its containers as processes, in dependency order.

The step's supervisor runs `python -m trainyard.executors.containerset` in the step's sandbox,
so every container sees the same private paths and volumes, as the containers of one pod do.
The plan comes in the environment variable TRAINYARD_CONTAINER_SET (JSON):

    {"status": PATH, "pythonpath": ..., "attempts": N, "pause": SECONDS, "containers": [
        {"name": ..., "command": [...], "env": {...}, "workingDir": ..., "dependencies": [...]}]}

A container starts once every container it depends on succeeded; a failing one runs again,
up to `attempts` runs in all, `pause` seconds apart. When a container has failed for good, the
containers still running are stopped and those still waiting never start (as Argo ends the
pod). The containers get PYTHONPATH as `pythonpath` says (this command's own may point at
trainyard). The stdout of the container named `main` is this command's stdout (the step's
`outputs.result`); everything else goes to stderr. What became of each container is written
to PATH (a JSON list, in the order the containers are declared) whenever one ends, and the
exit code is 0 when all succeeded, else that of the one whose failure ended the set.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from trainyard.core.clock import format_time

PLAN_ENV = "TRAINYARD_CONTAINER_SET"
MAIN = "main"
# How long a stopped container may take to end before it is killed.
GRACE_S = 10.0
# After a container's process ended, wait this long for its pipes to close.
DRAIN_S = 2.0
NOT_FOUND = 127


@dataclass
class Member:
    """One container of the set and what became of it."""

    name: str
    command: list[str]
    env: dict[str, str]
    working_dir: str | None
    dependencies: list[str]
    phase: str = "Pending"
    exit_code: int | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    # Whether this container's failure ended the set (the others were stopped for it).
    cause: bool = False
    proc: subprocess.Popen[bytes] | None = None

    def record(self) -> dict[str, Any]:
        """The member as written to the status file."""
        return {
            "name": self.name,
            "phase": self.phase,
            "exitCode": self.exit_code,
            "message": self.message,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "cause": self.cause,
        }


class ContainerSet:
    """Starts members when their dependencies succeeded; stops the rest when one fails."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.status = Path(str(plan["status"]))
        self.pythonpath: str | None = plan.get("pythonpath")
        self.attempts = max(1, int(plan.get("attempts") or 1))
        self.pause = float(plan.get("pause") or 0.0)
        self.members = [
            Member(
                name=str(c["name"]),
                command=[str(word) for word in c["command"]],
                env={str(k): str(v) for k, v in (c.get("env") or {}).items()},
                working_dir=c.get("workingDir"),
                dependencies=[str(d) for d in c.get("dependencies") or []],
            )
            for c in plan["containers"]
        ]
        self.by_name = {m.name: m for m in self.members}
        self.ended: queue.Queue[str] = queue.Queue()
        self.stopping = threading.Event()
        self.stop_reason: str | None = None
        self.lock = threading.Lock()

    def run(self) -> int:
        """Run the set to its end; returns the step's exit code."""
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._write_status()
        running = 0
        while True:
            if not self.stopping.is_set():
                running += self._start_ready()
            if running == 0:
                break
            name = self.ended.get()
            running -= 1
            member = self.by_name[name]
            if member.phase != "Succeeded" and not self.stopping.is_set():
                member.cause = True
                self._stop_all(f"container '{name}' failed")
            self._write_status()
        self._skip_waiting()
        self._write_status()
        failed = [m for m in self.members if m.phase != "Succeeded"]
        failed.sort(key=lambda m: not m.cause)
        return next((m.exit_code for m in failed if m.exit_code), 1) if failed else 0

    def _on_sigterm(self, signum: int, frame: object) -> None:
        """The step is being stopped: the containers got the signal too; start no more."""
        self.stop_reason = self.stop_reason or "the step was stopped"
        self.stopping.set()

    def _start_ready(self) -> int:
        """Start each waiting member whose dependencies all succeeded; returns how many."""
        started = 0
        for member in self.members:
            if member.phase != "Pending":
                continue
            deps = [self.by_name[d] for d in member.dependencies if d in self.by_name]
            if all(d.phase == "Succeeded" for d in deps):
                member.phase = "Running"
                member.started_at = format_time(datetime.now(UTC))
                threading.Thread(target=self._attempts, args=(member,), daemon=True).start()
                started += 1
        return started

    def _attempts(self, member: Member) -> None:
        """Run `member` until it succeeds, the attempts are used up or the set stops."""
        code = 0
        for attempt in range(self.attempts):
            if attempt and self.stopping.wait(self.pause):
                break
            code = self._run_once(member)
            if code == 0 or self.stopping.is_set() or member.phase == "Error":
                break
        member.finished_at = format_time(datetime.now(UTC))
        member.exit_code = code
        if code == 0:
            member.phase = "Succeeded"
        elif member.message is None:
            member.phase = "Failed"
            member.message = f"{member.name}: Error (exit code {code})"
            if self.stop_reason is not None:
                member.message += f": stopped because {self.stop_reason}"
        self.ended.put(member.name)

    def _run_once(self, member: Member) -> int:
        """One run of the member's command, its output copied line by line."""
        env = {**os.environ, **member.env}
        env.pop("PYTHONPATH", None)
        if self.pythonpath is not None:
            env["PYTHONPATH"] = self.pythonpath
        cwd = member.working_dir
        try:
            if cwd:
                os.makedirs(cwd, exist_ok=True)
            with self.lock:
                if self.stopping.is_set():
                    return 128 + signal.SIGTERM
                proc = subprocess.Popen(
                    member.command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=cwd,
                )
                member.proc = proc
        except OSError as exc:
            member.phase = "Error"
            member.message = f"{member.name}: cannot start {member.command[0]!r}: {exc.strerror}"
            return NOT_FOUND if isinstance(exc, FileNotFoundError) else 1
        assert proc.stdout is not None and proc.stderr is not None
        out = sys.stdout.buffer if member.name == MAIN else sys.stderr.buffer
        pumps = [
            threading.Thread(target=self._pump, args=(proc.stdout, out), daemon=True),
            threading.Thread(target=self._pump, args=(proc.stderr, sys.stderr.buffer), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        code = proc.wait()
        for pump in pumps:
            pump.join(DRAIN_S)  # a process the container left behind may hold its pipes
        return 128 - code if code < 0 else code

    def _pump(self, source: IO[bytes], target: IO[bytes]) -> None:
        """Copy whole lines from a container's pipe to this command's stdout or stderr."""
        for line in iter(source.readline, b""):
            with self.lock:
                target.write(line)
                target.flush()
        source.close()

    def _stop_all(self, reason: str) -> None:
        """A container failed for good: stop the others (SIGTERM, then SIGKILL)."""
        with self.lock:
            self.stop_reason = reason
            self.stopping.set()
            procs = [m.proc for m in self.members if m.phase == "Running" and m.proc]
        for proc in procs:
            _signal_tree(proc.pid, signal.SIGTERM)
        threading.Thread(target=_kill_later, args=(procs,), daemon=True).start()

    def _skip_waiting(self) -> None:
        """Members that never started: a dependency failed, or the set was stopped."""
        for member in self.members:
            if member.phase != "Pending":
                continue
            member.phase = "Error"
            failed = [d for d in member.dependencies if self.by_name[d].phase != "Succeeded"]
            why = f"its dependency '{failed[0]}' did not succeed" if failed else self.stop_reason
            member.message = f"{member.name}: not started: {why}"

    def _write_status(self) -> None:
        """Write what became of each member, atomically."""
        text = json.dumps([m.record() for m in self.members])
        tmp = self.status.with_name(self.status.name + ".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, self.status)


def _kill_later(procs: list[subprocess.Popen[bytes]]) -> None:
    """Kill what is still running of `procs` once the grace period is over."""
    deadline = time.monotonic() + GRACE_S
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_tree(proc.pid, signal.SIGKILL)


def _signal_tree(pid: int, signum: int) -> None:
    """Send `signum` to `pid` and every process below it. The containers share the step's
    process group, so that stopping the step reaches them all; one of them is stopped alone
    by walking its descendants instead."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signum)


def main() -> int:
    """Run the set described by TRAINYARD_CONTAINER_SET; returns the exit code."""
    text = os.environ.pop(PLAN_ENV, None)
    if text is None:
        print(f"containerset: {PLAN_ENV} is not set", file=sys.stderr)
        return 2
    return ContainerSet(json.loads(text)).run()


if __name__ == "__main__":
    sys.exit(main())
