"""A new object's metadata made ready to store: namespace, name or generateName, labels, creator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainyard.auth.roles import CREATOR_LABEL
from trainyard.core.errors import UserError
from trainyard.core.names import (
    check,
    generate_name_problem,
    label_key_problem,
    label_safe,
    label_value_problem,
    name_problem,
    namespace_problem,
)
from trainyard.spec.params import parse_pairs as key_values

DROPPED = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
"""Metadata the server sets itself; a client's values are not kept."""


def creator_value(user: str) -> str:
    """`user` as the creator label's value."""
    return label_safe(user)


def stamp(
    doc: Mapping[str, Any],
    namespace: str | None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    creator: str | None = None,
) -> dict[str, Any]:
    """A copy of `doc` to create: metadata checked and completed, no status.

    `namespace` is where it goes (None for a cluster-scoped object); a different
    `metadata.namespace` is an error. `name` overrides metadata.name; without either, the
    store makes one from `metadata.generateName`. `creator` becomes the creator label.
    """
    meta = {k: v for k, v in dict(doc.get("metadata") or {}).items() if k not in DROPPED}
    if namespace is None:
        meta.pop("namespace", None)
    else:
        given = meta.get("namespace")
        if given and given != namespace:
            raise UserError(
                f"metadata.namespace {given!r} does not match the namespace of the request "
                f"{namespace!r}: remove it or send the request to /{given}"
            )
        check(namespace_problem(namespace))
        meta["namespace"] = namespace
    if name:
        meta["name"] = name
    _check_name(meta)
    merged = {**dict(meta.get("labels") or {}), **dict(labels or {})}
    if creator is not None:
        merged[CREATOR_LABEL] = creator_value(creator)
    check_labels(merged)
    if merged:
        meta["labels"] = merged
    else:
        meta.pop("labels", None)
    return {**{k: v for k, v in doc.items() if k != "status"}, "metadata": meta}


def _check_name(meta: dict[str, Any]) -> None:
    name, prefix = meta.get("name"), meta.get("generateName")
    if name:
        if not isinstance(name, str):
            raise UserError(f"metadata.name must be a string, not {name!r}")
        check(name_problem(name))
        return
    if not prefix:
        raise UserError("give metadata.name or metadata.generateName")
    if not isinstance(prefix, str):
        raise UserError(f"metadata.generateName must be a string, not {prefix!r}")
    check(generate_name_problem(prefix))


def check_labels(labels: Mapping[str, Any]) -> None:
    """UserError for the first label whose key or value Kubernetes would refuse."""
    for key, value in labels.items():
        if not isinstance(value, str):
            raise UserError(f"the label {key!r} must have a string value, not {value!r}")
        check(label_key_problem(key) or label_value_problem(value))


def parse_pairs(pairs: str | list[str] | None, what: str) -> dict[str, str]:
    """`a=b,c=d` (or a list of `a=b`) as a dict; UserError naming `what` if malformed."""
    if not pairs:
        return {}
    return key_values(pairs.split(",") if isinstance(pairs, str) else pairs, what)
