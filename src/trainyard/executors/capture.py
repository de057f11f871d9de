"""Turn a step's stdout and stderr into its timestamped node log and its capped stdout file."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from trainyard.core.clock import format_time_precise

STDOUT = 1
STDERR = 2
STDOUT_CAP = 256 * 1024
# A line longer than this (a progress bar redrawn with \r, binary noise) is logged in pieces.
_MAX_LINE = 64 * 1024


def _now_text() -> bytes:
    """The current time as a log line prefix."""
    return format_time_precise(datetime.now(UTC)).encode()


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd`."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class OutputCapture:
    """Writes each complete output line to the log as `<timestamp> <line>`, one write per chunk.

    Stdout is also kept alone, up to `stdout_cap` bytes, for Argo's `outputs.result`.
    `prefix` starts each output line (a sidecar's lines carry its name).
    """

    def __init__(
        self,
        log_fd: int,
        stdout_fd: int,
        stdout_cap: int = STDOUT_CAP,
        now: Callable[[], bytes] = _now_text,
        prefix: bytes = b"",
    ) -> None:
        self._log_fd = log_fd
        self._stdout_fd = stdout_fd
        self._stdout_cap = stdout_cap
        self._stdout_room = stdout_cap
        self._now = now
        self._prefix = prefix
        self._partial = {STDOUT: b"", STDERR: b""}
        self.stdout_truncated = False
        self.last_stderr_line = b""

    def feed(self, stream: int, chunk: bytes) -> None:
        """Take a chunk read from `stream` (STDOUT or STDERR)."""
        if stream == STDOUT:
            self._keep_stdout(chunk)
        data = self._partial[stream] + chunk
        lines = data.split(b"\n")
        rest = lines.pop()
        while len(rest) >= _MAX_LINE:
            lines.append(rest[:_MAX_LINE])
            rest = rest[_MAX_LINE:]
        self._partial[stream] = rest
        self._log(stream, lines)

    def note(self, text: str) -> None:
        """Log a line of trainyard's own about the step."""
        self._log(0, [f"[trainyard] {text}".encode()])

    def close(self) -> None:
        """Log what remains of unfinished lines."""
        for stream in (STDOUT, STDERR):
            if self._partial[stream]:
                self._log(stream, [self._partial[stream]])
                self._partial[stream] = b""

    def _log(self, stream: int, lines: list[bytes]) -> None:
        """Write `lines` with one timestamp, in one write."""
        if not lines:
            return
        if stream == STDERR:
            self.last_stderr_line = lines[-1]
        stamp = self._now() + b" " + (self._prefix if stream else b"")
        write_all(self._log_fd, b"".join(stamp + line + b"\n" for line in lines))

    def _keep_stdout(self, chunk: bytes) -> None:
        """Append `chunk` to the stdout file while there is room."""
        if len(chunk) > self._stdout_room:
            if not self.stdout_truncated:
                self.stdout_truncated = True
                self.note(
                    f"stdout exceeds {self._stdout_cap} bytes: outputs.result keeps the start"
                )
            chunk = chunk[: self._stdout_room]
        if chunk:
            write_all(self._stdout_fd, chunk)
            self._stdout_room -= len(chunk)
