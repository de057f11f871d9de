"""The `trainyard` command: every sub-command, and how errors reach the user."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer
from typer.exceptions import TyperException

from trainyard import __version__
from trainyard.cli import (
    apply,
    auth,
    compile_cmd,
    context_cmd,
    cron,
    deploy,
    engine_cmd,
    lint,
    logs,
    nodes_cmd,
    objects,
    queue_cmd,
    results,
    server,
    sim,
    templates_cmd,
    workflows,
)
from trainyard.cli.output import err
from trainyard.cli.prepare import print_problems
from trainyard.cli.remote import Remote
from trainyard.cli.services import Services, State
from trainyard.core.config import Config, load_config
from trainyard.core.errors import SpecError, TrainyardError, UserError
from trainyard.core.settings import Settings

app = typer.Typer(
    name="trainyard",
    help="Run Argo workflows on this machine: queue training jobs, pipelines, and keep results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for sub in (
    workflows.app,
    logs.app,
    results.app,
    queue_cmd.app,
    lint.app,
    sim.app,
    engine_cmd.app,
    server.app,
    deploy.app,
    compile_cmd.app,
    apply.app,
    nodes_cmd.app,
):
    app.registered_commands.extend(sub.registered_commands)
app.add_typer(results.artifacts_app, name="artifacts")
app.add_typer(objects.secret_app, name="secret")
app.add_typer(objects.configmap_app, name="configmap")
app.add_typer(auth.app, name="auth")
app.add_typer(context_cmd.app, name="context")
app.add_typer(templates_cmd.template_app, name="template")
app.add_typer(templates_cmd.cluster_template_app, name="cluster-template")
app.add_typer(cron.app, name="cron")

LOCAL_ONLY = (
    "results", "artifacts", "queue", "secret", "configmap", "apply", "template",
    "cluster-template",
)  # fmt: skip
"""Commands that read this machine's home and do not go to a --server (yet)."""
HOISTED = ("--server", "--token", "--context")
"""Global options that may also come after the sub-command (`trainyard submit F --server U`)."""
IGNORE_TARGET = ("server", "engine", "auth", "context", "version", "lint", "sim")
"""Commands that never go to a server: a current context does not apply to them."""


@app.callback()
def options(
    ctx: typer.Context,
    server: str | None = typer.Option(
        None, "--server", help="An Argo-API server (trainyard server or Argo) [TRAINYARD_SERVER]."
    ),
    token: str | None = typer.Option(
        None, "--token", help="Its bearer token [TRAINYARD_TOKEN]; never printed."
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", help="The server's namespace for every command (default: default)."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Accept the server's self-signed TLS certificate."
    ),
    context: str | None = typer.Option(
        None, "--context", help="A server named in the config file's `contexts:`."
    ),
) -> None:
    """Run Argo workflows on this machine, or on a server (--server, --context)."""
    command = ctx.invoked_subcommand
    explicit = server or context
    if command in IGNORE_TARGET and not explicit:
        return
    Remote.configure(server, token, namespace, insecure, context, load=_home_config)
    if Remote.active() and command in LOCAL_ONLY:
        raise UserError(
            f"`trainyard {command}` works on this machine only: drop --server/--context "
            "(unset TRAINYARD_SERVER, or `trainyard context clear`)"
        )


def _home_config() -> tuple[Path, Config]:
    settings = Settings.from_env()
    return settings.home, load_config(settings.home, Path.cwd())


def hoist(argv: list[str]) -> list[str]:
    """`argv` with the global --server/--token/--context options moved before the sub-command."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in HOISTED and i + 1 < len(argv):
            front.extend(argv[i : i + 2])
            i += 2
            continue
        if arg.startswith(tuple(f"{o}=" for o in HOISTED)) or arg == "--insecure":
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


@app.command()
def version() -> None:
    """Print the version."""
    print(f"trainyard {__version__}")


def main(factory: Callable[[], Services], argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes print one clear message and exit 2, never a traceback."""
    State.factory = factory
    try:
        code = app(args=hoist(sys.argv[1:] if argv is None else argv), standalone_mode=False)
        return code if isinstance(code, int) else 0
    except SpecError as exc:
        print_problems(exc.problems)
        return exc.exit_code
    except TrainyardError as exc:
        err.print(f"error: {exc}", style="red", markup=False, highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        return 130
    except TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            err.print(f"error: {exc}", markup=False, highlight=False)
        return int(getattr(exc, "exit_code", 2))
    finally:
        State.close()
        Remote.close()
