"""Memoized templates in the engine: hits, misses, maxAge, and which results are stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from tests.engine.conftest import START, PodRun, Sim, make_workflow
from trainyard.core.errors import ConflictError
from trainyard.engine import operations
from trainyard.engine.actions import (
    KillPod,
    MemoCache,
    MemoEntry,
    PodRequest,
    SaveMemo,
    StartPod,
    TouchMemo,
)
from trainyard.engine.workflow import decide
from trainyard.spec.models import Outputs

MEMOIZED = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: m-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: word, value: hello}]}
  templates:
  - name: main
    steps:
    - - name: say
        template: say
        arguments: {parameters: [{name: word, value: "{{workflow.parameters.word}}"}]}
    - - name: show
        template: show
        arguments: {parameters: [{name: got, value: "{{steps.say.outputs.parameters.out}}"}]}
  - name: say
    inputs: {parameters: [{name: word}]}
    memoize:
      key: "say-{{inputs.parameters.word}}"
      maxAge: "10s"
      cache: {configMap: {name: say-cache}}
    container: {image: busybox, command: [sh, -c, "echo {{inputs.parameters.word}}"]}
    outputs:
      parameters: [{name: out, valueFrom: {path: /tmp/out}}]
  - name: show
    inputs: {parameters: [{name: got}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.got}}"]}
"""


@dataclass
class MemoSim(Sim):
    """A Sim whose engine reads and writes memoization caches held in memory."""

    caches: dict[str, dict[str, MemoEntry]] = field(default_factory=dict)
    saved: list[SaveMemo] = field(default_factory=list)
    touched: list[TouchMemo] = field(default_factory=list)

    def tick(self, observations: list | None = None) -> None:  # type: ignore[type-arg]
        views = {name: MemoCache(name, dict(entries)) for name, entries in self.caches.items()}
        decision = decide(self.workflow, observations or [], self.now, views)
        self.workflow = decision.workflow
        self.ticks += 1
        self.wake_at = decision.wake_at
        for action in decision.actions:
            if isinstance(action, StartPod) and action.pod.node_name not in self.started:
                self.started.append(action.pod.node_name)
                self.running[action.pod.node_id] = (self.now, self.rule(action.pod), action.pod)
            elif isinstance(action, SaveMemo):
                self.saved.append(action)
                entry = MemoEntry(action.node_id, action.outputs, action.at)
                self.caches.setdefault(action.cache_name, {})[action.key] = entry
            elif isinstance(action, TouchMemo):
                self.touched.append(action)
            assert not isinstance(action, KillPod)


def _say(pod: PodRequest) -> PodRun:
    if pod.node_name.endswith(".say"):
        return PodRun(parameters={"out": "computed"})
    return PodRun()


def _entry(value: str, age: float) -> MemoEntry:
    outputs = Outputs.model_validate({"parameters": [{"name": "out", "value": value}]})
    return MemoEntry("earlier-node", outputs, START - timedelta(seconds=age))


def test_a_miss_runs_the_step_and_stores_its_outputs() -> None:
    sim = MemoSim(make_workflow(MEMOIZED), _say)
    sim.run()
    assert sim.phase == "Succeeded"
    say = sim.node("wf[0].say")
    assert say.memoization_status is not None
    assert say.memoization_status.dump() == {
        "hit": False,
        "key": "say-hello",
        "cacheName": "say-cache",
    }
    assert sim.started == ["wf[0].say", "wf[1].show"]
    assert [(s.cache_name, s.key, s.node_id) for s in sim.saved] == [
        ("say-cache", "say-hello", say.id)
    ]
    assert sim.saved[0].outputs is not None
    assert sim.saved[0].outputs.parameters[0].value == "computed"


def test_a_hit_gives_the_outputs_without_running() -> None:
    sim = MemoSim(
        make_workflow(MEMOIZED), _say, caches={"say-cache": {"say-hello": _entry("cached", 5)}}
    )
    sim.run()
    assert sim.phase == "Succeeded"
    say = sim.node("wf[0].say")
    assert say.phase == "Succeeded" and say.type == "Pod"
    assert say.memoization_status is not None and say.memoization_status.hit
    assert sim.started == ["wf[1].show"]
    assert sim.node("wf[1].show").inputs is not None
    assert sim.node("wf[1].show").inputs.parameters[0].value == "cached"  # type: ignore[union-attr]
    assert sim.saved == []
    assert [(t.cache_name, t.key) for t in sim.touched] == [("say-cache", "say-hello")]


def test_an_entry_older_than_max_age_is_a_miss() -> None:
    sim = MemoSim(
        make_workflow(MEMOIZED), _say, caches={"say-cache": {"say-hello": _entry("old", 11)}}
    )
    sim.run()
    assert sim.started == ["wf[0].say", "wf[1].show"]
    assert sim.caches["say-cache"]["say-hello"].outputs.parameters[0].value == "computed"  # type: ignore[union-attr]


