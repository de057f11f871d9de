"""`trainyard secret|configmap create|list|get|delete`: values steps read through `valueFrom`."""

from __future__ import annotations

import base64
from pathlib import Path

import typer

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, is_structured, out
from trainyard.cli.services import State
from trainyard.core.errors import UserError


def _literals(pairs: list[str], files: list[Path]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--from-literal {pair!r} must be KEY=VALUE")
        values[key] = value
    for path in files:
        try:
            values[path.name] = path.read_text()
        except OSError as exc:
            raise UserError(f"--from-file {path}: {exc.strerror or exc}") from exc
    if not values:
        raise UserError("give at least one --from-literal KEY=VALUE or --from-file PATH")
    return values


def _group(kind: str) -> typer.Typer:
    noun = kind.lower()
    ref = "secretKeyRef" if kind == "Secret" else "configMapKeyRef"
    group = typer.Typer(help=f"{kind}s that steps read through env valueFrom.{ref}.")

    @group.command("create")
    def create(
        name: str,
        from_literal: list[str] = typer.Option([], "--from-literal", help="KEY=VALUE"),
        from_file: list[Path] = typer.Option(
            [], "--from-file", help="A file; its name is the key."
        ),
        namespace: str | None = typer.Option(None, "--namespace", "-n"),
    ) -> None:
        """Create (or replace) one."""
        services = State.services()
        values = _literals(from_literal, from_file)
        if kind == "Secret":
            data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
        else:
            data = values
        ns = namespace or services.settings.namespace
        doc = {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            "data": data,
        }
        existing = services.store.list(kind, namespace=ns)
        if any(d["metadata"]["name"] == name for d in existing):
            services.store.delete(kind, ns, name)
        services.store.create(kind, doc)
        out.print(f"{noun} {name} created", highlight=False)

    @group.command("list")
    def list_(
        namespace: str | None = typer.Option(None, "--namespace", "-n"),
        output: Format = OUTPUT_OPTION,
    ) -> None:
        """List names and keys (never the values of secrets)."""
        services = State.services()
        docs = services.store.list(kind, namespace=namespace or services.settings.namespace)
        rows = [{"name": d["metadata"]["name"], "keys": sorted(d.get("data") or {})} for d in docs]
        if is_structured(output):
            emit(rows, output)
            return
        for row in rows:
            out.print(f"{row['name']}: {', '.join(row['keys'])}", highlight=False)

    if kind == "ConfigMap":

        @group.command("get")
        def get(
            name: str,
            namespace: str | None = typer.Option(None, "--namespace", "-n"),
            output: Format = OUTPUT_OPTION,
        ) -> None:
            """Show one with its data (YAML unless `-o json`): memoization caches too."""
            services = State.services()
            doc = services.store.get(kind, namespace or services.settings.namespace, name)
            emit(doc, Format.json if output == Format.json else Format.yaml)

    @group.command("delete")
    def delete(name: str, namespace: str | None = typer.Option(None, "--namespace", "-n")) -> None:
        """Delete one."""
        services = State.services()
        services.store.delete(kind, namespace or services.settings.namespace, name)
        out.print(f"{noun} {name} deleted", highlight=False)

    return group


secret_app = _group("Secret")
configmap_app = _group("ConfigMap")
