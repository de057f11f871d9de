"""Named servers (contexts) from the config file, which one is current, and their tokens.

Which server commands go to, first match wins: `--server URL`, `--context NAME`,
TRAINYARD_SERVER, TRAINYARD_CONTEXT, the context `trainyard context use` chose (kept in
TRAINYARD_HOME/current-context), the config file's `context:`. None of these: this machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trainyard.core.config import Config, ContextConfig
from trainyard.core.errors import ConfigError, UserError

CURRENT_FILE = "current-context"


@dataclass(frozen=True)
class Resolved:
    """A context made ready to use: where to connect and with what (the token is read only
    when a request is made, so commands that need none work without it)."""

    name: str
    server: str
    namespace: str
    verify: bool | str
    context: ContextConfig

    def token(self) -> str | None:
        """The context's token, from its environment variable, file or the config."""
        return _token(self.name, self.context)


def current_name(home: Path, config: Config) -> str | None:
    """The context in use when no option names one (environment, `context use`, config)."""
    env = os.environ.get("TRAINYARD_CONTEXT")
    if env:
        return env
    chosen = home / CURRENT_FILE
    try:
        text = chosen.read_text().strip()
    except FileNotFoundError:
        text = ""
    except OSError as error:
        raise ConfigError(f"{chosen}: cannot read: {error.strerror or error}") from error
    return text or config.context


def choose(home: Path, name: str) -> None:
    """Make `name` the current context (`trainyard context use`)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / CURRENT_FILE).write_text(name + "\n")


def clear(home: Path) -> bool:
    """Go back to this machine; False when no context was chosen."""
    try:
        (home / CURRENT_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


def lookup(config: Config, name: str) -> ContextConfig:
    """The context called `name`; UserError naming the known ones otherwise."""
    found = config.contexts.get(name)
    if found is None:
        known = ", ".join(sorted(config.contexts)) or "none: add `contexts:` to the config file"
        raise UserError(f"no context named {name!r} (known: {known})")
    return found


def resolve(config: Config, name: str) -> Resolved:
    """The context's server, namespace and TLS setting; its token on demand."""
    context = lookup(config, name)
    if not context.server.startswith(("http://", "https://")):
        raise ConfigError(
            f"{config.where('contexts', name, 'server')}: {context.server!r} must start with "
            "http:// or https://"
        )
    verify: bool | str = not context.insecure
    if context.ca_file:
        ca = Path(context.ca_file).expanduser()
        if not ca.is_file():
            raise ConfigError(f"{config.where('contexts', name, 'caFile')}: no file {ca}")
        verify = str(ca)
    return Resolved(name, context.server, context.namespace, verify, context)


def token_source(context: ContextConfig) -> str:
    """Where a context's token comes from, for listings (never the token)."""
    if context.token_env:
        return f"env {context.token_env}"
    if context.token_file:
        return f"file {context.token_file}"
    return "config file (plain text)" if context.token else "none"


def _token(name: str, context: ContextConfig) -> str | None:
    if context.token_env:
        value = os.environ.get(context.token_env)
        if not value:
            raise UserError(
                f"context {name}: its token comes from ${context.token_env}, which is not set"
            )
        return value.strip()
    if context.token_file:
        path = Path(context.token_file).expanduser()
        try:
            return path.read_text().strip() or None
        except OSError as error:
            raise ConfigError(
                f"configuration: contexts.{name}.tokenFile: cannot read {path}: "
                f"{error.strerror or error}"
            ) from error
    return context.token
