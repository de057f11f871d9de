"""Watching workflows: ADDED, MODIFIED and DELETED events, found by comparing stored versions.

Each round reads only the addresses and resourceVersions of the watched workflows (no bodies),
and then the bodies of those that changed; a watch on one name reads that one object.
"""

from __future__ import annotations

from typing import Any

from trainyard.core.errors import NotFoundError
from trainyard.core.selectors import Selector, matches
from trainyard.store.base import ObjectVersion, Store

KIND = "Workflow"
INITIAL_PAGE = 200


class WorkflowWatch:
    """The changes to the workflows a watch selects, one round at a time."""

    def __init__(
        self,
        store: Store,
        namespace: str | None,
        selector: Selector = (),
        name: str | None = None,
        send_initial: bool = True,
    ) -> None:
        """A watch of `namespace` (all when None) on objects matching `selector` (or `name`).

        With `send_initial`, the first round reports every current object as ADDED, as a
        Kubernetes watch without a resourceVersion does; otherwise only later changes count.
        """
        self.store = store
        self.namespace = namespace
        self.selector = selector
        self.name = name
        self.send_initial = send_initial
        self.known: dict[tuple[str, str], ObjectVersion] | None = None

    def poll(self) -> list[dict[str, Any]]:
        """The events since the last round (`{"type": ..., "object": workflow}`)."""
        current = {(v.namespace, v.name): v for v in self._versions()}
        if self.known is None:
            self.known = current
            return self._initial() if self.send_initial else []
        events: list[dict[str, Any]] = []
        for key, version in current.items():
            before = self.known.get(key)
            if before is None:
                events.extend(self._event("ADDED", key))
            elif before.uid != version.uid:
                events.append(self._deleted(before))
                events.extend(self._event("ADDED", key))
            elif before.resource_version != version.resource_version:
                events.extend(self._event("MODIFIED", key))
        events.extend(self._deleted(v) for k, v in self.known.items() if k not in current)
        self.known = current
        return events

    def _versions(self) -> list[ObjectVersion]:
        if self.name is None:
            return list(self.store.list_versions(KIND, self.namespace, selector=self.selector))
        try:
            obj = self.store.get(KIND, self.namespace or "", self.name)
        except NotFoundError:
            return []
        meta = obj["metadata"]
        if not matches(self.selector, meta.get("labels")):
            return []
        version = int(meta["resourceVersion"])
        return [ObjectVersion(meta.get("namespace", ""), meta["name"], meta["uid"], version)]

    def _initial(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self.name is not None:
            for key in self.known or {}:
                events.extend(self._event("ADDED", key))
            return events
        token = None
        while True:
            page = self.store.list_page(
                KIND, self.namespace, selector=self.selector, limit=INITIAL_PAGE,
                continue_token=token,
            )  # fmt: skip
            events.extend({"type": "ADDED", "object": obj} for obj in page.items)
            token = page.continue_token
            if token is None:
                return list(reversed(events))  # oldest first, as they were made

    def _event(self, kind: str, key: tuple[str, str]) -> list[dict[str, Any]]:
        try:
            obj = self.store.get(KIND, *key)
        except NotFoundError:
            return []  # gone again already: the next round reports the deletion
        return [{"type": kind, "object": obj}]

    def _deleted(self, version: ObjectVersion) -> dict[str, Any]:
        meta = {
            "name": version.name,
            "namespace": version.namespace,
            "uid": version.uid,
            "resourceVersion": str(version.resource_version),
        }
        obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": KIND, "metadata": meta}
        return {"type": "DELETED", "object": obj}
