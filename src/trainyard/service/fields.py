"""Argo's `fields` parameter: keep only the listed paths of a response, or (`-a,b`) drop them."""

from __future__ import annotations

from typing import Any

Tree = dict[str, "Tree | None"]
"""Path segments as nested keys; None marks where a listed path ends."""


def project(value: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """`value` with only the paths in `fields` (`items.metadata.name,metadata`), or without
    them when `fields` starts with `-`. Lists are looked into: `items.x` is `x` of each item."""
    if fields is None or not fields.strip():
        return value
    text = fields.strip()
    exclude = text.startswith("-")
    tree = _tree(text.removeprefix("-"))
    result = _drop(value, tree) if exclude else _pick(value, tree)
    return result if isinstance(result, dict) else {}


def _tree(text: str) -> Tree:
    tree: Tree = {}
    for path in text.split(","):
        parts = [part for part in path.strip().split(".") if part]
        node = tree
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            child = node.get(part, {}) if part in node else ({} if not last else None)
            if last:
                node[part] = None  # the whole subtree, even if a longer path named part of it
                break
            if child is None:
                break  # a shorter path already takes all of it
            node[part] = child
            node = child
    return tree


def _pick(value: Any, tree: Tree | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [_pick(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: _pick(value[key], sub) for key, sub in tree.items() if key in value}
    return value


def _drop(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_drop(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key not in tree:
            kept[key] = item
        else:
            sub = tree[key]
            if sub is not None:
                kept[key] = _drop(item, sub)
    return kept
