"""http templates and lifecycle hooks, end to end: real `trainyard run`, real HTTP server."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Runner
from tests.http_fixture import Server, http_server

__all__ = ["http_server"]

SECRET = "t0p-s3cret"

REQUESTS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: http-run}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: get, template: get}
      - {name: post, template: post}
      - {name: created, template: created}
      - {name: not-ok, template: not-ok, continueOn: {failed: true}}
      - {name: missing, template: missing, continueOn: {failed: true}}
      - {name: slow, template: slow, continueOn: {failed: true}}
      - {name: private, template: private}
      - {name: flaky, template: flaky}
    - - name: use
        template: use
        arguments: {parameters: [{name: body, value: "{{steps.private.outputs.result}}"}]}
  - name: get
    http:
      url: URL/hello
      headers: [{name: X-Team, value: "{{workflow.name}}"}]
  - name: post
    http: {url: URL/items, method: POST, body: '{"lr": 0.1}'}
  - name: created
    http: {url: URL/created, successCondition: "response.statusCode == 201"}
  - name: not-ok
    http: {url: URL/created, successCondition: 'response.body contains "nothing"'}
  - name: missing
    http: {url: URL/missing}
  - name: slow
    http: {url: URL/slow, timeoutSeconds: 1}
  - name: private
    http:
      url: URL/private
      headers:
      - name: Authorization
        valueFrom: {secretKeyRef: {name: api, key: token}}
  - name: flaky
    retryStrategy: {limit: 3}
    http: {url: URL/flaky}
  - name: use
    inputs: {parameters: [{name: body}]}
    container: {image: busybox, command: [echo, "got {{inputs.parameters.body}}"]}
"""


def _nodes(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["displayName"]: n for n in wf["status"]["nodes"].values()}


def test_http_templates_make_real_requests(
    trainyard: Runner, write: Callable[[str, str], Path], http_server: Server, home: Path
) -> None:
    http_server.flaky["/flaky"] = 2
    created = trainyard("secret", "create", "api", "--from-literal", f"token=Bearer {SECRET}")
    assert created.returncode == 0, created.stderr
    text = REQUESTS.replace("URL", http_server.url)
    done = trainyard("run", str(write("http.yaml", text)), "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    nodes = _nodes(wf)
    assert {nodes[n]["type"] for n in ("get", "post", "created", "private")} == {"HTTP"}
    assert json.loads(nodes["get"]["outputs"]["result"])["path"] == "/hello"
    assert http_server.got("/hello")[0].headers["X-Team"] == "http-run"
    posted = http_server.got("/items")[0]
    assert (posted.method, posted.body) == ("POST", b'{"lr": 0.1}')
    assert nodes["created"]["phase"] == "Succeeded"
    assert nodes["not-ok"]["phase"] == "Failed"
    assert (
        nodes["not-ok"]["message"]
        == "successCondition 'response.body contains \"nothing\"' evaluated false"
    )
    assert nodes["missing"]["phase"] == "Failed"
    assert nodes["missing"]["message"] == "received non-2xx response code: 404"
    assert nodes["missing"]["outputs"]["result"] == "no such thing\n"
    assert nodes["slow"]["phase"] == "Failed"
    assert nodes["slow"]["message"].endswith('/slow": no response within 1s')
    assert nodes["private"]["outputs"]["result"] == "welcome"
    assert http_server.got("/private")[0].headers["Authorization"] == f"Bearer {SECRET}"
    attempts = [nodes[f"flaky({i})"]["phase"] for i in range(3)]
    assert attempts == ["Failed", "Failed", "Succeeded"]
    assert nodes["flaky"]["phase"] == "Succeeded"
    # The Secret's value reaches the server only: not the status, the logs or any file.
    logs = trainyard("logs", "http-run")
    assert "use: got welcome" in logs.stdout
    assert "private: GET " in logs.stdout
    shown = trainyard("get", "http-run", "-o", "yaml").stdout + done.stdout + logs.stdout
    assert SECRET not in shown
    for path in home.rglob("*"):
        if path.is_file() and not path.name.startswith("trainyard.db"):
            assert SECRET.encode() not in path.read_bytes(), path


WORKFLOW_HOOKS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf-hooks}
spec:
  entrypoint: main
  hooks:
    exit:
      template: http
      arguments: {parameters: [{name: path, value: exit}]}
    running:
      expression: workflow.status == "Running"
      template: http
      arguments: {parameters: [{name: path, value: running}]}
  templates:
  - name: main
    steps:
    - - {name: step1, template: heads}
  - name: heads
    container: {image: argoproj/argosay:v2, args: [echo, it was heads]}
  - name: http
    inputs: {parameters: [{name: path}]}
    http: {url: "URL/{{inputs.parameters.path}}"}
"""


def test_workflow_level_hooks(
    trainyard: Runner, write: Callable[[str, str], Path], http_server: Server
) -> None:
    text = WORKFLOW_HOOKS.replace("URL", http_server.url)
    done = trainyard("run", str(write("hooks.yaml", text)), "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    names = {n["name"]: n for n in wf["status"]["nodes"].values()}
    assert names["wf-hooks.hooks.running"]["type"] == "HTTP"
    assert names["wf-hooks.hooks.running"]["phase"] == "Succeeded"
    assert names["wf-hooks.onExit"]["phase"] == "Succeeded"
    assert Counter(r.path for r in http_server.received) == {"/running": 1, "/exit": 1}


TEMPLATE_HOOKS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: step-hooks}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: step-1
        template: echo
        hooks:
          running:
            expression: steps["step-1"].status == "Running"
            template: http
            arguments: {parameters: [{name: path, value: step-1-running}]}
          success:
            expression: steps["step-1"].status == "Succeeded"
            template: http
            arguments: {parameters: [{name: path, value: step-1-success}]}
    - - name: step2
        template: echo
        hooks:
          running:
            expression: steps.step2.status == "Running"
            template: http
            arguments: {parameters: [{name: path, value: step2-running}]}
          failed:
            expression: steps.step2.status == "Failed"
            template: http
            arguments: {parameters: [{name: path, value: step2-failed}]}
  - name: echo
    container: {image: argoproj/argosay:v2, args: [echo, it was heads]}
  - name: http
    inputs: {parameters: [{name: path}]}
    http: {url: "URL/{{inputs.parameters.path}}"}
"""


def test_step_level_hooks(
    trainyard: Runner, write: Callable[[str, str], Path], http_server: Server
) -> None:
    text = TEMPLATE_HOOKS.replace("URL", http_server.url)
    done = trainyard("run", str(write("hooks.yaml", text)), "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    hooks = sorted(n["name"] for n in wf["status"]["nodes"].values() if ".hooks." in n["name"])
    assert hooks == [
        "step-hooks[0].step-1.hooks.running",
        "step-hooks[0].step-1.hooks.success",
        "step-hooks[1].step2.hooks.running",
    ]
    assert Counter(r.path for r in http_server.received) == {
        "/step-1-running": 1,
        "/step-1-success": 1,
        "/step2-running": 1,
    }
