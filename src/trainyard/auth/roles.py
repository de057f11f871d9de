"""Roles per namespace and what each allows: viewer reads, runner submits and manages its own
workflows, admin does everything (users, tokens, quotas included).

    verb      viewer   runner               admin
    read      yes      yes                  yes
    create    -        yes                  yes
    modify    -        own workflows only   yes     (stop, terminate, retry, delete, ...)
    admin     -        -                    yes     (users, tokens, templates of others)

A role given for namespace "*" applies to every namespace. A user with `admin=True` is an
admin everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ROLES = ("viewer", "runner", "admin")
VERBS = ("read", "create", "modify", "admin")
ALL_NAMESPACES = "*"
CREATOR_LABEL = "workflows.argoproj.io/creator"
"""The label Argo puts on a workflow for who submitted it; runners may modify their own."""

_ALLOWED = {
    "viewer": {"read"},
    "runner": {"read", "create", "modify"},
    "admin": set(VERBS),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user name, whether an admin everywhere, and roles by namespace."""

    name: str
    admin: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)

    def role_in(self, namespace: str) -> str | None:
        """The role that applies in `namespace` (an admin is admin everywhere)."""
        if self.admin:
            return "admin"
        return self.roles.get(namespace) or self.roles.get(ALL_NAMESPACES)


ANONYMOUS_ADMIN = Principal("anonymous", admin=True)
"""The caller when the server runs with `--auth none` (only allowed on 127.0.0.1)."""


def allows(principal: Principal, verb: str, namespace: str, owner: str | None = None) -> bool:
    """Whether `principal` may `verb` in `namespace` (on an object created by `owner`)."""
    if verb not in VERBS:
        raise ValueError(f"unknown verb {verb!r}; verbs are {', '.join(VERBS)}")
    role = principal.role_in(namespace)
    if role is None or verb not in _ALLOWED[role]:
        return False
    if verb == "modify" and role == "runner":
        return owner is None or owner == principal.name
    return True


def check_role(role: str) -> str:
    """`role` if it is one of ROLES; ValueError naming them otherwise."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role
