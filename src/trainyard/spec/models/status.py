"""Run status in Argo's shape: the workflow's phase and its nodes keyed by node id."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from trainyard.spec.models.base import ArgoModel
from trainyard.spec.models.io import Inputs, Outputs

NODE_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Error", "Skipped", "Omitted")
FULFILLED_PHASES = frozenset({"Succeeded", "Failed", "Error", "Skipped", "Omitted"})
NODE_TYPES = (
    "Pod",
    "Steps",
    "StepGroup",
    "DAG",
    "TaskGroup",
    "Retry",
    "Skipped",
    "Suspend",
    "Container",
    "HTTP",
)
STEP_NODE_TYPES = frozenset({"Pod", "HTTP"})
"""Node types whose work runs as a step of the executor (a pod, an http request)."""


class MemoizationStatus(ArgoModel):
    """Whether a memoized node took its outputs from the cache, under which key of which cache."""

    hit: bool = False
    key: str = ""
    cache_name: str = ""


class NodeStatus(ArgoModel):
    """One node of a run: a pod, a steps/DAG boundary, a group, a retry or a skip."""

    id: str
    name: str
    display_name: str = ""
    type: str
    template_name: str | None = None
    template_scope: str | None = None
    phase: str = "Pending"
    boundary_id: str | None = Field(default=None, alias="boundaryID")
    children: list[str] | None = None
    outbound_nodes: list[str] | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    inputs: Inputs | None = None
    outputs: Outputs | None = None
    progress: str | None = None
    host_node_name: str | None = None
    resources_duration: dict[str, int] | None = None
    node_flag: dict[str, bool] | None = None
    daemoned: bool | None = None
    pod_ip: str | None = Field(default=None, alias="podIP")
    memoization_status: MemoizationStatus | None = None
    # trainyard's addition: the GPU devices (CUDA_VISIBLE_DEVICES) a pod ran on.
    devices: list[str] | None = None

    @property
    def fulfilled(self) -> bool:
        """Whether this node will not change phase again."""
        return self.phase in FULFILLED_PHASES

    @property
    def fulfilled_or_daemoned(self) -> bool:
        """Fulfilled, or a daemon that is up: what a steps/DAG scope waits for (Argo's
        `Fulfilled`, which counts a ready daemon as done)."""
        return self.phase in FULFILLED_PHASES or (bool(self.daemoned) and self.phase != "Pending")

    @property
    def completed(self) -> bool:
        """Fulfilled and actually ran to an end (not Skipped/Omitted)."""
        return self.phase in ("Succeeded", "Failed", "Error")

    @property
    def failed_or_error(self) -> bool:
        """Ended Failed or Error."""
        return self.phase in ("Failed", "Error")


class WorkflowStatus(ArgoModel):
    """The status of a whole workflow run."""

    phase: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    progress: str | None = None
    message: str | None = None
    nodes: dict[str, NodeStatus] = Field(default_factory=dict)
    outputs: Outputs | None = None
    stored_templates: dict[str, Any] | None = None
    conditions: list[dict[str, Any]] | None = None
    estimated_duration: int | None = None
    resources_duration: dict[str, int] | None = None
