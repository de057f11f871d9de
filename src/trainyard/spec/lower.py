"""Documents as Argo's published schema spells them, for sending to an Argo server.

trainyard accepts what Argo's server accepts: `cpu: 1`, `value: 32`, `port: 8080` (numbers and
booleans where the schema says string, as Argo turns them into strings). Argo's JSON schema,
which other tools check against, says string there; so what goes to a cluster has those
scalars written as the strings Argo would make of them. A CronWorkflow's `schedule` (Argo v3's
spelling, which v4 refuses) becomes `schedules: [...]`. Everything else is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainyard.spec.schema import DEFINITION_PREFIX, argo_schema

_REF = "#/definitions/"


def as_argo(kind: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `document` (a `kind` such as Workflow) with relaxed scalars as strings."""
    definitions = argo_schema()["definitions"]
    lowered = _walk(document, definitions[DEFINITION_PREFIX + kind], definitions)
    assert isinstance(lowered, dict)
    spec = lowered.get("spec")
    if kind == "CronWorkflow" and isinstance(spec, dict) and "schedule" in spec:
        spec = {key: value for key, value in spec.items() if key != "schedule"}
        spec["schedules"] = [lowered["spec"]["schedule"], *(spec.get("schedules") or [])]
        lowered["spec"] = spec
    return lowered


def scalar_string(value: bool | int | float) -> str:
    """The string Argo makes of a YAML scalar: `true`, `32`, `0.5` (`2.0` as `2`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _resolve(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in node and seen < 32:
        node = definitions[str(node["$ref"]).removeprefix(_REF)]
        seen += 1
    return node


def _walk(value: Any, node: Mapping[str, Any], definitions: Mapping[str, Any]) -> Any:
    node = _resolve(node, definitions)
    types = node.get("type")
    if isinstance(value, bool | int | float) and isinstance(types, list) and "string" in types:
        return scalar_string(value)
    if isinstance(value, Mapping):
        properties = node.get("properties") or {}
        others = node.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = properties.get(key, others if isinstance(others, Mapping) else None)
            out[key] = _walk(item, sub, definitions) if sub is not None else item
        return out
    items = node.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        return [_walk(item, items, definitions) for item in value]
    return value
