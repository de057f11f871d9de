"""The SQL of paged listings and version scans: filters on columns and on labels, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.sql import Select

from trainyard.core.selectors import Requirement, Selector
from trainyard.store import paging
from trainyard.store.schema import objects

_c = objects.c


def page_statement(
    kind: str,
    namespace: str | None,
    selector: Selector,
    phases: Sequence[str] | None,
    name_contains: str | None,
    limit: int | None,
    continue_token: str | None,
) -> Select[Any]:
    """`SELECT id, body, version, uid, created_at ... ORDER BY newest LIMIT limit + 1`.

    One row more than the page is read, to know whether another page follows.
    """
    statement = select(_c.id, _c.body, _c.resource_version, _c.uid, _c.created_at).where(
        *_filters(kind, namespace, selector)
    )
    if phases is not None:
        statement = statement.where(_c.phase.in_(phases))
    if name_contains:
        statement = statement.where(_c.name.like(f"%{paging.escape_like(name_contains)}%", "\\"))
    if continue_token:
        created_at, row_id = paging.decode(continue_token)
        created_at = created_at.astimezone(UTC)
        statement = statement.where(
            or_(_c.created_at < created_at, and_(_c.created_at == created_at, _c.id < row_id))
        )
    statement = statement.order_by(_c.created_at.desc(), _c.id.desc())
    return statement if limit is None else statement.limit(limit + 1)


def versions_statement(
    kind: str, namespace: str | None, selector: Selector, phases: Sequence[str] | None
) -> Select[Any]:
    """`SELECT namespace, name, uid, resource_version` of the matching objects."""
    statement = select(_c.namespace, _c.name, _c.uid, _c.resource_version).where(
        *_filters(kind, namespace, selector)
    )
    return statement if phases is None else statement.where(_c.phase.in_(phases))


def _filters(kind: str, namespace: str | None, selector: Selector) -> list[ColumnElement[bool]]:
    found = [_c.kind == kind]
    if namespace is not None:
        found.append(_c.namespace == namespace)
    found.extend(_requirement(r) for r in selector)
    return found


def _requirement(requirement: Requirement) -> ColumnElement[bool]:
    """One label requirement as SQL; keys are valid label keys, so JSON paths need no quoting."""
    value = _c.labels[requirement.key].as_string()
    operator, values = requirement.operator, list(requirement.values)
    condition: ColumnElement[bool]
    if operator == "exists":
        condition = value.is_not(None)
    elif operator == "!exists":
        condition = value.is_(None)
    elif operator in ("=", "in"):
        condition = value.in_(values)
    else:
        condition = or_(value.is_(None), value.not_in(values))
    return condition
