"""Templates and cron workflows of a real server: CRUD, lint, and submitting them as workflows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import wait

SPEC: dict[str, Any] = {
    "entrypoint": "main",
    "arguments": {"parameters": [{"name": "who"}]},
    "templates": [
        {
            "name": "main",
            "inputs": {"parameters": [{"name": "who", "value": "{{workflow.parameters.who}}"}]},
            "script": {
                "image": "python:3",
                "command": ["python3"],
                "source": "print('hello {{inputs.parameters.who}}')",
            },
        }
    ],
}
KINDS = [
    ("WorkflowTemplate", "/api/v1/workflow-templates/default", "template"),
    ("ClusterWorkflowTemplate", "/api/v1/cluster-workflow-templates", "template"),
    ("CronWorkflow", "/api/v1/cron-workflows/default", "cronWorkflow"),
]


def document(kind: str, name: str) -> dict[str, Any]:
    if kind == "CronWorkflow":  # it runs on its own, so its parameters need values
        args = {"parameters": [{"name": "who", "value": "cron"}]}
        spec = {"schedules": ["0 * * * *"], "workflowSpec": {**SPEC, "arguments": args}}
    else:
        spec = SPEC
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.mark.parametrize(("kind", "path", "field"), KINDS)
def test_crud_and_lint(client: httpx.Client, kind: str, path: str, field: str) -> None:
    name = f"crud-{kind.lower()}"
    made = client.post(path, json={field: document(kind, name)})
    assert made.status_code == 200, made.text
    assert made.json()["metadata"]["labels"]["workflows.argoproj.io/creator"] == "anonymous"
    assert client.post(path, json={field: document(kind, name)}).status_code == 409
    assert client.get(f"{path}/{name}").json()["metadata"]["name"] == name
    listed = client.get(path, params={"listOptions.labelSelector": "workflows.argoproj.io/creator"})
    assert name in [i["metadata"]["name"] for i in listed.json()["items"]]
    changed = client.get(f"{path}/{name}").json()
    changed["metadata"]["labels"]["extra"] = "yes"
    updated = client.put(f"{path}/{name}", json={field: changed})
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"]["resourceVersion"] == "2"
    stale = client.put(f"{path}/{name}", json={field: changed})
    assert stale.status_code == 409, "the resourceVersion it carries is stale"
    broken = document(kind, "broken")
    target = broken["spec"]["workflowSpec"] if kind == "CronWorkflow" else broken["spec"]
    broken["spec"] = {**broken["spec"]}
    target = {**target, "entrypoint": "nowhere"}
    if kind == "CronWorkflow":
        broken["spec"]["workflowSpec"] = target
    else:
        broken["spec"] = target
    lint = client.post(f"{path}/lint", json={field: broken})
    assert lint.status_code == 400 and "nowhere" in lint.json()["message"]
    assert client.post(f"{path}/lint", json={field: document(kind, name)}).status_code == 200
    assert client.delete(f"{path}/{name}").status_code == 200
    assert client.get(f"{path}/{name}").status_code == 404


def test_workflow_templates_list_by_name_pattern(client: httpx.Client) -> None:
    path = "/api/v1/workflow-templates/patterns"
    for name in ("train-a", "train-b", "eval"):
        assert client.post(path, json={"template": document("WorkflowTemplate", name)}).is_success
    found = client.get(path, params={"namePattern": "train"}).json()["items"]
    assert sorted(i["metadata"]["name"] for i in found) == ["train-a", "train-b"]


@pytest.mark.parametrize(("kind", "path", "field"), KINDS)
def test_submit_runs_the_spec_with_parameters(
    client: httpx.Client, kind: str, path: str, field: str
) -> None:
    name = f"submit-{kind.lower()}"
    assert client.post(path, json={field: document(kind, name)}).status_code == 200
    body = {
        "resourceKind": kind,
        "resourceName": name,
        "submitOptions": {"parameters": ["who=api"], "labels": "origin=test"},
    }
    submitted = client.post("/api/v1/workflows/default/submit", json=body)
    assert submitted.status_code == 200, submitted.text
    meta = submitted.json()["metadata"]
    assert meta["name"].startswith(f"{name}-")
    assert meta["labels"]["origin"] == "test"
    origin = {
        "WorkflowTemplate": "workflow-template",
        "ClusterWorkflowTemplate": "cluster-workflow-template",
        "CronWorkflow": "cron-workflow",
    }[kind]
    assert meta["labels"][f"workflows.argoproj.io/{origin}"] == name
    done = wait(client, meta["name"])
    assert done["status"]["phase"] == "Succeeded"
    log = client.get(f"/api/v1/workflows/default/{meta['name']}/log").text
    assert "hello api" in log


def test_submit_errors(client: httpx.Client) -> None:
    path = "/api/v1/workflows/default/submit"
    missing = {"resourceKind": "WorkflowTemplate", "resourceName": "absent"}
    assert client.post(path, json=missing).status_code == 404
    assert client.post(path, json={"resourceKind": "Pod", "resourceName": "x"}).status_code == 400
    client.post(
        "/api/v1/workflow-templates/default",
        json={"template": document("WorkflowTemplate", "needs-who")},
    )
    body = {"resourceKind": "WorkflowTemplate", "resourceName": "needs-who"}
    unbound = client.post(path, json=body)
    assert unbound.status_code == 400 and "who" in unbound.json()["message"]
    unknown = {**body, "submitOptions": {"parameters": ["nope=1"]}}
    assert client.post(path, json=unknown).status_code == 400


def test_cron_workflows_suspend_and_resume(client: httpx.Client) -> None:
    path = "/api/v1/cron-workflows/default"
    client.post(path, json={"cronWorkflow": document("CronWorkflow", "nightly")})
    assert client.put(f"{path}/nightly/suspend", json={}).json()["spec"]["suspend"] is True
    assert client.put(f"{path}/nightly/resume").json()["spec"]["suspend"] is False


def test_workflows_using_stored_templates_run_on_the_server(client: httpx.Client) -> None:
    made = client.post(
        "/api/v1/workflow-templates/default", json={"template": document("WorkflowTemplate", "lib")}
    )
    assert made.status_code == 200, made.text
    uses = {
        "metadata": {"generateName": "uses-"},
        "spec": {
            "entrypoint": "go",
            "arguments": {"parameters": [{"name": "who", "value": "ref"}]},
            "templates": [
                {
                    "name": "go",
                    "steps": [[{"name": "s", "templateRef": {"name": "lib", "template": "main"}}]],
                }
            ],
        },
    }
    created = client.post("/api/v1/workflows/default", json={"workflow": uses})
    assert created.status_code == 200, created.text
    body = created.json()
    assert {t["name"] for t in body["spec"]["templates"]} == {"go", "lib-main"}
    done = wait(client, body["metadata"]["name"])
    assert done["status"]["phase"] == "Succeeded"
    whole = {
        "metadata": {"generateName": "whole-"},
        "spec": {
            "workflowTemplateRef": {"name": "lib"},
            "arguments": {"parameters": [{"name": "who", "value": "whole"}]},
        },
    }
    second = client.post("/api/v1/workflows/default", json={"workflow": whole})
    assert second.status_code == 200, second.text
    assert wait(client, second.json()["metadata"]["name"])["status"]["phase"] == "Succeeded"
    missing = {
        **uses,
        "spec": {
            **uses["spec"],
            "templates": [
                {
                    "name": "go",
                    "steps": [[{"name": "s", "templateRef": {"name": "nope", "template": "main"}}]],
                }
            ],
        },
    }
    refused = client.post("/api/v1/workflows/default", json={"workflow": missing})
    assert refused.status_code == 400 and "no WorkflowTemplate 'nope'" in refused.json()["message"]
