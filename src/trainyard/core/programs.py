"""Whether this machine has a program, as a step started here would find it (on PATH)."""

from __future__ import annotations

import shutil


def installed(program: str) -> bool:
    """Whether `program` (a bare name) is an executable on this process's PATH."""
    return shutil.which(program) is not None
