"""`trainyard context list|use|show|clear`: the servers of the config file, and which is current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from trainyard.cli import contexts
from trainyard.cli.output import OUTPUT_OPTION, Format, emit, err, is_structured, out
from trainyard.core.config import Config, load_config
from trainyard.core.settings import Settings

app = typer.Typer(help="Servers to send work to (Argo or trainyard), from the config file.")


def _loaded() -> tuple[Path, Config]:
    settings = Settings.from_env()
    config = load_config(settings.home, Path.cwd())
    for warning in config.plain_secrets():
        err.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    return settings.home, config


def _row(name: str, config: Config, current: str | None) -> dict[str, Any]:
    context = config.contexts[name]
    return {
        "name": name,
        "current": name == current,
        "server": context.server,
        "namespace": context.namespace,
        "token": contexts.token_source(context),
        "tls": "insecure" if context.insecure else (context.ca_file or "verify"),
        "registry": context.registry,
    }


@app.command("list")
def list_(output: Format = OUTPUT_OPTION) -> None:
    """The contexts of the config file; `*` marks the current one."""
    home, config = _loaded()
    current = contexts.current_name(home, config)
    rows = [_row(name, config, current) for name in sorted(config.contexts)]
    if is_structured(output):
        emit(rows, output)
        return
    if output == Format.name:
        for row in rows:
            out.print(row["name"])
        return
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    for column in ("CURRENT", "NAME", "SERVER", "NAMESPACE", "TOKEN"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            "*" if row["current"] else "", row["name"], row["server"], row["namespace"],
            row["token"],
        )  # fmt: skip
    out.print(table)
    if not rows:
        err.print("no contexts: add `contexts:` to TRAINYARD_HOME/config.yaml or trainyard.yaml")


@app.command()
def use(name: str = typer.Argument(..., help="The context to send commands to.")) -> None:
    """Send every command to this context from now on (`trainyard context clear` to stop)."""
    home, config = _loaded()
    contexts.lookup(config, name)
    contexts.choose(home, name)
    out.print(f"commands go to context {name} ({config.contexts[name].server})", highlight=False)


@app.command()
def clear() -> None:
    """Send commands to this machine again."""
    home, _ = _loaded()
    was = contexts.clear(home)
    out.print("commands run on this machine" + ("" if was else " (no context was in use)"))


@app.command()
def show(
    name: str | None = typer.Argument(None, help="A context (default: the current one)."),
    output: Format = OUTPUT_OPTION,
) -> None:
    """One context: server, namespace, where its token comes from, and whether it resolves."""
    home, config = _loaded()
    current = contexts.current_name(home, config)
    chosen = name or current
    if chosen is None:
        if is_structured(output):
            emit({"name": None, "server": None}, output)
        else:
            out.print("no context: commands run on this machine")
        return
    contexts.lookup(config, chosen)
    row = _row(chosen, config, current)
    resolved = contexts.resolve(config, chosen)
    row["tokenFound"] = resolved.token() is not None
    if is_structured(output):
        emit(row, output)
        return
    for key, value in row.items():
        out.print(f"{key}: {value}", highlight=False)
