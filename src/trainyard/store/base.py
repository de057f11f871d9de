"""The Store protocol: Kubernetes-style objects (Workflow, ConfigMap, ...) by kind/namespace/name.

Contracts:
- Objects are JSON documents with `metadata.name`; one without `metadata.namespace` is
  cluster-scoped (namespace ""). `create` with only `metadata.generateName` gets a fresh name.
- The store owns three metadata fields: `resourceVersion` (an integer as a string, 1 on create,
  +1 on every update of that object), `uid` and `creationTimestamp` (kept from the object on
  create when given, else set; never changed by `update`).
- Arguments are never modified, and nothing a caller holds is shared with the store.
  `get`/`list` return fresh documents; `create`/`update` return the argument with a new
  `metadata` dict, sharing the rest (spec, status) with the argument rather than copying it.
- `create` raises ConflictError when the name is taken; `get`/`update`/`delete` raise
  NotFoundError ("workflow 'x' not found in namespace 'default'").
- `update` with a stale `resourceVersion`, or with the `uid` of an object since deleted and
  created again, raises ConflictError (optimistic concurrency); an object without
  `resourceVersion` is written unconditionally.
- Listing is ordered by creationTimestamp, then by order of creation (oldest first); labels
  filter by equality of every pair given; phases by `status.phase`, "" for objects without one.
- `list_page` reads one page, newest first, without reading the bodies of other objects; its
  `continue_token` is opaque and carries on after the last object of the page, so objects
  created or deleted meanwhile neither repeat nor shift the pages. A malformed token is a
  UserError. `list_versions` reads only addresses and versions (no bodies), to notice changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from trainyard.core.selectors import Selector


@dataclass(frozen=True)
class Page:
    """One page of a listing; `continue_token` is None on the last page."""

    items: list[dict[str, Any]]
    continue_token: str | None = None


@dataclass(frozen=True)
class ObjectVersion:
    """Where an object is and which version of it is stored (what a watcher compares)."""

    namespace: str
    name: str
    uid: str
    resource_version: int


class Store(Protocol):
    """Persistent objects, addressed by (kind, namespace, name)."""

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert a new object; returns it with name, uid, resourceVersion, creationTimestamp set.

        ConflictError when (kind, namespace, name) is taken.
        """
        ...

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """The object, or NotFoundError."""
        ...

    def update(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace an existing object; returns it with the new resourceVersion.

        NotFoundError when it does not exist; ConflictError when its resourceVersion or uid
        is not the stored one.
        """
        ...

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Remove the object, or NotFoundError."""
        ...

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        phases: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of `kind` (all namespaces when None), oldest first.

        `phases` filters on `status.phase` (workflows).
        """
        ...

    def list_page(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        selector: Selector = (),
        phases: Sequence[str] | None = None,
        name_contains: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        """Up to `limit` objects (all when None) matching every filter, newest first.

        `continue_token` is the token of the previous page; a malformed one is a UserError.
        """
        ...

    def list_versions(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        selector: Selector = (),
        phases: Sequence[str] | None = None,
    ) -> tuple[ObjectVersion, ...]:
        """The address, uid and resourceVersion of every matching object, without bodies.

        `phases` filters on `status.phase`, as in `list`.
        """
        ...

    def close(self) -> None:
        """Release connections; a later call opens them again."""
        ...
