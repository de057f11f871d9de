"""One engine tick's working state: the nodes being rewritten, the clock, and what to do."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from trainyard.core.clock import format_time, parse_time
from trainyard.core.ids import node_id
from trainyard.engine.actions import Action, KillPod, MemoCache
from trainyard.spec.models import (
    Arguments,
    Artifact,
    NodeStatus,
    Outputs,
    Parameter,
    Template,
    WorkflowSpec,
)
from trainyard.spec.models.template import _Invocation

_GROUP_PREFIX = re.compile(r"^(\[\d+\])?\.")
ACTIVE_CHILD_TYPES = frozenset({"Pod", "Steps", "DAG"})
SCOPE_TYPES = frozenset({"Steps", "DAG"})
MAX_DEPTH = 100
DAEMON_STOPPED = "daemon stopped: its scope ended"


class NodeError(Exception):
    """A problem that turns the node being executed into phase Error with this message."""


class ParallelismReached(Exception):
    """No new node may start under this boundary (or workflow) in this tick."""


@dataclass
class Opts:
    """How an invocation sits in the workflow: its boundary, and whether it is an exit handler."""

    boundary_id: str | None = None
    on_exit: bool = False
    flag: dict[str, bool] = field(default_factory=dict)
    locals: dict[str, str] = field(default_factory=dict)


ExecuteFn = Callable[["Run", str, _Invocation, "Arguments | None", Opts], "NodeStatus | None"]
"""Executes (or continues) a child invocation: `execute.execute`, passed down to avoid cycles."""

DispatchFn = Callable[["Run", str, "Template", Opts], "NodeStatus | None"]
"""Runs an already-substituted template as a node: `execute.dispatch`."""


@lru_cache(maxsize=65536)
def _cached_node_id(workflow_name: str, node_name: str) -> str:
    return node_id(workflow_name, node_name)


@dataclass
class Run:
    """The state one call of `decide` works on; nodes are replaced, never mutated in place."""

    name: str
    uid: str
    namespace: str
    spec: WorkflowSpec
    nodes: dict[str, NodeStatus]
    now: datetime
    globals: dict[str, str] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    wake_at: datetime | None = None
    shutdown: str | None = None
    deadline: datetime | None = None
    global_outputs: dict[str, Parameter] = field(default_factory=dict)
    global_artifacts: dict[str, Artifact] = field(default_factory=dict)
    active_pods_by: dict[str, int] = field(default_factory=dict)
    active_children_by: dict[str, int] = field(default_factory=dict)
    # Daemoned nodes (pods and their retry nodes) by the steps/DAG node they belong to.
    daemons_by: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    depth: int = 0
    changed: bool = False
    result_used: bool | None = None
    # The memoization caches the workflow's templates name, as the controller read them.
    caches: Mapping[str, MemoCache] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.now_text = format_time(self.now)

    # -- lookup -----------------------------------------------------------------------------
    def id_of(self, node_name: str) -> str:
        """The node id Argo gives the node called `node_name` in this workflow."""
        return _cached_node_id(self.name, node_name)

    def get(self, node_name: str) -> NodeStatus | None:
        """The node called `node_name`, if it exists."""
        return self.nodes.get(self.id_of(node_name))

    def by_id(self, nid: str) -> NodeStatus:
        """The node with id `nid` (it must exist)."""
        return self.nodes[nid]

    # -- writes ------------------------------------------------------------------------------
    def put(self, node: NodeStatus) -> NodeStatus:
        """Store `node` (a new or replaced object) and note that the status changed."""
        self.nodes[node.id] = node
        self.changed = True
        return node

    def init_node(
        self,
        node_name: str,
        node_type: str,
        boundary_id: str | None,
        phase: str,
        *,
        template_name: str | None = None,
        message: str | None = None,
        flag: dict[str, bool] | None = None,
    ) -> NodeStatus:
        """Create the node `node_name`; fulfilled phases get finishedAt = startedAt."""
        nid = self.id_of(node_name)
        display = node_name
        boundary = self.nodes.get(boundary_id) if boundary_id else None
        if boundary is not None and node_name.startswith(boundary.name):
            display = _GROUP_PREFIX.sub("", node_name[len(boundary.name) :])
        node = NodeStatus(
            id=nid,
            name=node_name,
            display_name=display,
            type=node_type,
            template_name=template_name,
            template_scope="local/" + self.name if template_name else None,
            phase=phase,
            boundary_id=boundary_id,
            started_at=self.now_text,
            message=message,
            node_flag=flag,
        )
        if node.fulfilled:
            node.finished_at = self.now_text
        if node_type in ACTIVE_CHILD_TYPES and not node.fulfilled_or_daemoned:
            self._count_active(node, +1)
        return self.put(node)

    def open_node(
        self, node_name: str, node_type: str, phase: str, tmpl: Template, opts: Opts
    ) -> NodeStatus:
        """Create the node that runs `tmpl` (recording its inputs), where `opts` places it."""
        node = self.init_node(
            node_name,
            node_type,
            opts.boundary_id,
            phase,
            template_name=tmpl.name,
            flag=opts.flag or None,
        )
        inputs = tmpl.inputs
        if inputs is not None and (inputs.parameters or inputs.artifacts):
            node = self.update(node, inputs=inputs)
        return node

    def mark(self, node_name: str, phase: str, message: str | None = None) -> NodeStatus:
        """Set the phase (and message) of `node_name`; the first fulfilled phase sets finishedAt."""
        node = self.get(node_name)
        assert node is not None, f"mark of unknown node {node_name}"
        return self.mark_node(node, phase, message)

    def mark_node(self, node: NodeStatus, phase: str, message: str | None = None) -> NodeStatus:
        """Like `mark`, given the node."""
        updates: dict[str, object] = {}
        if node.phase != phase:
            updates["phase"] = phase
        if message is not None and message != node.message:
            updates["message"] = message
        if phase in ("Succeeded", "Failed", "Error", "Skipped", "Omitted") and not node.finished_at:
            updates["finished_at"] = self.now_text
        if not updates:
            return node
        new = node.model_copy(update=updates)
        if node.type in ACTIVE_CHILD_TYPES and not node.fulfilled_or_daemoned and new.fulfilled:
            self._count_active(node, -1)
        new = self.put(new)
        if node.type in SCOPE_TYPES and not node.fulfilled and new.fulfilled:
            self._end_daemons(new.id)
        return new

    def note_daemon(self, node: NodeStatus) -> None:
        """`node` became daemoned during this tick: its scope's end must stop it too."""
        if node.boundary_id:
            self.daemons_by.setdefault(node.boundary_id, []).append(node.id)

    def _end_daemons(self, boundary_id: str) -> None:
        """A steps/DAG scope ended: its daemons are stopped and count as Succeeded (Argo)."""
        for nid in self.daemons_by.pop(boundary_id, []):
            node = self.nodes[nid]
            if node.fulfilled or not node.daemoned:
                continue
            node = self.mark_node(node, "Succeeded")
            self.put(node.model_copy(update={"daemoned": None}))
            if node.type == "Pod":
                self.actions.append(KillPod(nid, DAEMON_STOPPED))

    def update(self, node: NodeStatus, **fields: object) -> NodeStatus:
        """Replace `node` with a copy carrying `fields`."""
        return self.put(node.model_copy(update=fields))

    def add_child(self, parent_name: str, child_name: str) -> None:
        """Link `child_name` under `parent_name` (once)."""
        parent = self.get(parent_name)
        assert parent is not None, f"add_child to unknown node {parent_name}"
        cid = self.id_of(child_name)
        children = parent.children or []
        if cid not in children:
            self.update(parent, children=[*children, cid])

    def set_outputs(self, node: NodeStatus, outputs: Outputs | None) -> NodeStatus:
        """Replace the outputs of `node`."""
        if outputs is not None and outputs.is_empty():
            outputs = None
        return self.update(node, outputs=outputs)

    # -- time --------------------------------------------------------------------------------
    def wake(self, at: datetime) -> None:
        """Ask to be called again no later than `at`."""
        if self.wake_at is None or at < self.wake_at:
            self.wake_at = at

    def started(self, node: NodeStatus) -> datetime:
        """When `node` started."""
        return parse_time(node.started_at) if node.started_at else self.now

    # -- active counters -------------------------------------------------------------------
    def _count_active(self, node: NodeStatus, delta: int) -> None:
        if node.type == "Pod":
            self.active_pods_by[""] = self.active_pods_by.get("", 0) + delta
            if node.boundary_id:
                key = node.boundary_id
                self.active_pods_by[key] = self.active_pods_by.get(key, 0) + delta
        if node.type in ACTIVE_CHILD_TYPES and node.boundary_id:
            key = node.boundary_id
            self.active_children_by[key] = self.active_children_by.get(key, 0) + delta

    def count_active(self) -> None:
        """Count unfinished pods and children per boundary at the start of the tick."""
        self.active_pods_by = {}
        self.active_children_by = {}
        self.daemons_by = {}
        for node in self.nodes.values():
            if node.type in ACTIVE_CHILD_TYPES and not node.fulfilled_or_daemoned:
                self._count_active(node, +1)
            elif node.daemoned and not node.fulfilled and node.boundary_id:
                self.daemons_by.setdefault(node.boundary_id, []).append(node.id)

    def active_pods(self, boundary_id: str = "") -> int:
        """Unfinished pods in the workflow (boundary "") or directly under `boundary_id`."""
        return self.active_pods_by.get(boundary_id, 0)

    def active_children(self, boundary_id: str) -> int:
        """Unfinished Pod, Steps and DAG nodes directly under `boundary_id`."""
        return self.active_children_by.get(boundary_id, 0)

    def unsuccessful_children(self, boundary_id: str) -> int:
        """Nodes under `boundary_id` that ended Failed or Error."""
        return sum(
            1
            for n in self.nodes.values()
            if n.boundary_id == boundary_id and n.phase in ("Failed", "Error")
        )
