"""Inputs, outputs and arguments: parameters, artifacts and where their values come from."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from trainyard.spec.models.base import AnyStr, ArgoModel


class KeyRef(ArgoModel):
    """A key in a ConfigMap or Secret (`configMapKeyRef`, `secretKeyRef`)."""

    name: str = ""
    key: str = ""
    optional: bool | None = None


class ValueFrom(ArgoModel):
    """Where an output (or input) parameter's value comes from."""

    path: str | None = None
    default: AnyStr | None = None
    parameter: str | None = None
    expression: str | None = None
    json_path: str | None = None
    jq_filter: str | None = None
    supplied: dict[str, Any] | None = None
    event: str | None = None
    config_map_key_ref: KeyRef | None = None


class Parameter(ArgoModel):
    """A named string value: an input, an output, or an argument."""

    name: str
    value: AnyStr | None = None
    default: AnyStr | None = None
    enum: list[AnyStr] | None = None
    description: str | None = None
    global_name: str | None = None
    value_from: ValueFrom | None = None


class RawArtifact(ArgoModel):
    """An artifact whose content is written inline."""

    data: str = ""


class ArchiveStrategy(ArgoModel):
    """How a directory or file is packed: tar (default, gzip), `none: {}`, or zip."""

    none: dict[str, Any] | None = None
    tar: dict[str, Any] | None = None
    zip: dict[str, Any] | None = None


class LocalLocation(ArgoModel):
    """An artifact in trainyard's local artifact repository (a key under its root)."""

    key: str


class Artifact(ArgoModel):
    """A file or directory passed between steps, or kept after the workflow."""

    name: str
    path: str | None = None
    from_: str | None = Field(default=None, alias="from")
    from_expression: str | None = None
    optional: bool | None = None
    archive: ArchiveStrategy | None = None
    mode: int | None = None
    raw: RawArtifact | None = None
    global_name: str | None = None
    sub_path: str | None = None
    s3: dict[str, Any] | None = None
    http: dict[str, Any] | None = None
    git: dict[str, Any] | None = None
    local: LocalLocation | None = None

    def has_location(self) -> bool:
        """Whether this artifact says where its content lives."""
        return any(x is not None for x in (self.raw, self.s3, self.http, self.git, self.local))


class Arguments(ArgoModel):
    """Values passed to a template or a workflow."""

    parameters: list[Parameter] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)


class Inputs(ArgoModel):
    """What a template takes."""

    parameters: list[Parameter] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)


class Outputs(ArgoModel):
    """What a template or node produced (parameters, artifacts, result, exit code)."""

    parameters: list[Parameter] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    result: str | None = None
    exit_code: str | None = None

    def is_empty(self) -> bool:
        """True when nothing was produced."""
        return (
            not self.parameters
            and not self.artifacts
            and self.result is None
            and self.exit_code is None
        )
