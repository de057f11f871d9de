"""Check documents against Argo's JSON schema, and refuse unknown fields as Argo's server does.

The schema is `data/argo-schema.json`, derived from Argo's own by `scripts/derive_schema.py`,
which already relaxes three quirks of Argo's generated schema (IntOrString takes integers,
Quantity takes numbers, AnyString parameter values take numbers and booleans). On top of the
schema, an object whose definition lists `properties` and has no `additionalProperties` (so
not a map such as labels or resource requests) may not carry other fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any, cast

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from trainyard.core.errors import Problem
from trainyard.spec.source import JsonPath, SourceDocument
from trainyard.spec.suggest import did_you_mean

DEFINITION_PREFIX = "io.argoproj.workflow.v1alpha1."
UNKNOWN_FIELD = "unknown-field"
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}
_BASE_PROPERTIES = Draft202012Validator.VALIDATORS["properties"]


def schema_problems(source: SourceDocument) -> list[Problem]:
    """Every way `source` breaks Argo's schema for its kind, each at the element concerned."""
    validator = kind_validator(source.kind)
    problems = [source.problem(message(e), _path(e)) for e in validator.iter_errors(source.data)]
    return sorted(problems, key=lambda p: (p.line, p.column, p.message))


@cache
def argo_schema() -> dict[str, Any]:
    """The derived Argo schema (all four kinds), read once from the package data."""
    text = resources.files("trainyard.spec").joinpath("data/argo-schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def kind_validator(kind: str) -> Validator:
    """The compiled validator for documents of `kind` (Workflow, CronWorkflow, ...)."""
    base = argo_schema()
    schema = {
        "$schema": base["$schema"],
        "definitions": base["definitions"],
        "$ref": f"#/definitions/{DEFINITION_PREFIX}{kind}",
    }
    return _StrictValidator(schema)


def metadata_problems(metadata: Any) -> list[str]:
    """Every way `metadata` breaks Kubernetes' ObjectMeta schema, as `schema_problems` words it.

    For callers that check a document's metadata apart from the rest (whose check they cached).
    """
    validator = _definition_validator("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    return sorted(message(e) for e in validator.iter_errors(metadata))


@cache
def _definition_validator(definition: str) -> Validator:
    base = argo_schema()
    schema = {
        "$schema": base["$schema"],
        "definitions": base["definitions"],
        "$ref": f"#/definitions/{definition}",
    }
    return _StrictValidator(schema)


def _properties(
    validator: Validator, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """`properties`, and no field beyond them unless the object is a map."""
    yield from _BASE_PROPERTIES(validator, properties, instance, schema)
    if not isinstance(instance, dict) or "additionalProperties" in schema:
        return
    for key in instance:
        if key not in properties:
            yield ValidationError(
                str(key), validator=UNKNOWN_FIELD, validator_value=sorted(properties), path=[key]
            )


def _required(
    validator: Validator, required: list[str], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """`required`, with the missing field's name as the message (worded by `message`)."""
    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield ValidationError(name)


_StrictValidator = cast(
    "type[Validator]",
    extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, {"properties": _properties, "required": _required}
    ),
)


def message(error: ValidationError) -> str:
    """A plain-English message for a schema error: what is wrong and what to write instead."""
    path = _path(error)
    expected: Any = error.validator_value
    if error.validator == UNKNOWN_FIELD:
        where = _name(path[:-1])
        suggestion = did_you_mean(error.message, expected)
        return f"unknown field '{error.message}' in {where}{suggestion}"
    name = _name(path)
    if error.validator == "required":
        return f"missing required field '{error.message}' in {name}"
    if error.validator == "type":
        return _type_message(name, expected, error.instance)
    if error.validator == "const":
        return f"'{name}' must be {_show(expected)}, not {_show(error.instance)}"
    return f"'{name}': {error.message}"


def _type_message(name: str, expected: str | list[str], instance: Any) -> str:
    if instance is None:
        return f"'{name}' is empty: give it a value or remove the line"
    wanted = [expected] if isinstance(expected, str) else expected
    options = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
    return f"'{name}' must be {options}, not {_describe_value(instance)}"


def _describe_value(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"true or false ({_show(value)})"
    if isinstance(value, int | float):
        return f"a number ({value!r}); quote it to make it a string"
    return f"a string ({_show(value)})"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _path(error: ValidationError) -> JsonPath:
    return tuple(error.absolute_path)


def _name(path: JsonPath) -> str:
    """The last key of `path` with the list indices after it: `container`, `templates[0]`."""
    indices = ""
    for part in reversed(path):
        if isinstance(part, int):
            indices = f"[{part}]" + indices
        else:
            return part + indices
    return "the document" + indices
