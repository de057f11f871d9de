"""Load Argo documents from text or files into typed models that remember their positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, cast

import pydantic

from trainyard.core.errors import NotFoundError, Problem, SpecError, UserError
from trainyard.spec.models import KINDS, Document
from trainyard.spec.models.workflow import API_VERSION
from trainyard.spec.source import JsonPath, SourceDocument, parse_text
from trainyard.spec.suggest import did_you_mean

KIND_NAMES = ", ".join(KINDS)


@dataclass(frozen=True)
class LoadedDocument(SourceDocument):
    """A document of a file: plain `data`, the typed `document`, and positions of its elements.

    `index` is the document's place in its file (0-based, counting `---` separators, so empty
    documents, which are skipped, still take a number); `position(path)` gives the 1-based
    (line, column) of the deepest element of a JSON path such as `("spec", "templates", 0)`.
    """

    document: Document


def load_file(path: str | PathLike[str]) -> list[LoadedDocument]:
    """Every non-empty document of the YAML or JSON file `path`; raises SpecError if invalid."""
    return load_text(read_file(path), str(path))


def load_text(text: str, file: str = "<input>") -> list[LoadedDocument]:
    """Every non-empty document of a YAML stream or JSON text; raises SpecError if invalid."""
    loaded: list[LoadedDocument] = []
    problems: list[Problem] = []
    for source in parse_text(text, file):
        found = header_problems(source)
        if not found:
            try:
                loaded.append(build_document(source))
            except SpecError as err:
                found = err.problems
        problems.extend(found)
    if problems:
        raise SpecError(problems)
    return loaded


def read_file(path: str | PathLike[str]) -> str:
    """The text of `path`; raises NotFoundError or UserError naming the path."""
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{file}: no such file; check the path") from None
    except IsADirectoryError:
        raise UserError(f"{file}: is a directory; name a .yaml or .json file") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{file}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except OSError as err:
        raise UserError(f"{file}: cannot read it ({err.strerror})") from None


def header_problems(source: SourceDocument) -> list[Problem]:
    """Problems with the document's `kind` and `apiVersion`, which decide how it is read."""
    kind = source.data.get("kind")
    if kind is None:
        return [source.problem(f"the document has no 'kind': add one of {KIND_NAMES}", ("kind",))]
    if kind not in KINDS:
        message = f"kind '{kind}' is not one of {KIND_NAMES}"
        return [source.problem(message + did_you_mean(str(kind), KINDS), ("kind",))]
    api_version = source.data.get("apiVersion", API_VERSION)
    if api_version != API_VERSION:
        message = f"apiVersion '{api_version}' is not supported: write 'apiVersion: {API_VERSION}'"
        return [source.problem(message, ("apiVersion",))]
    return []


def build_document(source: SourceDocument) -> LoadedDocument:
    """The typed model of `source` (its kind already checked); raises SpecError if invalid."""
    model = KINDS[source.kind]
    try:
        document = cast(Document, model.model_validate(source.data))
    except pydantic.ValidationError as err:
        raise SpecError([_pydantic_problem(source, e) for e in err.errors()]) from None
    return LoadedDocument(source.data, source.file, source.index, source.marks, document)


def _pydantic_problem(source: SourceDocument, error: Any) -> Problem:
    path = data_path(source.data, error["loc"])
    where = describe(path)
    return source.problem(f"{where}: {error['msg']}", path)


def data_path(data: Any, loc: Sequence[str | int]) -> JsonPath:
    """The part of a validation location that exists in `data` (union tags are skipped)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            continue
        node = node[part]
        path.append(part)
    return tuple(path)


def describe(path: JsonPath) -> str:
    """`path` written the way a reader finds it: `spec.templates[0].container`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the document"
