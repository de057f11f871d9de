"""The logs of a workflow's steps as Argo's LogEntry stream: read from the executor's log files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from trainyard.core.clock import parse_time
from trainyard.core.errors import NotFoundError, UserError
from trainyard.engine.naming import pod_name
from trainyard.engine.operations import FINISHED
from trainyard.executors.base import Executor
from trainyard.spec.models import NodeStatus, Workflow
from trainyard.spec.models.status import STEP_NODE_TYPES
from trainyard.store.base import Store

KIND = "Workflow"
MAIN = "main"
QUIET_CONTAINERS = ("init", "wait")
"""Argo's other containers of a pod: the local engine has none, so their logs are empty."""


def pod_nodes(wf: Workflow, node: str | None) -> list[NodeStatus]:
    """Pod nodes of `wf` in start order, or the one named by id, name, display or pod name."""
    nodes = sorted(
        (n for n in (wf.status.nodes.values() if wf.status else []) if n.type in STEP_NODE_TYPES),
        key=lambda n: (n.started_at or "", n.name),
    )
    if node is None:
        return nodes
    chosen = [n for n in nodes if node in (n.id, n.name, n.display_name, pod_of(wf, n))]
    if not chosen:
        names = ", ".join(n.display_name for n in nodes) or "none yet"
        raise NotFoundError(
            f"workflow {wf.metadata.name!r} has no pod node {node!r}; pods: {names}"
        )
    return chosen


def pod_of(wf: Workflow, node: NodeStatus) -> str:
    """Argo's pod name for a pod node."""
    return pod_name(wf.metadata.name or "", node.name, node.template_name or "")


class Tail:
    """Reads new complete lines of a node's log file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[str]:
        """Lines written since the last call."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self.partial + chunk
        *lines, self.partial = data.split(b"\n")
        return [line.decode(errors="replace") for line in lines]


@dataclass(frozen=True)
class LogOptions:
    """Argo's logOptions (and grep): which pod, how much, from when, with timestamps or not."""

    pod_name: str | None = None
    container: str = MAIN
    follow: bool = False
    tail_lines: int | None = None
    since: datetime | None = None
    timestamps: bool = False
    grep: str | None = None

    def pattern(self) -> re.Pattern[str] | None:
        """The compiled `grep`; UserError when it is not a regular expression."""
        if not self.grep:
            return None
        try:
            return re.compile(self.grep)
        except re.error as exc:
            raise UserError(f"grep {self.grep!r} is not a regular expression: {exc}") from None


class LogStream:
    """Reads a workflow's step logs in rounds: every line once, until it ends (when following)."""

    def __init__(
        self, store: Store, executor: Executor, namespace: str, name: str, options: LogOptions
    ) -> None:
        """Checks the workflow, the pod and the options at once (NotFoundError, UserError)."""
        if options.container != MAIN and options.container not in QUIET_CONTAINERS:
            known = ", ".join((MAIN, *QUIET_CONTAINERS))
            raise UserError(f"container {options.container!r} is not one of {known}")
        if options.tail_lines is not None and options.tail_lines < 0:
            raise UserError("tailLines must not be negative")
        self.store, self.executor = store, executor
        self.namespace, self.name, self.options = namespace, name, options
        self.grep = options.pattern()
        self.tails: dict[str, Tail] = {}
        self.done = False
        pod_nodes(self._load(), options.pod_name)  # a pod that does not exist is a 404 now

    def read(self) -> list[dict[str, Any]]:
        """The LogEntry objects written since the last call; sets `done` when nothing follows."""
        wf = self._load()
        finished = wf.status is not None and wf.status.phase in FINISHED
        entries: list[dict[str, Any]] = []
        if self.options.container == MAIN:
            for node in pod_nodes(wf, self.options.pod_name):
                entries.extend(self._entries(wf, node))
        self.done = finished or not self.options.follow
        return entries

    def _entries(self, wf: Workflow, node: NodeStatus) -> list[dict[str, Any]]:
        tail = self.tails.get(node.id)
        first = tail is None
        if tail is None:
            tail = self.tails[node.id] = Tail(
                self.executor.log_path(f"{wf.metadata.uid}/{node.id}")
            )
        lines = [line for line in tail.read() if self._wanted(line)]
        if first and self.options.tail_lines is not None:
            lines = lines[-self.options.tail_lines :] if self.options.tail_lines else []
        pod = pod_of(wf, node)
        return [{"content": self._content(line), "podName": pod} for line in lines]

    def _wanted(self, line: str) -> bool:
        stamp, _, text = line.partition(" ")
        if self.grep is not None and not self.grep.search(text):
            return False
        if self.options.since is not None:
            try:
                return parse_time(stamp) >= self.options.since
            except ValueError:
                return True
        return True

    def _content(self, line: str) -> str:
        return line if self.options.timestamps else line.partition(" ")[2]

    def _load(self) -> Workflow:
        return Workflow.model_validate(self.store.get(KIND, self.namespace, self.name))
