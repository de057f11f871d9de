"""Memoized templates: a cache hit gives a node its outputs without running it; a miss that
succeeds asks for its outputs to be stored (the caches themselves are read by the controller)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine.actions import MemoEntry, SaveMemo, TouchMemo
from trainyard.engine.outputs import export_globals
from trainyard.engine.run import NodeError, Opts, Run
from trainyard.spec.models import MemoizationStatus, NodeStatus, Template

# Argo's rule for cache keys (they become ConfigMap keys).
KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")


@dataclass(frozen=True)
class Memo:
    """What a memoized template asks for: the substituted key, the cache, the maximum age."""

    key: str
    cache_name: str
    max_age: float | None


def memo_of(tmpl: Template) -> Memo | None:
    """The `memoize` of a substituted template, checked; None when it has none."""
    spec = tmpl.memoize
    if spec is None:
        return None
    key = str(spec.get("key") or "")
    cache = spec.get("cache") or {}
    config_map = cache.get("configMap") if isinstance(cache, dict) else None
    name = str((config_map or {}).get("name") or "") if isinstance(config_map, dict) else ""
    if not name:
        raise NodeError(f"template {tmpl.name!r}: memoize needs cache.configMap.name")
    if not KEY_PATTERN.match(key):
        raise NodeError(
            f"invalid cache key: {key!r} (letters, digits and '-', starting with a letter or digit)"
        )
    max_age = None
    if spec.get("maxAge"):
        try:
            max_age = parse_duration(str(spec["maxAge"]))
        except UserError as exc:
            raise NodeError(f"invalid maxAge: {spec['maxAge']!r}") from exc
    return Memo(key, name, max_age)


def lookup(run: Run, memo: Memo) -> MemoEntry | None:
    """The entry `memo` may use now: present in its cache and no older than maxAge."""
    cache = run.caches.get(memo.cache_name)
    if cache is None:
        return None
    if cache.problem:
        raise NodeError(cache.problem)
    entry = cache.entries.get(memo.key)
    if entry is None or not entry.node_id:
        return None
    if memo.max_age is not None and run.now - entry.created > timedelta(seconds=memo.max_age):
        return None
    return entry


def hit_node(
    run: Run, node_name: str, node_type: str, tmpl: Template, opts: Opts, memo: Memo
) -> NodeStatus | None:
    """The node made from a cache hit (Succeeded, with the stored outputs), or None on a miss."""
    entry = lookup(run, memo)
    if entry is None:
        return None
    node = run.open_node(node_name, node_type, "Succeeded", tmpl, opts)
    status = MemoizationStatus(hit=True, key=memo.key, cache_name=memo.cache_name)
    outputs = entry.outputs
    node = run.update(node, memoization_status=status)
    node = run.set_outputs(node, outputs)
    if node_type == "Pod":
        node = run.update(node, progress="1/1")
    export_globals(run, outputs)
    run.actions.append(TouchMemo(memo.cache_name, memo.key, run.now))
    return node


def mark_miss(run: Run, node: NodeStatus, memo: Memo) -> NodeStatus:
    """Note on a newly made node that it runs and that its outputs are to be cached."""
    if node.memoization_status is not None:
        return node
    status = MemoizationStatus(hit=False, key=memo.key, cache_name=memo.cache_name)
    return run.update(node, memoization_status=status)


def save_if_succeeded(run: Run, node: NodeStatus) -> None:
    """Ask for the outputs of a memoized node that has just succeeded to be stored."""
    status = node.memoization_status
    if status is None or status.hit or node.phase != "Succeeded":
        return
    run.actions.append(
        SaveMemo(
            cache_name=status.cache_name,
            key=status.key,
            node_id=node.id,
            outputs=node.outputs,
            at=run.now,
        )
    )
