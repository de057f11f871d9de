"""The `trainyard` command: every sub-command, and how errors reach the user."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer
from typer.exceptions import TyperException

from trainyard import __version__
from trainyard.cli import engine_cmd, lint, logs, objects, queue_cmd, results, sim, workflows
from trainyard.cli.output import err
from trainyard.cli.prepare import print_problems
from trainyard.cli.services import Services, State
from trainyard.core.errors import SpecError, TrainyardError

app = typer.Typer(
    name="trainyard",
    help="Run Argo workflows on this machine: queue training jobs, pipelines, and keep results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for sub in (workflows.app, logs.app, results.app, queue_cmd.app, lint.app, sim.app, engine_cmd.app):
    app.registered_commands.extend(sub.registered_commands)
app.add_typer(results.artifacts_app, name="artifacts")
app.add_typer(objects.secret_app, name="secret")
app.add_typer(objects.configmap_app, name="configmap")


@app.command()
def version() -> None:
    """Print the version."""
    print(f"trainyard {__version__}")


def main(factory: Callable[[], Services], argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes print one clear message and exit 2, never a traceback."""
    State.factory = factory
    try:
        code = app(args=argv, standalone_mode=False)
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
