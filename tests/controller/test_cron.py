"""CronWorkflows fired on a fake clock: ticks, missed ticks, deadlines, concurrency, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trainyard.artifacts.registry import ConfiguredRepositories
from trainyard.controller.cron import CRON_LABEL, SCHEDULED_ANNOTATION, CronWorkflows
from trainyard.core.config import Config, SecretRef
from trainyard.core.errors import UserError
from trainyard.executors.process import ProcessExecutor
from trainyard.store.memory import MemoryStore

START = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


class FakeClock:
    """Time that moves only when the test says."""

    def __init__(self) -> None:
        self.moment = START

    def now(self) -> datetime:
        return self.moment


class Bench:
    """A store, the cron runner over it, and a clock the test moves."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.store = MemoryStore(self.clock)
        self.tmp_path = tmp_path
        self.crons = self.restart()

    def restart(self) -> CronWorkflows:
        """A fresh runner over the same store, as a restarted engine makes."""
        self.crons = CronWorkflows(
            self.store,
            ProcessExecutor(self.tmp_path / "steps", "none"),
            ConfiguredRepositories(Config(), self.tmp_path, _no_secret),
            self.tmp_path / "volumes",
            default_zone=UTC,
        )
        return self.crons

    def cron(self, name: str = "nightly", **spec: Any) -> None:
        workflow_spec = {
            "entrypoint": "main",
            "templates": [{"name": "main", "container": {"image": "x", "command": ["true"]}}],
        }
        body = {"schedules": ["* * * * *"], "workflowSpec": workflow_spec, **spec}
        self.store.create(
            "CronWorkflow",
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "CronWorkflow",
                "metadata": {"name": name, "namespace": "default"},
                "spec": body,
            },
        )

    def at(self, moment: datetime) -> list[str]:
        """Run the cron runner at `moment`; the names of the workflows it started."""
        self.clock.moment = moment
        return [doc["metadata"]["name"] for doc in self.crons.run(moment)]

    def runs(self) -> list[str]:
        return sorted(d["metadata"]["name"] for d in self.store.list("Workflow"))

    def status(self, name: str = "nightly") -> dict[str, Any]:
        status: dict[str, Any] = self.store.get("CronWorkflow", "default", name).get("status", {})
        return status

    def finish(self, name: str, phase: str = "Succeeded") -> None:
        doc = self.store.get("Workflow", "default", name)
        self.store.update("Workflow", {**doc, "status": {"phase": phase}})


def _no_secret(ref: SecretRef) -> str:
    raise UserError(f"no secret {ref.name}")


def minute(n: int, second: int = 0) -> datetime:
    """`n` minutes after midnight of START's day."""
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n, seconds=second)


def name_at(n: int) -> str:
    return f"nightly-{int(minute(n).timestamp())}"


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return Bench(tmp_path)


def test_a_tick_fires_once_as_argo_names_and_labels_it(bench: Bench) -> None:
    bench.cron(workflowMetadata={"labels": {"team": "vision"}, "annotations": {"a": "b"}})
    assert bench.at(minute(0, 50)) == []  # no tick since the CronWorkflow was made
    assert bench.at(minute(1, 1)) == [name_at(1)]
    assert bench.at(minute(1, 3)) == []  # same tick: nothing more
    wf = bench.store.get("Workflow", "default", name_at(1))
    assert wf["metadata"]["labels"] == {"team": "vision", CRON_LABEL: "nightly"}
    assert wf["metadata"]["annotations"] == {"a": "b", SCHEDULED_ANNOTATION: "2026-01-01T00:01:00Z"}
    assert wf["spec"]["entrypoint"] == "main"
    status = bench.status()
    assert status["lastScheduledTime"] == "2026-01-01T00:01:00Z"
    assert [ref["name"] for ref in status["active"]] == [name_at(1)]
    assert status["phase"] == "Active"


def test_a_runner_that_lost_its_memory_does_not_fire_a_tick_again(bench: Bench) -> None:
    bench.cron()
    bench.at(minute(1, 1))
    bench.restart()  # a restarted engine: only the store remembers
    bench.store.update(
        "CronWorkflow", {**bench.store.get("CronWorkflow", "default", "nightly"), "status": {}}
    )
    assert bench.at(minute(1, 5)) == []  # the run's name says the tick fired
    assert bench.runs() == [name_at(1)]


def test_runs_that_end_leave_active_and_are_counted(bench: Bench) -> None:
    bench.cron(successfulJobsHistoryLimit=10, failedJobsHistoryLimit=10)
    bench.at(minute(1, 1))
    bench.at(minute(2, 1))
    bench.finish(name_at(1))
    bench.finish(name_at(2), "Failed")
    bench.at(minute(2, 5))
    status = bench.status()
    assert (status["succeeded"], status["failed"]) == (1, 1)
    assert "active" not in status
    bench.at(minute(2, 10))
    assert (bench.status()["succeeded"], bench.status()["failed"]) == (1, 1)  # counted once


