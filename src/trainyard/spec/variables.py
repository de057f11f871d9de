"""Argo's `{{...}}` placeholders: finding, substituting and listing them in strings and trees.

As in Argo (util/template, fasttemplate): a tag runs from `{{` to the first `}}` after it, the
name inside is looked up with surrounding whitespace stripped, and a name with no value is
written back exactly as it was, unless it falls under a strict prefix, which makes it an error;
as in Argo, `...outputs.artifacts...` names stay even then: `from:` resolves them afterwards.
`{{=expr}}` expression tags are evaluated with trainyard.spec.expr against the same values as
nested maps, or left as written while they read a variable not in scope yet. A nested tag such as
`{{steps.{{inputs.parameters.step}}.outputs.result}}` resolves its inner name first and leaves
`{{steps.<value>.outputs.result}}` for a later pass, as Argo does.

Argo substitutes into the JSON text of a template and escapes each value for JSON; this module
substitutes into the decoded strings, which gives the same result without the escaping.
Deviation: a `{{` with no closing `}}` is left as text; Argo rejects the whole template.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import TypeVar, cast

from trainyard.core.errors import ExpressionError
from trainyard.spec.expr import nested_env, render_tag

T = TypeVar("T")

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_Replace = Callable[[re.Match[str]], str]


class MissingVariable(ExpressionError):
    """A `{{name}}` under a strict prefix has no value in scope; `.name` says which."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unresolved variable {{{{{name}}}}}: {_explain(name)}")


def _explain(name: str) -> str:
    parts = name.split(".")
    if parts[0] in ("steps", "tasks") and len(parts) >= 3:
        kind = parts[0][:-1]
        what = ".".join(parts[2:])
        return (
            f"no {kind} '{parts[1]}' with '{what}' is in scope; check the name, and that the "
            f"{kind} comes before this one and produces it"
        )
    if parts[0] == "inputs" and len(parts) == 3 and parts[1] in ("parameters", "artifacts"):
        return f"the template declares no input {parts[1][:-1]} '{parts[2]}'"
    return f"nothing named '{name}' is in scope here; check its spelling"


def find_tags(text: str) -> list[str]:
    """The contents of every `{{...}}` tag in order, whitespace-stripped (`=expr` kept as is)."""
    if "{{" not in text:
        return []
    return [match.group(1).strip() for match in _TAG.finditer(text)]


def substitute(
    text: str, values: Mapping[str, str], *, strict_prefixes: tuple[str, ...] = ()
) -> str:
    """Replace each `{{ name }}` with `values[name]`.

    A name with no value stays as written, unless it is a strict prefix or starts with one
    followed by a dot (`"steps"` or `"steps."` covers `steps.a.outputs.result`): then
    MissingVariable is raised.
    """
    if "{{" not in text:
        return text
    return _replace_in(text, _replacer(values, strict_prefixes))


def substitute_tree(
    obj: T, values: Mapping[str, str], *, strict_prefixes: tuple[str, ...] = ()
) -> T:
    """Substitute in every string value of a JSON-like tree of dicts and lists (not in keys).

    Returns the very same object when nothing in it changed; otherwise copies only the
    containers on the way to a changed string.
    """
    return cast(T, _walk(obj, _replacer(values, strict_prefixes)))


def references(obj: object) -> set[str]:
    """Every variable name used in a `{{...}}` tag anywhere in a JSON-like tree.

    Expression tags (`{{=...}}`) are not included; for a nested tag the inner name is.
    """
    names: set[str] = set()
    for text in _strings(obj):
        if "{{" in text:
            names.update(_name(tag) for tag in find_tags(text) if not tag.startswith("="))
    return names


def _name(tag: str) -> str:
    nested = tag.rfind("{{")
    return tag[nested + 2 :].strip() if nested > 0 else tag


def _strings(obj: object) -> list[str]:
    found: list[str] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _replacer(values: Mapping[str, str], strict_prefixes: tuple[str, ...]) -> _Replace:
    is_strict = _strict_test(strict_prefixes)
    env = functools.cache(lambda: nested_env(values))

    def replace(match: re.Match[str]) -> str:
        tag = match.group(1)
        name = tag.strip()
        if name.startswith("="):
            text = render_tag(name[1:], env, is_strict)
            return match.group(0) if text is None else text
        value = values.get(name)
        if value is not None:
            return value
        nested = tag.rfind("{{")
        if nested > 0:
            inner = values.get(tag[nested + 2 :].strip())
            if inner is not None:
                return "{{" + tag[:nested] + inner
        if is_strict(name) and ".outputs.artifacts." not in name:
            raise MissingVariable(name)
        return match.group(0)

    return replace


@functools.lru_cache(maxsize=64)
def _strict_test(prefixes: tuple[str, ...]) -> Callable[[str], bool]:
    """A name is strict when it is a prefix or continues one with a dot."""
    bases = frozenset(prefix.rstrip(".") for prefix in prefixes)
    starts = tuple(base + "." for base in bases)
    if not bases:
        return lambda name: False
    return lambda name: name in bases or name.startswith(starts)


def _replace_in(text: str, replace: _Replace) -> str:
    result = _TAG.sub(replace, text)
    return text if result == text else result


def _walk(obj: object, replace: _Replace) -> object:
    if isinstance(obj, str):
        return _replace_in(obj, replace) if "{{" in obj else obj
    if isinstance(obj, dict):
        return _walk_dict(obj, replace)
    if isinstance(obj, list):
        return _walk_list(obj, replace)
    return obj


def _walk_dict(obj: dict[object, object], replace: _Replace) -> dict[object, object]:
    copy: dict[object, object] | None = None
    for key, value in obj.items():
        new = _walk(value, replace)
        if new is not value:
            if copy is None:
                copy = dict(obj)
            copy[key] = new
    return obj if copy is None else copy


def _walk_list(obj: list[object], replace: _Replace) -> list[object]:
    copy: list[object] | None = None
    for index, value in enumerate(obj):
        new = _walk(value, replace)
        if new is not value:
            if copy is None:
                copy = list(obj)
            copy[index] = new
    return obj if copy is None else copy
