"""The containerSet runner, run as the real command a step runs: order, parallelism, retries,
a failure that stops the others, main's stdout, and a stop from outside."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trainyard.executors.containerset import PLAN_ENV

SRC = str(Path(__file__).resolve().parents[2] / "src")


def member(name: str, script: str, *deps: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "command": ["sh", "-c", script],
        "env": env or {},
        "dependencies": list(deps),
    }


def start(tmp_path: Path, members: list[dict[str, Any]], **plan: Any) -> subprocess.Popen[str]:
    status = tmp_path / "status.json"
    for m in members:
        m.setdefault("workingDir", str(tmp_path))
    value = {"status": str(status), "containers": members, "pythonpath": None, **plan}
    env = {**os.environ, PLAN_ENV: json.dumps(value), "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-m", "trainyard.executors.containerset"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(
    tmp_path: Path, members: list[dict[str, Any]], **plan: Any
) -> tuple[int, str, str, dict[str, dict[str, Any]]]:
    proc = start(tmp_path, members, **plan)
    out, err = proc.communicate(timeout=60)
    records = json.loads((tmp_path / "status.json").read_text())
    assert [r["name"] for r in records] == [m["name"] for m in members]
    return proc.returncode, out, err, {r["name"]: r for r in records}


def test_dependencies_order_the_containers_and_main_stdout_is_the_result(tmp_path: Path) -> None:
    log = tmp_path / "log"
    members = [
        member("main", f"echo main >> {log}; echo from-main", "b", "c"),
        member("a", f"echo a >> {log}; echo from-a"),
        member("b", f"sleep 0.2; echo b >> {log}", "a"),
        member("c", f"echo c >> {log}", "a"),
    ]
    code, out, err, records = run(tmp_path, members)
    assert code == 0, err
    lines = log.read_text().split()
    assert lines[0] == "a" and lines[-1] == "main" and sorted(lines[1:3]) == ["b", "c"]
    assert out == "from-main\n"  # other containers' stdout is not the result
    assert "from-a" in err
    assert {r["phase"] for r in records.values()} == {"Succeeded"}
    assert records["main"]["exitCode"] == 0 and records["main"]["startedAt"]


def test_containers_without_dependencies_run_at_once(tmp_path: Path) -> None:
    # each waits for the other's mark: only together can they end
    a, b = tmp_path / "a", tmp_path / "b"
    wait = "for i in $(seq 100); do [ -e {0} ] && exit 0; sleep 0.05; done; exit 1"
    members = [
        member("a", f"touch {a}; " + wait.format(b)),
        member("b", f"touch {b}; " + wait.format(a)),
    ]
    code, _, err, records = run(tmp_path, members)
    assert code == 0, err
    assert records["a"]["phase"] == records["b"]["phase"] == "Succeeded"


def test_a_failure_stops_the_others_and_skips_what_waits(tmp_path: Path) -> None:
    members = [
        member("slow", "sleep 30"),
        member("bad", "echo oops >&2; exit 3"),
        member("after", "echo never", "bad"),
        member("after-after", "echo never", "after"),
    ]
    began = time.monotonic()
    code, out, err, records = run(tmp_path, members)
    assert time.monotonic() - began < 10
    assert code == 3 and "oops" in err and out == ""
    assert records["bad"] == {**records["bad"], "phase": "Failed", "exitCode": 3, "cause": True}
    assert records["bad"]["message"] == "bad: Error (exit code 3)"
    assert records["slow"]["phase"] == "Failed" and not records["slow"]["cause"]
    assert records["slow"]["message"] == (
        "slow: Error (exit code 143): stopped because container 'bad' failed"
    )
    assert records["after"]["phase"] == "Error"
    assert records["after"]["message"] == "after: not started: its dependency 'bad' did not succeed"
    assert records["after-after"]["message"].endswith("its dependency 'after' did not succeed")


def test_a_failing_container_is_run_again_in_place(tmp_path: Path) -> None:
    count = tmp_path / "count"
    flaky = f"echo x >> {count}; [ $(wc -l < {count}) -ge 3 ]"
    code, _, err, records = run(tmp_path, [member("flaky", flaky)], attempts=3, pause=0.1)
    assert code == 0, err
    assert count.read_text().count("x") == 3
    assert records["flaky"]["phase"] == "Succeeded"
    count.unlink()
    code, _, _, records = run(tmp_path, [member("flaky", flaky)], attempts=2, pause=0)
    assert code == 1 and count.read_text().count("x") == 2
    assert records["flaky"]["message"] == "flaky: Error (exit code 1)"


def test_a_missing_command_is_an_error_not_retried(tmp_path: Path) -> None:
    members = [{**member("main", ""), "command": ["no-such-command-here"]}]
    code, _, _, records = run(tmp_path, members, attempts=5)
    assert code == 127
    assert records["main"]["phase"] == "Error"
    assert "cannot start 'no-such-command-here'" in records["main"]["message"]


def test_each_container_gets_its_own_variables_and_working_dir(tmp_path: Path) -> None:
    work = tmp_path / "w" / "deeper"
    members = [
        {
            **member("main", 'echo "$WHO $PYTHONPATH"; pwd', env={"WHO": "me"}),
            "workingDir": str(work),
        }
    ]
    code, out, _, _ = run(tmp_path, members, pythonpath="/lib/x")
    assert code == 0
    assert out.split("\n")[:2] == ["me /lib/x", str(work)]


def test_a_stopped_set_records_its_containers(tmp_path: Path) -> None:
    # as the supervisor stops a step: SIGTERM to the whole process group
    members = [member("main", "echo started; sleep 30"), member("next", "true", "main")]
    status = tmp_path / "status.json"
    own_group = "import os, sys; os.setpgrp(); os.execv(sys.argv[1], sys.argv[1:])"
    with subprocess.Popen(
        [sys.executable, "-c", own_group, sys.executable, "-m", "trainyard.executors.containerset"],
        env={
            **os.environ,
            "PYTHONPATH": SRC,
            PLAN_ENV: json.dumps(
                {"status": str(status), "containers": members, "pythonpath": None}
            ),
        },
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 143
    records = {r["name"]: r for r in json.loads(status.read_text())}
    # whether the runner saw its own SIGTERM before its container's end is a race
    assert records["main"]["message"].startswith("main: Error (exit code 143)")
    assert records["main"]["phase"] == "Failed"
    assert records["next"]["phase"] == "Error"
    assert records["next"]["message"].startswith("next: not started: ")
