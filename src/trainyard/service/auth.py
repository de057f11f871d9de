"""Accounts: users with roles per namespace, and the API tokens that authenticate them.

Both are cluster-scoped objects (namespace "") in the store:

    User    name  the user name (an RFC 1123 label)
            spec  {admin: bool, roles: {namespace: viewer|runner|admin}}
    Token   name  the SHA-256 of the token, in hex
            spec  {id, user, description, expiresAt}
            labels trainyard.io/user, trainyard.io/token-id

A token is `ty_` and 32 random bytes (URL-safe base64). Only its hash is stored, so the token
itself is shown once, when made, and finding it again is one get on the store's unique index.
By default every request looks its token up (two indexed reads), so a revocation counts at once,
whichever process made it (`trainyard auth revoke` beside a running server). With
`cache_seconds`, principals are cached that long: a change made through the same service
empties the cache at once, one made by another process is seen within `cache_seconds`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trainyard.auth.roles import ALL_NAMESPACES, Principal, check_role
from trainyard.core.clock import Clock, format_time, parse_time
from trainyard.core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
)
from trainyard.core.names import LABEL_MAX, check, namespace_problem
from trainyard.store.base import Store

USER_KIND = "User"
TOKEN_KIND = "Token"
TOKEN_PREFIX = "ty_"
USER_LABEL = "trainyard.io/user"
TOKEN_ID_LABEL = "trainyard.io/token-id"
ADMIN_USER = "admin"
ADMIN_TOKEN_FILE = "admin.token"
_API_VERSION = "trainyard.io/v1"
_CLUSTER = ""
_UPDATE_ATTEMPTS = 8
_ID_ATTEMPTS = 8
_CACHE_LIMIT = 4096
_TOKEN_MAX = 256
_NO_TOKEN = "no token: send Authorization: Bearer <token>"
_UNKNOWN = "unknown or revoked token: check TRAINYARD_TOKEN, or ask an admin for a new one"


@dataclass(frozen=True)
class UserInfo:
    """A user as listings show it (no secrets)."""

    name: str
    admin: bool
    roles: dict[str, str]
    created: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A token as listings show it: its id, never the token or its hash."""

    id: str
    user: str
    description: str
    expires: datetime | None
    created: datetime
    expired: bool


@dataclass(frozen=True)
class _Cached:
    principal: Principal
    expires: datetime | None
    fresh_until: datetime


