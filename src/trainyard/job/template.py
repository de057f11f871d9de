"""StepTemplate: what a step declared, read from the resolved template Argo hands it.

Argo (and trainyard's local engine) put the step's template, with every `{{...}}` already
substituted, in the `ARGO_TEMPLATE` environment variable as JSON. Parameter values, input
and output artifact paths and the paths of output parameters are all in it, so step code
can ask for them by name instead of repeating paths that the workflow already states.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainyard.core.errors import UserError

TEMPLATE_ENV = "ARGO_TEMPLATE"


class JobError(UserError):
    """Step code asked for something its template does not declare, or got a bad value."""


@dataclass(frozen=True)
class StepTemplate:
    """The declarations of one resolved template, by name."""

    name: str = ""
    parameters: Mapping[str, str | None] = field(default_factory=dict)
    input_artifacts: Mapping[str, str | None] = field(default_factory=dict)
    output_artifacts: Mapping[str, str | None] = field(default_factory=dict)
    output_parameters: Mapping[str, str | None] = field(default_factory=dict)
    present: bool = True
    """False when there was no template at all (not running as an Argo step)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StepTemplate:
        """The template in `env[ARGO_TEMPLATE]`; an empty one (present=False) if unset."""
        text = env.get(TEMPLATE_ENV)
        if not text:
            return cls(present=False)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JobError(f"{TEMPLATE_ENV} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise JobError(f"{TEMPLATE_ENV} must be a JSON object (an Argo template)")
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> StepTemplate:
        """The declarations of the template `doc` (Argo's JSON form, camelCase)."""
        inputs = doc.get("inputs") or {}
        outputs = doc.get("outputs") or {}
        return cls(
            name=str(doc.get("name") or ""),
            parameters=_by_name(inputs.get("parameters"), _value),
            input_artifacts=_by_name(inputs.get("artifacts"), _path),
            output_artifacts=_by_name(outputs.get("artifacts"), _path),
            output_parameters=_by_name(outputs.get("parameters"), _value_from_path),
        )

    def input_path(self, name: str) -> Path:
        """Where the input artifact `name` is placed."""
        hint = f"add `{{name: {name}, path: /tmp/inputs/{name}}}` to its inputs.artifacts"
        return Path(self._declared(self.input_artifacts, name, "input artifact", hint))

    def output_path(self, name: str) -> Path:
        """Where the output artifact `name` is collected from."""
        hint = f"add `{{name: {name}, path: /tmp/outputs/{name}}}` to its outputs.artifacts"
        return Path(self._declared(self.output_artifacts, name, "output artifact", hint))

    def output_parameter_path(self, name: str) -> Path:
        """The file the output parameter `name` is read from (`valueFrom.path`)."""
        hint = (
            f"add `{{name: {name}, valueFrom: {{path: /tmp/outputs/{name}}}}}` "
            "to its outputs.parameters"
        )
        return Path(self._declared(self.output_parameters, name, "output parameter", hint))

    def parameter(self, name: str) -> str:
        """The value of the input parameter `name`."""
        hint = f"add `{{name: {name}, value: ...}}` to its inputs.parameters"
        return self._declared(self.parameters, name, "input parameter", hint)

    def _declared(self, table: Mapping[str, str | None], name: str, what: str, hint: str) -> str:
        if name not in table:
            raise JobError(self.undeclared(name, what, hint))
        value = table[name]
        if value is None:
            missing = {"input parameter": "value", "output parameter": "valueFrom.path"}
            raise JobError(
                f"{what} {name!r} of {self._where()} has no {missing.get(what, 'path')}: {hint}"
            )
        return value

    def undeclared(self, name: str, what: str, hint: str) -> str:
        """The message for `what` `name` missing from this template, with how to declare it."""
        if not self.present:
            return (
                f"{what} {name!r} is not declared: {TEMPLATE_ENV} is not set, so this is not "
                f"running as an Argo step; in the step's template, {hint}"
            )
        return f"{what} {name!r} is not declared by {self._where()}: {hint}"

    def _where(self) -> str:
        return f"template {self.name!r}" if self.name else "this step's template"


def _by_name(items: Any, pick: Any) -> dict[str, str | None]:
    table: dict[str, str | None] = {}
    for item in items or []:
        if isinstance(item, dict) and item.get("name"):
            table[str(item["name"])] = pick(item)
    return table


def _value(item: dict[str, Any]) -> str | None:
    value = item.get("value")
    return None if value is None else str(value)


def _path(item: dict[str, Any]) -> str | None:
    path = item.get("path")
    return str(path) if path else None


def _value_from_path(item: dict[str, Any]) -> str | None:
    value_from = item.get("valueFrom") or {}
    path = value_from.get("path") if isinstance(value_from, dict) else None
    return str(path) if path else None
