"""Argo's Python clients against a real server: Hera, and the official `argo-workflows` SDK.

No `from __future__ import annotations` here: Hera reads the script's annotations as types.
"""

import json
import time
from pathlib import Path
from typing import Any

import argo_workflows
import pytest
import yaml
from argo_workflows.api import workflow_service_api, workflow_template_service_api
from argo_workflows.exceptions import ApiTypeError
from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_create_request import (
    IoArgoprojWorkflowV1alpha1WorkflowCreateRequest,
)
from hera.workflows import Steps, Workflow, WorkflowsService, script
from hera.workflows.models import WorkflowTemplateCreateRequest

from tests.api.conftest import Server, create, wait

ROOT = Path(__file__).resolve().parents[2]
# Hera still calls pydantic's v1-style methods.
pytestmark = pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20")


@script()
def greet(name: str = "world") -> None:
    print(f"hello {name}")


def test_hera_creates_a_workflow_waits_and_reads_its_logs(server: Server) -> None:
    service = WorkflowsService(host=server.url, token=None, namespace="default")
    with (
        Workflow(
            generate_name="hera-", entrypoint="main", namespace="default", workflows_service=service
        ) as w,
        Steps(name="main"),
    ):
        greet(arguments={"name": "hera"})
        greet(name="again", arguments={"name": "twice"})
    created = w.create()
    name = created.metadata.name
    assert name is not None and name.startswith("hera-")
    deadline = time.monotonic() + 60
    while True:
        got = service.get_workflow(name)
        if got.status is not None and got.status.phase in ("Succeeded", "Failed", "Error"):
            break
        assert time.monotonic() < deadline, "did not finish"
        time.sleep(0.2)
    assert got.status.phase == "Succeeded"
    assert name in [i.metadata.name for i in service.list_workflows().items]
    # Hera's workflow_logs parses the whole stream as one JSON object, which fails against
    # Argo too once there is more than one line; its session reads the stream as it comes.
    response = service.session.get(f"{server.url}/api/v1/workflows/default/{name}/log")
    lines = [json.loads(line)["result"]["content"] for line in response.text.splitlines()]
    assert lines == ["hello hera", "hello twice"]


def test_hera_template_service(server: Server) -> None:
    service = WorkflowsService(host=server.url, token=None, namespace="default")
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "hera-template"},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "suspend": {}}]},
    }
    made = service.create_workflow_template(WorkflowTemplateCreateRequest(template=doc))
    assert made.metadata.name == "hera-template"
    assert service.get_workflow_template("hera-template").spec.entrypoint == "main"


def sdk(server: Server) -> argo_workflows.ApiClient:
    return argo_workflows.ApiClient(argo_workflows.Configuration(host=server.url))


def test_argo_sdk_creates_gets_and_reads_logs(server: Server) -> None:
    api = workflow_service_api.WorkflowServiceApi(sdk(server))
    doc = yaml.safe_load((ROOT / "examples" / "pipeline" / "workflow.yaml").read_text())
    request = IoArgoprojWorkflowV1alpha1WorkflowCreateRequest(workflow=doc, _check_type=False)
    created = api.create_workflow("default", request)
    name = created.metadata.name
    with server.client() as http:
        wait(http, name, timeout=120)
    got = api.get_workflow("default", name)
    assert got.status.phase == "Succeeded"
    pods = [n for n in got.status.nodes.values() if n.type == "Pod"]
    assert pods and all(n.outputs is not None for n in pods)
    artifacts = [a for n in pods for a in (n.outputs.artifacts or [])]
    assert artifacts, "local artifacts deserialize (as additional properties)"
    listed = api.list_workflows("default", list_options_limit="2")
    assert len(listed.items) <= 2
    logs = api.workflow_logs("default", name, log_options_container="main", _preload_content=False)
    entries = [json.loads(line)["result"] for line in logs.data.decode().splitlines()]
    assert entries and all(e["podName"].startswith(name) for e in entries)
    templates = workflow_template_service_api.WorkflowTemplateServiceApi(sdk(server))
    assert templates.list_workflow_templates("default").items is not None


def test_argo_sdk_chokes_on_string_loop_items_as_it_does_with_argo(server: Server) -> None:
    """The SDK types each `withItems` item as an object, so a list of strings (valid Argo,
    and kept as written by the server) fails in the client; raw HTTP reads it fine."""
    doc: dict[str, Any] = yaml.safe_load(
        (ROOT / "examples" / "loops" / "workflow.yaml").read_text()
    )
    with server.client() as http:
        name = create(http, doc)["metadata"]["name"]
    api = workflow_service_api.WorkflowServiceApi(sdk(server))
    with pytest.raises(ApiTypeError, match="with_items"):
        api.get_workflow("default", name)
    raw = api.get_workflow("default", name, _preload_content=False)
    assert json.loads(raw.data)["spec"]["templates"][0]["steps"][0][0]["withItems"]


def test_quantities_come_back_as_strings_for_the_sdk(server: Server) -> None:
    """`cpu: 1` is valid YAML for a quantity; Kubernetes stores it as "1", and the SDK insists."""
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "quantity-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "container": {
                        "image": "busybox",
                        "command": ["true"],
                        "resources": {"requests": {"cpu": 0.5}, "limits": {"cpu": 1}},
                    },
                }
            ],
        },
    }
    with server.client() as http:
        name = create(http, doc)["metadata"]["name"]
        wait(http, name)
    got = workflow_service_api.WorkflowServiceApi(sdk(server)).get_workflow("default", name)
    resources = got.spec.templates[0].container.resources
    assert (resources.requests["cpu"], resources.limits["cpu"]) == ("500m", "1")
    assert got.status.phase == "Succeeded"
