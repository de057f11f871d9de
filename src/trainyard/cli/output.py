"""Printing for the CLI: -o json|yaml|wide|name, and consoles for stdout and stderr."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Any

import typer
import yaml
from rich.console import Console

# Piped output is not cut at 80 columns: scripts and logs get whole lines.
_PIPE_WIDTH = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "200"))
out = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    """Output formats every command accepts with `-o`."""

    text = "text"
    json = "json"
    yaml = "yaml"
    wide = "wide"
    name = "name"


OUTPUT_OPTION = typer.Option(
    Format.text, "--output", "-o", help="Output format: text, json, yaml, wide or name."
)


def emit(data: Any, fmt: Format) -> None:
    """Print `data` as JSON or YAML on stdout (plain, not styled)."""
    if fmt == Format.yaml:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    else:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def is_structured(fmt: Format) -> bool:
    """Whether `fmt` asks for machine-readable output."""
    return fmt in (Format.json, Format.yaml)
