"""The one entry point for `trainyard lint` and `trainyard run`: load, schema, semantics, notes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike

from trainyard.core.errors import Problem, SpecError
from trainyard.spec.load import LoadedDocument, build_document, header_problems, read_file
from trainyard.spec.schema import schema_problems
from trainyard.spec.source import SourceDocument, parse_text
from trainyard.spec.validate import lint_notes, local_engine_problems, validate


@dataclass(frozen=True)
class CheckResult:
    """What checking a file found: the documents that loaded, errors, and notes."""

    documents: list[LoadedDocument] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no error was found (notes do not count)."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise SpecError with every error, if there is any."""
        if self.errors:
            raise SpecError(self.errors)


def check_file(
    path: str | PathLike[str],
    parameters: Mapping[str, str] | None = None,
    *,
    local: bool = False,
    containers: bool = False,
    installed: Callable[[str], bool] | None = None,
) -> CheckResult:
    """Check every document of the file `path`; raises NotFoundError/UserError if unreadable."""
    text = read_file(path)
    return check_text(
        text, str(path), parameters, local=local, containers=containers, installed=installed
    )


def check_text(
    text: str,
    file: str = "<input>",
    parameters: Mapping[str, str] | None = None,
    *,
    local: bool = False,
    containers: bool = False,
    installed: Callable[[str], bool] | None = None,
) -> CheckResult:
    """Check every document of `text`: syntax, kind, schema, then semantics and notes.

    `parameters` are the user's -p values; with `local`, templates that the local engine
    cannot run (resource templates) are errors too (`containers`: its steps run in containers;
    `installed`: whether this machine has a program, for the programs host steps start).
    A document with schema errors gets no semantic checks, since those assume its shape is
    right.
    """
    try:
        sources = parse_text(text, file)
    except SpecError as err:
        return CheckResult(errors=err.problems)
    result = CheckResult()
    for source in sources:
        one = check_source(
            source, parameters, local=local, containers=containers, installed=installed
        )
        result.documents.extend(one.documents)
        result.errors.extend(one.errors)
        result.notes.extend(one.notes)
    return result


def check_source(
    source: SourceDocument,
    parameters: Mapping[str, str] | None = None,
    *,
    local: bool = False,
    containers: bool = False,
    installed: Callable[[str], bool] | None = None,
) -> CheckResult:
    """Check one parsed document (of an Argo kind) as `check_text` checks each."""
    result = CheckResult()
    problems = header_problems(source) or schema_problems(source)
    if not problems:
        try:
            document = build_document(source)
        except SpecError as err:
            problems = err.problems
        else:
            result.documents.append(document)
            problems = validate(document, parameters=parameters)
            if local:
                problems += local_engine_problems(
                    document, containers=containers, installed=installed
                )
            problems.sort(key=lambda p: (p.line, p.column))
            result.notes.extend(lint_notes(document))
    result.errors.extend(p for p in problems if p.severity == "error")
    result.notes.extend(p for p in problems if p.severity != "error")
    result.notes.sort(key=lambda p: (p.line, p.column))
    return result
