"""Loops: expand a step or task with withItems, withParam or withSequence into item nodes."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from trainyard.engine.naming import item_node_name, item_text
from trainyard.engine.run import NodeError
from trainyard.spec.models.template import Sequence, _Invocation
from trainyard.spec.variables import substitute_tree

T = TypeVar("T", bound=_Invocation)


def items_of(invocation: _Invocation) -> list[Any]:
    """The items to loop over (already substituted); NodeError when they cannot be read."""
    if invocation.with_items is not None:
        return list(invocation.with_items)
    if invocation.with_param is not None:
        try:
            items = json.loads(invocation.with_param)
        except ValueError as exc:
            raise NodeError(
                "withParam value could not be parsed as a JSON list: "
                f"{invocation.with_param.strip()}"
            ) from exc
        if not isinstance(items, list):
            raise NodeError(f"withParam value is not a JSON list: {invocation.with_param.strip()}")
        return items
    if invocation.with_sequence is not None:
        return sequence_items(invocation.with_sequence)
    return []


def sequence_items(seq: Sequence) -> list[str]:
    """The numbers of a withSequence, printf-formatted (default %d)."""
    start = _int(seq.start, "start") if seq.start is not None else 0
    if seq.end is not None:
        end = _int(seq.end, "end")
    elif seq.count is not None:
        count = _int(seq.count, "count")
        if count == 0:
            return []
        end = start + count - 1
    else:
        raise NodeError("withSequence needs either end or count")
    step = 1 if start <= end else -1
    fmt = seq.format or "%d"
    try:
        return [fmt % i for i in range(start, end + step, step)]
    except (TypeError, ValueError) as exc:
        raise NodeError(f"withSequence format {fmt!r} cannot format a number") from exc


def _int(value: int | str, field: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise NodeError(f"withSequence {field} {value!r} is not a number") from exc


def expand(invocation: T, base_values: dict[str, str]) -> list[tuple[str, T]]:
    """One (node suffix name, invocation with {{item}} substituted) per item."""
    items = items_of(invocation)
    body = invocation.model_dump(by_alias=True, exclude_none=True)
    for key in ("withItems", "withParam", "withSequence"):
        body.pop(key, None)
    out: list[tuple[str, T]] = []
    for index, item in enumerate(items):
        values = dict(base_values)
        values["item"] = item_text(item)
        if isinstance(item, dict):
            for key, val in item.items():
                values[f"item.{key}"] = item_text(val)
        data = substitute_tree(body, values)
        name = item_node_name(invocation.name, index, item)
        data["name"] = name
        out.append((name, type(invocation).model_validate(data)))
    return out
