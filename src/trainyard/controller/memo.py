"""Memoization caches kept as ConfigMaps in the store, in Argo's shape: one key per entry,
holding JSON `{nodeID, outputs, creationTimestamp, lastHitTimestamp}`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from trainyard.core.clock import format_time, parse_time
from trainyard.core.errors import ConflictError, NotFoundError
from trainyard.engine.actions import MemoCache, MemoEntry, SaveMemo, TouchMemo
from trainyard.spec.models import Outputs, Workflow
from trainyard.store.base import Store

log = logging.getLogger(__name__)
KIND = "ConfigMap"
# Argo only uses (and marks) ConfigMaps with this label as caches.
TYPE_LABEL = "workflows.argoproj.io/configmap-type"
CACHE_TYPE = "Cache"
ATTEMPTS = 5


def cache_names(wf: Workflow) -> frozenset[str]:
    """The caches the workflow's templates name (`*` when a name is only known at run time)."""
    return frozenset(_names(wf.spec.model_dump(by_alias=True, exclude_none=True)))


def _names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        memoize = value.get("memoize")
        if isinstance(memoize, dict):
            name = str(((memoize.get("cache") or {}).get("configMap") or {}).get("name") or "")
            yield "*" if "{{" in name else name
        for child in value.values():
            yield from _names(child)
    elif isinstance(value, list):
        for child in value:
            yield from _names(child)


class MemoCaches:
    """Reads the caches a workflow needs for the engine, and writes what the engine asks."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def read(self, namespace: str, names: frozenset[str]) -> dict[str, MemoCache]:
        """The caches called `names` in `namespace` (with `*`, every cache there)."""
        docs: list[dict[str, Any]] = []
        if "*" in names:
            docs = self.store.list(KIND, namespace=namespace, labels={TYPE_LABEL: CACHE_TYPE})
        for name in names - {"*"}:
            try:
                docs.append(self.store.get(KIND, namespace, name))
            except NotFoundError:
                continue  # no cache yet: every key misses
        return {cache.name: cache for cache in map(_cache, docs)}

    def save(self, namespace: str, action: SaveMemo) -> None:
        """Store the outputs of a node under its key (creating the ConfigMap if needed)."""
        at = format_time(action.at)
        outputs = action.outputs.dump() if action.outputs is not None else None
        entry = {
            "nodeID": action.node_id,
            "outputs": outputs,
            "creationTimestamp": at,
            "lastHitTimestamp": at,
        }
        self._edit(namespace, action.cache_name, action.key, entry, create=True)

    def touch(self, namespace: str, action: TouchMemo) -> None:
        """Record that an entry was used now (Argo's lastHitTimestamp)."""
        try:
            doc = self.store.get(KIND, namespace, action.cache_name)
        except NotFoundError:
            return
        entry = _json((doc.get("data") or {}).get(action.key))
        if entry is not None:
            entry["lastHitTimestamp"] = format_time(action.at)
            self._edit(namespace, action.cache_name, action.key, entry, create=False)

    def _edit(
        self, namespace: str, name: str, key: str, entry: dict[str, Any], *, create: bool
    ) -> None:
        text = json.dumps(entry, separators=(",", ":"))
        for _ in range(ATTEMPTS):
            try:
                doc = self.store.get(KIND, namespace, name)
            except NotFoundError:
                if not create:
                    return
                doc = {
                    "apiVersion": "v1",
                    "kind": KIND,
                    "metadata": {"name": name, "namespace": namespace},
                }
                doc["metadata"]["labels"] = {TYPE_LABEL: CACHE_TYPE}
                doc["data"] = {key: text}
                try:
                    self.store.create(KIND, doc)
                    return
                except ConflictError:
                    continue
            if _problem(doc) is not None:
                log.warning("cache %s/%s: %s", namespace, name, _problem(doc))
                return
            doc["data"] = {**(doc.get("data") or {}), key: text}
            try:
                self.store.update(KIND, doc)
                return
            except (ConflictError, NotFoundError):
                continue
        log.warning("cache %s/%s: key %s not stored (kept changing)", namespace, name, key)


def _problem(doc: dict[str, Any]) -> str | None:
    meta = doc.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(TYPE_LABEL) == CACHE_TYPE:
        return None
    return (
        f"ConfigMap {meta.get('name')!r} is not a memoization cache: it lacks the label "
        f"{TYPE_LABEL}={CACHE_TYPE} (Argo refuses it too); use another cache name or add the label"
    )


def _cache(doc: dict[str, Any]) -> MemoCache:
    name = str((doc.get("metadata") or {}).get("name") or "")
    problem = _problem(doc)
    if problem is not None:
        return MemoCache(name, problem=problem)
    entries = {}
    for key, text in (doc.get("data") or {}).items():
        entry = _entry(_json(text))
        if entry is not None:
            entries[str(key)] = entry
    return MemoCache(name, entries)


def _json(text: object) -> dict[str, Any] | None:
    try:
        value = json.loads(str(text)) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _entry(raw: dict[str, Any] | None) -> MemoEntry | None:
    """An entry as Argo writes it; a malformed one is a miss (the next save replaces it)."""
    if raw is None or not raw.get("nodeID"):
        return None
    try:
        outputs = Outputs.model_validate(raw["outputs"]) if raw.get("outputs") else None
        created: datetime = parse_time(str(raw.get("creationTimestamp") or ""))
    except (ValidationError, ValueError):
        return None
    return MemoEntry(str(raw["nodeID"]), outputs, created)
