"""`run|submit --debug`: the debugpy rewrite, launch.json, and a real debugger attached over DAP."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import start_server
from trainyard.cli.debug import (
    Listener,
    choose,
    debug_container,
    debug_remote,
    merge_launch,
    program_start,
    rewrite,
    strip_jsonc,
    write_launch,
)
from trainyard.controller.launch import SCRIPT_PATH
from trainyard.core.errors import UserError

LISTEN = "127.0.0.1:5678"
DEBUGPY = ["-m", "debugpy", "--listen", LISTEN, "--wait-for-client"]


def workflow(*templates: dict[str, Any], steps: list[str] | None = None) -> dict[str, Any]:
    """A workflow whose `main` runs one step per template (named after it unless `steps`)."""
    names = steps or [str(t["name"]) for t in templates]
    main = {
        "name": "main",
        "steps": [
            [{"name": n, "template": t["name"]}] for n, t in zip(names, templates, strict=True)
        ],
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "wf"},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "debug", "value": "true"}]},
            "templates": [main, *templates],
        },
    }


def container(name: str, command: list[str], args: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"image": "python:3.11", "command": command}
    if args is not None:
        body["args"] = args
    return {"name": name, "container": body}


def script(name: str, command: list[str]) -> dict[str, Any]:
    return {"name": name, "script": {"image": "python:3.11", "command": command, "source": "1"}}


def listeners(doc: dict[str, Any], wanted: list[str] | None = None) -> list[Listener]:
    return [Listener(step, LISTEN, 5678) for step in choose(doc, wanted or [])]


def rewritten(doc: dict[str, Any], wanted: list[str] | None = None) -> dict[str, dict[str, Any]]:
    done = rewrite(doc, listeners(doc, wanted), cluster=False)
    return {t["name"]: t for t in done["spec"]["templates"]}


# --- the rewrite -------------------------------------------------------------------------------


def test_container_script_file_starts_under_debugpy() -> None:
    doc = workflow(container("train", ["python3"], ["train.py", "--lr", "0.1"]))
    body = rewritten(doc)["train"]["container"]
    assert body["command"] == ["python3", *DEBUGPY]
    assert body["args"] == ["train.py", "--lr", "0.1"]


def test_module_and_interpreter_options_keep_their_places() -> None:
    doc = workflow(
        container("a", ["python3", "-u", "-m", "digits.train"], ["--epochs", "2"]),
        container("b", ["/opt/venv/bin/python", "-X", "dev"], ["-B", "run.py"]),
        container("c", ["python3.11", "-c", "print(1)"]),
    )
    done = rewritten(doc)
    assert done["a"]["container"]["command"] == ["python3", "-u", *DEBUGPY, "-m", "digits.train"]
    assert done["a"]["container"]["args"] == ["--epochs", "2"]
    assert done["b"]["container"]["command"] == ["/opt/venv/bin/python", "-X", "dev"]
    assert done["b"]["container"]["args"] == ["-B", *DEBUGPY, "run.py"]
    assert done["c"]["container"]["command"] == ["python3.11", *DEBUGPY, "-c", "print(1)"]


def test_script_template_gets_debugpy_before_the_source_file() -> None:
    doc = workflow(script("train", ["python3"]))
    body = rewritten(doc)["train"]["script"]
    assert body["command"] == ["python3", *DEBUGPY]
    assert "args" not in body
    assert body["source"] == "1"

    # what the engine runs is command + args + the file it wrote the source to
    unbuffered = {"command": ["python3"], "args": ["-u"], "source": "1"}
    body = debug_container(unbuffered, LISTEN, script=True)
    assert [*body["command"], *body["args"], SCRIPT_PATH] == [
        "python3",
        "-u",
        *DEBUGPY,
        SCRIPT_PATH,
    ]


def test_steps_that_do_not_start_python_are_left_alone() -> None:
    shell = container("shell", ["sh", "-c", "python3 train.py"])
    repl = container("repl", ["python3"])
    bash = script("bash", ["bash"])
    doc = workflow(container("train", ["python3", "t.py"]), shell, repl, bash)
    done = rewritten(doc)
    assert done["train"]["container"]["command"] == ["python3", *DEBUGPY, "t.py"]
    assert done["shell"] == shell
    assert done["repl"] == repl
    assert done["bash"] == bash
    assert program_start(["python3", "-m", "debugpy", "--listen", "1", "x.py"]) is None


def test_workflow_parameter_debug_is_kept_as_it_is() -> None:
    doc = workflow(container("train", ["python3", "t.py"]))
    done = rewrite(doc, listeners(doc), cluster=False)
    assert done["spec"]["arguments"] == {"parameters": [{"name": "debug", "value": "true"}]}
    assert doc["spec"]["templates"][1]["container"]["command"] == ["python3", "t.py"]  # a copy


def test_debug_step_selects_by_step_or_template_name() -> None:
    doc = workflow(
        container("train-tmpl", ["python3", "t.py"]),
        container("test-tmpl", ["python3", "e.py"]),
        steps=["train", "test"],
    )
    assert [(s.name, s.template) for s in choose(doc, [])] == [
        ("train", "train-tmpl"),
        ("test", "test-tmpl"),
    ]
    assert [(s.name, s.template) for s in choose(doc, ["test"])] == [("test", "test-tmpl")]
    assert [(s.name, s.template) for s in choose(doc, ["train-tmpl"])] == [("train", "train-tmpl")]
    done = rewritten(doc, ["test"])
    assert done["train-tmpl"]["container"]["command"] == ["python3", "t.py"]
    assert done["test-tmpl"]["container"]["command"] == ["python3", *DEBUGPY, "e.py"]


def test_debug_step_that_fits_nothing_or_no_python_says_what_to_fix() -> None:
    doc = workflow(container("train", ["python3", "t.py"]), container("echo", ["echo", "hi"]))
    with pytest.raises(UserError, match=r"'nope' names no step or template; Python steps: train"):
        choose(doc, ["nope"])
    with pytest.raises(UserError, match=r"'echo' does not start Python \(it runs echo hi\)"):
        choose(doc, ["echo"])
    with pytest.raises(UserError, match="no step that runs python"):
        choose(workflow(container("echo", ["echo"])), [])


def test_cluster_rewrite_listens_on_all_interfaces_and_exposes_the_port() -> None:
    doc = workflow(container("train", ["python3", "t.py"]))
    doc["spec"]["templates"][1]["podSpecPatch"] = '{"containers":[{"name":"main","env":[]}]}'
    step = choose(doc, [])[0]
    done = rewrite(doc, [Listener(step, "0.0.0.0:5678", 5678)], cluster=True)
    train = done["spec"]["templates"][1]
    assert train["container"]["command"][:5] == [
        "python3",
        "-m",
        "debugpy",
        "--listen",
        "0.0.0.0:5678",
    ]
    patch = json.loads(train["podSpecPatch"])
    assert patch["containers"] == [
        {
            "name": "main",
            "env": [],
            "ports": [{"name": "debugpy", "containerPort": 5678, "hostPort": 5678}],
        }
    ]


def test_cluster_debugging_forwards_one_local_port_per_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = workflow(container("a", ["python3", "a.py"]), script("b", ["python3"]))
    doc["spec"]["templates"][1]["container"]["workingDir"] = "/app"
    monkeypatch.chdir(tmp_path)
    done = debug_remote(doc, tmp_path / "src" / "wf.yaml", True, [], "team-a")
    listens = [
        t[k]["command"][4]
        for t in done["spec"]["templates"][1:]
        for k in ("container", "script")
        if k in t
    ]
    assert listens == ["0.0.0.0:5678", "0.0.0.0:5678"]
    launch = json.loads((tmp_path / ".vscode" / "launch.json").read_text())
    connects = [
        (c["name"], c["connect"]["port"], c["pathMappings"]) for c in launch["configurations"]
    ]
    local = str(tmp_path / "src")
    assert connects == [
        ("trainyard: a", 5678, [{"localRoot": local, "remoteRoot": "/app"}]),
        ("trainyard: b", 5679, [{"localRoot": local, "remoteRoot": "."}]),
    ]
    printed = capsys.readouterr().err
    assert "kubectl port-forward -n team-a pod/<pod> 5678:5678" in printed
    assert "kubectl port-forward -n team-a pod/<pod> 5679:5678" in printed
    assert debug_remote(doc, tmp_path / "wf.yaml", False, [], "team-a") is doc


# --- launch.json -------------------------------------------------------------------------------

EXISTING = """\
{
    // Use IntelliSense to learn about possible attributes.
    "version": "0.2.0",
    "configurations": [
        {
            "name": "Python: current file", /* mine */
            "type": "debugpy",
            "request": "launch",
            "program": "${file}",   // "a // in a string stays"
            "args": ["http://x/*y*/"],
        },
        {"name": "trainyard: train", "type": "debugpy", "connect": {"port": 1}},
    ],
}
"""


def test_launch_json_keeps_other_configurations_and_replaces_ours() -> None:
    ours = {"name": "trainyard: train", "connect": {"host": "127.0.0.1", "port": 4242}}
    new = {"name": "trainyard: test", "connect": {"host": "127.0.0.1", "port": 4343}}
    data = merge_launch(EXISTING, [new, ours], "launch.json")
    assert [c["name"] for c in data["configurations"]] == [
        "Python: current file",
        "trainyard: train",
        "trainyard: test",
    ]
    first = data["configurations"][0]
    assert first["program"] == "${file}"
    assert first["args"] == ["http://x/*y*/"]
    assert data["configurations"][1]["connect"]["port"] == 4242
    assert merge_launch(None, [ours], "x")["configurations"] == [ours]


def test_launch_json_that_cannot_be_read_is_refused_with_its_position() -> None:
    broken = '{\n  // comment\n  "configurations": [\n    {"name": "a" "type": "b"}\n  ]\n}\n'
    with pytest.raises(UserError, match=r"launch.json:4:18: cannot read it as JSON"):
        merge_launch(broken, [], "launch.json")
    assert strip_jsonc('{"a": "//x", /* c */ "b": [1,],}') == '{"a": "//x",  "b": [1]}'


def test_write_launch_creates_vscode_folder(tmp_path: Path) -> None:
    config = {"name": "trainyard: train", "type": "debugpy"}
    path = write_launch(tmp_path, [config])
    assert path == tmp_path / ".vscode" / "launch.json"
    assert json.loads(path.read_text()) == {"version": "0.2.0", "configurations": [config]}


# --- end to end: a real debugger client attached to a real step ---------------------------------

TWO_STEPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: debugged-
spec:
  entrypoint: main
  arguments:
    parameters:
    - {name: debug, value: "true"}
  templates:
  - name: main
    steps:
    - - name: train
        template: fit
    - - name: report
        template: report
  - name: fit
    script:
      image: python:3.11
      command: [python3]
      source: |
        total = sum(range(10))
        print("total", total, "debug={{workflow.parameters.debug}}")
  - name: report
    container:
      image: python:3.11
      command: [python3, -c, "print('report')"]
"""


