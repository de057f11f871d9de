"""ArgoClient and the CLI's remote mode against a stub Argo Server, held to Argo's swagger."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.stub_argo import StubArgo
from tests.client.stub_cluster import LOG
from trainyard.client.argo import ArgoClient, stream_documents
from trainyard.core.errors import (
    ConflictError,
    EnvironmentError_,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UserError,
)

TOKEN = "stub-token"
WORKFLOW: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "train-", "labels": {"team": "vision"}},
    "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "lr", "value": "0.1"}]},
        "templates": [
            {
                "name": "main",
                "steps": [
                    [{"name": "train", "template": "work"}],
                    [{"name": "test", "template": "work"}],
                ],
            },
            {
                "name": "work",
                "container": {
                    "image": "python:3.11",
                    "command": ["python3", "-c", "print('hi')"],
                    "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
                },
                "retryStrategy": {"limit": 2},
            },
        ],
    },
}
WORKFLOW_YAML = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: cli-
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: train, template: work}
    - - {name: test, template: work}
  - name: work
    container:
      image: python:3.11
      command: [python3, -c, "print('hi')"]
"""


def _start(**kwargs: Any) -> StubArgo:
    return StubArgo(token=TOKEN, keepalive=0.05, **kwargs).start()


def _finish(stub: StubArgo) -> None:
    violations = stub.check.take()
    stub.stop()
    assert not violations, "requests or answers outside Argo's swagger:\n" + "\n".join(violations)


@pytest.fixture
def stub() -> Iterator[StubArgo]:
    """A stub whose workflows run on their own: Running after 0.1 s, Succeeded after 0.2 s."""
    running = _start(step_seconds=0.1)
    yield running
    _finish(running)


@pytest.fixture
def held() -> Iterator[StubArgo]:
    """A stub whose workflows move only when the test says so (`cluster.advance`)."""
    running = _start(step_seconds=None)
    yield running
    _finish(running)


@pytest.fixture
def client(stub: StubArgo) -> Iterator[ArgoClient]:
    with_token = ArgoClient(stub.url, TOKEN)
    yield with_token
    with_token.close()


@pytest.fixture
def held_client(held: StubArgo) -> Iterator[ArgoClient]:
    with_token = ArgoClient(held.url, TOKEN)
    yield with_token
    with_token.close()


def _phase(doc: dict[str, Any]) -> str | None:
    return (doc.get("status") or {}).get("phase")


def _sent(stub: StubArgo, method: str, path_end: str) -> list[dict[str, str]]:
    return [q for m, p, q in stub.requests if m == method and p.endswith(path_end)]


# -- info, create, get, list, delete ----------------------------------------------------------
def test_version_and_userinfo(client: ArgoClient) -> None:
    assert client.version()["version"] == "v4.1.2"
    assert client.userinfo()["serviceAccountName"] == "ci"


def test_create_get_only_some_fields_and_delete(held: StubArgo, held_client: ArgoClient) -> None:
    created = held_client.create_workflow(WORKFLOW)
    name = created["metadata"]["name"]
    assert name.startswith("train-") and created["metadata"]["namespace"] == "default"
    held.cluster.advance("default", name)
    brief = held_client.get_workflow(name, fields="metadata.name,status.phase")
    assert brief == {"metadata": {"name": name}, "status": {"phase": "Running"}}
    assert _sent(held, "GET", name) == [{"fields": "metadata.name,status.phase"}]
    held_client.delete_workflow(name)
    with pytest.raises(NotFoundError, match=f'workflows.argoproj.io "{name}" not found'):
        held_client.get_workflow(name)


def test_list_pages_through_three_pages_with_continue(
    held: StubArgo, held_client: ArgoClient
) -> None:
    made = {held_client.create_workflow(WORKFLOW)["metadata"]["name"] for _ in range(7)}
    other = {**WORKFLOW, "metadata": {"generateName": "other-", "labels": {"team": "nlp"}}}
    held_client.create_workflow(other)
    pages, token = [], None
    while True:
        page = held_client.list_workflows(
            label_selector="team=vision", limit=3, continue_token=token
        )
        pages.append([wf["metadata"]["name"] for wf in page["items"]])
        token = page["metadata"].get("continue")
        if not token:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert {name for page in pages for name in page} == made
    queries = _sent(held, "GET", "/workflows/default")
    assert [q.get("listOptions.limit") for q in queries] == ["3", "3", "3"]
    assert "listOptions.continue" not in queries[0] and queries[2]["listOptions.continue"]
    assert all(q["listOptions.labelSelector"] == "team=vision" for q in queries)


