"""The simulator: trace formats, estimate noise, and the figures it reports."""

from __future__ import annotations

import json
import math

import pytest

from tests.shared import TRACES
from trainyard.core.errors import ParameterError
from trainyard.scheduler.metrics import jain, percentile, summarize
from trainyard.scheduler.sim import Job, cluster, replay, with_noise
from trainyard.scheduler.traces import read_trace

PHILLY = """timestamp,duration,num_gpus,gpu_time,cluster
2017-10-09 07:01:55,66.0,1,66.0,11cb48
2017-10-09 06:13:03,2951.0,1,2951.0,6214e9
2017-10-09 06:13:36,2759.0,2,5518.0,6214e9
"""


def test_philly_rows_are_sorted_by_submit_time_and_start_at_zero() -> None:
    jobs = read_trace(PHILLY.splitlines(keepends=True))
    assert jobs == [
        Job("philly-2", 0.0, 2951.0, 1, "6214e9"),
        Job("philly-3", 33.0, 2759.0, 2, "6214e9"),
        Job("philly-1", 2932.0, 66.0, 1, "11cb48"),
    ]


def test_tiresias_and_jsonl_traces() -> None:
    tiresias = read_trace(
        [
            "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n",
            "1,8,30,133,vgg11,147,23\n",
            "0,1,10,606,vgg19,164,30\n",
        ]
    )
    assert tiresias == [Job("job-0", 0.0, 164.0, 1), Job("job-1", 20.0, 147.0, 8)]
    lines = [
        json.dumps({"id": "b", "submit": 5, "duration": 60, "gpus": 2, "tenant": "t"}),
        "",
        json.dumps({"id": "a", "submit": 1, "duration": 9, "gpus": 1, "estimate": 12}),
    ]
    assert read_trace(lines) == [
        Job("a", 1.0, 9.0, 1, "default", 12.0),
        Job("b", 5.0, 60.0, 2, "t"),
    ]


def test_bad_traces_name_the_line() -> None:
    with pytest.raises(ParameterError, match="trace line 2"):
        read_trace(['{"id": "a", "submit": 0, "duration": 1, "gpus": 1}', '{"id": "b"}'])
    with pytest.raises(ParameterError, match="trace line 3"):
        read_trace([*PHILLY.splitlines()[:2], "2017-10-09 06:13:03,soon,1,1,x"])
    with pytest.raises(ParameterError, match="unknown trace format"):
        read_trace(["name,time\n"])


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"no traces at {TRACES}")
def test_the_shared_traces_read_whole() -> None:
    with (TRACES / "tiresias-60.csv").open() as lines:
        jobs = read_trace(lines)
    assert len(jobs) == 60 and sorted({j.gpus for j in jobs}) == [1, 2, 4, 8]


def test_estimate_noise_is_seeded_and_never_the_truth() -> None:
    jobs = [Job(f"j{i}", 0.0, 100.0, 1) for i in range(50)]
    noisy = with_noise(jobs, 1.0, seed=3)
    assert noisy == with_noise(jobs, 1.0, seed=3)
    assert noisy != with_noise(jobs, 1.0, seed=4)
    spread = [math.log(j.estimate or 1) - math.log(100) for j in noisy]
    assert 0.5 < (sum(s * s for s in spread) / len(spread)) ** 0.5 < 1.5
    assert all(j.estimate == 100.0 for j in with_noise(jobs, 0.0, seed=1))


def test_figures_of_a_tiny_replay() -> None:
    jobs = [Job("a", 0.0, 10.0, 1, "x"), Job("b", 0.0, 10.0, 1, "y"), Job("c", 5.0, 4.0, 2, "x")]
    outcome = replay(jobs, cluster(2, 2), "fifo")
    assert outcome.starts == {"a": 0.0, "b": 0.0, "c": 10.0}
    report = summarize("fifo", jobs, outcome)
    assert report == {
        "policy": "fifo",
        "jobs": 3,
        "rejected": 0,
        "avg_jct_s": pytest.approx((10 + 10 + 9) / 3),
        "p50_jct_s": 10.0,
        "p99_jct_s": 10.0,
        "avg_wait_s": pytest.approx(5 / 3),
        "p99_wait_s": 5.0,
        "max_wait_s": 5.0,
        "util_while_waiting": 1.0,  # c waits from 5 to 10 while both GPUs are busy
        "utilization": pytest.approx(28 / (2 * 14)),
        "makespan_s": 14.0,
        "fairness_jain": pytest.approx(jain([(1 + 9 / 4) / 2, 1.0])),
    }


def test_jobs_bigger_than_the_cluster_are_rejected_and_counted() -> None:
    jobs = [Job("ok", 0.0, 1.0, 16), Job("huge", 0.0, 1.0, 128), Job("cpu", 0.0, 1.0, 0)]
    outcome = replay(jobs, cluster(24, 8), "balanced")
    assert outcome.rejected == ["huge"]
    assert set(outcome.starts) == {"ok", "cpu"}
    assert summarize("balanced", jobs, outcome)["rejected"] == 1


def test_helpers() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.99) == 4.0
    assert jain([2.0, 2.0]) == 1.0
    assert jain([1.0, 0.0]) == 0.5
    assert [n.name for n in cluster(10, 4)] == ["node-0", "node-1", "node-rest"]
