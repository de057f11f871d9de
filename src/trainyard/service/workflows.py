"""Workflows for the API: checked and stamped on create, listed by page, edited, deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import Repositories
from trainyard.auth.roles import CREATOR_LABEL
from trainyard.controller import cleanup, references
from trainyard.controller.queue import TENANT_LABEL
from trainyard.core.clock import Clock, SystemClock
from trainyard.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UserError,
)
from trainyard.core.ids import generated_name
from trainyard.core.selectors import Requirement, Selector, parse_selector
from trainyard.engine import operations
from trainyard.executors.base import Executor
from trainyard.service.access import Caller
from trainyard.service.fields import project
from trainyard.service.nodes import select_nodes
from trainyard.service.stamping import creator_value, parse_pairs, stamp
from trainyard.service.validation import DocumentChecker
from trainyard.spec.models import Workflow
from trainyard.store.base import Store

KIND = "Workflow"
PHASES = ("", "Pending", "Running", "Succeeded", "Failed", "Error")
PHASE_LABEL = "workflows.argoproj.io/phase"
COMPLETED_LABEL = "workflows.argoproj.io/completed"
MAX_PAGE = 10_000
"""A larger listOptions.limit gets pages of this size (and a continue token), as Kubernetes may."""
EDIT_ATTEMPTS = 8
"""How often an edit is reapplied when the engine updated the workflow in between."""


@dataclass(frozen=True)
class ListQuery:
    """Argo's list options: label and field selectors, a page size and where to continue."""

    label_selector: str | None = None
    field_selector: str | None = None
    limit: int | None = None
    continue_token: str | None = None
    fields: str | None = None


