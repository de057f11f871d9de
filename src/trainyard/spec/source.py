"""Turn YAML or JSON text into plain documents that remember where each element was written."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from trainyard.core.errors import Problem, SpecError

JsonPath = tuple[str | int, ...]
"""Where an element sits in a document: mapping keys and list indices from the root."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAX_NODES = 1_000_000  # guards against alias bombs ("billion laughs")

_HINTS = (
    ("'\\t'", "YAML does not allow tabs for indentation: indent with spaces"),
    (
        "mapping values are not allowed",
        "a ':' appears where a value was expected: "
        "quote a value that contains ': ', or check this line's indentation",
    ),
    (
        "could not find expected ':'",
        "a key has no ':' after it, or a multi-line text "
        "needs '|' (keep newlines) or '>' (fold them)",
    ),
    (
        "did not find expected key",
        "check the indentation: this line must line up with the keys around it",
    ),
    (
        "expected <block end>",
        "check the indentation: this line must line up with the keys or '- ' items around it",
    ),
    (
        "did not find expected '-' indicator",
        "a list item must start with '- ' at the same indentation as the items before it",
    ),
    ("found undefined alias", "this *alias names no &anchor defined above it"),
    ("while scanning a quoted scalar", "a quoted string is not closed: add the closing quote"),
    ("while parsing a flow", "an inline [list] or {mapping} is not closed or lacks a comma"),
    ("could not determine a constructor", "remove the '!tag': only plain YAML is accepted"),
    ("found character '@'", "a value cannot start with '@' or '`': quote it"),
    ("found character '`'", "a value cannot start with '@' or '`': quote it"),
)


@dataclass(frozen=True)
class SourceDocument:
    """One document of a file: its plain data and where each of its elements was written."""

    data: dict[str, Any]
    file: str
    index: int
    marks: Mapping[JsonPath, tuple[int, int]] = field(repr=False, compare=False)

    @property
    def kind(self) -> str:
        """The document's `kind` (Workflow, WorkflowTemplate, ...)."""
        return str(self.data.get("kind", ""))

    def position(self, path: JsonPath) -> tuple[int, int]:
        """1-based (line, column) of the deepest element of `path` that the file has."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def at(self, path: JsonPath) -> Any:
        """The element of the data at `path` (KeyError or IndexError if there is none)."""
        node: Any = self.data
        for part in path:
            node = node[part]
        return node

    def problem(self, message: str, path: JsonPath, severity: str = "error") -> Problem:
        """A problem located at the element `path` of this document."""
        line, column = self.position(path)
        return Problem(message, self.file, line, column, severity)


def parse_text(text: str, file: str = "<input>") -> list[SourceDocument]:
    """The non-empty documents of a YAML stream or a JSON text; raises SpecError on bad syntax."""
    if file.endswith(".json") or text.lstrip()[:1] in ("{", "["):
        parsed = _parse_json(text, file)
        if parsed is not None:
            return parsed
    try:
        return list(_parse_yaml(text, file))
    except yaml.MarkedYAMLError as err:
        raise SpecError([_yaml_problem(err, file)]) from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - text.rfind("\n", 0, err.position)
        message = f"character #x{err.character:04x} is not allowed in YAML: remove it"
        raise SpecError([Problem(message, file, line, column)]) from None


def _parse_json(text: str, file: str) -> list[SourceDocument] | None:
    """JSON is read by `json` (its numbers and escapes are exact); YAML only supplies marks."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if not file.endswith(".json"):
            return None  # perhaps YAML with an inline mapping: let the YAML reader decide
        raise SpecError(
            [Problem(f"invalid JSON: {err.msg}", file, err.lineno, err.colno)]
        ) from None
    if not isinstance(data, dict):
        raise SpecError([_not_a_mapping(data, file, (1, 1))])
    marks: dict[JsonPath, tuple[int, int]] = {(): (1, 1)}
    try:  # JSON allows tabs between tokens where YAML does not; a tab is one column either way
        for doc in _parse_yaml(text.replace("\t", " "), file):
            marks = dict(doc.marks)
    except yaml.YAMLError:
        pass  # marks are a convenience: without them problems point at line 1
    return [SourceDocument(data, file, 0, marks)]


def _parse_yaml(text: str, file: str) -> Iterator[SourceDocument]:
    builder = _Builder(file)
    for index, node in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            continue
        marks: dict[JsonPath, tuple[int, int]] = {(): _mark(node)}
        data = builder.build(node, (), marks)
        if not isinstance(data, dict):
            raise SpecError([_not_a_mapping(data, file, _mark(node))])
        yield SourceDocument(data, file, index, marks)


def _not_a_mapping(data: Any, file: str, where: tuple[int, int]) -> Problem:
    what = "a list" if isinstance(data, list) else f"the value {data!r}"
    return Problem(
        f"a document must be a mapping with apiVersion, kind, metadata and spec; found {what}",
        file,
        *where,
    )


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Builds plain data from composed YAML nodes, recording the mark of each key and item."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.SafeLoader("")
        self.nodes = 0

    def build(self, node: yaml.Node, path: JsonPath, marks: dict[JsonPath, tuple[int, int]]) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise SpecError([self._problem("the document is too large (too many aliases?)", node)])
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, marks)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                marks[(*path, i)] = _mark(item)
                items.append(self.build(item, (*path, i), marks))
            return items
        if node.tag == _TIMESTAMP:
            return node.value  # Kubernetes reads timestamps as strings, not datetimes
        return self.constructor.construct_object(node, deep=True)

    def _mapping(
        self, node: yaml.MappingNode, path: JsonPath, marks: dict[JsonPath, tuple[int, int]]
    ) -> dict[str, Any]:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node)
            if key in seen:
                line = seen[key].start_mark.line + 1
                message = f"key '{key}' appears twice in this mapping (first on line {line})"
                raise SpecError([self._problem(message + "; remove one", key_node)])
            seen[key] = key_node
        self.constructor.flatten_mapping(node)  # resolves `<<: *anchor` merges in place
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            marks[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key), marks)
        return out

    def _key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise SpecError([self._problem("a mapping key must be a plain string", node)])
        return str(node.value)

    def _problem(self, message: str, node: yaml.Node) -> Problem:
        return Problem(message, self.file, *_mark(node))


def _yaml_problem(err: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = " ".join(x for x in (err.context, err.problem) if x)
    hint = next((h for needle, h in _HINTS if needle in what), "check the YAML syntax here")
    return Problem(f"invalid YAML ({what}): {hint}", file, line, column)
