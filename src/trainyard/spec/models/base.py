"""The base of every Argo model: camelCase aliases, unknown fields kept, quiet dumps."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel


def any_string(value: Any) -> Any:
    """Argo's AnyString: numbers and booleans written in YAML become their string form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


AnyStr = Annotated[str, BeforeValidator(any_string)]
"""A string field where Argo also accepts a number or boolean."""

IntOrStr = int | str
"""Kubernetes' IntOrString: kept as written."""


class ArgoModel(BaseModel):
    """Base model: snake_case attributes, camelCase JSON, unknown fields preserved."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        validate_assignment=False,
        protected_namespaces=(),
    )

    def dump(self) -> dict[str, Any]:
        """This object as Argo JSON: camelCase keys, unset fields left out."""
        return dump(self)


def dump(model: BaseModel) -> dict[str, Any]:
    """`model` as Argo JSON: camelCase, no None values and no empty lists (Go's omitempty)."""
    data: dict[str, Any] = _drop_empty_lists(
        model.model_dump(by_alias=True, exclude_none=True, mode="json")
    )
    return data


def _drop_empty_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [_drop_empty_lists(v) for v in value]
    return value
