"""Who may do what through the API: 401 without a valid token, 403 when the role forbids it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeApp, TokenTable, workflow
from trainyard.auth.roles import Principal

PRINCIPALS = {
    "root": Principal("root", admin=True),
    "viewer": Principal("vera", roles={"team-a": "viewer"}),
    "runner": Principal("rita", roles={"team-a": "runner"}),
    "runner2": Principal("rob", roles={"team-a": "runner", "team-b": "runner"}),
    "lead": Principal("lena", roles={"team-a": "admin"}),
    "everywhere": Principal("eve", roles={"*": "viewer"}),
}
W = "/api/v1/workflows"


@pytest.fixture
def app(make_app: MakeApp) -> TestClient:
    return make_app(TokenTable(PRINCIPALS))


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(app: TestClient, token: str, namespace: str = "team-a", **labels: str) -> Any:
    doc = workflow()
    if labels:
        doc["metadata"]["labels"] = labels
    return app.post(f"{W}/{namespace}", json={"workflow": doc}, headers=as_(token))


def test_no_token_or_a_wrong_one_is_401(app: TestClient) -> None:
    missing = app.get(f"{W}/team-a")
    assert missing.status_code == 401 and missing.json()["code"] == 16
    assert app.get(f"{W}/team-a", headers=as_("forged")).status_code == 401
    assert app.get(f"{W}/team-a", headers={"Authorization": "viewer"}).status_code == 200


def test_viewers_read_their_namespace_only(app: TestClient) -> None:
    assert app.get(f"{W}/team-a", headers=as_("viewer")).status_code == 200
    other = app.get(f"{W}/team-b", headers=as_("viewer"))
    assert other.status_code == 403 and other.json()["code"] == 7
    assert create(app, "viewer").status_code == 403
    assert app.get(f"{W}/", headers=as_("viewer")).status_code == 403
    assert app.get(f"{W}/", headers=as_("everywhere")).status_code == 200


def test_runners_create_as_themselves_and_modify_only_their_own(app: TestClient) -> None:
    mine = create(app, "runner", **{"workflows.argoproj.io/creator": "someone-else"}).json()
    assert mine["metadata"]["labels"]["workflows.argoproj.io/creator"] == "rita"
    theirs = create(app, "runner2").json()
    name, other = mine["metadata"]["name"], theirs["metadata"]["name"]
    assert app.put(f"{W}/team-a/{name}/suspend", headers=as_("runner")).status_code == 200
    refused = app.put(f"{W}/team-a/{other}/suspend", headers=as_("runner"))
    assert refused.status_code == 403 and "rob" in refused.json()["message"]
    assert app.delete(f"{W}/team-a/{other}", headers=as_("runner")).status_code == 403
    assert app.put(f"{W}/team-a/{other}/terminate", headers=as_("lead")).status_code == 200
    assert app.put(f"{W}/team-a/{name}/stop", headers=as_("root")).status_code == 200
    assert app.put(f"{W}/team-a/{name}/stop", headers=as_("viewer")).status_code == 403
    assert create(app, "runner", "team-b").status_code == 403


def test_resubmit_needs_create_and_makes_the_caller_the_creator(app: TestClient) -> None:
    name = create(app, "runner").json()["metadata"]["name"]
    copy = app.put(f"{W}/team-a/{name}/resubmit", headers=as_("runner2"))
    assert copy.status_code == 200, copy.text
    assert copy.json()["metadata"]["labels"]["workflows.argoproj.io/creator"] == "rob"
    assert app.put(f"{W}/team-a/{name}/resubmit", headers=as_("viewer")).status_code == 403


def template(name: str, kind: str = "WorkflowTemplate") -> dict[str, Any]:
    doc = workflow(name)
    return {**doc, "kind": kind}


def test_templates_create_needs_create_and_delete_needs_modify(app: TestClient) -> None:
    path = "/api/v1/workflow-templates/team-a"
    made = app.post(path, json={"template": template("t1")}, headers=as_("runner"))
    assert made.status_code == 200, made.text
    assert (
        app.post(path, json={"template": template("t2")}, headers=as_("viewer")).status_code == 403
    )
    assert app.get(f"{path}/t1", headers=as_("viewer")).status_code == 200
    assert app.delete(f"{path}/t1", headers=as_("runner2")).status_code == 403
    assert app.delete(f"{path}/t1", headers=as_("runner")).status_code == 200


def test_cluster_templates_need_admin_everywhere_to_write(app: TestClient) -> None:
    path = "/api/v1/cluster-workflow-templates"
    body = {"template": template("shared", "ClusterWorkflowTemplate")}
    assert app.post(path, json=body, headers=as_("lead")).status_code == 403
    assert app.post(path, json=body, headers=as_("root")).status_code == 200
    assert app.get(f"{path}/shared", headers=as_("viewer")).status_code == 200
    assert app.delete(f"{path}/shared", headers=as_("runner")).status_code == 403
    submit = {"resourceKind": "ClusterWorkflowTemplate", "resourceName": "shared"}
    ran = app.post(f"{W}/team-a/submit", json=submit, headers=as_("runner"))
    assert ran.status_code == 200, ran.text
    assert app.post(f"{W}/team-b/submit", json=submit, headers=as_("runner")).status_code == 403


def test_trainyard_admin_endpoints(app: TestClient) -> None:
    assert app.get("/api/v1/trainyard/queue", headers=as_("runner")).status_code == 403
    queue = app.get("/api/v1/trainyard/queue", headers=as_("root"))
    assert queue.status_code == 200 and queue.json() == {"waiting": [], "running": []}
    assert app.get("/api/v1/userinfo", headers=as_("runner")).json()["name"] == "rita"


def test_streams_and_artifacts_check_the_namespace(app: TestClient) -> None:
    name = create(app, "runner").json()["metadata"]["name"]
    assert app.get(f"{W}/team-a/{name}/log", headers=as_("runner2")).status_code == 200
    assert app.get(f"{W}/team-a/{name}/log", headers=as_("everywhere")).status_code == 200
    refused = app.get("/api/v1/workflow-events/team-b", headers=as_("viewer"))
    assert refused.status_code == 403
    art = app.get(f"/artifacts/team-b/{name}/node/model", headers=as_("viewer"))
    assert art.status_code == 403


def test_only_an_admin_names_another_tenant_than_the_namespace(app: TestClient) -> None:
    refused = create(app, "runner", **{"trainyard.io/tenant": "team-b"})
    assert refused.status_code == 403 and "trainyard.io/tenant" in refused.json()["message"]
    assert create(app, "runner", **{"trainyard.io/tenant": "team-a"}).status_code == 200
    assert create(app, "lead", **{"trainyard.io/tenant": "research"}).status_code == 200