def test_missed_ticks_only_the_latest_fires(bench: Bench) -> None:
    bench.cron()
    assert bench.at(minute(10, 20)) == [name_at(10)]  # down for ten ticks: one run
    assert bench.runs() == [name_at(10)]


def test_starting_deadline_skips_a_tick_missed_for_longer(bench: Bench) -> None:
    bench.cron(startingDeadlineSeconds=30)
    assert bench.at(minute(5, 45)) == []  # 45 s late: skipped
    assert bench.at(minute(5, 50)) == []
    assert bench.at(minute(6, 20)) == [name_at(6)]  # 20 s late: fires late, once
    assert bench.at(minute(6, 25)) == []


def test_forbid_skips_ticks_while_a_run_runs_and_never_fires_them_later(bench: Bench) -> None:
    bench.cron(concurrencyPolicy="Forbid")
    assert bench.at(minute(1, 1)) == [name_at(1)]
    assert bench.at(minute(2, 1)) == []  # the first still runs
    bench.finish(name_at(1))
    assert bench.at(minute(2, 30)) == []  # the skipped tick stays skipped
    assert bench.at(minute(3, 1)) == [name_at(3)]


def test_allow_runs_side_by_side(bench: Bench) -> None:
    bench.cron()
    bench.at(minute(1, 1))
    assert bench.at(minute(2, 1)) == [name_at(2)]
    assert len(bench.status()["active"]) == 2


def test_replace_terminates_the_running_one_then_fires(bench: Bench) -> None:
    bench.cron(concurrencyPolicy="Replace")
    bench.at(minute(1, 1))
    assert bench.at(minute(2, 1)) == [name_at(2)]
    old = bench.store.get("Workflow", "default", name_at(1))
    assert old["spec"]["shutdown"] == "Terminate"
    assert "shutdown" not in bench.store.get("Workflow", "default", name_at(2))["spec"]


def test_history_limits_delete_the_oldest_finished_runs(bench: Bench) -> None:
    bench.cron(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=0)
    for n in range(1, 6):
        bench.at(minute(n, 1))
        bench.finish(name_at(n), "Failed" if n == 3 else "Succeeded")
    bench.at(minute(5, 30))
    assert bench.runs() == [name_at(4), name_at(5)]
    assert (bench.status()["succeeded"], bench.status()["failed"]) == (4, 1)


def test_default_history_limits_are_argos(bench: Bench) -> None:
    bench.cron()
    for n in range(1, 7):
        bench.at(minute(n, 1))
        bench.finish(name_at(n), "Error" if n in (1, 2) else "Succeeded")
    bench.at(minute(6, 30))
    assert bench.runs() == [name_at(2), name_at(4), name_at(5), name_at(6)]  # 1 failed, 3 ok


def test_suspended_ticks_are_skipped_for_good(bench: Bench) -> None:
    bench.cron(suspend=True)
    assert bench.at(minute(1, 1)) == []
    assert bench.at(minute(2, 1)) == []
    doc = bench.store.get("CronWorkflow", "default", "nightly")
    bench.store.update("CronWorkflow", {**doc, "spec": {**doc["spec"], "suspend": False}})
    assert bench.at(minute(2, 30)) == []  # resumed: the ticks while suspended do not fire
    assert bench.at(minute(3, 1)) == [name_at(3)]


def test_timezone_places_the_ticks(bench: Bench) -> None:
    bench.cron(schedules=["0 3 * * *"], timezone="Asia/Tokyo")  # 03:00 JST = 18:00Z
    assert bench.at(datetime(2026, 1, 1, 17, 59, 59, tzinfo=UTC)) == []
    fired = bench.at(datetime(2026, 1, 1, 18, 0, 1, tzinfo=UTC))
    assert fired == [f"nightly-{int(datetime(2026, 1, 1, 18, tzinfo=UTC).timestamp())}"]


def test_a_bad_schedule_is_a_condition_not_a_crash(bench: Bench) -> None:
    bench.cron("broken", schedules=["every morning"])
    bench.cron()
    assert bench.at(minute(1, 1)) == [name_at(1)]  # the other one still fires
    (condition,) = bench.status("broken")["conditions"]
    assert condition["type"] == "SpecError"
    assert "'every morning' has 2 field(s)" in condition["message"]


def test_checks_happen_at_most_once_a_second(bench: Bench) -> None:
    bench.cron()
    bench.at(minute(0, 59) + timedelta(milliseconds=500))
    assert bench.at(minute(1, 0) + timedelta(milliseconds=100)) == []  # too soon after
    assert bench.at(minute(1, 0) + timedelta(milliseconds=600)) == [name_at(1)]
