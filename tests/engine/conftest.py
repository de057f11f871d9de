"""A simulated cluster for engine tests: pods 'run' by a rule, time advances on demand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from trainyard.engine.actions import KillPod, PodObservation, PodRequest, StartPod
from trainyard.engine.workflow import decide
from trainyard.spec.load import load_text
from trainyard.spec.models import NodeStatus, Outputs, Workflow

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class PodRun:
    """How a simulated pod ends: exit code, stdout, output parameters, seconds it takes."""

    exit_code: int = 0
    stdout: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    seconds: float = 1.0
    artifacts: list[dict[str, object]] = field(default_factory=list)


Rule = Callable[[PodRequest], PodRun]


def default_rule(pod: PodRequest) -> PodRun:
    """Every pod succeeds after a second and prints its command line."""
    main = pod.template.main_container()
    words = [*(main.command or []), *(main.args or [])] if main else []
    return PodRun(stdout=" ".join(words))


@dataclass
class Sim:
    """Drives `decide` like the controller does, with pods that end as `rule` says."""

    workflow: Workflow
    rule: Rule = default_rule
    now: datetime = START
    started: list[str] = field(default_factory=list)
    killed: list[tuple[str, str]] = field(default_factory=list)
    running: dict[str, tuple[datetime, PodRun, PodRequest]] = field(default_factory=dict)
    ticks: int = 0
    wake_at: datetime | None = None
    _pending: list[PodObservation] = field(default_factory=list)

    def tick(self, observations: list[PodObservation] | None = None) -> None:
        """One call of `decide`, then act on its actions."""
        decision = decide(self.workflow, observations or [], self.now)
        self.workflow = decision.workflow
        self.ticks += 1
        self.wake_at = decision.wake_at
        for action in decision.actions:
            if isinstance(action, StartPod) and action.pod.node_id not in self.running:
                if action.pod.node_name in self.started:
                    continue
                self.started.append(action.pod.node_name)
                run = self.rule(action.pod)
                self.running[action.pod.node_id] = (self.now, run, action.pod)
            elif isinstance(action, KillPod) and action.node_id in self.running:
                self.killed.append((action.node_id, action.message))
                del self.running[action.node_id]
                self._pending.append(
                    PodObservation(action.node_id, "Failed", self.now, 143, action.message)
                )

    def run(self, max_ticks: int = 500) -> Workflow:
        """Tick until the workflow ends; pods end in simulated time."""
        self.tick()
        while self.phase not in ("Succeeded", "Failed", "Error"):
            if self.ticks > max_ticks:
                raise AssertionError(f"workflow did not finish in {max_ticks} ticks")
            observations = self._due()
            if not observations:
                self._advance()
                observations = self._due()
            self.tick(observations)
        return self.workflow

    def _due(self) -> list[PodObservation]:
        out, self._pending = self._pending, []
        for nid, (began, run, _pod) in list(self.running.items()):
            if began + timedelta(seconds=run.seconds) <= self.now:
                del self.running[nid]
                out.append(self._ended(nid, run))
        return out

    def _ended(self, nid: str, run: PodRun) -> PodObservation:
        outputs = Outputs.model_validate(
            {
                "exitCode": str(run.exit_code),
                "result": run.stdout,
                "parameters": [{"name": k, "value": v} for k, v in run.parameters.items()],
                "artifacts": run.artifacts,
            }
        )
        phase = "Succeeded" if run.exit_code == 0 else "Failed"
        return PodObservation(nid, phase, self.now, run.exit_code, None, outputs)

    def _advance(self) -> None:
        ends = [began + timedelta(seconds=r.seconds) for began, r, _ in self.running.values()]
        candidates = [*ends, *([self.wake_at] if self.wake_at else [])]
        self.now = (
            max(self.now + timedelta(seconds=1), min(candidates))
            if candidates
            else (self.now + timedelta(seconds=1))
        )

    @property
    def phase(self) -> str:
        """The workflow's phase now."""
        status = self.workflow.status
        return (status.phase if status else None) or ""

    def node(self, name: str) -> NodeStatus:
        """The node called `name` (full name, e.g. `wf[0].step`)."""
        assert self.workflow.status is not None
        for node in self.workflow.status.nodes.values():
            if node.name == name:
                return node
        names = sorted(n.name for n in self.workflow.status.nodes.values())
        raise AssertionError(f"no node {name!r}; nodes: {names}")

    def names(self) -> list[str]:
        """Every node name, sorted."""
        assert self.workflow.status is not None
        return sorted(n.name for n in self.workflow.status.nodes.values())


def make_workflow(text: str, name: str = "wf") -> Workflow:
    """A Workflow from YAML, named `name`, as the CLI would submit it."""
    doc = load_text(text)[0].document
    assert isinstance(doc, Workflow)
    meta = doc.metadata.model_copy(update={"name": name, "uid": "uid-1", "namespace": "default"})
    return doc.model_copy(update={"metadata": meta})


@pytest.fixture
def simulate() -> Callable[..., Sim]:
    """`simulate(yaml, rule=...)` -> a finished Sim."""

    def run(text: str, rule: Rule = default_rule, name: str = "wf") -> Sim:
        sim = Sim(make_workflow(text, name), rule)
        sim.run()
        return sim

    return run
