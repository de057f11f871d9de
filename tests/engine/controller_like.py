"""Drive a Sim the way the controller does: report each started pod as Running, then tick
only when a pod ends or the engine asked to be woken.

`Sim.run` ticks every simulated second whatever happens, which hides a workflow that would
wait forever for nothing; `drive` fails on it instead.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.engine.conftest import PodRun, Sim, default_rule, make_workflow
from trainyard.engine.actions import PodObservation, PodRequest

DONE = ("Succeeded", "Failed", "Error")


def drive(
    text: str, rule: Callable[[PodRequest], PodRun] = default_rule, max_ticks: int = 200
) -> Sim:
    """Run the workflow `text` to its end; AssertionError if it would hang."""
    sim = Sim(make_workflow(text), rule)
    sim.tick()
    reported: set[str] = set()
    while sim.phase not in DONE:
        if sim.ticks > max_ticks:
            raise AssertionError(f"workflow did not finish in {max_ticks} ticks")
        started = [nid for nid in sim.running if nid not in reported]
        if started:
            reported.update(started)
            sim.tick([PodObservation(nid, "Running", sim.now) for nid in started])
            continue
        waiting = sim.running or sim.wake_at is not None or sim._pending
        assert waiting, f"the workflow waits for nothing and would hang: {sim.names()}"
        observations = sim._due()
        if not observations:
            sim._advance()
            observations = sim._due()
        sim.tick(observations)
    return sim
