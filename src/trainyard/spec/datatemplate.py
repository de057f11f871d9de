"""Check each data template: it needs a source to list (its expressions are linted with the
others of the document, by `spec.expr.lint`)."""

from __future__ import annotations

from collections.abc import Iterator

from trainyard.core.errors import Problem
from trainyard.spec.view import SpecView


def data_problems(view: SpecView) -> Iterator[Problem]:
    """Problems of every data template of the spec, inline ones included."""
    for tmpl, path in view.indexed_templates():
        data = tmpl.data
        if data is None:
            continue
        if data.source.artifact_paths is None:
            yield view.problem(
                f"data template '{tmpl.name}' has no source: add source.artifactPaths "
                "(the artifact location whose files it lists)",
                (*path, "data"),
            )
