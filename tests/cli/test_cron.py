"""`trainyard cron ...`, and CronWorkflows fired by a real engine across a kill -9 restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Runner
from trainyard.core.clock import parse_time
from trainyard.store.sql import SqlStore

LABEL = "workflows.argoproj.io/cron-workflow"


def cron_yaml(name: str, seconds: int = 0, extra: str = "") -> str:
    """A CronWorkflow firing each minute whose one step sleeps `seconds`."""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: {name}
spec:
  schedules: ["* * * * *"]
  timezone: Europe/Berlin
{extra}  workflowSpec:
    entrypoint: main
    templates:
    - name: main
      script:
        image: python:3.11
        command: [python]
        source: "import time; time.sleep({seconds})"
"""


def test_create_list_get_suspend_resume_delete(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    path = write("cron.yaml", cron_yaml("nightly", extra="  concurrencyPolicy: Forbid\n"))
    made = trainyard("cron", "create", str(path), "-o", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["metadata"]["name"] == "nightly"
    listed = trainyard("cron", "list", "-o", "json")
    (row,) = json.loads(listed.stdout)
    assert row["schedules"] == ["* * * * *"] and row["concurrencyPolicy"] == "Forbid"
    assert row["suspended"] is False and row["lastScheduledTime"] is None
    following = parse_time(row["nextScheduledTime"])
    assert following > datetime.now(UTC) and following.second == 0
    text = trainyard("cron", "list")
    assert "nightly" in text.stdout and "Europe/Berlin" in text.stdout
    assert (
        trainyard("cron", "suspend", "nightly").stdout.strip() == "cronworkflow nightly suspended"
    )
    got = json.loads(trainyard("cron", "get", "nightly", "-o", "json").stdout)
    assert got["spec"]["suspend"] is True
    assert trainyard("cron", "resume", "nightly", "-o", "json").returncode == 0
    shown = trainyard("cron", "get", "nightly")
    assert "Suspended:          false" in shown.stdout
    again = trainyard("cron", "create", str(path))
    assert again.returncode != 0 and "nightly" in again.stderr
    deleted = trainyard("cron", "delete", "nightly", "-o", "json")
    assert json.loads(deleted.stdout) == {"deleted": ["nightly"]}
    assert json.loads(trainyard("cron", "list", "-o", "json").stdout) == []


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ('  schedules: ["61 * * * *"]\n', ":6:15: error: schedule '61 * * * *': '61' is not"),
        ('  schedules: ["@daily"]\n  timezone: Mars/Base\n', ":7:3: error: unknown time zone"),
        ('  schedules: "@daily"\n', "error:"),
    ],
)
def test_create_refuses_a_bad_file_with_its_line(
    trainyard: Runner, write: Callable[[str, str], Path], spec: str, says: str
) -> None:
    body = cron_yaml("bad").replace('  schedules: ["* * * * *"]\n', spec)
    body = body.replace("  timezone: Europe/Berlin\n", "")
    path = write("bad.yaml", body)
    result = trainyard("cron", "create", str(path))
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(trainyard("cron", "list", "-o", "json").stdout) == []


def test_lint_accepts_a_cron_workflow(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    result = trainyard("lint", str(write("cron.yaml", cron_yaml("ok"))))
    assert result.returncode == 0, result.stderr


class Engine:
    """`trainyard engine` as a real process in `home`."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {**os.environ, "TRAINYARD_HOME": str(self.home)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trainyard", "engine"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)


def runs(store: SqlStore, cron: str) -> dict[str, dict[str, Any]]:
    docs = store.list("Workflow", labels={LABEL: cron})
    return {doc["metadata"]["name"]: doc for doc in docs}


def step_running(run: dict[str, Any]) -> bool:
    nodes = (run.get("status") or {}).get("nodes") or {}
    return any(n.get("type") == "Pod" and n.get("phase") == "Running" for n in nodes.values())


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def poll(check: Callable[[], bool], timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if check():
            return True
        time.sleep(0.3)
    return check()


@pytest.mark.slow
def test_ticks_fire_on_time_once_each_across_a_kill_9_restart_with_forbid(
    trainyard: Runner, write: Callable[[str, str], Path], home: Path
) -> None:
    """Two CronWorkflows each minute: `long` (Forbid, a 90 s step) and `quick` (Allow).

    The engine is killed with SIGKILL just after the first tick and started again before the
    next: the second tick fires on time for `quick` and is skipped for `long`, whose first run
    goes on (re-adopted); no tick fires twice.
    """
    # Too near a tick to set up before it: the two `cron create` can take many seconds on a
    # loaded machine (the suite runs in parallel).
    if 60 - time.time() % 60 < 20:
        wait_until(time.time() // 60 * 60 + 61)
    long_path = write("long.yaml", cron_yaml("long", 90, "  concurrencyPolicy: Forbid\n"))
    assert trainyard("cron", "create", str(long_path)).returncode == 0
    assert trainyard("cron", "create", str(write("quick.yaml", cron_yaml("quick")))).returncode == 0
    first = int(time.time() // 60 * 60 + 60)
    store = SqlStore(f"sqlite:///{home / 'trainyard.db'}")
    engine = Engine(home)
    try:
        engine.start()
        assert poll(lambda: len(runs(store, "long")) + len(runs(store, "quick")) == 2, 75)
        for cron in ("long", "quick"):
            (run,) = runs(store, cron).values()
            assert run["metadata"]["name"] == f"{cron}-{first}"
            fired = parse_time(run["metadata"]["creationTimestamp"]).timestamp()
            assert first <= fired <= first + 3  # on time
        # killed once the long step runs (a kill before its launch is another story)
        assert poll(lambda: step_running(runs(store, "long")[f"long-{first}"]), 10)
        engine.kill()
        time.sleep(1)
        engine.start()
        wait_until(first + 60 + 8)
        quick, long = runs(store, "quick"), runs(store, "long")
        assert sorted(quick) == [f"quick-{first}", f"quick-{first + 60}"]
        fired = parse_time(quick[f"quick-{first + 60}"]["metadata"]["creationTimestamp"])
        assert first + 60 <= fired.timestamp() <= first + 63  # on time after the restart
        ended = {n: (d.get("status") or {}).get("message") for n, d in long.items()}
        assert list(long) == [f"long-{first}"], ended  # Forbid: the second tick is skipped
        assert long[f"long-{first}"]["status"]["phase"] == "Running"  # re-adopted, still on
        status = store.get("CronWorkflow", "default", "long")["status"]
        assert [ref["name"] for ref in status["active"]] == [f"long-{first}"]
        assert parse_time(status["lastScheduledTime"]).timestamp() == first
        quick_status = store.get("CronWorkflow", "default", "quick")["status"]
        assert parse_time(quick_status["lastScheduledTime"]).timestamp() == first + 60
        assert trainyard("terminate", f"long-{first}").returncode == 0
        assert poll(lambda: runs(store, "long")[f"long-{first}"]["status"]["phase"] == "Failed", 20)
    finally:
        engine.kill(signal.SIGINT)
        engine.kill()
        store.close()
