"""L5 entry point: `trainyard` / `python -m trainyard` builds the Instance and runs the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

from trainyard.cli.app import main as cli_main
from trainyard.cli.services import Services
from trainyard.core.settings import Settings
from trainyard.instance import Instance


def _services() -> Services:
    return Instance(Settings.from_env(), project_dir=Path.cwd())


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli_main(_services))


if __name__ == "__main__":
    main()
