"""`trainyard auth`: users, their roles per namespace, and API tokens, in this home's store."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.table import Table

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, err, is_structured, out
from trainyard.cli.services import State
from trainyard.core.clock import SystemClock, format_time
from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.service.auth import AuthService, TokenInfo, UserInfo

app = typer.Typer(
    help="Users, their roles per namespace (viewer, runner, admin) and their API tokens.",
    no_args_is_help=True,
)
_DAYS = re.compile(r"(\d+(?:\.\d+)?)d")
_DAY = 86400.0


def _service() -> AuthService:
    return AuthService(State.services().store, SystemClock())


def _lifetime(text: str) -> float:
    """Seconds in `30d`, `12h`, `1d12h`, `90m` or `3600`."""
    days = _DAYS.match(text)
    rest = text[days.end() :] if days else text
    try:
        seconds = (float(days.group(1)) * _DAY if days else 0.0) + (
            parse_duration(rest) if rest else 0.0
        )
    except UserError:
        seconds = -1.0
    if seconds <= 0:
        raise UserError(f"--expires {text!r}: give a lifetime such as 30d, 12h, 1d12h or 90m")
    return seconds


def _time(moment: Any) -> str | None:
    return format_time(moment) if moment is not None else None


def _user_json(user: UserInfo, tokens: list[TokenInfo] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": user.name, "admin": user.admin, "roles": user.roles}
    if tokens is not None:
        data["created"] = format_time(user.created)
        data["tokens"] = [
            {
                "id": t.id,
                "description": t.description,
                "expires": _time(t.expires),
                "expired": t.expired,
                "created": format_time(t.created),
            }
            for t in tokens
        ]
    return data


@app.command("create-user")
def create_user(
    name: str,
    admin: bool = typer.Option(False, "--admin", help="Allowed everything, everywhere."),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Create a user (no roles yet: see `grant`)."""
    user = _service().create_user(name, admin=admin)
    if is_structured(output):
        emit(_user_json(user), output)
        return
    out.print(f"user {user.name} created" + (" (admin)" if user.admin else ""), highlight=False)


@app.command("create-token")
def create_token(
    user: str,
    expires: str | None = typer.Option(
        None, "--expires", help="Lifetime: 30d, 12h, 90m... (default: until revoked)."
    ),
    description: str = typer.Option("", "--description", help="What the token is for."),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Make an API token for USER and print it: it is shown this once, never again."""
    service = _service()
    lifetime = _lifetime(expires) if expires is not None else None
    token_id, token = service.create_token(user, lifetime, description)
    info = next(t for t in service.list_tokens(user) if t.id == token_id)
    if is_structured(output):
        emit({"id": token_id, "token": token, "user": user, "expires": _time(info.expires)}, output)
        return
    # The token alone on stdout, so that TOKEN=$(trainyard auth create-token ...) works.
    until = f"expires {format_time(info.expires)}" if info.expires else "valid until revoked"
    err.print(f"token {token_id} for {user} ({until}); it is shown only now:", highlight=False)
    out.print(token, highlight=False)


@app.command()
def grant(user: str, namespace: str, role: str) -> None:
    """Give USER ROLE (viewer, runner or admin) in NAMESPACE ("*": every namespace)."""
    _service().grant(user, namespace, role)
    out.print(f"{user} is {role} in namespace {namespace}", highlight=False)


@app.command()
def revoke(
    user: str | None = typer.Argument(None, help="The user; alone, it is deleted."),
    namespace: str | None = typer.Argument(None, help="Take away only the role here."),
    token: str | None = typer.Option(None, "--token-id", help="Revoke the token with this id."),
) -> None:
    """Revoke a token (--token-id ID), a role (USER NAMESPACE), or a user with its tokens (USER)."""
    service = _service()
    if token is not None:
        if user is not None:
            raise UserError("give either --token-id ID or USER [NAMESPACE], not both")
        revoked = service.revoke_token(token)
        out.print(f"token {revoked.id} of {revoked.user} revoked", highlight=False)
    elif user is None:
        raise UserError("say what to revoke: --token-id ID, USER NAMESPACE, or USER")
    elif namespace is not None:
        service.revoke_role(user, namespace)
        out.print(f"{user} has no role in namespace {namespace} now", highlight=False)
    else:
        count = service.delete_user(user)
        out.print(f"user {user} deleted, with its {count} token(s)", highlight=False)


@app.command("list")
def list_(output: Format = OUTPUT_OPTION) -> None:
    """Users, their roles and their tokens (ids, never the tokens)."""
    service = _service()
    tokens = service.list_tokens()
    users = [(user, [t for t in tokens if t.user == user.name]) for user in service.list_users()]
    if is_structured(output):
        emit([_user_json(user, owned) for user, owned in users], output)
        return
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    for column in ("USER", "ADMIN", "ROLES", "TOKENS"):
        table.add_column(column, overflow="fold")
    for user, owned in users:
        roles = ", ".join(f"{ns}={role}" for ns, role in sorted(user.roles.items()))
        table.add_row(
            user.name,
            "yes" if user.admin else "no",
            roles or "-",
            "\n".join(_token_line(t) for t in owned) or "-",
        )
    out.print(table)


def _token_line(token: TokenInfo) -> str:
    if token.expires is None:
        until = "until revoked"
    else:
        until = ("expired " if token.expired else "expires ") + format_time(token.expires)
    about = f" {token.description!r}" if token.description else ""
    return f"{token.id} ({until}){about}"
