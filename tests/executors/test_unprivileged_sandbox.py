"""A planned sandbox works for a user without privileges (run as uid 1000 by a root test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainyard.executors.sandbox import plan_sandbox, probe_bwrap
from trainyard.executors.stepdir import StepDir

USER = 1000
AS_USER = ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", "--"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to switch to an unprivileged user",
)


@pytest.fixture
def user_step_dir() -> Iterator[StepDir]:
    """A step directory owned by the unprivileged user (outside root's private tmp dirs)."""
    base = Path(tempfile.mkdtemp(prefix="trainyard-unprivileged-"))
    os.chown(base, USER, USER)
    yield StepDir(base / "step")
    shutil.rmtree(base)


def test_private_paths_work_without_root(user_step_dir: StepDir) -> None:
    probe = subprocess.run([*AS_USER, "bwrap", "--bind", "/", "/", "true"], check=False)
    if probe.returncode != 0:
        pytest.skip("this kernel does not allow unprivileged user namespaces")
    missing = f"/trainyard-test-{uuid.uuid4().hex}"
    plan = plan_sandbox(
        user_step_dir,
        [f"{missing}/model.json", "/work/in/model"],
        [],
        f"{missing}/src",
        options=probe_bwrap("bwrap"),
    )
    for directory in plan.directories:
        directory.mkdir(parents=True, exist_ok=True)
    for link, target in plan.symlinks:
        os.symlink(target, link)
    for root, dirs, files in os.walk(user_step_dir.root):
        for name in [".", *dirs, *files]:
            os.chown(os.path.join(root, name), USER, USER, follow_symlinks=False)
    plan.pathmap.host("/work/in/model").write_text("weights\n")
    script = (
        f"id -u; echo saved > {missing}/model.json; cat {missing}/model.json /work/in/model; "
        "echo t > /tmp/x; pwd; ls /proc | grep -c '^[0-9]'"
    )
    done = subprocess.run(
        [*AS_USER, *plan.command(["sh", "-c", script])], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["1000", "saved", "weights", f"{missing}/src", "4"]
    assert plan.pathmap.host(f"{missing}/model.json").read_text() == "saved\n"
    assert (user_step_dir.tmp / "x").read_text() == "t\n"
    assert not os.path.exists(missing)
    assert not os.path.exists("/work/in")
