"""Output capture: timestamped log lines from both streams, stdout alone and capped."""

from __future__ import annotations

import os
from pathlib import Path

from trainyard.executors.capture import STDERR, STDOUT, OutputCapture


def capture_into(tmp_path: Path, cap: int = 1024) -> tuple[OutputCapture, Path, Path]:
    log, stdout = tmp_path / "log", tmp_path / "stdout"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT)
    stdout_fd = os.open(stdout, os.O_WRONLY | os.O_CREAT)
    return OutputCapture(log_fd, stdout_fd, cap, now=lambda: b"T"), log, stdout


def test_lines_are_stamped_and_split_across_chunks(tmp_path: Path) -> None:
    capture, log, stdout = capture_into(tmp_path)
    capture.feed(STDOUT, b"one\ntw")
    capture.feed(STDERR, b"warn\n")
    capture.feed(STDOUT, b"o\nthree")
    capture.close()
    assert log.read_bytes() == b"T one\nT warn\nT two\nT three\n"
    assert stdout.read_bytes() == b"one\ntwo\nthree"
    assert capture.last_stderr_line == b"warn"


def test_stdout_is_capped_and_the_truncation_noted(tmp_path: Path) -> None:
    capture, log, stdout = capture_into(tmp_path, cap=10)
    capture.feed(STDOUT, b"12345678\n")
    capture.feed(STDOUT, b"abcdef\n")
    capture.feed(STDOUT, b"more\n")
    capture.close()
    assert stdout.read_bytes() == b"12345678\na"
    assert capture.stdout_truncated
    assert b"[trainyard] stdout exceeds 10 bytes" in log.read_bytes()
    assert log.read_bytes().count(b"stdout exceeds") == 1


def test_a_very_long_line_is_logged_in_pieces(tmp_path: Path) -> None:
    capture, log, _ = capture_into(tmp_path)
    capture.feed(STDERR, b"x" * (150 * 1024))
    capture.close()
    lines = log.read_bytes().splitlines()
    assert [len(line) for line in lines] == [2 + 64 * 1024, 2 + 64 * 1024, 2 + 22 * 1024]
