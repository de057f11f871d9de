"""A loaded document's workflow spec, with the lookups and walks that the semantic checks share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from trainyard.core.errors import Problem
from trainyard.spec.load import LoadedDocument
from trainyard.spec.models import CronWorkflow, Template, WorkflowSpec
from trainyard.spec.models.template import LifecycleHook, _Invocation
from trainyard.spec.source import JsonPath
from trainyard.spec.suggest import did_you_mean, known

TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")


@dataclass(frozen=True)
class Call:
    """A place that runs a template by name: a step, a DAG task, a hook or an exit handler."""

    what: str  # "step 'a'", "task 'b'", "hook 'exit' of step 'a'", "spec.onExit"
    invocation: _Invocation | LifecycleHook | None
    template: str | None
    path: JsonPath  # the step, task or hook itself
    template_path: JsonPath  # its `template` key (or onExit key)
    values_from: str = "arguments"  # or "workflow" (spec.onExit), or "nowhere" (a step's onExit)


@dataclass(frozen=True)
class SpecView:
    """The workflow spec of a Workflow, (Cluster)WorkflowTemplate or CronWorkflow."""

    doc: LoadedDocument
    spec: WorkflowSpec
    base: JsonPath
    templates: dict[str, Template] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: LoadedDocument) -> SpecView:
        """The view of `doc`; a CronWorkflow's spec is its `workflowSpec`."""
        document = doc.document
        base: JsonPath
        if isinstance(document, CronWorkflow):
            spec, base = document.spec.workflow_spec, ("spec", "workflowSpec")
        else:
            spec, base = document.spec, ("spec",)
        templates: dict[str, Template] = {}
        for tmpl in spec.templates:
            templates.setdefault(tmpl.name, tmpl)
        return cls(doc, spec, base, templates)

    @property
    def is_library(self) -> bool:
        """Whether the document is a (Cluster)WorkflowTemplate, whose callers supply values."""
        return self.doc.kind in TEMPLATE_KINDS

    def path(self, *parts: str | int) -> JsonPath:
        """The JSON path of `parts` below the workflow spec."""
        return (*self.base, *parts)

    def problem(self, message: str, path: JsonPath, severity: str = "error") -> Problem:
        """A problem at `path` of this document."""
        return self.doc.problem(message, path, severity)

    def unknown_template(self, name: str, path: JsonPath) -> Problem:
        """The problem for a reference to a template this spec does not define."""
        names = self.templates.keys()
        message = f"template '{name}' not found; known templates: {known(names)}"
        return self.problem(message + did_you_mean(name, names), path)

    def indexed_templates(self) -> Iterator[tuple[Template, JsonPath]]:
        """Each template with its path, including inline templates of steps and tasks."""
        for i, tmpl in enumerate(self.spec.templates):
            yield from _with_inline(tmpl, self.path("templates", i))

    def calls(self) -> Iterator[Call]:
        """Every step, task, hook and exit handler that names a template, in document order."""
        if self.spec.on_exit is not None:
            path = self.path("onExit")
            yield Call("spec.onExit", None, self.spec.on_exit, path, path, "workflow")
        yield from _hook_calls("workflow", self.spec.hooks, self.path("hooks"))
        for tmpl, tmpl_path in self.indexed_templates():
            for node, path, what in invocations(tmpl, tmpl_path):
                yield Call(what, node, node.template, path, (*path, "template"))
                if node.on_exit is not None:
                    exit_path = (*path, "onExit")
                    yield Call(
                        f"onExit of {what}", None, node.on_exit, exit_path, exit_path, "nowhere"
                    )
                yield from _hook_calls(what, node.hooks, (*path, "hooks"))


def invocations(tmpl: Template, path: JsonPath) -> Iterator[tuple[_Invocation, JsonPath, str]]:
    """The steps or DAG tasks of `tmpl`, with their paths and a name such as "step 'a'"."""
    for g, group in enumerate(tmpl.steps or []):
        for s, step in enumerate(group):
            yield step, (*path, "steps", g, s), f"step '{step.name}'"
    if tmpl.dag is not None:
        for t, task in enumerate(tmpl.dag.tasks):
            yield task, (*path, "dag", "tasks", t), f"task '{task.name}'"


def _with_inline(tmpl: Template, path: JsonPath) -> Iterator[tuple[Template, JsonPath]]:
    yield tmpl, path
    for node, node_path, _ in invocations(tmpl, path):
        if node.inline is not None:
            yield from _with_inline(node.inline, (*node_path, "inline"))


def _hook_calls(
    owner: str, hooks: dict[str, LifecycleHook] | None, path: JsonPath
) -> Iterator[Call]:
    for name, hook in (hooks or {}).items():
        hook_path = (*path, name)
        yield Call(
            f"hook '{name}' of {owner}", hook, hook.template, hook_path, (*hook_path, "template")
        )