def test_list_by_phase_label_as_the_cli_asks(held: StubArgo, held_client: ArgoClient) -> None:
    first = held_client.create_workflow(WORKFLOW)["metadata"]["name"]
    second = held_client.create_workflow(WORKFLOW)["metadata"]["name"]
    held.cluster.advance("default", first)
    held.cluster.advance("default", first)
    held.cluster.advance("default", second)
    selector = "workflows.argoproj.io/phase in (Succeeded,Failed)"
    done = held_client.list_workflows(label_selector=selector)["items"]
    assert [wf["metadata"]["name"] for wf in done] == [first]
    running = held_client.list_workflows(label_selector="workflows.argoproj.io/completed!=true")
    assert [wf["metadata"]["name"] for wf in running["items"]] == [second]
    names = held_client.list_workflows(fields="items.metadata.name,metadata.continue")
    assert all(set(wf) == {"metadata"} for wf in names["items"])


# -- streams ----------------------------------------------------------------------------------
def test_watch_events_until_the_workflow_finishes(stub: StubArgo, client: ArgoClient) -> None:
    name = client.create_workflow(WORKFLOW)["metadata"]["name"]
    seen = []
    for event in client.watch_workflow(name):
        seen.append((event["type"], _phase(event["object"])))
        if _phase(event["object"]) == "Succeeded":
            break
    assert seen[0] in (("ADDED", None), ("ADDED", "Running"))
    assert seen[-1] == ("MODIFIED", "Succeeded")
    assert ("MODIFIED", "Running") in seen or seen[0] == ("ADDED", "Running")
    query = _sent(stub, "GET", "/workflow-events/default")[0]
    assert query == {"listOptions.fieldSelector": f"metadata.name={name}"}


def test_following_logs_ends_with_the_workflow(stub: StubArgo, client: ArgoClient) -> None:
    name = client.create_workflow(WORKFLOW)["metadata"]["name"]
    entries = list(client.logs(name, follow=True))
    assert client.get_workflow(name)["status"]["phase"] == "Succeeded"
    pods = {entry["podName"] for entry in entries}
    assert len(pods) == 2 and all(pod.startswith(f"{name}-work-") for pod in pods)
    for pod in pods:
        assert [e["content"] for e in entries if e["podName"] == pod] == LOG


def test_log_options_pod_grep_tail_timestamps(held: StubArgo, held_client: ArgoClient) -> None:
    name = held_client.create_workflow(WORKFLOW)["metadata"]["name"]
    assert list(held_client.logs(name)) == []  # no pod has started yet
    held.cluster.advance("default", name)
    held.cluster.advance("default", name)
    pod = next(iter(held_client.logs(name)))["podName"]
    only = [e["content"] for e in held_client.logs(name, pod_name=pod)]
    assert only == LOG
    assert [e["content"] for e in held_client.logs(name, grep="loss")] == [
        "epoch 1 loss=0.50", "epoch 2 loss=0.25", "epoch 1 loss=0.50", "epoch 2 loss=0.25",
    ]  # fmt: skip
    last = [e["content"] for e in held_client.logs(name, pod_name=pod, tail_lines=1)]
    assert last == [LOG[-1]]
    stamped = next(iter(held_client.logs(name, pod_name=pod, timestamps=True)))["content"]
    assert stamped.endswith(f"Z {LOG[0]}") and stamped.startswith("2026-")
    queries = _sent(held, "GET", f"{name}/log")
    assert {"podName", "logOptions.tailLines", "logOptions.timestamps", "grep"} <= {
        key for q in queries for key in q
    }


def test_streams_are_ndjson_unless_events_are_asked_for(held: StubArgo) -> None:
    held.cluster.create("default", WORKFLOW)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    path, params = "/api/v1/workflow-events/default", {"listOptions.timeoutSeconds": "1"}
    with httpx.Client(base_url=held.url, headers=headers) as raw:
        plain = raw.get(path, params=params, headers={"Accept": "application/json"})
        events = raw.get(path, params=params, headers={"Accept": "text/event-stream"})
    assert plain.headers["content-type"] == "application/json"
    assert [json.loads(line)["result"]["type"] for line in plain.text.splitlines()] == ["ADDED"]
    assert events.headers["content-type"] == "text/event-stream"
    assert events.text.startswith('data: {"result": {"type": "ADDED"')
    assert ": keep-alive\n\n" in events.text


def test_stream_documents_reads_events_and_ndjson() -> None:
    events = [": keep-alive", "", 'data: {"result": 1}', "", "event: x", "data: {", 'data: "a": 2}']
    assert list(stream_documents(events)) == ['{"result": 1}', '{\n"a": 2}']
    ndjson = ['{"result": {"a": 1}}', "", '{"result": {"a": 2}}']
    assert list(stream_documents(ndjson)) == ['{"result": {"a": 1}}', '{"result": {"a": 2}}']


