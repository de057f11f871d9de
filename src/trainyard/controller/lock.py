"""One controller per TRAINYARD_HOME: an exclusive lock on `controller.lock`."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class HomeLock:
    """A non-blocking exclusive lock; released when the process exits, even by SIGKILL."""

    def __init__(self, home: Path) -> None:
        self.path = home / "controller.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True on success."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def held_elsewhere(self) -> bool:
        """Whether another process holds the lock right now."""
        if self._fd is not None:
            return False
        if self.acquire():
            self.release()
            return False
        return True

    def release(self) -> None:
        """Give the lock back."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
