"""Time one scheduling decision over a queue of 10,000 items on a busy 64 x 8 GPU cluster.

Usage: python bench/scheduler_decision.py [--queue N] [--decisions N] [--policy NAME]

Steady state: a running item ends, `schedule(now)` fills the freed GPUs (timed), and new items
keep the queue at N. Burst: all 512 GPUs free at once under a full queue (timed once).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from trainyard.scheduler import POLICIES, NodeCapacity, QueueItem, Request, Scheduler
from trainyard.scheduler.policies import DEFAULT

SIZES = [1] * 93 + [2] * 2 + [4] * 2 + [8] * 2 + [16]  # roughly Philly's mix of GPU counts
TENANTS = [f"team-{i:02d}" for i in range(15)]


def item(rng: random.Random, n: int, now: float) -> QueueItem:
    """A random item: Philly-like size, skewed tenant, log-normal run time estimate."""
    tenant = TENANTS[min(int(rng.expovariate(0.4)), len(TENANTS) - 1)]
    estimate = rng.lognormvariate(7.0, 2.0)
    return QueueItem(f"q{n}", tenant, Request(gpus=rng.choice(SIZES)), now, estimate=estimate)


def ms(samples: list[float], q: float) -> float:
    """The q-quantile of `samples` in milliseconds."""
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    parser.add_argument("--policy", default=DEFAULT.name, choices=sorted(POLICIES))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    nodes = NodeCapacity.uniform(64, 8)
    print(f"policy {args.policy}, queue {args.queue:,}, 64 x 8 GPUs")

    burst = Scheduler(nodes, args.policy, multi_node=True)
    for n in range(args.queue):
        burst.submit(item(rng, n, float(n % 1000)))
    start = time.perf_counter()
    placed = burst.schedule(1000.0)
    burst_s = time.perf_counter() - start
    print(f"burst: {len(placed)} items placed on an empty cluster in {1000 * burst_s:.2f} ms")

    now, counter = 1000.0, args.queue
    samples: list[float] = []
    starts: list[int] = []
    scheduler = burst
    for _ in range(args.decisions):
        running = scheduler.running()
        if running:
            finished = rng.choice(running)[0]
            scheduler.finished(finished.id)
        now += rng.expovariate(1 / 30)
        while len(scheduler.queue) < args.queue:
            scheduler.submit(item(rng, counter, now))
            counter += 1
        start = time.perf_counter()
        placed = scheduler.schedule(now)
        samples.append(time.perf_counter() - start)
        starts.append(len(placed))
    print(
        f"steady state over {args.decisions} decisions ({statistics.mean(starts):.2f} starts"
        f" each): p50 {ms(samples, 0.5):.3f} ms, p99 {ms(samples, 0.99):.3f} ms,"
        f" max {ms(samples, 1.0):.3f} ms"
    )
    start = time.perf_counter()
    waiting = scheduler.waiting(now)
    took = 1000 * (time.perf_counter() - start)
    print(f"waiting(): {len(waiting):,} reasons and positions in {took:.1f} ms")


if __name__ == "__main__":
    main()
