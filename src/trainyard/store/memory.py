"""MemoryStore: the Store contract kept in a dict, for unit tests and throwaway runs."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trainyard.core.clock import Clock, SystemClock
from trainyard.core.ids import new_uid
from trainyard.core.selectors import Selector, matches
from trainyard.store import document, paging
from trainyard.store.base import ObjectVersion, Page


@dataclass
class _Row:
    seq: int
    uid: str
    created_at: datetime
    resource_version: int
    labels: dict[str, str]
    phase: str
    body: str  # JSON, so callers never share state with the store


class MemoryStore:
    """Objects in memory; thread-safe; behaves as SqlStore does, down to the error messages."""

    def __init__(self, clock: Clock | None = None) -> None:
        """An empty store; `clock` stamps creationTimestamp (the wall clock by default)."""
        self._clock = clock or SystemClock()
        self._rows: dict[tuple[str, str, str], _Row] = {}
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert a new object; returns it with uid, resourceVersion and creationTimestamp set."""
        return document.create_named(kind, obj, lambda name: self._create(kind, obj, name))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """The object, or NotFoundError."""
        with self._lock:
            row = self._rows.get((kind, namespace, name))
        if row is None:
            raise document.not_found(kind, namespace, name)
        return document.load(row.body, row.resource_version, row.uid, row.created_at)

    def update(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace an existing object; ConflictError if its resourceVersion or uid is stale."""
        name = document.required_name(kind, obj)
        incoming = document.prepare(kind, obj, name)
        with self._lock:
            row = self._rows.get((kind, incoming.namespace, name))
            if row is None:
                raise document.not_found(kind, incoming.namespace, name)
            if (
                incoming.resource_version is not None
                and incoming.resource_version != row.resource_version
            ) or (incoming.uid is not None and incoming.uid != row.uid):
                raise document.stale(incoming, row.resource_version, row.uid)
            row.resource_version += 1
            row.labels, row.phase, row.body = incoming.labels, incoming.phase, incoming.body
            version, uid, created_at = row.resource_version, row.uid, row.created_at
        return document.finish(obj, name, version, uid, created_at)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Remove the object, or NotFoundError."""
        with self._lock:
            if self._rows.pop((kind, namespace, name), None) is None:
                raise document.not_found(kind, namespace, name)

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        phases: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of `kind` matching every filter, oldest first."""
        wanted = labels or {}
        with self._lock:
            rows = [
                row
                for (row_kind, row_namespace, _), row in self._rows.items()
                if row_kind == kind
                and (namespace is None or row_namespace == namespace)
                and (phases is None or row.phase in phases)
                and all(row.labels.get(k) == v for k, v in wanted.items())
            ]
        rows.sort(key=lambda row: (row.created_at, row.seq))
        return [
            document.load(row.body, row.resource_version, row.uid, row.created_at) for row in rows
        ]

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
        """Up to `limit` matching objects, newest first, after `continue_token`."""
        after = paging.decode(continue_token) if continue_token else None
        with self._lock:
            rows = [
                row
                for (row_kind, row_namespace, name), row in self._rows.items()
                if row_kind == kind
                and (namespace is None or row_namespace == namespace)
                and (phases is None or row.phase in phases)
                and (name_contains is None or name_contains in name)
                and (after is None or (row.created_at, row.seq) < after)
                and matches(selector, row.labels)
            ]
        rows.sort(key=lambda row: (row.created_at, row.seq), reverse=True)
        more = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        items = [
            document.load(row.body, row.resource_version, row.uid, row.created_at) for row in rows
        ]
        token = paging.encode(rows[-1].created_at, rows[-1].seq) if more else None
        return Page(items, token)

    def list_versions(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        selector: Selector = (),
        phases: Sequence[str] | None = None,
    ) -> tuple[ObjectVersion, ...]:
        """Address and version of every matching object."""
        with self._lock:
            return tuple(
                ObjectVersion(row_namespace, name, row.uid, row.resource_version)
                for (row_kind, row_namespace, name), row in self._rows.items()
                if row_kind == kind
                and (namespace is None or row_namespace == namespace)
                and (phases is None or row.phase in phases)
                and matches(selector, row.labels)
            )

    def close(self) -> None:
        """Nothing to release; the objects stay readable."""

    def _create(self, kind: str, obj: dict[str, Any], name: str) -> dict[str, Any]:
        incoming = document.prepare(kind, obj, name)
        key = (kind, incoming.namespace, name)
        with self._lock:
            if key in self._rows:
                raise document.already_exists(kind, incoming.namespace, name)
            row = _Row(
                seq=next(self._seq),
                uid=incoming.uid or new_uid(),
                created_at=incoming.created_at or self._clock.now(),
                resource_version=1,
                labels=incoming.labels,
                phase=incoming.phase,
                body=incoming.body,
            )
            self._rows[key] = row
        return document.finish(obj, name, 1, row.uid, row.created_at)
