"""Who is calling and what they may do: the Authenticator protocol and the Caller's checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trainyard.auth.roles import ALL_NAMESPACES, ANONYMOUS_ADMIN, Principal, allows
from trainyard.core.errors import PermissionDeniedError


class Authenticator(Protocol):
    """Turns the token a request carries into the Principal it stands for."""

    def authenticate(self, token: str | None) -> Principal:
        """The principal of `token`; UnauthenticatedError when it is missing or not valid."""
        ...


class NoAuthentication:
    """`--auth none`: every caller is an anonymous admin (only allowed on 127.0.0.1)."""

    def authenticate(self, token: str | None) -> Principal:
        """The anonymous admin, whatever the token."""
        return ANONYMOUS_ADMIN


@dataclass(frozen=True)
class Caller:
    """The principal of one request, with the checks the services and routes make."""

    principal: Principal

    @property
    def name(self) -> str:
        """The user name, as the creator label records it."""
        return self.principal.name

    def may(self, verb: str, namespace: str, owner: str | None = None) -> bool:
        """Whether the principal may `verb` in `namespace` (on `owner`'s)."""
        return allows(self.principal, verb, namespace, owner)

    def require(self, verb: str, namespace: str, owner: str | None = None) -> None:
        """PermissionDeniedError unless the principal may `verb` in `namespace` (on `owner`'s)."""
        if allows(self.principal, verb, namespace, owner):
            return
        where = "cluster-wide" if namespace == ALL_NAMESPACES else f"in namespace {namespace!r}"
        whose = f" workflows created by {owner!r}" if verb == "modify" and owner else ""
        raise PermissionDeniedError(
            f"user {self.principal.name!r} may not {verb}{whose} {where}: "
            "ask an admin for a role that allows it"
        )

    def require_cluster(self, verb: str) -> None:
        """Cluster-scoped objects: reads need any role, writes need admin in every namespace."""
        if verb == "read" and (self.principal.admin or self.principal.roles):
            return
        self.require("admin", ALL_NAMESPACES)
