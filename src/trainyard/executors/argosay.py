"""Argo's test command `argosay`, for steps of image argoproj/argosay where it is not installed.

    argosay                          print "hello argo"
    argosay echo [TEXT [FILE]]       print TEXT (default "hello argo"), or write it to FILE
    argosay cat FILE                 print FILE
    argosay sleep DURATION           sleep (seconds, or with a suffix s, m, h, d)
    argosay exit [CODE]              exit with CODE (default 0)
    argosay sh FILE                  run FILE with sh
    argosay assert_contains FILE T   print the lines of FILE holding T; exit 1 if none
    argosay assert_exist FILE        exit 1 unless FILE exists
Anything else exits 1.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HELLO = "hello argo"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _echo(args: Sequence[str]) -> int:
    if not args:
        print(HELLO)
    elif len(args) == 1:
        print(args[0])
    elif len(args) == 2:
        target = Path(args[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(args[0] + "\n")
    else:
        return _usage("echo takes at most TEXT and FILE")
    return 0


def _cat(args: Sequence[str]) -> int:
    if len(args) != 1:
        return _usage("cat takes one FILE")
    try:
        sys.stdout.write(Path(args[0]).read_text())
    except OSError as exc:
        return _fail(f"cat: {args[0]}: {exc.strerror or exc}")
    return 0


def parse_duration(text: str) -> float:
    """Seconds in `10`, `1.5s`, `2m`, `1h` or `1d`; raises ValueError for anything else."""
    factor = _UNITS.get(text[-1:])
    number = float(text[:-1] if factor is not None else text)
    if number < 0:
        raise ValueError(text)
    return number * (factor or 1.0)


def _sleep(args: Sequence[str]) -> int:
    if len(args) != 1:
        return _usage("sleep takes one DURATION")
    try:
        time.sleep(parse_duration(args[0]))
    except ValueError:
        return _fail(f"sleep: invalid duration {args[0]!r}")
    return 0


def _exit(args: Sequence[str]) -> int:
    if len(args) > 1:
        return _usage("exit takes at most one CODE")
    try:
        return int(args[0]) if args else 0
    except ValueError:
        return _fail(f"exit: {args[0]!r} is not a number")


def _sh(args: Sequence[str]) -> int:
    if len(args) != 1:
        return _usage("sh takes one FILE")
    return subprocess.run(["sh", args[0]], check=False).returncode


def _assert_contains(args: Sequence[str]) -> int:
    if len(args) != 2:
        return _usage("assert_contains takes FILE and TEXT")
    try:
        lines = Path(args[0]).read_text().splitlines()
    except OSError as exc:
        return _fail(f"assert_contains: {args[0]}: {exc.strerror or exc}")
    found = [line for line in lines if args[1] in line]
    for line in found:
        print(line)
    return 0 if found else 1


def _assert_exist(args: Sequence[str]) -> int:
    if len(args) != 1:
        return _usage("assert_exist takes one FILE")
    if Path(args[0]).exists():
        return 0
    return _fail(f"assert_exist: {args[0]} does not exist")


VERBS: dict[str, Callable[[Sequence[str]], int]] = {
    "echo": _echo,
    "cat": _cat,
    "sleep": _sleep,
    "exit": _exit,
    "sh": _sh,
    "assert_contains": _assert_contains,
    "assert_exist": _assert_exist,
}


def _fail(message: str) -> int:
    print(f"argosay: {message}", file=sys.stderr)
    return 1


def _usage(message: str) -> int:
    return _fail(f"{message}; verbs: {', '.join(VERBS)}")


def main(argv: Sequence[str]) -> int:
    """Run one argosay command (`argv` without the program name); returns the exit code."""
    if not argv:
        print(HELLO)
        return 0
    verb = VERBS.get(argv[0])
    if verb is None:
        return _usage(f"unknown verb {argv[0]!r}")
    return verb(argv[1:])


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(main(sys.argv[1:]))
