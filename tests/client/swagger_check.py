"""Argo Server's swagger as a judge: every request and answer the stub sees, checked against it.

Requests are held to the letter: each query parameter must be declared by the operation and
parse as its type, and a JSON body must validate against the operation's body schema with
objects closed (Argo's server drops unknown fields without a word, so an unknown field is a
request that does not do what the client meant). Answers are held to the operation's 200
schema (streams: each line against the stream result schema) or to grpc-gateway's error
shape, with objects open as a real server may add fields. Kubernetes' IntOrString and
Quantity take numbers too (the swagger types them as strings, Kubernetes reads both), and
`format` is not checked (swagger 2.0's formats are hints, not draft-4 formats).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft4Validator

from tests.shared import SHARED

SWAGGER = SHARED / "argo" / "swagger.json"
NUMERIC_STRINGS = (
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "io.k8s.apimachinery.pkg.api.resource.Quantity",
)
INTEGER_FORMATS = ("int32", "int64", "uint64")
INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Operation:
    """One swagger operation: where it lives and what it takes."""

    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    parameters: dict[str, dict[str, Any]]
    responses: dict[str, Any]
    literal_segments: int

    @property
    def body(self) -> dict[str, Any] | None:
        """The `in: body` parameter, if the operation takes one."""
        return next((p for p in self.parameters.values() if p["in"] == "body"), None)

    @property
    def streams(self) -> bool:
        """Whether the 200 answer is a stream of `{"result"|"error": ...}` objects."""
        schema = self.responses.get("200", {}).get("schema", {})
        return str(schema.get("title", "")).startswith("Stream result of")


@dataclass
class SwaggerCheck:
    """The operations of a swagger file and the violations recorded so far."""

    path: Path = SWAGGER
    violations: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        loaded = _load(self.path)
        self.operations: list[Operation] = loaded.operations
        self._request, self._response, self._partial = (
            loaded.request,
            loaded.response,
            loaded.partial,
        )
        self._validators = loaded.validators
        self._lock = threading.Lock()

    # -- recording -----------------------------------------------------------------------
    def record(self, where: str, problem: str) -> None:
        """Note one violation (from any thread)."""
        with self._lock:
            self.violations.append(f"{where}: {problem}")

    def take(self) -> list[str]:
        """The violations recorded so far, forgetting them."""
        with self._lock:
            found, self.violations = self.violations, []
        return found

    # -- requests ------------------------------------------------------------------------
    def operation(self, method: str, path: str) -> Operation | None:
        """The operation that serves `method path`, the most literal template first."""
        for op in self.operations:
            if op.method == method.lower() and op.pattern.fullmatch(path):
                return op
        return None

    def check_request(
        self, method: str, path: str, query: list[tuple[str, str]], body: bytes
    ) -> Operation | None:
        """Check one request; the operation it is for, or None (recorded) when none is."""
        where = f"{method} {path}"
        op = self.operation(method, path)
        if op is None:
            self.record(where, "no operation in the swagger has this method and path")
            return None
        with self._lock:
            self.seen.add(op.operation_id)
        where = f"{op.operation_id} ({method} {path})"
        match = op.pattern.fullmatch(path)
        assert match is not None
        for name, raw in match.groupdict().items():
            self._check_value(where, f"path parameter {name}", op.parameters[name], unquote(raw))
        self._check_query(where, op, query)
        self._check_body(where, op, body)
        return op

    def _check_query(self, where: str, op: Operation, query: list[tuple[str, str]]) -> None:
        counts: dict[str, int] = {}
        for name, value in query:
            counts[name] = counts.get(name, 0) + 1
            declared = op.parameters.get(name)
            if declared is None or declared["in"] != "query":
                self.record(where, f"query parameter {name!r} is not declared by the operation")
                continue
            item = declared.get("items", {}) if declared.get("type") == "array" else declared
            self._check_value(where, f"query parameter {name}", item, value)
        for name, count in counts.items():
            declared = op.parameters.get(name, {})
            if count > 1 and declared.get("type") != "array":
                self.record(where, f"query parameter {name!r} given {count} times")
        for name, declared in op.parameters.items():
            if declared["in"] == "query" and declared.get("required") and name not in counts:
                self.record(where, f"required query parameter {name!r} missing")

    def _check_value(self, where: str, what: str, declared: dict[str, Any], value: str) -> None:
        kind, fmt = declared.get("type", "string"), declared.get("format")
        if kind == "boolean" and value not in ("true", "false"):
            self.record(where, f"{what}={value!r} is not a boolean (true or false)")
        elif (kind == "integer" or fmt in INTEGER_FORMATS) and not INTEGER.fullmatch(value):
            self.record(where, f"{what}={value!r} is not an integer")
        elif "enum" in declared and value not in declared["enum"]:
            self.record(where, f"{what}={value!r} is not one of {declared['enum']}")
        elif declared.get("in") == "path" and not value:
            self.record(where, f"{what} is empty")

    def _check_body(self, where: str, op: Operation, body: bytes) -> None:
        declared = op.body
        if declared is None:
            if body.strip():
                self.record(where, "a body was sent to an operation that takes none")
            return
        if not body.strip():
            if declared.get("required"):
                self.record(where, "the operation requires a JSON body; none was sent")
            return
        try:
            document = json.loads(body)
        except ValueError as exc:
            self.record(where, f"the body is not JSON: {exc}")
            return
        self._validate(where, "request body", declared["schema"], document, self._request)

    # -- answers -------------------------------------------------------------------------
    def check_response(
        self, op: Operation, status: int, body: bytes, *, partial: bool = False
    ) -> None:
        """Check one complete answer (`partial`: the request asked for a subset of `fields`)."""
        where = f"{op.operation_id} answer {status}"
        try:
            document = json.loads(body)
        except ValueError as exc:
            self.record(where, f"the answer is not JSON: {exc}")
            return
        self.check_answer_document(op, status, document, partial=partial)

    def check_answer_document(
        self, op: Operation, status: int, document: Any, *, partial: bool = False
    ) -> None:
        """Check one answer document, or one line of a stream."""
        where = f"{op.operation_id} answer {status}"
        key = "200" if status == 200 else "default"
        if status != 200 and op.streams and "error" in document:
            key = "200"  # grpc-gateway answers a stream's early error as a stream line
        schema = op.responses.get(key, {}).get("schema")
        if schema is None:
            self.record(where, f"the operation declares no {key} answer")
            return
        definitions = self._partial if partial else self._response
        self._validate(where, "answer", schema, document, definitions)

    def _validate(
        self, where: str, what: str, schema: dict[str, Any], doc: Any, defs: dict[str, Any]
    ) -> None:
        key = (json.dumps(schema, sort_keys=True), id(defs))
        with LOCK:
            validator = self._validators.get(key)
            if validator is None:
                validator = self._validators[key] = Draft4Validator({**schema, **defs})
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            at = "/".join(str(p) for p in error.absolute_path) or "(top)"
            self.record(where, f"{what} at {at}: {error.message[:300]}")


@dataclass(frozen=True)
class _Loaded:
    operations: list[Operation]
    request: dict[str, Any]
    response: dict[str, Any]
    partial: dict[str, Any]
    validators: dict[tuple[str, int], Draft4Validator]


LOCK = threading.Lock()
"""Guards the validators that every SwaggerCheck of a file shares."""


@functools.cache
def _load(path: Path) -> _Loaded:
    """The swagger file read and prepared once per test session (it takes a few 100 ms)."""
    spec = json.loads(path.read_text())
    definitions = spec["definitions"]
    for name in NUMERIC_STRINGS:
        definitions[name] = {**definitions[name], "type": ["string", "integer", "number"]}
    return _Loaded(
        operations=_operations(spec),
        request={"definitions": _closed(definitions)},
        response={"definitions": definitions},
        partial={"definitions": _without_required(definitions)},
        validators={},
    )


def _operations(spec: dict[str, Any]) -> list[Operation]:
    found: list[Operation] = []
    for template, item in spec["paths"].items():
        shared = {p["name"]: p for p in item.get("parameters", [])}
        for method, op in item.items():
            if method == "parameters":
                continue
            params = {**shared, **{p["name"]: p for p in op.get("parameters", [])}}
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            literal = sum(1 for s in template.split("/") if s and not s.startswith("{"))
            found.append(
                Operation(
                    method=method,
                    template=template,
                    operation_id=op["operationId"],
                    pattern=re.compile(regex),
                    parameters=params,
                    responses=op["responses"],
                    literal_segments=literal,
                )
            )
    return sorted(found, key=lambda o: -o.literal_segments)


def _closed(definitions: dict[str, Any]) -> dict[str, Any]:
    """The definitions with every object that lists its properties closed to others."""
    closed = copy.deepcopy(definitions)

    def close(schema: Any) -> None:
        if isinstance(schema, dict):
            if "properties" in schema and "additionalProperties" not in schema:
                schema["additionalProperties"] = False
            for key in ("properties", "items", "additionalProperties"):
                inner = schema.get(key)
                if key == "properties" and isinstance(inner, dict):
                    for prop in inner.values():
                        close(prop)
                elif isinstance(inner, dict):
                    close(inner)

    for schema in closed.values():
        close(schema)
    return closed


def _without_required(definitions: dict[str, Any]) -> dict[str, Any]:
    """The definitions with no `required`: Argo's `fields` filter drops required members."""
    loose = copy.deepcopy(definitions)

    def drop(schema: Any) -> None:
        if isinstance(schema, dict):
            if isinstance(schema.get("required"), list):
                del schema["required"]
            for value in schema.values():
                drop(value)
        elif isinstance(schema, list):
            for value in schema:
                drop(value)

    drop(loose)
    return loose
