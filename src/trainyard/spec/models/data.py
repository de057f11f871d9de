"""data templates: list the files of an artifact location, then filter and map the list."""

from __future__ import annotations

from trainyard.spec.models.base import ArgoModel
from trainyard.spec.models.io import Artifact


class TransformationStep(ArgoModel):
    """One step of a data template's transformation: an expr expression over `data`."""

    expression: str = ""


class DataSource(ArgoModel):
    """Where a data template's list comes from: the files of an artifact location."""

    artifact_paths: Artifact | None = None


class DataTemplate(ArgoModel):
    """A data template: its source, then its transformation steps, in order."""

    source: DataSource = DataSource()
    transformation: list[TransformationStep] | None = None


__all__ = ["DataSource", "DataTemplate", "TransformationStep"]
