"""`trainyard apply -f FILE|DIR`: store templates, cron workflows, config maps and secrets, as
kubectl keeps them, and submit the workflows found beside them."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import typer
import yaml

from trainyard.cli.engine import ensure_engine
from trainyard.cli.output import OUTPUT_OPTION, Format, emit, is_structured, out
from trainyard.cli.prepare import stamp
from trainyard.cli.services import Services, State
from trainyard.controller import references
from trainyard.core.errors import NotFoundError, Problem, SpecError, UserError
from trainyard.core.programs import installed
from trainyard.spec.check import check_source, check_text
from trainyard.spec.load import read_file
from trainyard.spec.models import Workflow
from trainyard.spec.source import SourceDocument, parse_text

app = typer.Typer()
STORED = ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
PLAIN = ("ConfigMap", "Secret")
CLUSTER_SCOPED = ("ClusterWorkflowTemplate",)
SUFFIXES = (".yaml", ".yml", ".json")
CRON_LABEL = "workflows.argoproj.io/cron-workflow"


@app.command()
def apply(
    files: list[Path] = typer.Option(
        ..., "--filename", "-f", help="A YAML/JSON file, or a folder of them (not recursive)."
    ),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Default namespace."),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Store WorkflowTemplates, ClusterWorkflowTemplates, CronWorkflows, ConfigMaps and Secrets
    (created, or replaced by name), and submit the Workflows: all checked first, so a file with
    an error changes nothing."""
    services = State.services()
    ns = namespace or services.settings.namespace
    sources = [source for path in _expand(files) for source in _sources(path)]
    problems = [p for source in sources for p in _problems(source)]
    if problems:
        raise SpecError(problems)
    done = [_apply(services, source, ns) for source in sources]
    if any(row["kind"] == "Workflow" for row in done):
        ensure_engine(services)
    if is_structured(output):
        emit(done, output)
        return
    for row in done:
        out.print(f"{row['kind'].lower()}/{row['name']} {row['action']}", highlight=False)


def _expand(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not inside:
                raise UserError(f"{path}: no .yaml, .yml or .json file in this folder")
            found.extend(inside)
        else:
            found.append(path)
    return found


def _sources(path: Path) -> list[SourceDocument]:
    return parse_text(read_file(path), str(path))


def _problems(source: SourceDocument) -> list[Problem]:
    kind = source.kind
    if kind in PLAIN:
        return _plain_problems(source)
    local = kind == "Workflow"
    return check_source(source, local=local, installed=installed if local else None).errors


def _plain_problems(source: SourceDocument) -> list[Problem]:
    meta = source.data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return [source.problem(f"a {source.kind} needs metadata.name", ("metadata",))]
    problems: list[Problem] = []
    for field in ("data", "stringData"):
        values = source.data.get(field) or {}
        if not isinstance(values, dict):
            problems.append(source.problem(f"{field} must be a mapping of keys to text", (field,)))
            continue
        for key, value in values.items():
            if not isinstance(value, str):
                problems.append(source.problem(f"{field}.{key} must be text", (field, key)))
            elif source.kind == "Secret" and field == "data" and not _is_base64(value):
                message = f"data.{key} is not base64: encode it, or put it under stringData"
                problems.append(source.problem(message, (field, key)))
    return problems


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _apply(services: Services, source: SourceDocument, namespace: str) -> dict[str, Any]:
    doc = dict(source.data)
    meta = dict(doc.get("metadata") or {})
    kind = source.kind
    if kind == "Workflow":
        return _submit(services, doc, source.file, meta.get("namespace") or namespace)
    meta["namespace"] = "" if kind in CLUSTER_SCOPED else meta.get("namespace") or namespace
    for server_side in ("uid", "resourceVersion", "creationTimestamp"):
        meta.pop(server_side, None)
    doc["metadata"] = meta
    name = str(meta["name"])
    store = services.store
    try:
        existing = store.get(kind, meta["namespace"], name)
    except NotFoundError:
        store.create(kind, doc)
        action = "created"
    else:
        unchanged = {k: v for k, v in existing.items() if k not in ("metadata", "status")} == {
            k: v for k, v in doc.items() if k not in ("metadata", "status")
        }
        kept = {k: existing["metadata"][k] for k in ("uid", "resourceVersion")}
        if "status" in existing:
            doc["status"] = existing["status"]  # a cron workflow's record of its runs stays
        store.update(kind, {**doc, "metadata": {**meta, **kept}})
        action = "unchanged" if unchanged else "configured"
    row = {"kind": kind, "name": name, "action": action}
    if kind not in CLUSTER_SCOPED:
        row["namespace"] = meta["namespace"]
    return row


def _submit(services: Services, doc: dict[str, Any], file: str, namespace: str) -> dict[str, Any]:
    doc = {**doc, "metadata": {**(doc.get("metadata") or {}), "namespace": namespace}}
    if references.uses_references(doc):
        whole = references.resolve(doc, services.store)
        text = yaml.safe_dump(whole, sort_keys=False)
        where = f"{file} (with its stored templates)"
        checked = check_text(text, where, local=True, installed=installed)
        checked.raise_for_errors()
        doc = whole
    wf = stamp(Workflow.model_validate(doc), None, namespace, [])
    stored = services.store.create("Workflow", wf.dump())
    return {
        "kind": "Workflow",
        "name": stored["metadata"]["name"],
        "namespace": namespace,
        "action": "submitted",
    }


FROM_KINDS = {
    "workflowtemplate": "WorkflowTemplate",
    "wftmpl": "WorkflowTemplate",
    "clusterworkflowtemplate": "ClusterWorkflowTemplate",
    "cwftmpl": "ClusterWorkflowTemplate",
    "cronworkflow": "CronWorkflow",
    "cwf": "CronWorkflow",
}


def parse_from(ref: str) -> tuple[str, str]:
    """`workflowtemplate/NAME` (or clusterworkflowtemplate/, cronworkflow/, and Argo's short
    forms) as (kind, name)."""
    prefix, _, name = ref.partition("/")
    kind = FROM_KINDS.get(prefix.lower())
    if kind is None or not name:
        raise UserError(
            f"--from {ref!r}: give workflowtemplate/NAME, clusterworkflowtemplate/NAME or "
            "cronworkflow/NAME"
        )
    return kind, name


def workflow_from(services: Services, kind: str, name: str, namespace: str) -> str:
    """The text of a Workflow that runs the stored template (or cron workflow) `name`."""
    meta: dict[str, Any] = {"generateName": f"{name}-"}
    if kind == "CronWorkflow":
        cron = services.store.get(kind, namespace, name)
        spec = dict((cron.get("spec") or {}).get("workflowSpec") or {})
        extra = (cron.get("spec") or {}).get("workflowMetadata") or {}
        meta = {**extra, **meta}
        meta["labels"] = {**(extra.get("labels") or {}), CRON_LABEL: name}
    else:
        spec = {"workflowTemplateRef": {"name": name, "clusterScope": kind in CLUSTER_SCOPED}}
        # The reference is checked now, with a message naming what to store.
        references.resolve({"metadata": {"namespace": namespace}, "spec": spec}, services.store)
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": meta}
    return yaml.safe_dump({**doc, "spec": spec}, sort_keys=False)