def test_another_key_is_a_miss() -> None:
    caches = {"say-cache": {"say-other": _entry("cached", 1)}}
    sim = MemoSim(make_workflow(MEMOIZED), _say, caches=caches)
    sim.run()
    assert sim.started[0] == "wf[0].say"
    assert set(sim.caches["say-cache"]) == {"say-other", "say-hello"}


def test_a_failed_step_is_not_stored() -> None:
    sim = MemoSim(make_workflow(MEMOIZED), lambda pod: PodRun(exit_code=1))
    sim.run()
    assert sim.phase == "Failed"
    assert sim.saved == [] and sim.caches == {}


def test_a_cache_that_may_not_be_used_errors_the_node() -> None:
    wf = make_workflow(MEMOIZED)
    problem = "ConfigMap 'say-cache' is not a memoization cache"
    decision = decide(wf, [], START, {"say-cache": MemoCache("say-cache", problem=problem)})
    assert decision.workflow.status is not None
    nodes = {n.name: n for n in decision.workflow.status.nodes.values()}
    assert nodes["wf[0].say"].phase == "Error"
    assert nodes["wf[0].say"].message == problem


def test_a_bad_key_or_max_age_errors_the_node() -> None:
    for bad, message in (
        ('key: "a b"', "invalid cache key: 'a b'"),
        ('key: k\n      maxAge: "soon"', "invalid maxAge: 'soon'"),
    ):
        text = MEMOIZED.replace('key: "say-{{inputs.parameters.word}}"\n      maxAge: "10s"', bad)
        sim = MemoSim(make_workflow(text), _say)
        sim.run()
        assert sim.node("wf[0].say").phase == "Error"
        assert (sim.node("wf[0].say").message or "").startswith(message)


MEMOIZED_STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: m-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: inner, template: inner}
    - - name: after
        template: show
        arguments: {parameters: [{name: got, value: "{{steps.inner.outputs.parameters.out}}"}]}
  - name: inner
    memoize: {key: inner, cache: {configMap: {name: c}}}
    steps:
    - - {name: work, template: work}
    outputs:
      parameters:
      - {name: out, valueFrom: {parameter: "{{steps.work.outputs.parameters.out}}"}}
  - name: work
    container: {image: busybox, command: ["true"]}
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
  - name: show
    inputs: {parameters: [{name: got}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.got}}"]}
"""


def test_a_memoized_steps_template_is_stored_and_then_hit() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(parameters={"out": "deep"})

    first = MemoSim(make_workflow(MEMOIZED_STEPS), rule)
    first.run()
    assert first.phase == "Succeeded"
    assert [(s.key, s.node_id) for s in first.saved] == [("inner", first.node("wf[0].inner").id)]
    second = MemoSim(make_workflow(MEMOIZED_STEPS, "wf2"), rule, caches=first.caches)
    second.run()
    assert second.phase == "Succeeded"
    assert second.started == ["wf2[1].after"]
    inner = second.node("wf2[0].inner")
    assert inner.type == "Steps" and inner.memoization_status is not None
    assert inner.memoization_status.hit
    assert second.node("wf2[1].after").inputs.parameters[0].value == "deep"  # type: ignore[union-attr]


def test_a_retried_memoized_step_is_stored_once_it_succeeds() -> None:
    text = MEMOIZED.replace("  - name: say\n", "  - name: say\n    retryStrategy: {limit: 2}\n")
    tries: list[str] = []

    def rule(pod: PodRequest) -> PodRun:
        if ".say" in pod.node_name:
            tries.append(pod.node_name)
            return PodRun(exit_code=1 if len(tries) == 1 else 0, parameters={"out": "x"})
        return PodRun()

    sim = MemoSim(make_workflow(text), rule)
    sim.run()
    assert sim.phase == "Succeeded"
    say = sim.node("wf[0].say")
    assert say.type == "Retry"
    assert [s.node_id for s in sim.saved] == [say.id]


def test_resubmit_memoized_renames_the_nodes_that_succeeded_and_reruns_the_rest() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=1) if ".show" in pod.node_name else _say(pod)

    failed = MemoSim(make_workflow(MEMOIZED), rule)
    failed.run()
    assert failed.phase == "Failed"
    copy = operations.resubmit_memoized(failed.workflow, "wf-abcde", {"word": "bye"})
    assert copy.metadata.name == "wf-abcde" and copy.status is not None
    names = sorted(n.name for n in copy.status.nodes.values())
    assert names == ["wf-abcde", "wf-abcde[0]", "wf-abcde[0].say", "wf-abcde[1]"]  # not .show
    say = next(n for n in copy.status.nodes.values() if n.name == "wf-abcde[0].say")
    assert say.message == f"original pod: {failed.node('wf[0].say').id}"
    assert say.boundary_id == copy.status.nodes[say.boundary_id or ""].id

    again = MemoSim(copy, _say)
    again.run()
    assert again.phase == "Succeeded"
    assert again.started == ["wf-abcde[1].show"]
    assert again.node("wf-abcde[1].show").inputs.parameters[0].value == "computed"  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="only Failed or Error"):
        operations.resubmit_memoized(again.workflow, "x")
