"""Documents checked as `trainyard lint` checks files, with specs that passed remembered.

A document that arrives over the API has no file: problems are placed at the lines of the
document printed as JSON with two-space indents (what `json.dumps(doc, indent=2)` gives), and
the messages are those `trainyard lint` prints for that text. Clients submit the same spec many
times under other names, so a spec that passed is remembered (keyed by everything but
`metadata`) together with its normalized form; then only the metadata is checked again.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from trainyard.core.errors import Problem, SpecError, UserError
from trainyard.core.quantities import format_quantity
from trainyard.spec.check import check_text
from trainyard.spec.models.workflow import API_VERSION
from trainyard.spec.schema import metadata_problems

CACHE_SIZE = 1024


class DocumentChecker:
    """Checks Argo documents given as JSON-like dicts; thread-safe."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        """A checker remembering the last `size` specs that passed."""
        self._size = size
        self._passed: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def check(
        self,
        kind: str,
        document: Any,
        parameters: Mapping[str, str] | None = None,
        *,
        source: str = "<request>",
    ) -> dict[str, Any]:
        """`document` normalized as Argo writes it (metadata as given); SpecError if invalid.

        `kind` is the kind the caller expects; `source` names the document in messages.
        """
        if not isinstance(document, dict):
            raise UserError(f"{source}: expected a {kind} object, found {_what(document)}")
        doc = {"apiVersion": API_VERSION, "kind": kind, **document}
        if doc["kind"] != kind:
            raise UserError(f"{source}: this takes a {kind}, not a {doc['kind']!r}")
        key = _key(doc, parameters)
        with self._lock:
            known = self._passed.get(key)
            if known is not None:
                self._passed.move_to_end(key)
        metadata = doc.get("metadata")
        if known is not None and isinstance(metadata, dict) and not metadata_problems(metadata):
            return {**known, "metadata": metadata}
        normalized = self._check(doc, parameters, source)
        body = {k: v for k, v in normalized.items() if k != "metadata"}
        with self._lock:
            self._passed[key] = body
            while len(self._passed) > self._size:
                self._passed.popitem(last=False)
        return {**body, "metadata": doc.get("metadata") or {}}

    def problems(
        self, kind: str, document: Any, *, source: str = "<request>"
    ) -> tuple[list[Problem], list[Problem]]:
        """(errors, notes) of `document`, as `trainyard lint` reports them."""
        if not isinstance(document, dict):
            problem = Problem(f"expected a {kind} object, found {_what(document)}", source)
            return [problem], []
        doc = {"apiVersion": API_VERSION, "kind": kind, **document}
        result = check_text(json.dumps(doc, indent=2), source, local=True)
        return result.errors, result.notes

    def _check(
        self, doc: dict[str, Any], parameters: Mapping[str, str] | None, source: str
    ) -> dict[str, Any]:
        try:
            text = json.dumps(doc, indent=2, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise UserError(f"{source}: not a JSON document ({exc})") from None
        result = check_text(text, source, parameters, local=True)
        if result.errors:
            raise SpecError(result.errors)
        if len(result.documents) != 1:
            raise UserError(f"{source}: expected one {doc['kind']} document")
        normalized: dict[str, Any] = _quantities_as_strings(result.documents[0].document.dump())
        return normalized


def _quantities_as_strings(value: Any) -> Any:
    """Numbers under `resources.limits`/`requests` as Kubernetes stores quantities: strings
    (`nvidia.com/gpu: 1` comes back as "1"), which strict clients such as Argo's SDK expect."""
    if isinstance(value, list):
        return [_quantities_as_strings(item) for item in value]
    if not isinstance(value, dict):
        return value
    found = {k: _quantities_as_strings(v) for k, v in value.items()}
    resources = found.get("resources")
    if isinstance(resources, dict):
        found["resources"] = {
            k: _strings(v) if k in ("limits", "requests") and isinstance(v, dict) else v
            for k, v in resources.items()
        }
    return found


def _strings(quantities: dict[str, Any]) -> dict[str, Any]:
    return {
        k: format_quantity(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for k, v in quantities.items()
    }


def _key(doc: Mapping[str, Any], parameters: Mapping[str, str] | None) -> str:
    body = {k: v for k, v in doc.items() if k != "metadata"}
    try:
        return json.dumps([body, sorted((parameters or {}).items())], sort_keys=True)
    except (TypeError, ValueError):
        return ""  # not JSON: the full check says why


def _what(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"
