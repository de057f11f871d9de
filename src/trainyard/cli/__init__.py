"""L4: the `trainyard` command line (typer + rich)."""