# -- actions, templates, lint ------------------------------------------------------------------
def test_stop_terminate_suspend_resume_retry_set(held: StubArgo, held_client: ArgoClient) -> None:
    c = held_client
    name = c.create_workflow(WORKFLOW)["metadata"]["name"]
    held.cluster.advance("default", name)
    assert c.act("suspend", name)["spec"]["suspend"] is True
    held.cluster.advance("default", name)  # a suspended workflow stays where it is
    assert _phase(c.get_workflow(name)) == "Running"
    assert "suspend" not in c.act("resume", name)["spec"]
    node = c.act("set", name, nodeFieldSelector="displayName=train", message="checked")
    assert any(n.get("message") == "checked" for n in node["status"]["nodes"].values())
    stopped = c.act("stop", name, message="enough")
    assert _phase(stopped) == "Failed" and stopped["status"]["message"] == "enough"
    assert stopped["spec"]["shutdown"] == "Stop"
    with pytest.raises(ConflictError, match="cannot shutdown a completed workflow"):
        c.act("terminate", name)
    retried = c.act("retry", name, parameters=["lr=0.2"])
    assert _phase(retried) == "Running" and "shutdown" not in retried["spec"]
    assert _phase(c.act("terminate", name)) == "Failed"
    with pytest.raises(ValueError, match="stop takes no parameters"):
        c.act("stop", name, parameters=["x=1"])
    with pytest.raises(ValueError, match="unknown workflow action 'pause'"):
        c.act("pause", name)
    bodies = [q for m, p, q in held.requests if m == "PUT"]
    assert len(bodies) == 7


def test_resubmit_makes_a_copy_with_new_parameters(held_client: ArgoClient) -> None:
    name = held_client.create_workflow(WORKFLOW)["metadata"]["name"]
    copy = held_client.act("resubmit", name, parameters=["lr=0.5"])
    assert copy["metadata"]["name"].startswith(f"{name}-")
    assert copy["spec"]["arguments"]["parameters"] == [{"name": "lr", "value": "0.5"}]


def test_templates_and_submit_from_one(held: StubArgo, held_client: ArgoClient) -> None:
    c = held_client
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "nightly", "labels": {"team": "vision"}},
        "spec": WORKFLOW["spec"],
    }
    assert c.create_template(template)["metadata"]["name"] == "nightly"
    assert [t["metadata"]["name"] for t in c.list_templates(label_selector="team=vision")] == [
        "nightly"
    ]
    assert c.get_template("nightly")["spec"]["entrypoint"] == "main"
    made = c.submit_from("WorkflowTemplate", "nightly", ["lr=0.3"])
    assert made["spec"]["workflowTemplateRef"] == {"name": "nightly"}
    assert made["spec"]["arguments"]["parameters"] == [{"name": "lr", "value": "0.3"}]
    ran = held.cluster.advance("default", made["metadata"]["name"])
    assert _phase(ran) == "Running" and len(ran["status"]["nodes"]) == 3
    c.delete_template("nightly")
    with pytest.raises(NotFoundError, match=r'workflowtemplates.argoproj.io "nightly" not found'):
        c.submit_from("WorkflowTemplate", "nightly", [])


def test_lint_accepts_a_good_workflow_and_explains_a_bad_one(held_client: ArgoClient) -> None:
    assert held_client.lint_workflow(WORKFLOW)["spec"]["entrypoint"] == "main"
    bad = {**WORKFLOW, "spec": {**WORKFLOW["spec"], "entrypoint": "nope"}}
    with pytest.raises(UserError, match=r'spec.entrypoint: template "nope" is not defined'):
        held_client.lint_workflow(bad)
    with pytest.raises(UserError, match="is not defined"):
        held_client.create_workflow(bad)


# -- errors ------------------------------------------------------------------------------------
def test_error_bodies_become_trainyard_errors_with_argos_message(
    held: StubArgo, held_client: ArgoClient
) -> None:
    named = {**WORKFLOW, "metadata": {"name": "fixed"}}
    held_client.create_workflow(named)
    with pytest.raises(ConflictError, match=r'workflows.argoproj.io "fixed" already exists'):
        held_client.create_workflow(named)
    with pytest.raises(ConflictError, match="is not suspended"):
        held_client.act("resume", "fixed")
    with pytest.raises(NotFoundError, match='"ghost" not found'):
        list(held_client.logs("ghost"))
    with pytest.raises(NotFoundError, match='"ghost" not found'):
        held_client.act("stop", "ghost")
    anonymous = ArgoClient(held.url)
    with pytest.raises(UnauthenticatedError, match=r"token not valid.*--token or TRAINYARD_TOKEN"):
        anonymous.list_workflows()
    with pytest.raises(UnauthenticatedError, match="token not valid"):
        list(anonymous.watch_workflow("fixed"))
    viewer = ArgoClient(held.url, "viewer-token")
    assert viewer.get_workflow("fixed")["metadata"]["name"] == "fixed"
    with pytest.raises(PermissionDeniedError, match='cannot delete resource "workflows"'):
        viewer.delete_workflow("fixed")
    anonymous.close()
    viewer.close()


