"""The RBAC rules, as a table: which role may do which verb, where, on whose objects."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from trainyard.auth.roles import (
    ALL_NAMESPACES,
    ANONYMOUS_ADMIN,
    ROLES,
    VERBS,
    Principal,
    allows,
    check_role,
)

ME, OTHER = "ana", "bo"

# role, verb, owner of the object (None: no owner known, or nothing owned yet), allowed
RULES = [
    ("viewer", "read", None, True),
    ("viewer", "read", OTHER, True),
    ("viewer", "create", None, False),
    ("viewer", "modify", ME, False),
    ("viewer", "modify", None, False),
    ("viewer", "admin", None, False),
    ("runner", "read", OTHER, True),
    ("runner", "create", None, True),
    ("runner", "modify", ME, True),
    ("runner", "modify", None, True),
    ("runner", "modify", OTHER, False),
    ("runner", "admin", None, False),
    ("admin", "read", OTHER, True),
    ("admin", "create", None, True),
    ("admin", "modify", OTHER, True),
    ("admin", "modify", ME, True),
    ("admin", "admin", None, True),
]


@pytest.mark.parametrize(("role", "verb", "owner", "allowed"), RULES)
def test_what_each_role_allows(role: str, verb: str, owner: str | None, allowed: bool) -> None:
    principal = Principal(ME, roles={"team-a": role})
    assert allows(principal, verb, "team-a", owner) is allowed
    # A role in one namespace gives nothing in another.
    assert allows(principal, verb, "team-b", owner) is False


def test_the_table_covers_every_role_and_verb() -> None:
    assert {(role, verb) for role, verb, _, _ in RULES} == {(r, v) for r in ROLES for v in VERBS}


@pytest.mark.parametrize(
    ("roles", "namespace", "expected"),
    [
        ({ALL_NAMESPACES: "viewer"}, "anywhere", "viewer"),
        ({ALL_NAMESPACES: "viewer", "team-a": "runner"}, "team-a", "runner"),
        ({ALL_NAMESPACES: "admin", "team-a": "viewer"}, "team-a", "viewer"),
        ({ALL_NAMESPACES: "runner", "team-a": "viewer"}, "team-b", "runner"),
        ({"team-a": "runner"}, "team-b", None),
        ({}, "team-a", None),
    ],
)
def test_a_namespace_role_wins_over_the_everywhere_role(
    roles: dict[str, str], namespace: str, expected: str | None
) -> None:
    assert Principal(ME, roles=roles).role_in(namespace) == expected


@pytest.mark.parametrize("verb", VERBS)
def test_an_admin_user_may_do_everything_everywhere(verb: str) -> None:
    admin = Principal(ME, admin=True, roles={"team-a": "viewer"})
    assert admin.role_in("team-a") == "admin"
    assert allows(admin, verb, "any-namespace", OTHER)
    assert allows(ANONYMOUS_ADMIN, verb, "team-a", OTHER)


@pytest.mark.parametrize("verb", VERBS)
def test_no_role_allows_nothing(verb: str) -> None:
    assert not allows(Principal(ME), verb, "team-a")


def test_an_unknown_verb_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown verb 'delete'; verbs are read, create"):
        allows(Principal(ME, admin=True), "delete", "team-a")


@pytest.mark.parametrize("role", ROLES)
def test_known_roles_pass_the_check(role: str) -> None:
    assert check_role(role) == role


@pytest.mark.parametrize("role", ["", "Admin", "owner", "*"])
def test_unknown_roles_are_named_with_the_known_ones(role: str) -> None:
    with pytest.raises(ValueError, match="is not one of viewer, runner, admin"):
        check_role(role)


def test_principals_are_values() -> None:
    roles = MappingProxyType({"team-a": "runner"})
    assert Principal(ME, roles=roles) == Principal(ME, roles=roles)
    with pytest.raises(AttributeError):
        Principal(ME).name = OTHER  # type: ignore[misc]