def token_hash(token: str) -> str:
    """The SHA-256 of `token` in hex: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    """Users, roles and API tokens in a Store; `authenticate` turns a token into a Principal."""

    def __init__(self, store: Store, clock: Clock, *, cache_seconds: float = 0.0) -> None:
        """Accounts kept in `store`; `clock` decides expiry (and how long principals are cached)."""
        self._store = store
        self._clock = clock
        self._cache_for = timedelta(seconds=cache_seconds)
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}
        self._generation = 0

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Principal:
        """Who `token` belongs to; UnauthenticatedError (never quoting the token) otherwise."""
        if not token:
            raise UnauthenticatedError(_NO_TOKEN)
        if not token.startswith(TOKEN_PREFIX) or len(token) > _TOKEN_MAX:
            raise UnauthenticatedError(_UNKNOWN)
        digest = token_hash(token)
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(digest)
            generation = self._generation
        if cached is not None and now < cached.fresh_until:
            _check_expiry(cached.expires, now)
            return cached.principal
        principal, expires = self._lookup(digest)
        _check_expiry(expires, now)
        with self._lock:
            # A revocation while this looked up must not be undone by caching what it read.
            if self._generation == generation:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[digest] = _Cached(principal, expires, now + self._cache_for)
        return principal

    def _lookup(self, digest: str) -> tuple[Principal, datetime | None]:
        try:
            spec = self._store.get(TOKEN_KIND, _CLUSTER, digest)["spec"]
            user = self._store.get(USER_KIND, _CLUSTER, spec["user"])
        except NotFoundError:
            raise UnauthenticatedError(_UNKNOWN) from None
        expires = spec.get("expiresAt")
        return _principal(user), parse_time(expires) if expires else None

    def _forget(self) -> None:
        """Drop every cached principal: roles or tokens changed."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    # -- users -------------------------------------------------------------------------------

    def create_user(self, name: str, admin: bool = False) -> UserInfo:
        """A new user with no roles (`admin`: allowed everything); ConflictError if taken."""
        check(_user_problem(name))
        doc = {
            "apiVersion": _API_VERSION,
            "kind": USER_KIND,
            "metadata": {"name": name},
            "spec": {"admin": admin, "roles": {}},
        }
        return _user_info(self._store.create(USER_KIND, doc))

    def list_users(self) -> list[UserInfo]:
        """Every user, oldest first (no tokens, no secrets)."""
        return [_user_info(doc) for doc in self._store.list(USER_KIND, _CLUSTER)]

    def delete_user(self, name: str) -> int:
        """Remove the user and its tokens; returns how many tokens went with it."""
        self._store.delete(USER_KIND, _CLUSTER, name)
        self._forget()
        tokens = self._store.list(TOKEN_KIND, _CLUSTER, labels={USER_LABEL: name})
        return sum(self._delete_token(doc) for doc in tokens)

    def grant(self, user: str, namespace: str, role: str) -> UserInfo:
        """Give `user` `role` in `namespace` ("*": every namespace), replacing the one it had."""
        try:
            check_role(role)
        except ValueError as error:
            raise UserError(str(error)) from None
        if namespace != ALL_NAMESPACES:
            check(namespace_problem(namespace))

        def give(roles: dict[str, str]) -> None:
            roles[namespace] = role

        return self._change_roles(user, give)

    def revoke_role(self, user: str, namespace: str) -> UserInfo:
        """Take away `user`'s role in `namespace`; NotFoundError if it has none there."""

        def take(roles: dict[str, str]) -> None:
            if roles.pop(namespace, None) is None:
                raise NotFoundError(f"user {user!r} has no role in namespace {namespace!r}")

        return self._change_roles(user, take)

    def _change_roles(self, user: str, change: Callable[[dict[str, str]], None]) -> UserInfo:
        """Read, change and write the user's roles, again if another writer came first."""
        for _ in range(_UPDATE_ATTEMPTS):
            doc = self._store.get(USER_KIND, _CLUSTER, user)
            change(doc["spec"].setdefault("roles", {}))
            try:
                updated = self._store.update(USER_KIND, doc)
            except ConflictError:
                continue
            self._forget()
            return _user_info(updated)
        raise ConflictError(f"user {user!r} kept changing while its roles were being set: retry")

    # -- tokens ------------------------------------------------------------------------------

    def create_token(
        self, user: str, expires_in: float | None = None, description: str = ""
    ) -> tuple[str, str]:
        """A new token for `user`, valid `expires_in` seconds (None: until revoked).

        Returns (token id, token). The token is not kept anywhere: this is the only time it
        can be seen.
        """
        self._store.get(USER_KIND, _CLUSTER, user)  # NotFoundError for an unknown user
        if expires_in is not None and expires_in <= 0:
            raise UserError(f"a token must live a positive time, not {expires_in} seconds")
        expires = self._clock.now() + timedelta(seconds=expires_in) if expires_in else None
        token_id = self._free_token_id()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        doc = {
            "apiVersion": _API_VERSION,
            "kind": TOKEN_KIND,
            "metadata": {
                "name": token_hash(token),
                "labels": {USER_LABEL: user, TOKEN_ID_LABEL: token_id},
            },
            "spec": {
                "id": token_id,
                "user": user,
                "description": description,
                "expiresAt": format_time(expires) if expires else None,
            },
        }
        self._store.create(TOKEN_KIND, doc)
        return token_id, token

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """The tokens of `user` (everyone's when None), oldest first: ids, never tokens."""
        labels = {USER_LABEL: user} if user is not None else None
        now = self._clock.now()
        return [_token_info(d, now) for d in self._store.list(TOKEN_KIND, _CLUSTER, labels)]

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke the token with this id; it is refused at once. NotFoundError if none has it."""
        found = self._store.list(TOKEN_KIND, _CLUSTER, labels={TOKEN_ID_LABEL: token_id})
        if not found:
            raise NotFoundError(
                f"no token has the id {token_id!r}: `trainyard auth list` shows them"
            )
        for doc in found:
            self._delete_token(doc)
        self._forget()
        return _token_info(found[0], self._clock.now())

    def _free_token_id(self) -> str:
        for _ in range(_ID_ATTEMPTS):
            token_id = secrets.token_hex(4)
            if not self._store.list(TOKEN_KIND, _CLUSTER, labels={TOKEN_ID_LABEL: token_id}):
                return token_id
        raise ConflictError("no free token id after several tries: retry")

    def _delete_token(self, doc: dict[str, Any]) -> int:
        """1 when this call deleted the token, 0 when it was gone already."""
        try:
            self._store.delete(TOKEN_KIND, _CLUSTER, doc["metadata"]["name"])
        except NotFoundError:
            return 0
        finally:
            self._forget()
        return 1

    # -- first start -------------------------------------------------------------------------

    def ensure_admin_token(self, home: Path) -> str | None:
        """On a first start (no users yet): make user `admin` and write a token for it.

        The token goes to `home/admin.token`, readable by its owner only. Returns what to tell
        the person starting the server, or None when there were users already.
        """
        if self._store.list(USER_KIND, _CLUSTER):
            return None
        try:
            self.create_user(ADMIN_USER, admin=True)
        except ConflictError:
            return None  # another process, starting at the same moment, made it
        _, token = self.create_token(ADMIN_USER, None, f"the first token, in {ADMIN_TOKEN_FILE}")
        path = home / ADMIN_TOKEN_FILE
        try:
            _write_private(path, token + "\n")
        except OSError as error:
            self.delete_user(ADMIN_USER)  # so that the next start tries again
            raise ConfigError(
                f"cannot write the admin token to {path}: {error.strerror or error}; "
                "check TRAINYARD_HOME"
            ) from None
        return (
            f"an admin token was written to {path}; "
            f"use it with: export TRAINYARD_TOKEN=$(cat {path})"
        )


def _user_problem(name: str) -> str | None:
    problem = namespace_problem(name)
    if problem is None:
        return None
    return (
        f"the user name {name[:80]!r} is not valid: use at most {LABEL_MAX} lower-case letters, "
        "digits and '-', starting and ending with a letter or digit (RFC 1123)"
    )


def _check_expiry(expires: datetime | None, now: datetime) -> None:
    if expires is not None and now >= expires:
        raise UnauthenticatedError(
            f"token expired at {format_time(expires)}: ask an admin for a new one"
        )


def _principal(user: dict[str, Any]) -> Principal:
    spec = user.get("spec") or {}
    roles = MappingProxyType(dict(spec.get("roles") or {}))
    return Principal(user["metadata"]["name"], admin=bool(spec.get("admin")), roles=roles)


def _user_info(doc: dict[str, Any]) -> UserInfo:
    spec = doc.get("spec") or {}
    return UserInfo(
        name=doc["metadata"]["name"],
        admin=bool(spec.get("admin")),
        roles=dict(spec.get("roles") or {}),
        created=parse_time(doc["metadata"]["creationTimestamp"]),
    )


def _token_info(doc: dict[str, Any], now: datetime) -> TokenInfo:
    spec = doc["spec"]
    expires = parse_time(spec["expiresAt"]) if spec.get("expiresAt") else None
    return TokenInfo(
        id=spec["id"],
        user=spec["user"],
        description=spec.get("description") or "",
        expires=expires,
        created=parse_time(doc["metadata"]["creationTimestamp"]),
        expired=expires is not None and now >= expires,
    )


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` through a new file that is 0600 from its first moment."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        # Replaces a file left by an earlier database, never following a link planted there.
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
