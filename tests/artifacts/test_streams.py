"""The pipe between the packer and the uploader, and the reader that resumes a download."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from trainyard.artifacts.streams import Pipe, PipeWriterFailed, ResumingReader, produced

SRC = Path(__file__).resolve().parents[2] / "src" / "trainyard"


def test_reads_are_filled_up_to_their_size_until_the_end() -> None:
    def write(pipe: Pipe) -> None:
        for _ in range(100):
            pipe.write(b"x" * 1000)

    with produced(write, capacity=4096) as pipe:
        sizes = []
        while block := pipe.read(30_000):
            sizes.append(len(block))
    assert sizes == [30_000, 30_000, 30_000, 10_000]


def test_a_writer_failure_reaches_the_reader_instead_of_an_end() -> None:
    def write(pipe: Pipe) -> None:
        pipe.write(b"half an archive")
        raise OSError(5, "Input/output error")

    with pytest.raises(OSError, match="Input/output error"), produced(write, 1024) as pipe:
        with pytest.raises(PipeWriterFailed):
            pipe.read(1 << 20)
        raise RuntimeError("the uploader gives up")


def test_a_reader_that_gives_up_stops_a_blocked_writer() -> None:
    stopped = threading.Event()

    def write(pipe: Pipe) -> None:
        try:
            while True:
                pipe.write(b"y" * 512)
        except BrokenPipeError:
            stopped.set()
            raise

    with pytest.raises(RuntimeError, match="upload failed"), produced(write, 1024) as pipe:
        pipe.read(100)
        raise RuntimeError("upload failed")
    assert stopped.is_set()


class Flaky:
    """A body that breaks after `good` bytes."""

    def __init__(self, data: bytes, good: int) -> None:
        self.stream = io.BytesIO(data)
        self.good = good

    def read(self, size: int | None = None) -> bytes:
        if self.stream.tell() >= self.good:
            raise ConnectionResetError("reset by peer")
        limit = self.good - self.stream.tell()
        return self.stream.read(limit if size is None else min(size, limit))

    def close(self) -> None:
        pass


def test_a_broken_download_resumes_where_it_stopped() -> None:
    data = bytes(range(256)) * 40
    opened: list[int] = []

    def open_at(offset: int) -> Flaky:
        opened.append(offset)
        return Flaky(data[offset:], 3000)

    reader = ResumingReader(open_at, len(data), (ConnectionResetError,))
    assert b"".join(iter(lambda: reader.read(1000), b"")) == data
    assert opened == [0, 3000, 6000, 9000]


def test_a_download_that_keeps_breaking_fails() -> None:
    reader = ResumingReader(lambda offset: Flaky(b"abc", 0), 3, (ConnectionResetError,))
    with pytest.raises(ConnectionResetError):
        reader.read()


def test_a_download_cut_short_without_an_error_fails() -> None:
    reader = ResumingReader(lambda offset: io.BytesIO(b"ab"[offset:]), 5, (OSError,), attempts=2)
    assert reader.read(10) == b"ab"
    with pytest.raises(EOFError, match="stopped at byte 2 of 5"):
        reader.read(10)


def test_only_the_s3_module_imports_boto3() -> None:
    importers = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for library in ("boto3", "botocore", "s3transfer", "mypy_boto3_s3"):
            if f"import {library}" in text or f"from {library}" in text:
                importers.append(str(path.relative_to(SRC)))
    assert sorted(set(importers)) == ["artifacts/s3.py"]
