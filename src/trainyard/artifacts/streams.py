"""Byte streams between archives and the network: a bounded pipe, and a reader that resumes."""

from __future__ import annotations

import contextlib
import io
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class PipeWriterFailed(Exception):
    """The writer stopped with an error: what was read so far must not be used."""


class Pipe:
    """Bytes written by one thread, read by another; at most `capacity` bytes are held.

    Unlike an OS pipe, a writer that fails says so (`close(error)`), and the reader's next
    `read` raises instead of seeing an end of file: an uploader reading from it never
    completes an object from half an archive. A reader that gives up (`cancel()`) makes
    the writer's next `write` raise BrokenPipeError, so neither side waits forever.
    """

    def __init__(self, capacity: int = 4 << 20) -> None:
        """An empty pipe holding at most `capacity` bytes (writes block beyond that)."""
        self._capacity = capacity
        self._chunks: deque[bytes] = deque()
        self._held = 0
        self._done = False
        self._error: BaseException | None = None
        self._cancelled = False
        self._changed = threading.Condition()

    # -- writer side ----------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Add `data`, waiting while the pipe is full; BrokenPipeError once cancelled."""
        chunk = bytes(data)
        with self._changed:
            while self._held >= self._capacity and not self._cancelled:
                self._changed.wait()
            if self._cancelled:
                raise BrokenPipeError("the reader stopped reading")
            if chunk:
                self._chunks.append(chunk)
                self._held += len(chunk)
                self._changed.notify_all()
        return len(chunk)

    def flush(self) -> None:
        """Nothing to do: every write is visible to the reader at once."""

    def close(self, error: BaseException | None = None) -> None:
        """No more data: the reader sees the end, or `error` (as PipeWriterFailed) if given."""
        with self._changed:
            self._done = True
            self._error = error
            self._changed.notify_all()

    # -- reader side ----------------------------------------------------------------------

    def readable(self) -> bool:
        """A pipe is read from."""
        return True

    def seekable(self) -> bool:
        """A pipe cannot seek (uploaders then read it part by part)."""
        return False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative), fewer only at the end.

        Raises PipeWriterFailed if the writer failed, whatever was written before.
        """
        if size < 0:
            size = 1 << 62
        parts: list[bytes] = []
        wanted = size
        with self._changed:
            while wanted > 0:
                while not self._chunks and not self._done:
                    self._changed.wait()
                if self._error is not None:
                    raise PipeWriterFailed(str(self._error)) from self._error
                if not self._chunks:
                    break
                chunk = self._chunks.popleft()
                if len(chunk) > wanted:
                    self._chunks.appendleft(chunk[wanted:])
                    chunk = chunk[:wanted]
                parts.append(chunk)
                wanted -= len(chunk)
                self._held -= len(chunk)
                self._changed.notify_all()
        return b"".join(parts)

    def cancel(self) -> None:
        """The reader gives up: pending and later writes raise BrokenPipeError."""
        with self._changed:
            self._cancelled = True
            self._chunks.clear()
            self._held = 0
            self._changed.notify_all()


@contextmanager
def produced(write: Callable[[Pipe], None], capacity: int) -> Iterator[Pipe]:
    """A pipe that `write(pipe)` fills from a thread while the body of the `with` reads it.

    Leaving the body stops the writer. When both fail, the writer's error is raised: the
    reader's is only a consequence (the BrokenPipeError of a stopped writer is not).
    """
    pipe = Pipe(capacity)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            write(pipe)
        except BaseException as error:
            failed.append(error)
            pipe.close(error)
        else:
            pipe.close()

    writer = threading.Thread(target=run, name="trainyard-pipe-writer", daemon=True)
    writer.start()
    try:
        yield pipe
    except BaseException:
        pipe.cancel()
        writer.join()
        if failed and not isinstance(failed[0], BrokenPipeError):
            raise failed[0] from None
        raise
    pipe.cancel()
    writer.join()


class ResumingReader(io.RawIOBase):
    """A download as a stream; a connection that breaks is reopened where it stopped.

    `open_at(offset)` returns a fresh body (with `read` and `close`) from `offset` on;
    errors in `retry_on` are retried up to `attempts` times in a row, others propagate.
    """

    def __init__(
        self,
        open_at: Callable[[int], Any],
        size: int,
        retry_on: tuple[type[BaseException], ...],
        *,
        attempts: int = 4,
        body: Any = None,
    ) -> None:
        """A reader of `size` bytes; `body` is an already open body at offset 0, if any."""
        super().__init__()
        self._open_at = open_at
        self._size = size
        self._retry_on = retry_on
        self._attempts = attempts
        self._body = body
        self._position = 0

    def readable(self) -> bool:
        """A download is read from."""
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (the rest when None or negative); b"" at the end."""
        if self._position >= self._size:
            return b""
        wanted = None if size is None or size < 0 else size
        for attempt in range(self._attempts):
            try:
                if self._body is None:
                    self._body = self._open_at(self._position)
                data: bytes = self._body.read(wanted)
            except self._retry_on:
                self._drop()
                if attempt + 1 == self._attempts:
                    raise
                continue
            if not data and wanted != 0:  # the connection ended early without an error
                self._drop()
                if attempt + 1 == self._attempts:
                    raise EOFError(f"the download stopped at byte {self._position} of {self._size}")
                continue
            self._position += len(data)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def readinto(self, buffer: Any) -> int:
        """Read into `buffer` (for io.BufferedReader and shutil)."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the open body, if any."""
        self._drop()
        super().close()

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close too
                body.close()
