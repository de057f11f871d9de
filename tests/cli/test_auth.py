"""`trainyard auth`: users, roles and tokens in a fresh TRAINYARD_HOME, through the real command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Runner
from trainyard.core.clock import SystemClock, parse_time
from trainyard.core.errors import UnauthenticatedError
from trainyard.service.auth import AuthService
from trainyard.store.sql import SqlStore


def ok(trainyard: Runner, *args: str) -> str:
    done = trainyard(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def authenticate(home: Path, token: str) -> str:
    """The user the home's store says `token` is, as the server would find it."""
    store = SqlStore(f"sqlite:///{home / 'trainyard.db'}")
    try:
        return AuthService(store, SystemClock()).authenticate(token).name
    finally:
        store.close()


def test_a_user_with_a_token_and_roles(trainyard: Runner, home: Path) -> None:
    assert ok(trainyard, "auth", "create-user", "ana") == "user ana created\n"
    made = json.loads(
        ok(trainyard, "auth", "create-token", "ana", "--expires", "1d12h", "-o", "json")
    )
    assert set(made) == {"id", "token", "user", "expires"}
    assert made["user"] == "ana" and made["token"].startswith("ty_")
    lifetime = parse_time(made["expires"]) - datetime.now(UTC)
    assert timedelta(hours=35, minutes=59) < lifetime <= timedelta(hours=36)
    assert authenticate(home, made["token"]) == "ana"

    assert ok(trainyard, "auth", "grant", "ana", "team-a", "runner") == (
        "ana is runner in namespace team-a\n"
    )
    ok(trainyard, "auth", "grant", "ana", "*", "viewer")
    [user] = json.loads(ok(trainyard, "auth", "list", "-o", "json"))
    assert user["name"] == "ana" and user["admin"] is False
    assert user["roles"] == {"team-a": "runner", "*": "viewer"}
    assert [t["id"] for t in user["tokens"]] == [made["id"]]
    assert user["tokens"][0]["expires"] == made["expires"]

    listing = ok(trainyard, "auth", "list")
    assert "*=viewer, team-a=runner" in listing and made["id"] in listing
    # The token is shown once: not by listings, and not kept in the database.
    assert made["token"] not in listing
    stored = b"".join(p.read_bytes() for p in home.glob("trainyard.db*"))
    assert made["token"].encode() not in stored


def test_the_token_alone_goes_to_stdout(trainyard: Runner, home: Path) -> None:
    ok(trainyard, "auth", "create-user", "root", "--admin")
    done = trainyard("auth", "create-token", "root", "--description", "ci")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert done.stdout == token + "\n"
    assert "valid until revoked" in done.stderr and "shown only now" in done.stderr
    assert authenticate(home, token) == "root"
    assert "'ci'" in ok(trainyard, "auth", "list")


def test_revoking_a_token_a_role_and_a_user(trainyard: Runner, home: Path) -> None:
    ok(trainyard, "auth", "create-user", "ana")
    ok(trainyard, "auth", "grant", "ana", "team-a", "admin")
    first = json.loads(ok(trainyard, "auth", "create-token", "ana", "-o", "json"))
    second = json.loads(ok(trainyard, "auth", "create-token", "ana", "-o", "json"))

    assert ok(trainyard, "auth", "revoke", "--token-id", first["id"]) == (
        f"token {first['id']} of ana revoked\n"
    )
    with pytest.raises(UnauthenticatedError, match="unknown or revoked token"):
        authenticate(home, first["token"])
    assert authenticate(home, second["token"]) == "ana"

    assert ok(trainyard, "auth", "revoke", "ana", "team-a") == (
        "ana has no role in namespace team-a now\n"
    )
    assert json.loads(ok(trainyard, "auth", "list", "-o", "json"))[0]["roles"] == {}

    assert ok(trainyard, "auth", "revoke", "ana") == "user ana deleted, with its 1 token(s)\n"
    assert json.loads(ok(trainyard, "auth", "list", "-o", "json")) == []
    with pytest.raises(UnauthenticatedError):
        authenticate(home, second["token"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["create-user", "Ana_B"], 2, "the user name 'Ana_B' is not valid"),
        (["create-token", "nobody"], 2, "user 'nobody' not found"),
        (["create-token", "ana", "--expires", "soon"], 2, "--expires 'soon': give a lifetime"),
        (["create-token", "ana", "--expires", "0d"], 2, "give a lifetime such as 30d"),
        (["grant", "ana", "team-a", "owner"], 2, "role 'owner' is not one of"),
        (["revoke"], 2, "say what to revoke"),
        (["revoke", "ana", "--token-id", "abc"], 2, "not both"),
        (["revoke", "--token-id", "abc"], 2, "no token has the id 'abc'"),
        (["revoke", "ana", "team-z"], 2, "user 'ana' has no role in namespace 'team-z'"),
        (["create-user", "ana"], 1, "user 'ana' already exists"),
    ],
)
def test_mistakes_get_one_clear_line(
    trainyard: Runner, args: list[str], code: int, message: str
) -> None:
    ok(trainyard, "auth", "create-user", "ana")
    done = trainyard("auth", *args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
