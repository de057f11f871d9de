"""Derive trainyard's compact Argo schema from Argo's published JSON schema.

Usage: python scripts/derive_schema.py [ARGO_SCHEMA] [OUTPUT]
(defaults: /work/shared/argo/schema.json -> src/trainyard/spec/data/argo-schema.json)

What it does to Argo's api/jsonschema/schema.json (v4.1.2, Apache-2.0):
- keeps only the definitions reachable from the four kinds trainyard loads
  (Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow);
- strips annotations that do not affect validation (`description`, `title`, `x-kubernetes-*`);
- relaxes three quirks of the generated schema, where Argo itself accepts more than it says:
  IntOrString (Kubernetes' int-or-string) also takes integers, Quantity (`cpu: 1`) also takes
  numbers, and AnyString (Parameter value/default/enum/description, ValueFrom default) also
  takes numbers and booleans, which Argo turns into their string form;
- accepts a CronWorkflow's `schedule` (one cron expression), Argo v3's spelling that v4 dropped
  for `schedules`, so CronWorkflows written for v3 still load (trainyard requires one of the
  two itself, and writes `schedules` when it sends one to a server).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/work/shared/argo/schema.json")
DEFAULT_TARGET = ROOT / "src" / "trainyard" / "spec" / "data" / "argo-schema.json"

PREFIX = "io.argoproj.workflow.v1alpha1."
KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
REF = "#/definitions/"
ANNOTATIONS = ("description", "title")

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
ANY_STRING_FIELDS = {
    PREFIX + "Parameter": ("value", "default", "description", "enum"),
    PREFIX + "ValueFrom": ("default",),
}
SCALAR = ["string", "number", "boolean"]


def derive(source: dict[str, Any]) -> dict[str, Any]:
    """The compact, relaxed schema for the four kinds, from Argo's full schema."""
    definitions: dict[str, Any] = source["definitions"]
    names = reachable(definitions, [PREFIX + kind for kind in KINDS])
    kept = {name: strip(definitions[name]) for name in sorted(names)}
    relax(kept)
    return {
        "$schema": source["$schema"],
        "$comment": (
            "Derived from Argo Workflows v4.1.2 api/jsonschema/schema.json (Apache-2.0) "
            "by scripts/derive_schema.py; do not edit by hand."
        ),
        "definitions": kept,
        "oneOf": [{"$ref": REF + PREFIX + kind} for kind in KINDS],
    }


def reachable(definitions: dict[str, Any], roots: list[str]) -> set[str]:
    """Names of the definitions that `roots` refer to, directly or not (roots included)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(refs(definitions[name]))
    return seen


def refs(node: Any) -> list[str]:
    """Definition names referenced anywhere inside `node`."""
    if isinstance(node, dict):
        found = [node["$ref"].removeprefix(REF)] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found.extend(refs(value))
        return found
    if isinstance(node, list):
        return [name for item in node for name in refs(item)]
    return []


def strip(schema: Any) -> Any:
    """`schema` without annotations; property names called `description` are kept."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: strip(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = strip(value)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            out[key] = [strip(sub) for sub in value]
        else:
            out[key] = value
    return out


def relax(definitions: dict[str, Any]) -> None:
    """Accept what Argo accepts although the generated schema says string only."""
    definitions[INT_OR_STRING] = {"type": ["string", "integer"]}
    definitions[QUANTITY] = {"type": ["string", "number"]}
    cron = definitions[PREFIX + "CronWorkflowSpec"]
    cron["properties"]["schedule"] = {"type": "string"}
    cron["required"] = [field for field in cron["required"] if field != "schedules"]
    for name, fields in ANY_STRING_FIELDS.items():
        properties = definitions[name]["properties"]
        for field in fields:
            if properties[field].get("type") == "array":
                properties[field]["items"] = {"type": SCALAR}
            else:
                properties[field] = {"type": SCALAR}


def dumps(schema: dict[str, Any]) -> str:
    """The file content: one line of JSON with sorted keys, ending in a newline."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Read Argo's schema, write the derived one; arguments: [source] [target]."""
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    target = Path(argv[1]) if len(argv) > 1 else DEFAULT_TARGET
    derived = derive(json.loads(source.read_text(encoding="utf-8")))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(derived), encoding="utf-8")
    print(f"{target}: {len(derived['definitions'])} definitions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
