"""Expression tags against Argo's variables: the flat `a.b.c` names as nested maps, and
when a `{{= }}` tag is left for later (a variable not in scope yet) or is an error."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trainyard.core.errors import ExpressionError
from trainyard.spec.expr.evaluate import evaluate_tree
from trainyard.spec.expr.functions import BUILTINS
from trainyard.spec.expr.nodes import (
    Array,
    Binary,
    Call,
    Closure,
    Conditional,
    Literal,
    MapLiteral,
    Member,
    Name,
    Node,
    Slice,
    Unary,
)
from trainyard.spec.expr.parser import parse
from trainyard.spec.expr.values import render


def nested_env(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat Argo variables as nested maps: `inputs.parameters.x` -> `inputs`/`parameters`/`x`.

    As Argo (util/expand) does, a name that is also the start of a longer name is dropped in
    favour of the longer ones (`workflow.parameters`, the JSON list, gives way to the map).
    """
    env: dict[str, Any] = {}
    for name in sorted(values, key=lambda n: n.count("."), reverse=True):
        parts = name.split(".")
        target = env
        for part in parts[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                break
            target = child
        else:
            if parts[-1] not in target:
                target[parts[-1]] = values[name]
    return env


@functools.lru_cache(maxsize=1024)
def parsed(source: str) -> Node:
    """`parse`, remembered: the same tags are expanded on every tick of a workflow."""
    return parse(source)


def unknown_names(tree: Node, env: Mapping[str, Any]) -> list[str]:
    """The variables (dotted paths) `tree` reads that `env` does not have."""
    missing: list[tuple[str, ...]] = []
    for path in _paths(tree, guarded=False):
        if not _has(env, path) and path[0] not in BUILTINS and path not in missing:
            missing.append(path)
    return [".".join(path) for path in missing]


def render_tag(
    source: str, env: Callable[[], Mapping[str, Any]], is_strict: Callable[[str], bool]
) -> str | None:
    """The text for the tag `{{=source}}`, or None to leave it as written for a later pass.

    A tag is left when it reads a variable that is not in scope (yet); it is an error when
    that variable is under a strict prefix, when it does not parse, or when it fails to run.
    """
    source = source.strip()
    tree = parsed(source)
    scope = env()
    missing = unknown_names(tree, scope)
    for name in missing:
        if is_strict(name):
            raise ExpressionError(
                f"expression '{source}' reads {name}, which is not in scope here: "
                "check the name, and that what produces it comes first"
            )
    if missing:
        return None
    try:
        value = evaluate_tree(source, tree, scope)
    except ExpressionError:
        if _reads_placeholder(tree, scope):
            return None
        raise
    if value is None:
        raise ExpressionError(f"expression '{source}' evaluated to nil")
    return render(value)


def _reads_placeholder(tree: Node, env: Mapping[str, Any]) -> bool:
    for path in _paths(tree, guarded=False):
        value = _get(env, path)
        if isinstance(value, str) and "{{" in value:
            return True
    return False


def _member_path(node: Member) -> tuple[str, ...] | None:
    keys: list[str] = []
    current: Node = node
    while isinstance(current, Member):
        if current.optional or not isinstance(current.key, Literal):
            return None
        if not isinstance(current.key.value, str):
            return None
        keys.append(current.key.value)
        current = current.obj
    if not isinstance(current, Name):
        return None
    return (current.name, *reversed(keys))


def _paths(node: Node, guarded: bool) -> Iterator[tuple[str, ...]]:
    """Variable paths read by `node`; under the left of `??` only bare names count."""
    if isinstance(node, Name):
        yield (node.name,)
    elif isinstance(node, Member):
        path = _member_path(node)
        if path is not None and not guarded:
            yield path
        elif path is not None:
            yield path[:1]
        else:
            yield from _paths(node.obj, guarded)
            yield from _paths(node.key, guarded)
    elif isinstance(node, Call):
        if not isinstance(node.func, Name):
            yield from _paths(node.func, guarded)
        for arg in node.args:
            yield from _paths(arg, guarded)
    elif isinstance(node, Binary):
        yield from _paths(node.left, guarded or node.op == "??")
        yield from _paths(node.right, guarded)
    else:
        yield from _child_paths(node, guarded)


def _child_paths(node: Node, guarded: bool) -> Iterator[tuple[str, ...]]:
    children: tuple[Node | None, ...] = ()
    if isinstance(node, Unary):
        children = (node.operand,)
    elif isinstance(node, Conditional):
        children = (node.test, node.yes, node.no)
    elif isinstance(node, Slice):
        children = (node.obj, node.low, node.high)
    elif isinstance(node, Array):
        children = node.items
    elif isinstance(node, MapLiteral):
        children = tuple(part for pair in node.pairs for part in pair)
    elif isinstance(node, Closure):
        children = (node.body,)
    for child in children:
        if child is not None:
            yield from _paths(child, guarded)


def _get(env: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = env
    for part in path:
        if not isinstance(current, dict | Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _has(env: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    current: Any = env
    for part in path:
        if not isinstance(current, dict | Mapping) or part not in current:
            return False
        current = current[part]
    return True
