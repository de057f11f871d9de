"""What the engine asks the outside world to do, and what the outside world tells it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from trainyard.spec.models import Outputs, Template, Workflow


@dataclass(frozen=True)
class PodRequest:
    """A pod-like node that should be running: its template is fully substituted."""

    node_id: str
    node_name: str
    pod_name: str
    template: Template
    workflow_name: str
    workflow_uid: str
    namespace: str
    volumes: list[dict[str, object]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    deadline_seconds: float | None = None
    include_result: bool = True
    # Where its output artifacts go: the workflow's spec.artifactRepositoryRef, if any.
    artifact_repository_ref: dict[str, object] | None = None
    # Keep the step's log as its `main-logs` artifact: the template's archiveLocation.archiveLogs,
    # else the workflow's spec.archiveLogs (None: neither says; the repository may still ask).
    archive_logs: bool | None = None
    # `workflow.*` variables, for an artifact repository's keyFormat.
    variables: dict[str, str] = field(default_factory=dict)
    # What the queue needs: the workflow's priority, labels and annotations.
    priority: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StartPod:
    """Run this pod (idempotent: a pod already launched for node_id is left alone)."""

    pod: PodRequest


@dataclass(frozen=True)
class KillPod:
    """Stop this pod's process group; `message` says why (stopped, deadline, ...)."""

    node_id: str
    message: str


@dataclass(frozen=True)
class SaveMemo:
    """Store a memoized node's outputs in the cache `cache_name` under `key` (stored at `at`)."""

    cache_name: str
    key: str
    node_id: str
    outputs: Outputs | None
    at: datetime


@dataclass(frozen=True)
class TouchMemo:
    """A cache entry was used at `at`: Argo records it as the entry's lastHitTimestamp."""

    cache_name: str
    key: str
    at: datetime


Action = StartPod | KillPod | SaveMemo | TouchMemo


@dataclass(frozen=True)
class ContainerState:
    """How one container of a containerSet pod ended (or that it never ran)."""

    name: str
    phase: str  # "Succeeded" | "Failed" | "Error"
    exit_code: int | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    # Whether its failure ended the pod (the containers still running were stopped for it).
    cause: bool = False


@dataclass(frozen=True)
class PodObservation:
    """What became of a pod: it started, or it ended with an exit code and outputs."""

    node_id: str
    phase: str  # "Pending" (still queued; message says why) | "Running" | "Succeeded" | ...
    at: datetime
    exit_code: int | None = None
    message: str | None = None
    outputs: Outputs | None = None
    host: str | None = None
    devices: tuple[str, ...] = ()
    # A daemon's command is ready (phase "Running"): its scope may go on.
    daemoned: bool = False
    # The containers of a containerSet pod, as its step recorded them when it ended.
    containers: tuple[ContainerState, ...] = ()


@dataclass(frozen=True)
class MemoEntry:
    """One stored result: the node that made it, its outputs, and when it was stored."""

    node_id: str
    outputs: Outputs | None
    created: datetime


@dataclass(frozen=True)
class MemoCache:
    """The entries of one cache by key; `problem` says why the cache may not be used."""

    name: str
    entries: dict[str, MemoEntry] = field(default_factory=dict)
    problem: str | None = None


@dataclass
class Decision:
    """The next status of a workflow, what to do now, and when to look again at the latest."""

    workflow: Workflow
    actions: list[Action]
    wake_at: datetime | None = None
    changed: bool = True