class WorkflowService:
    """What callers do to workflows; every change goes through the store in one statement."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        repositories: Repositories,
        volumes_dir: Path,
        checker: DocumentChecker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.repositories = repositories
        self.volumes_dir = volumes_dir
        self.checker = checker or DocumentChecker()
        self.clock = clock or SystemClock()

    # -- create and read ------------------------------------------------------------------------
    def create(
        self, caller: Caller, namespace: str, document: Any, *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Check, stamp (creator label: the caller) and store a new workflow."""
        caller.require("create", namespace)
        doc = self.prepare(document, namespace, caller=caller)
        return doc if dry_run else self.store.create(KIND, doc)

    def prepare(
        self,
        document: Any,
        namespace: str,
        *,
        caller: Caller,
        name: str | None = None,
        labels: dict[str, str] | None = None,
        parameters: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A workflow document checked as `trainyard lint` does and stamped, ready to store.

        The caller becomes its creator. On a server the queue's tenant is the namespace: only
        an admin of the namespace may name another tenant with the `trainyard.io/tenant` label.
        """
        if not isinstance(document, dict):
            raise UserError('the request has no workflow object: send {"workflow": {...}}')
        # Checked as sent, so that the lines of problems are those of the client's document.
        checked = self.checker.check(KIND, document, parameters, source="workflow")
        if references.uses_references(checked):
            meta = {**(checked.get("metadata") or {}), "namespace": namespace}
            whole = references.resolve({**checked, "metadata": meta}, self.store)
            source = "workflow (with its stored templates)"
            checked = self.checker.check(KIND, whole, parameters, source=source)
        doc = stamp(checked, namespace, name=name, labels=labels, creator=caller.name)
        tenant = doc["metadata"].get("labels", {}).get(TENANT_LABEL)
        if tenant not in (None, namespace) and not caller.may("admin", namespace):
            raise PermissionDeniedError(
                f"the label {TENANT_LABEL}={tenant} needs an admin of namespace {namespace!r}: "
                "on a server the queue's tenant is the namespace; remove the label"
            )
        return doc

    def lint(self, caller: Caller, namespace: str, document: Any) -> dict[str, Any]:
        """The workflow normalized, if it passes `trainyard lint`'s checks; SpecError if not."""
        caller.require("read", namespace)
        return self.checker.check(KIND, document, source="workflow")

    def get(self, namespace: str, name: str, fields: str | None = None) -> dict[str, Any]:
        """The stored workflow (only the `fields` asked for)."""
        return project(self.store.get(KIND, namespace, name), fields)

    def page(self, namespace: str | None, query: ListQuery) -> dict[str, Any]:
        """A WorkflowList page, newest first; `metadata.continue` leads to the next one."""
        selector, phases = phase_filter(parse_selector(query.label_selector))
        name = field_name(query.field_selector, namespace)
        limit = page_size(query.limit)
        if name is not None:
            items = [o for o in self._named(namespace, name) if _selected(o, selector, phases)]
            body: dict[str, Any] = {"metadata": {}, "items": items}
        else:
            page = self.store.list_page(
                KIND,
                namespace,
                selector=selector,
                phases=phases,
                limit=limit,
                continue_token=query.continue_token or None,
            )
            meta = {"continue": page.continue_token} if page.continue_token else {}
            body = {"metadata": meta, "items": page.items}
        return project(body, query.fields)

    def _named(self, namespace: str | None, name: str) -> list[dict[str, Any]]:
        if namespace is None:
            raise UserError("a field selector on metadata.name needs a namespace")
        try:
            return [self.store.get(KIND, namespace, name)]
        except NotFoundError:
            return []

    # -- edits ------------------------------------------------------------------------------------
    def edit(
        self, caller: Caller, namespace: str, name: str, change: Callable[[Workflow], Workflow]
    ) -> dict[str, Any]:
        """Apply `change` to the stored workflow (again, if the engine wrote in between)."""
        for attempt in range(EDIT_ATTEMPTS):
            wf = self._load(caller, namespace, name)
            changed = change(wf)
            try:
                stored = self.store.update(KIND, changed.dump())
            except ConflictError:
                if attempt == EDIT_ATTEMPTS - 1:
                    raise
                continue
            cleanup.forget_dropped(self.executor, wf, changed)  # a retry's rerun steps
            return stored
        raise AssertionError("unreachable")

    def stop(
        self, caller: Caller, namespace: str, name: str, nodes: str | None = None
    ) -> dict[str, Any]:
        """Argo's stop: running steps end, exit handlers run."""
        _unsupported("nodeFieldSelector", nodes)
        return self.edit(caller, namespace, name, operations.stop)

    def terminate(self, caller: Caller, namespace: str, name: str) -> dict[str, Any]:
        """Argo's terminate: running steps end at once, no exit handler."""
        return self.edit(caller, namespace, name, operations.terminate)

    def suspend(self, caller: Caller, namespace: str, name: str) -> dict[str, Any]:
        """Start no new steps until resumed."""
        return self.edit(caller, namespace, name, operations.suspend)

    def resume(
        self, caller: Caller, namespace: str, name: str, nodes: str | None = None
    ) -> dict[str, Any]:
        """Lift a suspension and end waiting suspend nodes (those `nodes` selects, if given)."""

        def change(wf: Workflow) -> Workflow:
            now = self.clock.now()
            if not nodes:
                return operations.resume(wf, now)
            for node in select_nodes(wf, nodes):
                wf = operations.resume(wf, now, node.name)
            return wf

        return self.edit(caller, namespace, name, change)

    def set(
        self,
        caller: Caller,
        namespace: str,
        name: str,
        nodes: str | None,
        phase: str | None = None,
        message: str | None = None,
        output_parameters: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Argo's set: phase, message or output parameters of the suspend nodes selected."""
        if not nodes:
            raise UserError("nodeFieldSelector is required: it says which nodes to set")

        def change(wf: Workflow) -> Workflow:
            ids = [node.id for node in select_nodes(wf, nodes)]
            now = self.clock.now()
            return operations.set_nodes(wf, ids, now, phase, message, output_parameters)

        return self.edit(caller, namespace, name, change)

    def retry(
        self,
        caller: Caller,
        namespace: str,
        name: str,
        parameters: list[str] | None = None,
        restart_successful: bool = False,
        nodes: str | None = None,
    ) -> dict[str, Any]:
        """Argo's retry: run the failed parts of a Failed/Error workflow again."""
        _unsupported("restartSuccessful", restart_successful)
        _unsupported("nodeFieldSelector", nodes)
        values = parse_pairs(parameters, "parameter")

        def change(wf: Workflow) -> Workflow:
            retried = operations.retry(wf)
            if values:
                fresh = operations.resubmit(retried, values)
                retried = operations.with_spec(retried, arguments=fresh.spec.arguments)
            return retried

        return self.edit(caller, namespace, name, change)

    def resubmit(
        self,
        caller: Caller,
        namespace: str,
        name: str,
        parameters: list[str] | None = None,
        memoized: bool = False,
    ) -> dict[str, Any]:
        """A new workflow with the same spec (and other parameters), created by the caller;
        `memoized`: starting with what succeeded in the old one (Argo's resubmit --memoized)."""
        caller.require("create", namespace)
        old = self._load(caller, namespace, name, verb="read")
        values = parse_pairs(parameters, "parameter")
        if not memoized:
            new = operations.resubmit(old, values)
            return self.store.create(KIND, self.prepare(new.dump(), namespace, caller=caller))
        base = old.metadata.generate_name or f"{old.metadata.name}-"
        new = operations.resubmit_memoized(old, generated_name(base), values)
        doc = self.prepare(new.dump(), namespace, caller=caller, name=new.metadata.name)
        doc["status"] = new.status.dump() if new.status is not None else None
        return self.store.create(KIND, doc)

    def delete(self, caller: Caller, namespace: str, name: str, force: bool = False) -> bool:
        """Delete a finished workflow and its step files; an unfinished one is terminated
        first, and False returned: call again once it has ended (`force` deletes at once)."""
        wf = self._load(caller, namespace, name)
        if _phase(wf) not in operations.FINISHED and not force:
            if wf.spec.shutdown != "Terminate":
                self.edit(caller, namespace, name, operations.terminate)
            return False
        self.store.delete(KIND, namespace, name)
        if _phase(wf) in operations.FINISHED:
            cleanup.remove(self.executor, self.repositories, self.volumes_dir, wf)
        return True

    def _load(self, caller: Caller, namespace: str, name: str, verb: str = "modify") -> Workflow:
        wf = Workflow.model_validate(self.store.get(KIND, namespace, name))
        owner = (wf.metadata.labels or {}).get(CREATOR_LABEL)
        mine = owner is not None and owner == creator_value(caller.name)
        caller.require(verb, namespace, caller.name if mine else owner)
        return wf


def phase_filter(selector: Selector) -> tuple[Selector, list[str] | None]:
    """Requirements on Argo's phase and completed labels, turned into a filter on phases."""
    phases = set(PHASES)
    rest: list[Requirement] = []
    for requirement in selector:
        if requirement.key == PHASE_LABEL:
            phases &= {p for p in PHASES if requirement.matches({PHASE_LABEL: p} if p else {})}
        elif requirement.key == COMPLETED_LABEL:
            done = {p: str(p in operations.FINISHED).lower() for p in PHASES}
            phases &= {p for p in PHASES if requirement.matches({COMPLETED_LABEL: done[p]})}
        else:
            rest.append(requirement)
    return tuple(rest), (None if phases == set(PHASES) else sorted(phases))


def _selected(obj: dict[str, Any], selector: Selector, phases: list[str] | None) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    phase = (obj.get("status") or {}).get("phase") or ""
    return all(r.matches(labels) for r in selector) and (phases is None or phase in phases)


def field_name(field_selector: str | None, namespace: str | None) -> str | None:
    """The name that `metadata.name=x` selects; other field selectors are refused."""
    name = None
    for part in (field_selector or "").split(","):
        if not part.strip():
            continue
        field, _, value = part.replace("==", "=").partition("=")
        if field.strip() == "metadata.name" and value:
            name = value.strip()
        elif field.strip() == "metadata.namespace" and value.strip() == namespace:
            continue
        else:
            raise UserError(
                f"field selector {part.strip()!r} is not supported: use metadata.name=NAME"
            )
    return name


def page_size(limit: int | None) -> int | None:
    """The page size for `listOptions.limit`: None (everything) for 0, at most MAX_PAGE."""
    if limit is not None and limit < 0:
        raise UserError("listOptions.limit must not be negative")
    return min(limit, MAX_PAGE) if limit else None


def _phase(wf: Workflow) -> str:
    return (wf.status.phase if wf.status else None) or ""


def _unsupported(option: str, value: object) -> None:
    if value:
        raise UserError(f"{option} is not supported by the local engine yet: leave it out")
