"""Run the CLI as a user would, with no AWS credentials from this machine's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def trainyard(
    home: Path, *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`trainyard ARGS` under the home `home`; steps find this environment's programs first."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "TRAINYARD_HOME": str(home), "PATH": path, "COLUMNS": "200"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "trainyard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )
