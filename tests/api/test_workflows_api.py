"""The workflow endpoints of a real server: create, get, list, lint, edits, delete, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.api.conftest import Server, create, wait, workflow

W = "/api/v1/workflows"


def test_a_created_workflow_runs_and_carries_its_creator(client: httpx.Client) -> None:
    made = create(client, workflow(script="print('hi')"))
    meta = made["metadata"]
    assert meta["name"].startswith("t-") and meta["namespace"] == "default"
    assert meta["labels"]["workflows.argoproj.io/creator"] == "anonymous"
    assert meta["resourceVersion"] == "1" and meta["uid"] and meta["creationTimestamp"]
    done = wait(client, meta["name"])
    assert done["status"]["phase"] == "Succeeded"


def test_get_with_fields_keeps_or_drops_paths(client: httpx.Client) -> None:
    name = create(client, workflow())["metadata"]["name"]
    wait(client, name)
    kept = client.get(f"{W}/default/{name}", params={"fields": "metadata.name,status.phase"})
    assert kept.json() == {"metadata": {"name": name}, "status": {"phase": "Succeeded"}}
    dropped = client.get(f"{W}/default/{name}", params={"fields": "-status.nodes,spec"}).json()
    assert "nodes" not in dropped["status"] and "spec" not in dropped
    assert dropped["status"]["phase"] == "Succeeded"


def test_list_pages_with_limit_and_continue(client: httpx.Client) -> None:
    made = [create(client, workflow(), "paging")["metadata"]["name"] for _ in range(5)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"listOptions.limit": "2", "fields": "metadata,items.metadata.name"}
        if token:
            params["listOptions.continue"] = token
        page = client.get(f"{W}/paging", params=params).json()
        seen += [item["metadata"]["name"] for item in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
    assert pages == 3
    assert seen == list(reversed(made)), "newest first, each once"


def test_list_filters_by_label_selector(client: httpx.Client) -> None:
    for team, tier in (("a", "gpu"), ("b", "cpu"), ("c", None)):
        doc = workflow()
        doc["metadata"]["labels"] = {"team": team, **({"tier": tier} if tier else {})}
        create(client, doc, "selectors")

    def teams(selector: str) -> list[str]:
        response = client.get(f"{W}/selectors", params={"listOptions.labelSelector": selector})
        assert response.status_code == 200, response.text
        return sorted(i["metadata"]["labels"]["team"] for i in response.json()["items"])

    assert teams("team=a") == ["a"]
    assert teams("team!=a") == ["b", "c"]
    assert teams("team in (a, c)") == ["a", "c"]
    assert teams("team notin (a)") == ["b", "c"]
    assert teams("tier") == ["a", "b"]
    assert teams("!tier") == ["c"]
    assert teams("tier,team=b") == ["b"]
    bad = client.get(f"{W}/selectors", params={"listOptions.labelSelector": "team in a"})
    assert bad.status_code == 400 and "label selector" in bad.json()["message"]


def test_phase_labels_select_by_phase(client: httpx.Client) -> None:
    name = create(client, workflow(), "phases")["metadata"]["name"]
    wait(client, name, "phases")
    create(client, workflow(suspend=True), "phases")

    def names(selector: str) -> int:
        params = {"listOptions.labelSelector": selector}
        return len(client.get(f"{W}/phases", params=params).json()["items"])

    assert names("workflows.argoproj.io/completed=true") == 1
    assert names("workflows.argoproj.io/completed!=true") == 1
    assert names("workflows.argoproj.io/phase in (Succeeded)") == 1


def test_field_selector_on_the_name(client: httpx.Client) -> None:
    name = create(client, workflow(), "fields")["metadata"]["name"]
    create(client, workflow(), "fields")
    found = client.get(f"{W}/fields", params={"listOptions.fieldSelector": f"metadata.name={name}"})
    assert [i["metadata"]["name"] for i in found.json()["items"]] == [name]
    other = client.get(f"{W}/fields", params={"listOptions.fieldSelector": "spec.x=1"})
    assert other.status_code == 400


def test_unknown_workflow_is_404_in_argos_shape(client: httpx.Client) -> None:
    response = client.get(f"{W}/default/missing")
    assert response.status_code == 404
    assert response.json() == {
        "code": 5,
        "message": "workflow 'missing' not found in namespace 'default'",
    }


def test_creating_a_name_twice_is_409(client: httpx.Client) -> None:
    create(client, workflow("twice"))
    again = client.post(f"{W}/default", json={"workflow": workflow("twice")})
    assert again.status_code == 409 and again.json()["code"] == 6
    assert "already exists" in again.json()["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{W}/Bad_NS", {"workflow": workflow()}),
        (f"{W}/default", {"workflow": workflow("Upper")}),
        (f"{W}/default", {"workflow": workflow("a" * 254)}),
        (f"{W}/default", {"workflow": {**workflow(), "metadata": {"generateName": "-x"}}}),
    ],
)
def test_names_must_follow_rfc_1123(client: httpx.Client, path: str, body: object) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert "RFC 1123" in response.json()["message"] or "longer than" in response.json()["message"]
    assert client.get(f"{W}/default/Not_A_Name").status_code == 400


def test_an_invalid_workflow_gets_lints_messages(
    client: httpx.Client, tmp_path: object, server: Server
) -> None:
    doc = workflow("invalid")
    doc["spec"]["entrypoint"] = "missing"
    doc["spec"]["templates"][0]["script"]["imagePullPolicyy"] = "x"
    response = client.post(f"{W}/default", json={"workflow": doc})
    assert response.status_code == 400
    message = response.json()["message"]
    path = server.home.parent / "invalid.json"
    path.write_text(json.dumps({"apiVersion": "argoproj.io/v1alpha1", **doc}, indent=2))
    lint = subprocess.run(
        [sys.executable, "-m", "trainyard", "lint", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 2
    expected = [line.split(": error: ", 1)[1] for line in lint.stderr.splitlines() if line]
    assert [line.split(": error: ", 1)[1] for line in message.splitlines()] == expected
    assert any("imagePullPolicyy" in line for line in expected)
    linted = client.post(f"{W}/default/lint", json={"workflow": doc})
    assert linted.status_code == 400 and linted.json()["message"] == message


def test_lint_answers_the_normalized_workflow(client: httpx.Client) -> None:
    response = client.post(f"{W}/default/lint", json={"workflow": workflow()})
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["entrypoint"] == "main"
    assert client.get(f"{W}/default", params={"fields": "items.metadata.name"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b'{"workflow": {', "application/json", "invalid JSON"),
        (b"workflow: [", "application/yaml", "invalid YAML"),
        (b'{"workflow": {}, "bogus": 1}', "application/json", "bogus"),
        (b"[1, 2]", "application/json", "body"),
        (b"", "application/json", "body"),
    ],
)
def test_malformed_bodies_are_400_with_the_parse_error(
    client: httpx.Client, body: bytes, content_type: str, needle: str
) -> None:
    response = client.post(f"{W}/default", content=body, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    assert needle in response.json()["message"]


def test_a_yaml_body_is_accepted(client: httpx.Client) -> None:
    text = "workflow:\n  metadata: {name: from-yaml}\n  spec:\n    entrypoint: main\n" + (
        "    templates:\n    - name: main\n      suspend: {}\n"
    )
    response = client.post(f"{W}/default", content=text, headers={"content-type": "text/yaml"})
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["name"] == "from-yaml"


def test_bodies_over_3_mib_are_413(client: httpx.Client) -> None:
    big = b'{"workflow": {"x": "' + b"a" * (3 * 1024 * 1024) + b'"}}'
    assert len(big) > 3 * 1024 * 1024 + 1
    response = client.post(f"{W}/default", content=big)
    assert response.status_code == 413 and response.json()["code"] == 8

    def chunks() -> object:
        for _ in range(4):
            yield b" " * (1024 * 1024)

    streamed = client.post(f"{W}/default", content=chunks())  # chunked: no content-length
    assert streamed.status_code == 413


def test_stop_terminate_suspend_resume(client: httpx.Client) -> None:
    name = create(client, workflow(script="import time; time.sleep(30)"))["metadata"]["name"]
    suspended = client.put(f"{W}/default/{name}/suspend", json={})
    assert suspended.status_code == 200 and suspended.json()["spec"]["suspend"] is True
    resumed = client.put(f"{W}/default/{name}/resume")
    assert resumed.status_code == 200 and "suspend" not in resumed.json()["spec"]
    stopped = client.put(f"{W}/default/{name}/stop", json={"name": name})
    assert stopped.status_code == 200 and stopped.json()["spec"]["shutdown"] == "Stop"
    assert wait(client, name)["status"]["phase"] in ("Failed", "Error")
    again = client.put(f"{W}/default/{name}/terminate", json={})
    assert again.status_code == 409 and "already" in again.json()["message"]


def test_retry_and_resubmit(client: httpx.Client) -> None:
    doc = workflow(script="import sys; sys.exit(1)")
    name = create(client, doc)["metadata"]["name"]
    assert wait(client, name)["status"]["phase"] == "Failed"
    retried = client.put(f"{W}/default/{name}/retry", json={})
    assert retried.status_code == 200, retried.text
    assert wait(client, name)["status"]["phase"] == "Failed"
    copy = client.put(f"{W}/default/{name}/resubmit", json={"memoized": False})
    assert copy.status_code == 200, copy.text
    assert copy.json()["metadata"]["name"] != name
    assert copy.json()["metadata"]["generateName"] == "t-", "the original's generateName"
    unsupported = client.put(f"{W}/default/{name}/retry", json={"restartSuccessful": True})
    assert unsupported.status_code == 400
    memoized = client.put(f"{W}/default/{name}/resubmit", json={"memoized": True})
    assert memoized.status_code == 200, memoized.text
    made = memoized.json()["metadata"]["name"]
    assert made.startswith("t-") and made != name
    assert wait(client, made)["status"]["phase"] == "Failed"  # its one step failed again


def test_set_approves_a_suspend_node(client: httpx.Client) -> None:
    doc = workflow("approval")
    doc["spec"]["templates"] = [
        {"name": "main", "steps": [[{"name": "approve", "template": "gate"}]]},
        {"name": "gate", "suspend": {}},
    ]
    create(client, doc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        nodes = client.get(f"{W}/default/approval").json().get("status", {}).get("nodes", {})
        if any(n["type"] == "Suspend" for n in nodes.values()):
            break
        time.sleep(0.1)
    bad = client.put(f"{W}/default/approval/set", json={"nodeFieldSelector": "bogus=1"})
    assert bad.status_code == 400
    body = {"nodeFieldSelector": "displayName=approve", "phase": "Succeeded", "message": "ok"}
    assert client.put(f"{W}/default/approval/set", json=body).status_code == 200
    assert wait(client, "approval")["status"]["phase"] == "Succeeded"


def test_delete_terminates_a_running_workflow_first(client: httpx.Client) -> None:
    name = create(client, workflow(script="import time; time.sleep(60)"))["metadata"]["name"]
    time.sleep(1.5)
    response = client.delete(f"{W}/default/{name}")
    assert response.status_code == 200 and response.json() == {}
    assert client.get(f"{W}/default/{name}").status_code == 404
    assert client.delete(f"{W}/default/{name}").status_code == 404


def test_info_version_userinfo_and_openapi(client: httpx.Client) -> None:
    assert client.get("/api/v1/version").json()["version"].startswith("v")
    assert client.get("/api/v1/info").json()["managedNamespace"] == ""
    assert client.get("/api/v1/userinfo").json()["name"] == "anonymous"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/workflows/{namespace}" in spec["paths"]
    assert "/api/v1/workflow-events/{namespace}" in spec["paths"]


def test_unknown_paths_and_methods_answer_in_argos_shape(client: httpx.Client) -> None:
    assert client.get("/api/v1/nothing").json() == {"code": 5, "message": "Not Found"}
    assert client.patch(f"{W}/default/x").status_code == 405