class DapClient:
    """The least of the Debug Adapter Protocol VS Code speaks: Content-Length framed JSON."""

    def __init__(self, port: int, deadline: float) -> None:
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(max(1.0, deadline - time.monotonic()))
        self.buffer = b""
        self.seq = 0
        self.seen: list[dict[str, Any]] = []

    def send(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        self.seq += 1
        body = {"seq": self.seq, "type": "request", "command": command}
        body["arguments"] = arguments or {}
        data = json.dumps(body).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        return self.seq

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        header, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", header).group(1))  # type: ignore[union-attr]
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        message: dict[str, Any] = json.loads(body)
        return message

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        self.buffer += chunk

    def wait(self, fits: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for message in self.seen:
            if fits(message):
                self.seen.remove(message)
                return message
        while True:
            message = self._read()
            if fits(message):
                return message
            self.seen.append(message)

    def request(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        seq = self.send(command, arguments)
        response = self.wait(lambda m: m.get("type") == "response" and m["request_seq"] == seq)
        assert response["success"], response
        body: dict[str, Any] = response.get("body") or {}
        return body

    def event(self, name: str) -> dict[str, Any]:
        return self.wait(lambda m: m.get("type") == "event" and m["event"] == name)


def test_attach_a_debugger_to_a_step_and_stop_at_a_breakpoint(tmp_path: Path) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()
    wf_file = workdir / "wf.yaml"
    wf_file.write_text(TWO_STEPS)
    python_dir = str(Path(sys.executable).parent)  # the steps' python3 is this one, with debugpy
    env = {
        **os.environ,
        "TRAINYARD_HOME": str(tmp_path / "home"),
        "PATH": python_dir + os.pathsep + os.environ.get("PATH", ""),
    }

    def trainyard(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trainyard", *args],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    submitted = trainyard("submit", "wf.yaml", "--debug-step", "train", "-o", "json")
    assert submitted.returncode == 0, submitted.stderr
    name = json.loads(submitted.stdout)["metadata"]["name"]
    found = re.search(r"step train waits for a debugger on 127\.0\.0\.1:(\d+)", submitted.stderr)
    assert found, submitted.stderr
    port = int(found.group(1))
    launch = json.loads((workdir / ".vscode" / "launch.json").read_text())
    assert launch["configurations"] == [
        {
            "name": "trainyard: train",
            "type": "debugpy",
            "request": "attach",
            "connect": {"host": "127.0.0.1", "port": port},
            "pathMappings": [{"localRoot": str(workdir), "remoteRoot": str(workdir)}],
            "justMyCode": False,
        }
    ]

    dap = DapClient(port, time.monotonic() + 30)
    try:
        dap.request(
            "initialize", {"clientID": "test", "adapterID": "debugpy", "linesStartAt1": True}
        )
        dap.send("attach", {"justMyCode": False})
        dap.event("initialized")
        breakpoints = dap.request(
            "setBreakpoints", {"source": {"path": SCRIPT_PATH}, "breakpoints": [{"line": 2}]}
        )
        assert breakpoints["breakpoints"][0]["verified"], breakpoints
        dap.request("configurationDone")
        stopped = dap.event("stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        frames = dap.request("stackTrace", {"threadId": stopped["body"]["threadId"]})
        top = frames["stackFrames"][0]
        assert top["line"] == 2
        value = dap.request("evaluate", {"expression": "total", "frameId": top["id"]})
        assert value["result"] == "45"
        dap.request("continue", {"threadId": stopped["body"]["threadId"]})
        dap.event("terminated")
    finally:
        dap.sock.close()

    waited = trainyard("wait", name, "-o", "json")
    assert waited.returncode == 0, waited.stderr
    final = json.loads(waited.stdout)
    assert final["status"]["phase"] == "Succeeded"
    nodes = {n["displayName"]: n for n in final["status"]["nodes"].values()}
    assert nodes["train"]["outputs"]["result"] == "total 45 debug=true"
    assert nodes["report"]["phase"] == "Succeeded"
    templates = {t["name"]: t for t in final["spec"]["templates"]}
    assert templates["fit"]["script"]["command"][:3] == ["python3", "-m", "debugpy"]
    assert templates["report"]["container"]["command"] == ["python3", "-c", "print('report')"]


def test_python_without_debugpy_is_refused_before_anything_runs(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    no_site = bin_dir / "python3"  # a python3 that sees no site-packages, so no debugpy
    no_site.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    no_site.chmod(0o755)
    wf_file = tmp_path / "wf.yaml"
    wf_file.write_text(TWO_STEPS)
    env = {
        **os.environ,
        "TRAINYARD_HOME": str(tmp_path / "home"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "trainyard", "run", str(wf_file), "--debug", "-o", "json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"step train: {no_site} cannot import debugpy" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".vscode").exists()
    assert not (tmp_path / "home" / "trainyard.db").exists()


HELD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: held-
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: hold, template: hold}
    - - {name: train, template: fit}
  - name: hold
    suspend: {}
  - name: fit
    container:
      image: registry.example/train:1
      command: [python3, -m, digits.train]
      workingDir: /app
"""


def test_submit_to_a_server_sends_the_debug_rewrite(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server-home", "--auth", "none")
    try:
        (tmp_path / "wf.yaml").write_text(HELD)
        env = {**os.environ, "TRAINYARD_HOME": str(tmp_path / "cli-home")}

        def trainyard(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "trainyard", "--server", server.url, *args],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip

        submitted = trainyard("submit", "wf.yaml", "-n", "team-a", "--debug", "-o", "json")
        assert submitted.returncode == 0, submitted.stderr
        name = json.loads(submitted.stdout)["metadata"]["name"]
        assert "kubectl port-forward -n team-a pod/<pod> 5678:5678" in submitted.stderr
        shown = trainyard("get", name, "-n", "team-a", "-o", "json")
        assert shown.returncode == 0, shown.stderr
        fit = next(t for t in json.loads(shown.stdout)["spec"]["templates"] if t["name"] == "fit")
        assert fit["container"]["command"] == [
            "python3", "-m", "debugpy", "--listen", "0.0.0.0:5678", "--wait-for-client",
            "-m", "digits.train",
        ]  # fmt: skip
        ports = json.loads(fit["podSpecPatch"])["containers"][0]["ports"]
        assert ports == [{"name": "debugpy", "containerPort": 5678, "hostPort": 5678}]
        launch = json.loads((tmp_path / ".vscode" / "launch.json").read_text())
        assert launch["configurations"][0]["pathMappings"] == [
            {"localRoot": str(tmp_path), "remoteRoot": "/app"}
        ]
        assert trainyard("terminate", name, "-n", "team-a").returncode == 0
    finally:
        server.stop()
