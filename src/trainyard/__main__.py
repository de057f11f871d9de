"""L5 entry point: `trainyard` / `python -m trainyard` builds the Instance and runs the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

from trainyard.cli.app import hoist
from trainyard.cli.app import main as cli_main
from trainyard.cli.server import Serving
from trainyard.cli.services import Services
from trainyard.core.settings import Settings
from trainyard.instance import Instance


def _services() -> Services:
    return Instance(Settings.from_env(), project_dir=Path.cwd())


def _command(argv: list[str]) -> str | None:
    """The sub-command named on the command line (global options come first once hoisted)."""
    args = hoist(argv)
    i = 0
    while i < len(args):
        if args[i] in ("--server", "--token", "--namespace", "--context"):
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            return args[i]
    return None


def main() -> None:
    """Console-script entry point."""
    if _command(sys.argv[1:]) == "server":
        # The web stack loads here, for `trainyard server` only: other commands start faster.
        try:
            from trainyard import serve
        except ModuleNotFoundError as missing:
            sys.stderr.write(
                f"error: `trainyard server` needs {missing.name}, which is not installed: "
                "pip install 'trainyard[server]'\n"
            )
            sys.exit(2)
        Serving.runner = serve.run
    sys.exit(cli_main(_services))


if __name__ == "__main__":
    main()
