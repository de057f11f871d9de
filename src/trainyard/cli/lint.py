"""`trainyard lint`: check workflow files without running them."""

from __future__ import annotations

from pathlib import Path

import typer

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, is_structured, out
from trainyard.cli.prepare import print_problems
from trainyard.core.config import load_config
from trainyard.core.programs import installed
from trainyard.core.settings import Settings
from trainyard.spec.check import check_file
from trainyard.spec.params import merge_cli

app = typer.Typer()


@app.command()
def lint(
    files: list[Path] = typer.Argument(..., help="Workflow files (YAML or JSON)."),
    parameter: list[str] = typer.Option([], "--parameter", "-p", help="NAME=VALUE to assume."),
    params: str | None = typer.Option(None, "--params", help="Parameters as JSON."),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Check files against Argo's schema and rules; exit 0 if valid, 2 if not."""
    values = merge_cli(parameter, params)
    report = []
    failed = False
    config = load_config(Settings.from_env().home, Path.cwd())
    # Host steps must find their programs here; in containers, the image brings them.
    have = None if config.executor == "container" else installed
    for file in files:
        result = check_file(file, values, local=True, installed=have)
        failed = failed or not result.ok
        report.append(
            {
                "file": str(file),
                "documents": len(result.documents),
                "errors": [vars(p) for p in result.errors],
                "notes": [vars(p) for p in result.notes],
            }
        )
        if not is_structured(output):
            print_problems(result.errors + result.notes)
            if result.ok:
                out.print(f"{file}: ok ({len(result.documents)} document(s))", highlight=False)
    if is_structured(output):
        emit(report, output)
    raise typer.Exit(2 if failed else 0)
