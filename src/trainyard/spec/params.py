"""Workflow parameters from the command line: `-p name=value` and `--params '{json}'`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from trainyard.core.errors import ParameterError
from trainyard.spec.models import Arguments, Parameter, WorkflowSpec


def parse_pairs(pairs: Iterable[str], what: str = "parameter") -> dict[str, str]:
    """`["a=1", "b=x=y"]` -> {"a": "1", "b": "x=y"}; ParameterError for a pair without `=`.

    `what` names the pairs in the message (parameter, label, annotation).
    """
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            hint = ", e.g. -p batch_size=32" if what == "parameter" else ""
            raise ParameterError(f"{what} {pair!r} must be NAME=VALUE{hint}")
        out[name.strip()] = value
    return out


def json_value(value: object) -> str:
    """A JSON value as a parameter string: strings as they are, anything else JSON-encoded."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def parse_json(text: str) -> dict[str, str]:
    """`--params '{"batch_size": 2}'` -> {"batch_size": "2"}."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(
            f"--params is not valid JSON ({exc.msg} at column {exc.colno}): "
            "write an object such as '{\"batch_size\": 2}'"
        ) from exc
    if not isinstance(data, dict):
        raise ParameterError("--params must be a JSON object such as '{\"batch_size\": 2}'")
    return {str(k): json_value(v) for k, v in data.items()}


def merge_cli(pairs: Iterable[str], json_text: str | None) -> dict[str, str]:
    """Parameters from --params, then -p on top (a -p value wins)."""
    values = parse_json(json_text) if json_text else {}
    values.update(parse_pairs(pairs))
    return values


def _set_value(param: Parameter, value: str) -> Parameter:
    if param.enum and value not in param.enum:
        raise ParameterError(
            f"value {value!r} for parameter {param.name!r} is not one of: " + ", ".join(param.enum)
        )
    return param.model_copy(update={"value": value})


def bind(spec: WorkflowSpec, values: Mapping[str, str]) -> WorkflowSpec:
    """`spec` with the workflow arguments set from `values`.

    Raises ParameterError naming the declared parameters when one in `values` is unknown,
    or when a value is not among a parameter's `enum`.
    """
    if not values:
        return spec
    declared = list(spec.arguments.parameters) if spec.arguments else []
    known = {p.name for p in declared}
    unknown = sorted(set(values) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ParameterError(
            f"unknown workflow parameter {unknown[0]!r}: the workflow declares {listed} "
            "(spec.arguments.parameters)"
        )
    params = [_set_value(p, values[p.name]) if p.name in values else p for p in declared]
    args = spec.arguments or Arguments()
    return spec.model_copy(update={"arguments": args.model_copy(update={"parameters": params})})
