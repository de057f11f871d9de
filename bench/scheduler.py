"""Replay the whole Philly trace on 512 GPUs (64 nodes x 8) with noisy estimates, per policy.

Usage: python bench/scheduler.py [--trace PATH] [--sigma 1.0] [--seed 0] [--policy NAME ...]

Prints one row per policy and then the acceptance figures: the default policy's average JCT
against fifo's (>= 3x lower), its p99 JCT (not worse than fifo's), its utilization while work
waits (>= 0.9) and its replay time (<= 60 s).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from trainyard.scheduler.metrics import summarize
from trainyard.scheduler.policies import DEFAULT, POLICIES
from trainyard.scheduler.sim import cluster, replay, with_noise
from trainyard.scheduler.traces import read_trace

TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "philly.csv"
COLUMNS = [
    ("avg_jct_s", "avg JCT", "{:,.0f}"),
    ("p50_jct_s", "p50 JCT", "{:,.0f}"),
    ("p99_jct_s", "p99 JCT", "{:,.0f}"),
    ("avg_wait_s", "avg wait", "{:,.0f}"),
    ("p99_wait_s", "p99 wait", "{:,.0f}"),
    ("max_wait_s", "max wait", "{:,.0f}"),
    ("util_while_waiting", "util|wait", "{:.3f}"),
    ("utilization", "util", "{:.3f}"),
    ("fairness_jain", "Jain", "{:.3f}"),
    ("wall_s", "wall s", "{:.1f}"),
]


def run(path: Path, policy: str, sigma: float, seed: int) -> dict[str, Any]:
    """The `trainyard sim` report for one policy, timed from reading the file to the figures."""
    start = time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        jobs = with_noise(read_trace(lines), sigma, seed)
    report = summarize(policy, jobs, replay(jobs, cluster(512, 8), policy))
    report["wall_s"] = time.perf_counter() - start
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=TRACE)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--policy",
        action="append",
        choices=sorted(POLICIES),
        help="policies to compare (default: fifo, the default one, then the others)",
    )
    args = parser.parse_args()
    others = sorted(set(POLICIES) - {"fifo", DEFAULT.name})
    policies = args.policy or ["fifo", DEFAULT.name, *others]
    print(f"{args.trace.name}, 512 GPUs (64 x 8), --estimate-noise {args.sigma}, seed {args.seed}")
    print(f"{'policy':10}" + "".join(f"{title:>12}" for _, title, _ in COLUMNS))
    reports = {}
    for policy in policies:
        report = reports[policy] = run(args.trace, policy, args.sigma, args.seed)
        cells = "".join(f"{fmt.format(report[key]):>12}" for key, _, fmt in COLUMNS)
        print(f"{policy:10}{cells}", flush=True)
    rejected = {p: r["rejected"] for p, r in reports.items() if r["rejected"]}
    print(f"jobs: {next(iter(reports.values()))['jobs']:,}; rejected (too big): {rejected or 0}")
    if "fifo" in reports and DEFAULT.name in reports:
        fifo, best = reports["fifo"], reports[DEFAULT.name]
        ratio = fifo["avg_jct_s"] / best["avg_jct_s"]
        checks = [
            (f"avg JCT {ratio:.2f}x lower than fifo", ratio >= 3.0),
            (
                f"p99 JCT {best['p99_jct_s']:,.0f} s vs fifo {fifo['p99_jct_s']:,.0f} s",
                best["p99_jct_s"] <= fifo["p99_jct_s"],
            ),
            (
                f"util while waiting {best['util_while_waiting']:.3f}",
                best["util_while_waiting"] >= 0.9,
            ),
            (f"replay {best['wall_s']:.1f} s", best["wall_s"] <= 60.0),
        ]
        print(f"default policy ({DEFAULT.name}):")
        for text, ok in checks:
            print(f"  {'ok  ' if ok else 'FAIL'} {text}")


if __name__ == "__main__":
    main()
