"""The controller's side of synchronization: which steps may start, which wait for a lock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from trainyard.controller.locks import LockTable, needs
from trainyard.controller.secrets import SecretSource
from trainyard.engine.actions import StartPod
from trainyard.spec.models import Workflow


def workflow_holder(uid: str) -> str:
    """The holder name of a workflow-level lock."""
    return f"workflow/{uid}"


@dataclass
class SyncGate:
    """Steps of workflows or templates with `synchronization` pass once their locks are held."""

    secrets: SecretSource
    table: LockTable = field(default_factory=LockTable)
    waiting: dict[str, tuple[str, StartPod]] = field(default_factory=dict)

    def admit(self, wf: Workflow, key: str, action: StartPod) -> str | None:
        """None when the step may go on (its locks now held); else why it waits, and it is
        kept to be tried again by `retry`. UserError for a malformed synchronization."""
        uid = wf.metadata.uid or ""
        namespace = action.pod.namespace
        own = needs(_workflow_sync(wf), namespace, self.secrets)
        blocked = self.table.acquire(workflow_holder(uid), own) if own else None
        if blocked is None:
            template = action.pod.template.synchronization
            blocked = self.table.acquire(key, needs(template, namespace, self.secrets))
        if blocked is None:
            self.waiting.pop(key, None)
            return None
        self.waiting[key] = (uid, action)
        return f"Waiting for {blocked.label} (held by {len(self.table.holding(blocked.key))})"

    def retry(self, workflows: dict[str, Workflow]) -> list[tuple[str, StartPod]]:
        """The waiting steps that may go on now, in the order they asked."""
        ready = []
        for key, (uid, action) in list(self.waiting.items()):
            wf = workflows.get(uid)
            if wf is None:
                self.forget(key)
                continue
            if self.admit(wf, key, action) is None:
                ready.append((key, action))
        return ready

    def forget(self, key: str) -> bool:
        """A step ended, or will not start: its locks go to the next in line. True if it was
        still waiting for one."""
        self.table.release(key)
        return self.waiting.pop(key, None) is not None

    def finished(self, uid: str, keys: Iterable[str]) -> None:
        """A workflow ended: its own lock and its steps' locks are let go."""
        self.table.release(workflow_holder(uid))
        for key in keys:
            self.forget(key)

    def restore(self, wf: Workflow, running: dict[str, str]) -> None:
        """After a restart: the running steps (key -> template name) hold their locks again."""
        namespace = wf.metadata.namespace or "default"
        if running:
            own = needs(_workflow_sync(wf), namespace, self.secrets)
            self.table.force(workflow_holder(wf.metadata.uid or ""), own)
        for key, template_name in running.items():
            template = wf.spec.template(template_name)
            sync = template.synchronization if template is not None else None
            self.table.force(key, needs(sync, namespace, self.secrets))


def _workflow_sync(wf: Workflow) -> dict[str, object] | None:
    extra = wf.spec.model_extra or {}
    found = extra.get("synchronization")
    return found if isinstance(found, dict) else None
