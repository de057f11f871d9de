"""Typed models of Argo's workflow documents, one Argo concept per module.

Field names are snake_case with Argo's camelCase as aliases; unknown fields are kept
(`extra="allow"`) so a document round-trips unchanged and Kubernetes-only fields are recorded.
"""

from trainyard.spec.models.base import ArgoModel, dump
from trainyard.spec.models.container import Container, EnvVar, ScriptTemplate, VolumeMount
from trainyard.spec.models.io import (
    Arguments,
    Artifact,
    Inputs,
    Outputs,
    Parameter,
    ValueFrom,
)
from trainyard.spec.models.status import MemoizationStatus, NodeStatus, WorkflowStatus
from trainyard.spec.models.template import (
    Backoff,
    ContinueOn,
    DAGTask,
    DAGTemplate,
    LifecycleHook,
    RetryStrategy,
    Sequence,
    SuspendTemplate,
    Template,
    TemplateRef,
    WorkflowStep,
)
from trainyard.spec.models.workflow import (
    KINDS,
    ClusterWorkflowTemplate,
    CronWorkflow,
    CronWorkflowSpec,
    Document,
    ObjectMeta,
    Workflow,
    WorkflowSpec,
    WorkflowTemplate,
)

__all__ = [
    "KINDS",
    "ArgoModel",
    "Arguments",
    "Artifact",
    "Backoff",
    "ClusterWorkflowTemplate",
    "Container",
    "ContinueOn",
    "CronWorkflow",
    "CronWorkflowSpec",
    "DAGTask",
    "DAGTemplate",
    "Document",
    "EnvVar",
    "Inputs",
    "LifecycleHook",
    "MemoizationStatus",
    "NodeStatus",
    "ObjectMeta",
    "Outputs",
    "Parameter",
    "RetryStrategy",
    "ScriptTemplate",
    "Sequence",
    "SuspendTemplate",
    "Template",
    "TemplateRef",
    "ValueFrom",
    "VolumeMount",
    "Workflow",
    "WorkflowSpec",
    "WorkflowStatus",
    "WorkflowStep",
    "WorkflowTemplate",
    "dump",
]
