"""How an object's document splits into the fields a store indexes, and is put together again."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trainyard.core import jsontext
from trainyard.core.clock import format_time, parse_time
from trainyard.core.errors import ConflictError, NotFoundError, UserError
from trainyard.core.ids import generated_name

# Kept in columns, not in the stored body, so that one place says what they are.
MANAGED_FIELDS = ("resourceVersion", "uid", "creationTimestamp")
_GENERATE_ATTEMPTS = 8


@dataclass(frozen=True)
class Incoming:
    """An object on its way into a store: its address, indexed fields and serialized body."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    phase: str
    body: str
    # What the writer says it last saw; None means "do not check".
    resource_version: int | None
    uid: str | None
    created_at: datetime | None


def create_named(
    kind: str, obj: Mapping[str, Any], create: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """`create(name)` with `metadata.name`, or with names made from `metadata.generateName`.

    A generated name that is taken is replaced by another, a few times, as Kubernetes does.
    """
    metadata = _metadata(obj)
    name = metadata.get("name")
    if name:
        if not isinstance(name, str):
            raise UserError(f"metadata.name must be a string, not {name!r}")
        return create(name)
    prefix = metadata.get("generateName")
    if not isinstance(prefix, str) or not prefix:
        raise UserError("the object has neither metadata.name nor metadata.generateName: set one")
    for _ in range(_GENERATE_ATTEMPTS):
        try:
            return create(generated_name(prefix))
        except ConflictError:
            continue
    raise ConflictError(
        f"no free {_words(kind)} name starting with {prefix!r} after {_GENERATE_ATTEMPTS} tries: "
        "use a longer generateName"
    )


def required_name(kind: str, obj: Mapping[str, Any]) -> str:
    """`metadata.name`, which an update or a delete must give."""
    name = _metadata(obj).get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"the {_words(kind)} to update has no metadata.name")
    return name


def prepare(kind: str, obj: Mapping[str, Any], name: str) -> Incoming:
    """Split `obj` (to be stored as `name`) into its indexed fields and its JSON body.

    `obj` is not modified; the body leaves out the fields the store manages.
    """
    metadata = _metadata(obj)
    namespace = metadata.get("namespace") or ""
    if not isinstance(namespace, str):
        raise UserError(f"metadata.namespace must be a string, not {namespace!r}")
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise UserError(f"metadata.labels of {describe(kind, namespace, name)} must map strings")
    status = obj.get("status")
    phase = status.get("phase") if isinstance(status, dict) else None
    body_metadata = {k: v for k, v in metadata.items() if k not in MANAGED_FIELDS}
    body_metadata["name"] = name
    created = metadata.get("creationTimestamp")
    return Incoming(
        kind=kind,
        namespace=namespace,
        name=name,
        labels=dict(labels),
        phase=phase if isinstance(phase, str) else "",
        body=jsontext.dumps({**obj, "metadata": body_metadata}).decode(),
        resource_version=_resource_version(kind, namespace, name, metadata),
        uid=metadata.get("uid") or None,
        created_at=_creation_time(kind, namespace, name, created),
    )


def finish(
    obj: Mapping[str, Any], name: str, resource_version: int, uid: str, created_at: datetime
) -> dict[str, Any]:
    """A new dict: `obj` with its name and the store-managed metadata filled in."""
    metadata = {
        **_metadata(obj),
        "name": name,
        "uid": uid,
        "resourceVersion": str(resource_version),
        "creationTimestamp": format_time(created_at),
    }
    return {**obj, "metadata": metadata}


def load(body: str, resource_version: int, uid: str, created_at: datetime) -> dict[str, Any]:
    """The object stored as `body`, with the store-managed metadata put back."""
    obj: dict[str, Any] = jsontext.loads(body)
    metadata = obj["metadata"]
    metadata["uid"] = uid
    metadata["resourceVersion"] = str(resource_version)
    metadata["creationTimestamp"] = format_time(created_at)
    return obj


def describe(kind: str, namespace: str, name: str) -> str:
    """`workflow template 'x' in namespace 'default'` (no namespace for cluster objects)."""
    where = f" in namespace {namespace!r}" if namespace else ""
    return f"{_words(kind)} {name!r}{where}"


def not_found(kind: str, namespace: str, name: str) -> NotFoundError:
    """`workflow 'x' not found in namespace 'default'`."""
    where = f" in namespace {namespace!r}" if namespace else ""
    return NotFoundError(f"{_words(kind)} {name!r} not found{where}")


def already_exists(kind: str, namespace: str, name: str) -> ConflictError:
    """The error for a create whose name is taken."""
    return ConflictError(
        f"{describe(kind, namespace, name)} already exists: pick another name or delete it first"
    )


def stale(incoming: Incoming, stored_version: int, stored_uid: str) -> ConflictError:
    """The error for an update whose resourceVersion or uid no longer matches the store."""
    what = describe(incoming.kind, incoming.namespace, incoming.name)
    if incoming.uid is not None and incoming.uid != stored_uid:
        return ConflictError(
            f"{what} was deleted and created again since it was read "
            f"(uid {incoming.uid} is now {stored_uid}): get it again and reapply the change"
        )
    return ConflictError(
        f"{what} was modified since it was read (resourceVersion {incoming.resource_version}, "
        f"now {stored_version}): get it again and reapply the change"
    )


def _words(kind: str) -> str:
    """`WorkflowTemplate` -> `workflow template`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", kind).lower()


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        raise UserError("the object has no metadata: set metadata.name (and namespace)")
    return metadata


def _creation_time(kind: str, namespace: str, name: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = parse_time(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UserError(
            f"metadata.creationTimestamp {value!r} of {describe(kind, namespace, name)} is not "
            "an RFC 3339 time such as 2024-01-31T12:00:00Z"
        )
    return moment


def _resource_version(kind: str, namespace: str, name: str, metadata: dict[str, Any]) -> int | None:
    value = metadata.get("resourceVersion")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConflictError(
            f"{describe(kind, namespace, name)} carries resourceVersion {value!r}, "
            "which this store did not issue: get the object again and reapply the change"
        ) from None
