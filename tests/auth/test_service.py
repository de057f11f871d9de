"""AuthService on every store: users, roles, tokens, and what `authenticate` answers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from tests.auth.conftest import Backend
from trainyard.auth.roles import Principal, allows
from trainyard.core.errors import (
    ConflictError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
)
from trainyard.service.auth import TOKEN_PREFIX, AuthService, token_hash
from trainyard.store.base import Store


def refused(auth: AuthService, token: str | None) -> str:
    """The message `authenticate` refuses `token` with (which must never quote it)."""
    with pytest.raises(UnauthenticatedError) as caught:
        auth.authenticate(token)
    message = str(caught.value)
    if token:
        assert token not in message
        assert token[len(TOKEN_PREFIX) :] not in message
    return message


def test_a_token_authenticates_its_user_with_their_roles(auth: AuthService) -> None:
    auth.create_user("ana")
    auth.grant("ana", "team-a", "runner")
    auth.grant("ana", "*", "viewer")
    token_id, token = auth.create_token("ana", description="laptop")
    principal = auth.authenticate(token)
    assert principal == Principal("ana", admin=False, roles={"team-a": "runner", "*": "viewer"})
    assert allows(principal, "create", "team-a")
    assert not allows(principal, "create", "team-b")
    assert allows(principal, "read", "team-b")
    assert len(token_id) == 8
    [info] = auth.list_tokens("ana")
    assert (info.id, info.user, info.description, info.expires) == (token_id, "ana", "laptop", None)


def test_tokens_are_prefixed_random_and_never_repeat(auth: AuthService) -> None:
    auth.create_user("ana")
    made = [auth.create_token("ana") for _ in range(5)]
    tokens = {token for _, token in made}
    assert len(tokens) == 5 and len({token_id for token_id, _ in made}) == 5
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        assert len(token) == len(TOKEN_PREFIX) + 43  # 32 random bytes, URL-safe base64


def test_an_admin_is_admin_everywhere(auth: AuthService) -> None:
    auth.create_user("root", admin=True)
    principal = auth.authenticate(auth.create_token("root")[1])
    assert principal.admin and principal.role_in("anything") == "admin"


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_says_how_to_send_one(auth: AuthService, token: str | None) -> None:
    assert refused(auth, token) == "no token: send Authorization: Bearer <token>"


@pytest.mark.parametrize(
    "token",
    ["ty_" + "A" * 43, "not-even-ours", "Bearer ty_abc", "ty_" + "x" * 5000],
)
def test_an_unknown_token_is_refused_without_being_quoted(auth: AuthService, token: str) -> None:
    auth.create_user("ana")
    auth.create_token("ana")
    assert refused(auth, token).startswith("unknown or revoked token")


def test_a_token_expires_on_time_even_when_cached(backend: Backend, auth: AuthService) -> None:
    auth.create_user("ana")
    _, token = auth.create_token("ana", expires_in=60)
    assert auth.list_tokens()[0].expires == backend.clock.now().replace(minute=1)
    assert auth.authenticate(token).name == "ana"
    backend.clock.advance(59)
    assert auth.authenticate(token).name == "ana"  # from the cache, fresh for 5 s more
    backend.clock.advance(1)
    assert refused(auth, token).startswith("token expired at 2024-01-01T00:01:00Z")
    assert auth.list_tokens()[0].expired
    assert refused(backend.service(), token).startswith("token expired at 2024-01-01T00:01:00Z")


def test_a_revoked_token_is_refused_at_once(auth: AuthService) -> None:
    auth.create_user("ana")
    token_id, token = auth.create_token("ana")
    _, other = auth.create_token("ana")
    auth.authenticate(token)  # cached now
    assert auth.revoke_token(token_id).user == "ana"
    assert refused(auth, token).startswith("unknown or revoked token")
    assert auth.authenticate(other).name == "ana"
    with pytest.raises(NotFoundError, match="no token has the id"):
        auth.revoke_token(token_id)


def test_role_changes_apply_at_once(auth: AuthService) -> None:
    auth.create_user("ana")
    _, token = auth.create_token("ana")
    assert auth.authenticate(token).role_in("team-a") is None
    auth.grant("ana", "team-a", "viewer")
    assert auth.authenticate(token).role_in("team-a") == "viewer"
    auth.grant("ana", "team-a", "runner")
    assert auth.authenticate(token).role_in("team-a") == "runner"
    auth.revoke_role("ana", "team-a")
    assert auth.authenticate(token).role_in("team-a") is None
    with pytest.raises(NotFoundError, match="user 'ana' has no role in namespace 'team-a'"):
        auth.revoke_role("ana", "team-a")


def test_another_process_is_heard_within_the_cache_time(backend: Backend) -> None:
    server, cli = backend.service(cache_seconds=5), backend.service()
    cli.create_user("ana")
    token_id, token = cli.create_token("ana")
    assert server.authenticate(token).name == "ana"
    cli.revoke_token(token_id)
    backend.clock.advance(4.9)
    assert server.authenticate(token).name == "ana"
    backend.clock.advance(0.1)
    assert refused(server, token).startswith("unknown or revoked token")


def test_deleting_a_user_takes_its_tokens(backend: Backend, auth: AuthService) -> None:
    auth.create_user("ana")
    auth.create_user("bo")
    _, token = auth.create_token("ana")
    auth.create_token("ana")
    _, kept = auth.create_token("bo")
    auth.authenticate(token)
    assert auth.delete_user("ana") == 2
    assert refused(auth, token).startswith("unknown or revoked token")
    assert [u.name for u in auth.list_users()] == ["bo"]
    assert [t.user for t in auth.list_tokens()] == ["bo"]
    assert auth.authenticate(kept).name == "bo"
    with pytest.raises(NotFoundError, match="user 'ana' not found"):
        auth.delete_user("ana")


def test_a_token_of_a_deleted_user_is_refused(backend: Backend, auth: AuthService) -> None:
    auth.create_user("ana")
    _, token = auth.create_token("ana")
    backend.store.delete("User", "", "ana")  # as another process would, leaving the token
    backend.clock.advance(10)
    assert refused(auth, token).startswith("unknown or revoked token")


def test_tokens_are_stored_only_as_their_hash(backend: Backend, auth: AuthService) -> None:
    auth.create_user("ana")
    tokens = [auth.create_token("ana", description=f"t{i}")[1] for i in range(3)]
    for token in tokens:
        auth.authenticate(token)
    stored = backend.stored()
    for token in tokens:
        assert token_hash(token) in stored  # the scan does see what is stored
        assert token not in stored
        assert token[len(TOKEN_PREFIX) :] not in stored


def test_listings_hold_no_secrets(auth: AuthService) -> None:
    auth.create_user("ana")
    auth.grant("ana", "team-a", "runner")
    _, token = auth.create_token("ana", expires_in=3600, description="ci")
    listed = [dataclasses.asdict(x) for x in (*auth.list_users(), *auth.list_tokens())]
    text = json.dumps(listed, default=str)
    assert token not in text and token_hash(token) not in text
    assert listed[0] == {
        "name": "ana",
        "admin": False,
        "roles": {"team-a": "runner"},
        "created": auth.list_users()[0].created,
    }


@pytest.mark.parametrize("name", ["", "Ana", "ana_b", "-ana", "ana.b", "a" * 64, "ana/b"])
def test_user_names_are_rfc_1123_labels(auth: AuthService, name: str) -> None:
    with pytest.raises(UserError, match="is not valid: use at most 63 lower-case letters"):
        auth.create_user(name)


def test_mistakes_are_named(auth: AuthService) -> None:
    auth.create_user("ana")
    with pytest.raises(ConflictError, match="user 'ana' already exists"):
        auth.create_user("ana")
    with pytest.raises(NotFoundError, match="user 'bo' not found"):
        auth.create_token("bo")
    with pytest.raises(NotFoundError, match="user 'bo' not found"):
        auth.grant("bo", "team-a", "viewer")
    with pytest.raises(UserError, match="role 'owner' is not one of viewer, runner, admin"):
        auth.grant("ana", "team-a", "owner")
    with pytest.raises(UserError, match="the namespace 'Team A' is not valid"):
        auth.grant("ana", "Team A", "viewer")
    with pytest.raises(UserError, match="a token must live a positive time, not -1 seconds"):
        auth.create_token("ana", expires_in=-1)
    assert auth.list_tokens() == []


class CountingStore:
    """A store that counts the reads made through it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.gets = 0
        self.before_get: list[Any] = []

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        self.gets += 1
        for hook in self.before_get:
            hook(kind)
        return self.inner.get(kind, namespace, name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_cached_principal_costs_no_store_read(backend: Backend) -> None:
    counting = CountingStore(backend.store)
    auth = AuthService(counting, backend.clock, cache_seconds=5)  # type: ignore[arg-type]
    auth.create_user("ana")
    _, token = auth.create_token("ana")
    counting.gets = 0
    auth.authenticate(token)
    assert counting.gets == 2  # the token by its hash, then its user: both by unique key
    for _ in range(100):
        auth.authenticate(token)
    assert counting.gets == 2
    backend.clock.advance(5)
    auth.authenticate(token)
    assert counting.gets == 4


def test_by_default_every_request_looks_the_token_up(backend: Backend) -> None:
    counting = CountingStore(backend.store)
    auth = AuthService(counting, backend.clock)  # type: ignore[arg-type]
    auth.create_user("ana")
    _, token = auth.create_token("ana")
    counting.gets = 0
    for _ in range(3):
        auth.authenticate(token)
    assert counting.gets == 6, "no cache: a revocation by another process counts at once"


def test_a_revocation_during_a_lookup_is_not_undone_by_the_cache(backend: Backend) -> None:
    counting = CountingStore(backend.store)
    auth = AuthService(counting, backend.clock, cache_seconds=5)  # type: ignore[arg-type]
    auth.create_user("ana")
    token_id, token = auth.create_token("ana")

    def revoke_meanwhile(kind: str) -> None:
        if kind == "User":
            counting.before_get.clear()
            auth.revoke_token(token_id)

    counting.before_get.append(revoke_meanwhile)
    assert auth.authenticate(token).name == "ana"  # it read the token before the revocation
    assert refused(auth, token).startswith("unknown or revoked token")
