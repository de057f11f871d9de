"""Argo's names for things a run creates: pod names and loop item node names."""

from __future__ import annotations

import json

from trainyard.core.ids import fnv1a_32


def pod_name(workflow_name: str, node_name: str, template_name: str) -> str:
    """Argo's v2 pod name: `<workflow>-<template>-<fnv1a(node name)>`."""
    if node_name == workflow_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}" if template_name else workflow_name
    return f"{prefix[:242]}-{fnv1a_32(node_name)}"


def go_format(value: object) -> str:
    """A JSON value as Go's `%v` prints it (how Argo renders items in node names)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if value is None:
        return "<nil>"
    return str(value)


def item_text(value: object) -> str:
    """The string `{{item}}` becomes: strings as-is, numbers as Go prints them, else JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return go_format(value)


def item_node_name(base: str, index: int, value: object) -> str:
    """`base(index:description)` as Argo names an expanded loop node."""
    if isinstance(value, dict):
        desc = ",".join(sorted(f"{k}:{go_format(v)}" for k, v in value.items()))
    else:
        desc = go_format(value)
    desc = desc.replace("(", "").replace(")", "")
    return f"{base}({index}:{desc})"
