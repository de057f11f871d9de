"""ProcessExecutor with real supervisors, real processes and real bubblewrap."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.executors.executor_helpers import MakeExecutor, processes_with, wait_for
from trainyard.core.errors import ConflictError, EnvironmentError_
from trainyard.executors.base import Mount, PathMap, StepLaunch
from trainyard.executors.supervisor import DEADLINE_MESSAGE

STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ")


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def test_exit_code_stdout_and_timestamped_log(make_executor: MakeExecutor, isolation: str) -> None:
    executor = make_executor(isolation)
    executor.launch(StepLaunch("wf/a", sh("echo out1; echo err1 >&2; echo out2; exit 3")))
    result = wait_for(executor, "wf/a")["wf/a"]
    assert (result.state, result.exit_code, result.message) == ("exited", 3, None)
    assert result.stdout == "out1\nout2\n"
    assert result.started_at is not None and result.finished_at is not None
    assert result.started_at <= result.finished_at
    lines = executor.log_path("wf/a").read_bytes().splitlines()
    assert all(STAMP.match(line) for line in lines)
    assert sorted(STAMP.sub(b"", line) for line in lines) == [b"err1", b"out1", b"out2"]


def test_the_steps_env_is_added_to_the_controllers(make_executor: MakeExecutor) -> None:
    executor = make_executor()
    executor.launch(StepLaunch("a", sh('echo "$GREETING" "$PATH"'), env={"GREETING": "hello"}))
    script = 'echo "${TMPDIR-unset}"'
    executor.launch(StepLaunch("b", sh(script), env={"TMPDIR": "/tmp/pytest-of-someone"}))
    executor.launch(StepLaunch("c", sh(script), env={"TMPDIR": "/scratch"}))
    results = wait_for(executor, "a", "b", "c")
    assert results["a"].stdout == f"hello {os.environ['PATH']}\n"
    assert results["b"].stdout == "unset\n"  # a host directory under /tmp: hidden from the step
    assert results["c"].stdout == "/scratch\n"


def test_parallel_steps_have_private_tmp_and_private_paths(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    executor = make_executor()
    missing = f"/trainyard-test-{uuid.uuid4().hex}"
    out_existed = os.path.exists("/out/model.json")
    private = ["/out/model.json", f"{missing}/model.json"]
    for key in ("a", "b"):
        script = (
            f"echo {key} > /tmp/out.txt; echo {key} > /out/model.json; "
            f"echo {key} > {missing}/model.json; sleep 0.3; "
            f"cat /tmp/out.txt /out/model.json {missing}/model.json"
        )
        executor.launch(StepLaunch(key, sh(script), private_paths=private))
    results = wait_for(executor, "a", "b")
    assert results["a"].stdout == "a\na\na\n"
    assert results["b"].stdout == "b\nb\nb\n"
    assert not os.path.exists(missing)
    assert os.path.exists("/out/model.json") == out_existed
    step_b = tmp_path / "steps" / "b"
    assert (step_b / "tmp/out.txt").read_text() == "b\n"
    assert (step_b / f"fs{missing}/model.json").read_text() == "b\n"


@pytest.mark.parametrize("root", ["/work", "/trainyard-test-"])
def test_prepare_stages_an_input_and_collect_reads_an_output(
    make_executor: MakeExecutor, root: str
) -> None:
    # A root that ends in "-" gets a random name that exists nowhere, made here (not at
    # collection, where every pytest-xdist worker must see the same test ids).
    root = f"{root}{uuid.uuid4().hex}" if root.endswith("-") else root
    executor = make_executor()
    model, metrics = f"{root}/in/model", f"{root}/out/metrics.json"

    def prepare(paths: PathMap) -> None:
        paths.host(model).parent.mkdir(parents=True, exist_ok=True)
        paths.host(model).write_text("weights")

    def collect(paths: PathMap, exit_code: int) -> dict[str, Any]:
        return {"metrics": paths.host(metrics).read_text(), "exit_code": exit_code}

    script = f"mkdir -p {root}/out; cat {model} > {metrics}; echo ok"
    step = StepLaunch(
        "a", sh(script), private_paths=[model, metrics], prepare=prepare, collect=collect
    )
    executor.launch(step)
    result = wait_for(executor, "a")["a"]
    assert result.outputs == {"metrics": "weights", "exit_code": 0}
    assert not os.path.exists(f"{root}/in")


def test_working_dir(make_executor: MakeExecutor, isolation: str, tmp_path: Path) -> None:
    executor = make_executor(isolation)
    existing = tmp_path / "code"
    existing.mkdir()
    executor.launch(StepLaunch("a", ["pwd"], working_dir=str(existing)))
    assert wait_for(executor, "a")["a"].stdout == f"{existing}\n"
    if isolation == "bwrap":
        missing = f"/trainyard-test-{uuid.uuid4().hex}/src"
        executor.launch(StepLaunch("b", ["pwd"], working_dir=missing))
        assert wait_for(executor, "b")["b"].stdout == f"{missing}\n"
        assert not os.path.exists(os.path.dirname(missing))


def test_without_a_working_dir_a_step_starts_in_its_own_root(
    make_executor: MakeExecutor, isolation: str
) -> None:
    # As in a container whose image's WORKDIR is `/`: `result.txt` is `/result.txt`, the step's.
    executor = make_executor(isolation)
    name = f"trainyard-test-{uuid.uuid4().hex}.txt"

    def collect(paths: PathMap, exit_code: int) -> dict[str, Any]:
        return {"made": paths.host(f"/{name}").read_text()}

    script = f"pwd; echo made > {name}"
    executor.launch(StepLaunch("a", sh(script), private_paths=[f"/{name}"], collect=collect))
    result = wait_for(executor, "a")["a"]
    if isolation == "bwrap":
        assert (result.stdout, result.outputs) == ("/\n", {"made": "made\n"})
        assert not os.path.exists(f"/{name}")
    else:  # unisolated: its own temporary directory, never the controller's directory
        assert result.stdout != f"{os.getcwd()}\n"
        assert result.stdout.strip().endswith("/tmp")


def test_deadline_stops_the_whole_process_group(
    make_executor: MakeExecutor, isolation: str
) -> None:
    executor = make_executor(isolation, kill_grace=5.0)
    marker = f"100.{uuid.uuid4().int % 10**9}"
    executor.launch(StepLaunch("a", sh(f"sleep {marker} & sleep {marker}"), deadline_seconds=0.5))
    result = wait_for(executor, "a")["a"]
    assert result.exit_code in (143, 137)
    assert result.message == DEADLINE_MESSAGE
    assert result.finished_at is not None and result.started_at is not None
    assert (result.finished_at - result.started_at).total_seconds() < 4
    assert processes_with(marker) == []


def test_kill_stops_the_step_with_its_message(make_executor: MakeExecutor, isolation: str) -> None:
    executor = make_executor(isolation)
    marker = f"100.{uuid.uuid4().int % 10**9}"
    executor.launch(StepLaunch("a", sh(f"sleep {marker} & sleep {marker}")))
    time.sleep(0.3)
    executor.kill("a", "Stopped with strategy 'Stop'")
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.exit_code) == ("exited", 143)
    assert result.message == "Stopped with strategy 'Stop'"
    assert processes_with(marker) == []
    executor.kill("a", "again")  # an ended step is left alone


def test_kill_escalates_to_sigkill_after_the_grace(
    make_executor: MakeExecutor, isolation: str
) -> None:
    executor = make_executor(isolation, kill_grace=0.5)
    marker = f"100.{uuid.uuid4().int % 10**9}"
    executor.launch(StepLaunch("a", sh(f"trap '' TERM; sleep {marker}")))
    time.sleep(0.3)
    executor.kill("a", "stop")
    result = wait_for(executor, "a")["a"]
    assert (result.exit_code, result.message) == (137, "stop")
    assert processes_with(marker) == []


def test_kill_right_after_launch_runs_nothing(make_executor: MakeExecutor, tmp_path: Path) -> None:
    executor = make_executor()
    host, mount = shared_dir(tmp_path)
    flag = host / "ran"
    executor.launch(StepLaunch("a", ["touch", "/shared/ran"], mounts=[mount]))
    executor.kill("a", "stop")
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.message) == ("exited", "stop")
    # Either the command had not started (143, nothing ran) or it ended before the signal.
    assert result.exit_code == 143 or (result.exit_code == 0 and flag.exists())


_LAUNCHER = """
import sys
from pathlib import Path
from trainyard.executors.base import StepLaunch
from trainyard.executors.process import ProcessExecutor
executor = ProcessExecutor(Path(sys.argv[1]), "bwrap")
executor.launch(StepLaunch("wf/slow", ["sh", "-c", "sleep 2; echo done"]))
print("launched", flush=True)
sys.stdin.read()
"""


def test_a_step_survives_sigkill_of_its_controller_and_is_adopted(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(tmp_path / "steps")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert launcher.stdout is not None
    assert launcher.stdout.readline() == b"launched\n"
    launcher.kill()
    launcher.wait()
    launcher.stdout.close()
    assert launcher.stdin is not None
    launcher.stdin.close()
    executor = make_executor()
    [running] = executor.adopt(["wf/slow"])
    assert running.state == "running" and running.started_at is not None
    result = wait_for(executor, "wf/slow")["wf/slow"]
    assert (result.state, result.exit_code, result.stdout) == ("exited", 0, "done\n")
    [again] = make_executor().adopt(["wf/slow"])
    assert again.stdout == "done\n"


def shared_dir(tmp_path: Path, isolation: str = "bwrap") -> tuple[Path, Mount]:
    """A host directory that isolated steps see at /shared (the host's /tmp is hidden from
    them); without isolation mounts are not applied, so the target is the directory itself."""
    host = tmp_path / "shared"
    host.mkdir()
    return host, Mount("/shared" if isolation == "bwrap" else str(host), host)


def test_launching_a_key_twice_runs_it_once(make_executor: MakeExecutor, tmp_path: Path) -> None:
    host, mount = shared_dir(tmp_path)
    step = StepLaunch("a", sh("echo run >> /shared/runs"), mounts=[mount])
    first = make_executor()
    first.launch(step)
    first.launch(step)
    wait_for(first, "a")
    first.launch(step)
    second = make_executor()
    second.launch(step)  # another controller: the result on disk is reported, not re-run
    assert wait_for(second, "a")["a"].exit_code == 0
    assert (host / "runs").read_text() == "run\n"
    assert first.poll(0) == []


def test_a_missing_command_is_an_error_with_exit_code_127(
    make_executor: MakeExecutor, isolation: str, tmp_path: Path
) -> None:
    executor = make_executor(isolation)
    host, mount = shared_dir(tmp_path, isolation)
    (host / "data.txt").write_text("not a program")
    executor.launch(StepLaunch("a", ["nosuchcmd", "--flag"]))
    executor.launch(StepLaunch("b", [f"{mount.target}/data.txt"], mounts=[mount]))
    results = wait_for(executor, "a", "b")
    assert (results["a"].state, results["a"].exit_code) == ("error", 127)
    assert results["a"].message == "command 'nosuchcmd' not found"
    assert (results["b"].state, results["b"].exit_code) == ("error", 126)
    assert results["b"].message == f"command '{mount.target}/data.txt' is not executable"
    assert "command 'nosuchcmd' not found" in executor.log_path("a").read_text()


def test_without_isolation_steps_share_paths(make_executor: MakeExecutor, tmp_path: Path) -> None:
    executor = make_executor("none")
    shared = tmp_path / "shared.txt"

    def collect(paths: PathMap, exit_code: int) -> dict[str, Any]:
        return {"host": str(paths.host(str(shared)))}

    executor.launch(StepLaunch("a", sh(f'echo a > {shared}; echo "$TMPDIR"'), collect=collect))
    result = wait_for(executor, "a")["a"]
    assert shared.read_text() == "a\n"
    assert result.outputs == {"host": str(shared)}
    assert result.stdout == f"{tmp_path / 'steps' / 'a' / 'tmp'}\n"


def test_launch_fails_clearly_when_bwrap_is_missing(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    executor = make_executor("auto", bwrap="/nonexistent/bwrap")
    with pytest.raises(EnvironmentError_, match="apt-get install bubblewrap"):
        executor.launch(StepLaunch("a", ["true"]))
    # Nothing was started: adopting it finds nothing, so a controller would start it again.
    assert executor.adopt(["a"]) == []
    assert not (tmp_path / "steps" / "a").exists()


def test_a_failing_prepare_is_an_error_and_the_command_never_runs(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    executor = make_executor()
    host, mount = shared_dir(tmp_path)
    flag = host / "ran"

    def prepare(paths: PathMap) -> None:
        raise FileNotFoundError("input artifact 'model' not found")

    executor.launch(StepLaunch("a", ["touch", "/shared/ran"], mounts=[mount], prepare=prepare))
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.exit_code) == ("error", None)
    assert result.message == "input artifact 'model' not found"
    assert not flag.exists()


def test_a_failing_collect_is_an_error(make_executor: MakeExecutor) -> None:
    executor = make_executor()

    def collect(paths: PathMap, exit_code: int) -> dict[str, Any]:
        return {"x": paths.host("/out/missing.json").read_text()}

    executor.launch(StepLaunch("a", ["true"], private_paths=["/out/missing.json"], collect=collect))
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.exit_code) == ("error", 0)
    assert result.message is not None and "missing.json" in result.message


def test_a_supervisor_that_dies_leaves_an_error(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    executor = make_executor()
    marker = f"100.{uuid.uuid4().int % 10**9}"
    executor.launch(StepLaunch("a", ["sleep", marker]))
    deadline = time.monotonic() + 5
    while not processes_with(marker, command="sleep") and time.monotonic() < deadline:
        time.sleep(0.01)  # until the step runs: bwrap ties itself to the supervisor before
    pid = json.loads((tmp_path / "steps/a/pid").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.message) == (
        "error",
        "supervisor of step 'a' exited without a result",
    )
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []  # bwrap's --die-with-parent took the step along


def test_release_keeps_the_log_and_refuses_a_running_step(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    executor = make_executor()
    executor.launch(
        StepLaunch("a", sh("echo x > /tmp/f; chmod 500 /tmp; sleep 0.5"), private_paths=["/out/x"])
    )
    with pytest.raises(ConflictError, match="still running"):
        executor.release("a")
    wait_for(executor, "a")
    executor.release("a")
    step = tmp_path / "steps/a"
    assert sorted(os.listdir(step)) == ["launch.json", "log", "pid", "result.json", "stdout"]
    executor.release("a")


def test_stdout_beyond_256_kib_is_truncated(make_executor: MakeExecutor) -> None:
    executor = make_executor()
    executor.launch(StepLaunch("a", ["head", "-c", "300000", "/dev/zero"]))
    result = wait_for(executor, "a")["a"]
    assert result.stdout is not None and len(result.stdout) == 256 * 1024
    assert result.stdout_truncated


def test_keys_must_be_plain_relative_paths(make_executor: MakeExecutor) -> None:
    executor = make_executor()
    for key in ("", "../x", "a//b", ".notify", "/abs"):
        with pytest.raises(ValueError, match="component"):
            executor.launch(StepLaunch(key, ["true"]))