def test_a_stream_error_line_ends_the_stream_with_its_error(
    held: StubArgo, held_client: ArgoClient
) -> None:
    name = held_client.create_workflow(WORKFLOW)["metadata"]["name"]
    held.cluster.advance("default", name)
    entries = held_client.logs(name, follow=True)
    assert next(entries)["content"] == LOG[0]
    held.cluster.delete("default", name)
    with pytest.raises(NotFoundError, match=f'"{name}" not found'):
        list(entries)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_an_unreachable_server_is_a_clear_environment_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    client = ArgoClient(url, TOKEN, timeout=2)
    with pytest.raises(EnvironmentError_, match=f"cannot reach the server at {url}"):
        client.version()
    with pytest.raises(EnvironmentError_, match=f"cannot reach the server at {url}"):
        list(client.logs("x"))
    client.close()


class _WebPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = b"<html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        return


def test_a_server_that_is_not_argo_is_named_as_the_problem() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = ArgoClient(url, TOKEN)
    try:
        with pytest.raises(EnvironmentError_, match=r"not JSON.*Welcome to nginx"):
            client.version()
        with pytest.raises(EnvironmentError_, match="is --server the address of an Argo"):
            list(client.watch_workflow("x"))
    finally:
        client.close()
        server.shutdown()
        server.server_close()


# -- the checker itself ------------------------------------------------------------------------
def test_the_swagger_check_catches_what_argo_would_not_understand(stub: StubArgo) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=stub.url, headers=headers) as raw:
        raw.get("/api/v1/workflows/default", params={"labelSelector": "a=b"})
        raw.get("/api/v1/workflows/default", params={"listOptions.limit": "ten"})
        raw.get("/api/v1/workflows/default/x/log", params={"logOptions.follow": "1"})
        raw.put("/api/v1/workflows/default/x/stop", json={"name": "x", "parameters": ["a=1"]})
        raw.post("/api/v1/workflows/default", json={"workflow": {"metadata": {}, "spec": []}})
        raw.get("/api/v1/workflow/default")
    found = "\n".join(stub.check.take())
    assert "query parameter 'labelSelector' is not declared" in found
    assert "listOptions.limit='ten' is not an integer" in found
    assert "logOptions.follow='1' is not a boolean" in found
    assert "Additional properties are not allowed ('parameters' was unexpected)" in found
    assert "request body at workflow/spec: [] is not of type 'object'" in found
    assert "GET /api/v1/workflow/default: no operation in the swagger" in found


# -- the CLI's remote mode ---------------------------------------------------------------------
def _cli(stub: StubArgo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "TRAINYARD_HOME": "/nonexistent/trainyard-home"}
    return subprocess.run(
        [sys.executable, "-m", "trainyard", "--server", stub.url, "--token", TOKEN, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_the_cli_remote_mode_against_the_stub(stub: StubArgo, tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW_YAML)
    done = _cli(stub, "submit", str(path), "--wait", "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    name = wf["metadata"]["name"]
    assert name.startswith("cli-") and wf["status"]["phase"] == "Succeeded"
    listed = _cli(stub, "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert [w["metadata"]["name"] for w in json.loads(listed.stdout)["items"]] == [name]
    logs = _cli(stub, "logs", name)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.count("epoch 2 loss=0.25") == 2 and "done: accuracy=0.98" in logs.stdout

    client = ArgoClient(stub.url, TOKEN)
    other = client.create_workflow({**WORKFLOW, "metadata": {"name": "held"}})["metadata"]["name"]
    client.act("suspend", other)  # so that it is still running when `stop` comes
    client.close()
    stopped = _cli(stub, "stop", other)
    assert stopped.returncode == 0 and stopped.stdout.strip() == f"workflow {other} stopped"
    assert stub.cluster.get("default", other)["status"]["phase"] == "Failed"
    deleted = _cli(stub, "delete", name)
    assert deleted.returncode == 0 and deleted.stdout.strip() == f"workflow {name} deleted"
    gone = _cli(stub, "delete", name)
    assert gone.returncode == 2 and f'"{name}" not found' in gone.stderr
    assert "Traceback" not in gone.stderr
